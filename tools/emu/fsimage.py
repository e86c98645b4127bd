"""Filesystem images for an emulated RP2040 board: what ``make flash`` would copy
to a real one, as a flash image that stock firmware mounts.

    python tools/emu/fsimage.py micropython [--board w5500_evb_pico] [--out F] [--add DEST=SRC ...]
    python tools/emu/fsimage.py circuitpython [--board feather_rp2040_ethernet_featherwing] [--mpy] [--out F] [...]
    python tools/emu/fsimage.py circuitpython --mpy --dir /media/$USER/CIRCUITPY  # copy, no image
    python tools/emu/fsimage.py list F
    (micropython and circuitpython also take --config F, the settings file, and
    --extras, as make flash EXTRAS=1)

    from fsimage import build_micropython_image, build_circuitpython_image
    build_micropython_image("w5500_evb_pico", ".build/lfs.img", extra={"test.py": b"print(1)"})

- MicroPython (RPI_PICO and W5500_EVB_PICO layout): a LittleFS v2 image of
  352 blocks of 4,096 B with 256-byte programs, for flash offset
  ``MICROPYTHON_FS_OFFSET`` (0xA0000, XIP 0x100A0000), where the rp2 port's
  ``_boot.py`` mounts ``vfs.VfsLfs2(rp2.Flash(), progsize=256)``.  It holds
  the files ``make flash BOARD=...`` copies: the board set's ``.mpy`` under
  ``/lib/tcpip`` and ``/netboot.mpy`` (tools/deploy/board.mk's ``board-mpy``:
  mpy-cross -march=armv6m -O3; tracer and aio, and dhcp with a static
  config, as the one-line stubs of board.mk's EXTRAS unless ``extras``),
  the board file as ``/tcpip_board.py``,
  ``/tcpip_config.json`` and ``firmware/main.py`` as ``/main.py``.
- CircuitPython (raspberrypi port, 2 MB of flash): a 1 MB FAT12 CIRCUITPY
  drive with 512-byte sectors for flash offset ``CIRCUITPY_FS_OFFSET``
  (0x100000), made with mkfs.vfat and mcopy (Debian dosfstools, mtools).  It
  holds what ``make flash`` copies to a CircuitPython board: the board set's
  ``.py`` sources under ``/lib/tcpip`` (CircuitPython's .mpy format is not
  mpy-cross's), ``tcpip_board.py``, ``tcpip_config.json``, ``netboot.py``,
  ``code.py`` and ``settings.toml`` (firmware/settings.toml: the pystack size
  tcpip's deepest path needs; merged with a ``settings.toml`` from ``extra``
  or already on the drive, ``write_dir``, keeping the user's keys).

  With ``mpy=True`` the board set (and netboot) go as ``.mpy`` instead: stock
  CircuitPython 10.2.1 on a Feather RP2040 (171 KB free at the REPL) runs out
  of memory compiling ``tcp.py`` from source, and imports the ``.mpy`` files
  (about 27 KB stay free after ``netboot.start()``).  ``make flash`` for a
  CircuitPython board copies the same files (``write_dir``).

  They are mpy-cross's files with the first byte, the format's mark, set to
  ``C``; CircuitPython refuses an ``M`` ("MicroPython .mpy file; use
  CircuitPython mpy-cross").  Why that is sound for bytecode-only files:
  the header is ``M 06 00 1f``: format 6, feature byte 0 (mpy-cross sets
  the architecture and the sub-version only in files holding native code,
  which ours do not), 31-bit small ints; CircuitPython 10 checks the mark,
  version 6, a feature byte without a foreign architecture and the small-int
  width, and the rest of a format-6 file (qstr table, constants, bytecode
  with format 6's opcodes) is the same format.  The one part that depends on
  the firmware build is the static qstr table: short strings are stored as
  an index into the firmware's table of static qstrs, so that table must be
  the same, index for index, in mpy-cross and in CircuitPython.
  host_tests/test_rp2040_circuitpython.py checks exactly that on the
  firmware (a module of about 500 names, using 154 distinct static
  indices between 2 and 165, comes back unchanged) and then runs the stack from these files against
  the Linux kernel.  It is a workaround: CircuitPython's own mpy-cross
  (Adafruit publishes builds for 10.x) is the proper tool; its files start
  with ``C`` already and are taken unchanged.

``extra`` adds or replaces files: ``{path on the board: bytes, or the path of
a file on this PC}``, e.g. a test script or another ``main.py``.

The board set comes from tools/deploy/board.mk (``make board-mpy`` /
``make board-files``), so the image and ``make flash`` cannot disagree.
Host-only (CPython, littlefs-python from requirements-board.txt).
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

MICROPYTHON_FS_OFFSET = 0xA0000
LFS_BLOCK_SIZE = 4096
LFS_BLOCK_COUNT = 352
LFS_PROG_SIZE = 256
# On-disk version 2.0: every littlefs v2 reader mounts it (2.1 needs littlefs >= 2.6).
LFS_DISK_VERSION = 0x00020000

CIRCUITPY_FS_OFFSET = 0x100000
CIRCUITPY_BYTES = 1 << 20
CIRCUITPY_LABEL = "CIRCUITPY"

DEFAULT_CONFIG = os.path.join(ROOT, "firmware", "tcpip_config.json")
SETTINGS_TOML = os.path.join(ROOT, "firmware", "settings.toml")


class ImageError(Exception):
    """The image cannot be built (unknown board, wrong runtime, missing tool)."""


def _make(target, board, *vars_):
    cmd = ["make", "-s", "--no-print-directory", "-f", "tools/deploy/board.mk", target, "BOARD=" + board]
    cmd += list(vars_)
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        msg = (p.stdout + p.stderr).strip().splitlines()
        raise ImageError("make %s BOARD=%s failed: %s" % (target, board, msg[-1] if msg else p.returncode))
    return p.stdout


def board_runtime(board):
    path = os.path.join(ROOT, "boards", board + ".py")
    if not os.path.isfile(path):
        names = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "boards")) if f.endswith(".py"))
        raise ImageError("no board %r: pick one of %s" % (board, " ".join(names)))
    with open(path) as f:
        for line in f:
            if line.startswith("RUNTIME = "):
                return line.split("=", 1)[1].strip().strip("\"'")
    return None


def _check_runtime(board, want):
    got = board_runtime(board)
    if got != want:
        raise ImageError("board %s has RUNTIME %r, not %r" % (board, got, want))


def _read(src):
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    with open(src, "rb") as f:
        return f.read()


def micropython_files(board, config=None, extra=None, build_dir=None, extras=False):
    """{path on the board: bytes}: what ``make flash BOARD=board [CONFIG=config]
    [EXTRAS=1]`` copies to a MicroPython board, plus ``extra``.  Builds the
    board set's .mpy with tools/deploy/board.mk (into ``build_dir``, a temporary
    folder by default); without ``extras`` tracer and aio (and dhcp when
    ``config`` is a static address) are the stubs board.mk makes."""
    _check_runtime(board, "micropython")
    files = _board_mpy(board, build_dir, config, extras)
    files["tcpip_board.py"] = _read(os.path.join(ROOT, "boards", board + ".py"))
    files["tcpip_config.json"] = _read(config or DEFAULT_CONFIG)
    files["main.py"] = _read(os.path.join(ROOT, "firmware", "main.py"))
    for k, v in (extra or {}).items():
        files[k.lstrip("/")] = _read(v)
    return files


def _board_mpy(board, build_dir=None, config=None, extras=False):
    """{path on the board: bytes} of the board set's .mpy and netboot.mpy
    (tools/deploy/board.mk's board-mpy, built in ``build_dir`` or a temporary
    folder), for ``config`` (a path or the file's bytes; None: board.mk's
    default) and ``extras`` (EXTRAS=1)."""
    tmp = None
    if build_dir is None:
        tmp = build_dir = tempfile.mkdtemp(prefix="fsimage-")
    try:
        out = os.path.join(os.path.abspath(build_dir), "board")
        args = ["BOARD_MPY_DIR=" + out, "EXTRAS=%d" % bool(extras)]
        if config is not None:
            if not isinstance(config, str):
                path = os.path.join(os.path.abspath(build_dir), "board-config.json")
                with open(path, "wb") as f:
                    f.write(_read(config))
                config = path
            args.append("CONFIG=" + os.path.abspath(config))
        _make("board-mpy", board, *args)
        files = {}
        for d, _, names in os.walk(os.path.join(out, "tcpip")):
            for n in names:
                src = os.path.join(d, n)
                files["lib/" + os.path.relpath(src, out)] = _read(src)
        files["netboot.mpy"] = _read(os.path.join(out, "netboot.mpy"))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return files


def circuitpython_mpy(data):
    """An mpy-cross .mpy file marked for CircuitPython (see the module docstring);
    a file CircuitPython's mpy-cross made (``C``) is returned unchanged."""
    if data[:1] == b"C":
        return bytes(data)
    if data[:1] != b"M":
        raise ImageError("not an mpy-cross .mpy file (starts with %r)" % data[:2])
    return b"C" + data[1:]


