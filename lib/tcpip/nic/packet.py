"""Linux AF_PACKET raw-socket NIC, for the MicroPython unix port and CPython.

The stack runs on a PC as if on a board: one end of a veth pair (``vb``) is the
stack's wire, the other end (``vk``) is the Linux kernel, the peer.  A raw
packet socket bound to ``vb`` hands us every whole Ethernet frame the kernel
sends to ``vk``'s peer, and frames we write come out of ``vk`` into the
kernel's stack.  The MicroPython unix port has no ioctl to attach a TAP, but it
can open this socket, so the same lib/tcpip files run there::

    from tcpip.nic.packet import PacketNIC
    nic = PacketNIC("vb")                 # needs root (CAP_NET_RAW)
    n = nic.recv_into(buf)                # 0 when nothing waits

Turn checksum offload off on the kernel's end (``ethtool -K vk tx off``) or the
kernel sends TCP/UDP segments with partial checksums (tools/vboard/netns.py does).
Frames this socket sends are not looped back to it by the kernel
(net/core/dev.c skips the sending socket), so the stack never hears itself.
"""

import struct
import socket

from tcpip.compat import const, EPERM, ENODEV
from tcpip.nic.hostnic import HostNIC, read_sys


_AF_PACKET = const(17)
_ETH_P_ALL = const(0x0003)  # linux/if_ether.h: every protocol
_ETH_P_ALL_BE = const(0x0300)  # the same in network byte order, as a native short
_SOL_SOCKET = const(1)
_SO_RCVBUF = const(8)
_SO_RCVBUFFORCE = const(33)  # root may exceed net.core.rmem_max
_RCVBUF_BYTES = const(1 << 20)

_IS_MICROPYTHON = not hasattr(socket, "AF_PACKET")


def _parse_mac(text):
    parts = text.split(":")
    return bytes([int(p, 16) for p in parts])


class PacketNIC(HostNIC):
    """Whole Ethernet frames over a raw AF_PACKET socket bound to ``ifname``.

    ``mac`` is the station address the stack uses (6 bytes); the default is the
    locally administered 02:00:00:00:00:02, different from the interface's own
    address so the host kernel treats frames to us as someone else's
    (pkt_type OTHERHOST) and leaves them alone.  ``mac="iface"`` takes the
    interface's address instead.
    """

    def __init__(self, ifname, mac=b"\x02\x00\x00\x00\x00\x02"):
        ifindex = read_sys(ifname, "ifindex")
        if ifindex is None:
            raise OSError(ENODEV, "no network interface %r here (/sys/class/net/%s missing)"
                          % (ifname, ifname))
        if isinstance(mac, str) and mac == "iface":
            mac = _parse_mac(read_sys(ifname, "address"))
        HostNIC.__init__(self, ifname, mac)
        self.ifindex = int(ifindex)
        try:
            if _IS_MICROPYTHON:
                s = socket.socket(_AF_PACKET, socket.SOCK_RAW, _ETH_P_ALL_BE)
                # struct sockaddr_ll (linux/if_packet.h): family, protocol (network
                # order), ifindex, hatype, pkttype, halen, addr[8]
                s.bind(struct.pack("<HHiHBB8s", _AF_PACKET, _ETH_P_ALL_BE, self.ifindex,
                                   0, 0, 0, b""))
            else:
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
                s.bind((ifname, _ETH_P_ALL))
        except OSError as e:
            code = e.args[0] if e.args else EPERM
            raise OSError(code, "cannot open a raw packet socket on %s (needs root or "
                          "CAP_NET_RAW): %s" % (ifname, e))
        self._sock = s
        try:
            s.setsockopt(_SOL_SOCKET, _SO_RCVBUFFORCE, _RCVBUF_BYTES)
        except OSError:
            try:
                s.setsockopt(_SOL_SOCKET, _SO_RCVBUF, _RCVBUF_BYTES)
            except OSError:
                pass
        s.setblocking(False)
        if _IS_MICROPYTHON:
            # The unix port's socket has no recv_into, and its readinto() is a
            # stream read that loops until the buffer is full: under a burst it
            # glues the next datagram (truncated) behind a short frame, losing
            # half the frames.  recv() reads exactly one datagram; it allocates
            # the frame's bytes, the price of this host-only NIC on that port.
            self._readinto = self._recv_copy
            self._write = s.send
        else:
            # A raw unbuffered file over the socket's fd: readinto() returns None
            # on EAGAIN, so an empty poll costs no exception.
            import io
            self._file = io.FileIO(s.fileno(), "r+b", closefd=False)
            self._readinto = self._file.readinto
            self._write = self._file.write

    def fileno(self):
        """The socket's file descriptor, for select/poll."""
        return self._sock.fileno()

    def _recv_copy(self, buf):
        data = self._sock.recv(len(buf))  # OSError(EAGAIN) when nothing waits
        n = len(data)
        buf[0:n] = data
        return n

    def link_up(self):
        """True when the interface has carrier (both veth ends up)."""
        return read_sys(self.ifname, "carrier") != "0"

    def close(self):
        if not _IS_MICROPYTHON:
            self._file.close()
        self._sock.close()
