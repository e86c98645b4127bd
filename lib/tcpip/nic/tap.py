"""Linux TAP NIC for CPython: the stack's wire is a TAP device, the kernel is the peer.

Create the device first (``ip tuntap add tap0 mode tap``, tools/vboard/netns.py does it
inside a test namespace, kernel side 192.0.2.1/24), then attach::

    from tcpip.nic.tap import TapNIC
    nic = TapNIC("tap0")                  # needs root or a TAP owned by you
    n = nic.recv_into(buf)                # one whole frame, 0 when none waits

Every read() of a TAP file descriptor returns exactly one frame and every write()
sends one (IFF_NO_PI: no packet-information prefix).  CPython only: the
MicroPython unix port has no ioctl to attach the device (use nic/packet.py on a
veth end there).
"""

from tcpip.compat import const, EINVAL, EPERM
from tcpip.nic.hostnic import HostNIC, read_sys

_TUNSETIFF = const(0x400454CA)  # linux/if_tun.h: _IOW('T', 202, int)
_IFF_TAP = const(0x0002)
_IFF_NO_PI = const(0x1000)
_ENOENT = const(2)


class TapNIC(HostNIC):
    """Whole Ethernet frames through the Linux TAP device ``ifname``.

    ``mac`` is the station address of the stack on this wire (6 bytes); the
    default 02:00:00:00:00:02 is locally administered (IEEE 802: bit 1 of the
    first octet) and differs from the kernel side's own address.
    """

    def __init__(self, ifname="tap0", mac=b"\x02\x00\x00\x00\x00\x02", tun_path="/dev/net/tun"):
        import fcntl
        import io
        import os
        import struct

        HostNIC.__init__(self, ifname, mac)
        if len(ifname.encode()) > 15:
            raise OSError(EINVAL, "interface name %r is longer than 15 bytes" % ifname)
        try:
            fd = os.open(tun_path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            raise OSError(e.errno or _ENOENT, "cannot open %s (%s): a TAP needs the tun "
                          "module and root or CAP_NET_ADMIN" % (tun_path, e.strerror))
        try:
            ifr = struct.pack("16sH", ifname.encode(), _IFF_TAP | _IFF_NO_PI)
            fcntl.ioctl(fd, _TUNSETIFF, ifr)
        except OSError as e:
            os.close(fd)
            raise OSError(e.errno or EPERM, "cannot attach TAP %s (%s): create it with "
                          "'ip tuntap add %s mode tap' and run as root"
                          % (ifname, e.strerror, ifname))
        self._fd = fd
        # Unbuffered raw file: readinto() returns None on EAGAIN (no exception per
        # empty poll) and copies straight into the caller's buffer.
        self._file = io.FileIO(fd, "r+b", closefd=True)
        self._readinto = self._file.readinto
        self._write = self._file.write

    def fileno(self):
        """The TAP file descriptor, for select/poll."""
        return self._fd

    def link_up(self):
        """True while the device is administratively up on the kernel side."""
        flags = read_sys(self.ifname, "flags")
        if flags is None:
            return False
        return bool(int(flags, 16) & 1)  # IFF_UP

    def close(self):
        self._file.close()