def circuitpython_files(board, config=None, extra=None, mpy=False, extras=False):
    """{path on CIRCUITPY: bytes}: what ``make flash BOARD=board [EXTRAS=1]``
    copies to a CircuitPython board (with ``mpy``: the board set and netboot as
    .mpy), plus ``extra``."""
    _check_runtime(board, "circuitpython")
    files = {}
    if mpy:
        for k, v in _board_mpy(board, None, config, extras).items():
            files[k] = circuitpython_mpy(v)
    else:
        cfg = ["CONFIG=" + os.path.abspath(config)] if isinstance(config, str) else []
        for src in _make("board-files", board, "EXTRAS=%d" % bool(extras), *cfg).split():
            files[src] = _read(os.path.join(ROOT, src))  # lib/tcpip/...: the same path on the drive
        files["netboot.py"] = _read(os.path.join(ROOT, "firmware", "netboot.py"))
    files["tcpip_board.py"] = _read(os.path.join(ROOT, "boards", board + ".py"))
    files["tcpip_config.json"] = _read(config or DEFAULT_CONFIG)
    files["code.py"] = _read(os.path.join(ROOT, "firmware", "code.py"))
    files["settings.toml"] = _read(SETTINGS_TOML)
    for k, v in (extra or {}).items():
        files[k.lstrip("/")] = _read(v)
    if "settings.toml" in {k.lstrip("/") for k in (extra or {})}:
        files["settings.toml"] = merge_settings_toml(files["settings.toml"], _read(SETTINGS_TOML))
    return files


