"""What the Linux host NICs share (``tap.py``: TAP device, ``packet.py``: AF_PACKET
socket): whole Ethernet frames through one file descriptor, one frame per read
and per write, and the interface's state from /sys/class/net.  Host only."""

from tcpip.compat import const, EINVAL

_SEND_TRIES = const(8)


def read_sys(ifname, leaf):
    """/sys/class/net/IFNAME/LEAF (one short line), or None when it cannot be read."""
    try:
        with open("/sys/class/net/" + ifname + "/" + leaf) as f:
            return f.read().strip()
    except OSError:
        return None


class HostNIC:
    """Base of TapNIC and PacketNIC: ``ifname``, ``mac``, ``tx_dropped``;
    subclasses set ``self._readinto(buf) -> n or None`` and
    ``self._write(frame) -> n`` (one frame per call) on the instance."""

    def __init__(self, ifname, mac):
        self.ifname = ifname
        self.mac = bytes(mac)
        if len(self.mac) != 6:
            raise OSError(EINVAL, "mac must be 6 bytes, got %d" % len(self.mac))
        self.tx_dropped = 0  # frames the kernel would not take (buffer full)

    def recv_into(self, buf):
        """Copy one whole frame into ``buf``; return its length, 0 when none waits."""
        try:
            n = self._readinto(buf)
        except OSError:  # EAGAIN where the runtime raises it, EIO / ENETDOWN while down
            return 0
        return n or 0

    def send(self, frame):
        """Transmit one whole Ethernet frame (bytes or memoryview, 14..1514 bytes)."""
        for _ in range(_SEND_TRIES):
            try:
                n = self._write(frame)
            except OSError:
                n = None
            if n:
                return
        self.tx_dropped += 1
