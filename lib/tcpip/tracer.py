"""Readable one-line-per-packet trace and pcap output of what the stack sends and receives.

    stack.iface.trace = Tracer()               # print lines like
    -> TCP 192.0.2.2:49152 > 192.0.2.1:80 [SYN] seq=1234 win=2048 mss=1460 len=0
    <- ARP reply 192.0.2.1 is-at 02:00:00:00:00:01

``Tracer(out=f)`` writes to any object with ``write``; ``PcapWriter(stream)``
writes a libpcap file (Wireshark opens it) to a file on the host or a stream on
a board.  Tracing allocates per packet: it is for watching, not for speed.
"""
from tcpip.wire import ethernet, ipv4, tcp, arp
from tcpip.wire.bytes import get16, get32
from tcpip.compat import ticks_ms

_PROTO = {1: "ICMP", 6: "TCP", 17: "UDP"}


def describe(buf, n):
    """One line describing the frame in buf[:n] (never raises)."""
    try:
        return _describe(buf, n)
    except Exception:
        return "frame len=%d (unparsable)" % n


def _describe(buf, n):
    if n < 14:
        return "short frame len=%d" % n
    t = get16(buf, 12)
    if t == ethernet.TYPE_ARP and n >= 42:
        op = get16(buf, 20)
        spa = ipv4.ntoa(get32(buf, 28))
        tpa = ipv4.ntoa(get32(buf, 38))
        if op == arp.REQUEST:
            return "ARP who-has %s tell %s" % (tpa, spa)
        return "ARP reply %s is-at %s" % (spa, ethernet.mac_str(bytes(buf[22:28])))
    if t != ethernet.TYPE_IPV4 or n < 34:
        return "ETH type=0x%04x len=%d" % (t, n)
    ihl = (buf[14] & 15) * 4
    total = get16(buf, 16)
    proto = buf[23]
    src = ipv4.ntoa(get32(buf, 26))
    dst = ipv4.ntoa(get32(buf, 30))
    o = 14 + ihl
    end = 14 + total if 14 + total <= n else n
    if proto == 6 and end - o >= 20:
        hl = (buf[o + 12] >> 4) * 4
        flags = buf[o + 13]
        s = "TCP %s:%d > %s:%d [%s] seq=%d" % (src, get16(buf, o), dst, get16(buf, o + 2),
                                               tcp.flags_str(flags), get32(buf, o + 4))
        if flags & tcp.ACK:
            s += " ack=%d" % get32(buf, o + 8)
        s += " win=%d" % get16(buf, o + 14)
        i = o + 20
        while i < o + hl and i < end:
            k = buf[i]
            if k == 0:
                break
            if k == 1:
                i += 1
                continue
            ln = buf[i + 1] if i + 1 < end else 0
            if ln < 2:
                break
            if k == 2 and ln == 4:
                s += " mss=%d" % get16(buf, i + 2)
            elif k == 3 and ln == 3:
                s += " wscale=%d" % buf[i + 2]
            elif k == 4:
                s += " sackOK"
            elif k == 5:
                s += " sack=%d" % ((ln - 2) // 8)
            elif k == 8 and ln == 10:
                s += " ts=%d/%d" % (get32(buf, i + 2), get32(buf, i + 6))
            i += ln
        return s + " len=%d" % (end - o - hl)
    if proto == 17 and end - o >= 8:
        return "UDP %s:%d > %s:%d len=%d" % (src, get16(buf, o), dst, get16(buf, o + 2), end - o - 8)
    if proto == 1 and end - o >= 8:
        ty = buf[o]
        names = {0: "echo reply", 3: "unreachable", 8: "echo request", 11: "time exceeded"}
        s = "ICMP %s > %s %s" % (src, dst, names.get(ty, "type=%d" % ty))
        if ty in (0, 8):
            s += " id=%d seq=%d len=%d" % (get16(buf, o + 4), get16(buf, o + 6), end - o - 8)
        else:
            s += " code=%d" % buf[o + 1]
        return s
    return "IP %s > %s proto=%s len=%d" % (src, dst, _PROTO.get(proto, proto), total)


class Tracer:
    """Callable for ``iface.trace``: prints a line per packet, optionally also writes pcap."""

    def __init__(self, out=None, pcap=None):
        self.out = out
        self.pcap = pcap

    def __call__(self, direction, buf, n):
        line = ("<- " if direction == "in" else "-> ") + describe(buf, n)
        if self.out is None:
            print(line)
        else:
            self.out.write(line + "\n")
        if self.pcap is not None:
            self.pcap.write_frame(buf, n)


class PcapWriter:
    """libpcap (microsecond, Ethernet) writer over any stream with ``write``."""

    def __init__(self, stream, clock_ms=ticks_ms):
        import struct
        self._struct = struct
        self.stream = stream
        self.clock_ms = clock_ms
        stream.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def write_frame(self, buf, n, t_ms=None):
        t = self.clock_ms() if t_ms is None else t_ms
        self.stream.write(self._struct.pack("<IIII", t // 1000, (t % 1000) * 1000, n, n))
        self.stream.write(bytes(buf[:n]))