def _toml_key(line):
    """The key a settings.toml line sets (``KEY = value``), or None."""
    head, eq, _ = line.partition(b"=")
    key = head.strip()
    if not eq or not key or line.lstrip()[:1] in (b"#", b"["):
        return None
    return key.strip(b'"')


def merge_settings_toml(user, ours):
    """The user's settings.toml (bytes) with the keys of ``ours`` it does not
    set appended (comments and values of the user's file kept as they are);
    ``user`` None or empty: ``ours``."""
    if not user:
        return bytes(ours)
    have = {_toml_key(ln) for ln in user.splitlines()}
    add = [ln for ln in ours.splitlines() if _toml_key(ln) is not None and _toml_key(ln) not in have]
    if not add:
        return bytes(user)
    out = bytes(user)
    if not out.endswith(b"\n"):
        out += b"\n"
    return out + b"# added by tcpip's make flash (firmware/settings.toml)\n" + b"\n".join(add) + b"\n"


def _parents(path):
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i + 1]) for i in range(len(parts))]


def littlefs_image(files):
    """bytes of a LittleFS v2 image in the RPI_PICO layout holding ``files``."""
    from littlefs import LittleFS
    fs = LittleFS(block_size=LFS_BLOCK_SIZE, block_count=LFS_BLOCK_COUNT, prog_size=LFS_PROG_SIZE,
                  read_size=LFS_PROG_SIZE, disk_version=LFS_DISK_VERSION)
    made = set()
    for path in sorted(files):
        for d in _parents(path):
            if d not in made:
                fs.mkdir(d)
                made.add(d)
        with fs.open(path, "wb") as f:
            f.write(files[path])
    fs.unmount()
    return bytes(fs.context.buffer)


