"""Mount a board filesystem image read-only with MicroPython's own vfs (the
littlefs and FatFs code the rp2 firmware runs) and list every file.

    micropython -X heapsize=8M fsmount_app.py lfs IMAGE     # LittleFS v2, 4096-byte blocks, progsize 256
    micropython -X heapsize=8M fsmount_app.py fat IMAGE     # FAT, 512-byte sectors

Prints ``PATH SIZE SHA256`` per file (paths relative to the root, no leading
slash), then ``ok``.
"""
import sys
import os
import vfs
import hashlib
import binascii


class RamBlocks:
    """A read-only block device over the image's bytes (the extended protocol
    VfsLfs2 uses, which VfsFat calls without an offset)."""

    def __init__(self, data, block_bytes):
        self.data = data
        self.block_bytes = block_bytes

    def readblocks(self, n, buf, off=0):
        a = n * self.block_bytes + off
        buf[:] = self.data[a:a + len(buf)]

    def writeblocks(self, n, buf, off=0):
        raise OSError(30)  # EROFS

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return len(self.data) // self.block_bytes
        if op == 5:  # block size
            return self.block_bytes
        return 0


def walk(d, root):
    for e in os.ilistdir(d):
        p = d + "/" + e[0]
        if e[1] == 0x4000:
            walk(p, root)
            continue
        with open(p, "rb") as f:
            b = f.read()
        print(p[len(root) + 1:], len(b), binascii.hexlify(hashlib.sha256(b).digest()).decode())


def main(kind, path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if kind == "lfs":
        fs = vfs.VfsLfs2(RamBlocks(data, 4096), progsize=256)  # as the rp2 port's _boot.py
    else:
        fs = vfs.VfsFat(RamBlocks(data, 512))
    vfs.mount(fs, "/img", readonly=True)
    walk("/img", "/img")
    vfs.umount("/img")
    print("ok")


main(sys.argv[1], sys.argv[2])