def fat_image(files, out):
    """Write a 1 MB FAT12 CIRCUITPY image holding ``files`` to ``out``."""
    for tool in ("mkfs.vfat", "mmd", "mcopy"):
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            raise ImageError("%s not found: apt-get install dosfstools mtools (make setup does)" % tool)
    mkfs = shutil.which("mkfs.vfat", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    with open(out, "wb") as f:
        f.truncate(CIRCUITPY_BYTES)
    run = dict(capture_output=True, text=True, timeout=60, env=env)
    p = subprocess.run([mkfs, "-F", "12", "-S", "512", "-n", CIRCUITPY_LABEL, out], **run)
    if p.returncode != 0:
        raise ImageError("mkfs.vfat failed: %s" % (p.stdout + p.stderr).strip())
    made = set()
    with tempfile.TemporaryDirectory(prefix="fsimage-") as tmp:
        for i, path in enumerate(sorted(files)):
            for d in _parents(path):
                if d not in made:
                    p = subprocess.run(["mmd", "-i", out, "::" + d], **run)
                    if p.returncode != 0:
                        raise ImageError("mmd %s failed: %s" % (d, (p.stdout + p.stderr).strip()))
                    made.add(d)
            src = os.path.join(tmp, "f%d" % i)
            with open(src, "wb") as f:
                f.write(files[path])
            p = subprocess.run(["mcopy", "-o", "-i", out, src, "::" + path], **run)
            if p.returncode != 0:
                raise ImageError("mcopy %s failed: %s" % (path, (p.stdout + p.stderr).strip()))
    return out


def write_dir(files, dest):
    """Copy ``files`` ({path: bytes}) into the folder ``dest`` (a mounted
    CIRCUITPY drive); returns the number of files written."""
    if not os.path.isdir(dest):
        raise ImageError("%s is not a folder (the mounted CIRCUITPY drive)" % dest)
    for path in sorted(files):
        full = os.path.join(dest, *path.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        data = files[path]
        if path == "settings.toml" and os.path.isfile(full):
            data = merge_settings_toml(_read(full), data)  # the user's keys stay
        with open(full, "wb") as f:
            f.write(data)
    return len(files)


def _prepare(out):
    d = os.path.dirname(os.path.abspath(out))
    os.makedirs(d, exist_ok=True)
    return os.path.abspath(out)


def build_micropython_image(board, out, extra=None, config=None, extras=False):
    """Write the LittleFS image of ``make flash BOARD=board`` (+ ``extra``) to
    ``out``; returns its path.  Load it at flash offset MICROPYTHON_FS_OFFSET."""
    out = _prepare(out)
    img = littlefs_image(micropython_files(board, config, extra, extras=extras))
    with open(out, "wb") as f:
        f.write(img)
    return out


def build_circuitpython_image(board, out, extra=None, config=None, mpy=False, extras=False):
    """Write the CIRCUITPY FAT image of ``make flash BOARD=board`` (+ ``extra``;
    ``mpy``: the board set as .mpy, see the module docstring) to ``out``;
    returns its path.  Load it at flash offset CIRCUITPY_FS_OFFSET."""
    out = _prepare(out)
    return fat_image(circuitpython_files(board, config, extra, mpy, extras), out)


def read_littlefs_image(path):
    """{path: bytes} of every file in a LittleFS image of the RPI_PICO layout."""
    from littlefs import LittleFS
    fs = LittleFS(block_size=LFS_BLOCK_SIZE, block_count=LFS_BLOCK_COUNT, prog_size=LFS_PROG_SIZE,
                  read_size=LFS_PROG_SIZE, mount=False)
    with open(path, "rb") as f:
        fs.context.buffer[:] = f.read()
    fs.mount()
    files = {}
    for top, _, names in fs.walk("/"):
        for n in names:
            p = (top.rstrip("/") + "/" + n).lstrip("/")
            with fs.open(p, "rb") as f:
                files[p] = f.read()
    return files


def _cli_extra(argv):
    extra = {}
    while "--add" in argv:
        i = argv.index("--add")
        dest, _, src = argv[i + 1].partition("=")
        if not src:
            raise ImageError("--add wants DEST=SRC (path on the board = file here), not %r" % argv[i + 1])
        extra[dest] = src
        del argv[i:i + 2]
    return extra


def _opt(argv, name, default):
    if name in argv:
        i = argv.index(name)
        v = argv[i + 1]
        del argv[i:i + 2]
        return v
    return default


def main(argv):
    argv = list(argv)
    if not argv or argv[0] not in ("micropython", "circuitpython", "list"):
        print(__doc__.split("\n\n")[1])
        return 2
    kind = argv.pop(0)
    try:
        if kind == "list":
            path = argv[0]
            with open(path, "rb") as f:
                head = f.read(512)
            if head[510:512] == b"\x55\xaa":
                p = subprocess.run(["mdir", "-/", "-i", path, "::"], capture_output=True, text=True,
                                   timeout=60, env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
                print(p.stdout, end="")
                return p.returncode
            for k, v in sorted(read_littlefs_image(path).items()):
                print("%7d  /%s" % (len(v), k))
            return 0
        extra = _cli_extra(argv)
        config = _opt(argv, "--config", None)
        extras = "--extras" in argv
        if kind == "micropython":
            board = _opt(argv, "--board", "w5500_evb_pico")
            out = _opt(argv, "--out", os.path.join(ROOT, ".build", "fs", board + ".lfs.img"))
            path = build_micropython_image(board, out, extra, config, extras)
            where = MICROPYTHON_FS_OFFSET
        else:
            mpy = "--mpy" in argv
            board = _opt(argv, "--board", "feather_rp2040_ethernet_featherwing")
            dest = _opt(argv, "--dir", None)
            if dest is not None:
                n = write_dir(circuitpython_files(board, config, extra, mpy, extras), dest)
                print("%d files copied to %s" % (n, dest))
                return 0
            out = _opt(argv, "--out", os.path.join(ROOT, ".build", "fs", board + ".fat.img"))
            path = build_circuitpython_image(board, out, extra, config, mpy, extras)
            where = CIRCUITPY_FS_OFFSET
    except (ImageError, OSError) as e:
        print("fsimage: %s" % e)
        return 1
    print("%s (%d bytes; flash offset 0x%X)" % (path, os.path.getsize(path), where))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
