"""IPv4 header (RFC 791, RFC 1122 3.2.1)."""
import struct

from tcpip.compat import const, GETATTR_NOT_PROPERTY
from tcpip.wire.checksum import sum16, checksum

HLEN = const(20)
# The header as struct fields, no options: version/IHL, TOS, total length,
# ident, flags/fragment, TTL, protocol, checksum, source and destination as
# halves (emit_h; iface.py packs it directly on the per-frame path)
HDR_FMT = "!BBHHHBBHHHHH"
PROTO_ICMP = const(1)
PROTO_TCP = const(6)
PROTO_UDP = const(17)
BROADCAST = const(0xFFFFFFFF)


class IPv4:
    """Parsed IPv4 header.

    After a good parse: ``src_hi``/``src_lo`` and ``dst_hi``/``dst_lo`` (the
    addresses as 16-bit halves), ``asum`` (their sum, for the pseudo-header
    checksum), ``proto``, ``ttl``, ``ident``, ``hlen`` (bytes), ``total_len``,
    ``payload_off`` and ``payload_end`` (Ethernet padding excluded), ``off``
    (where the header starts).  ``src`` and ``dst`` give the addresses as ints.

    Halves, not 32-bit ints, because a 32-bit port of MicroPython keeps ints
    of 2**30 and more on the heap: 192.168.x.x would cost two allocations a
    frame.
    """

    def __init__(self):
        self.off = 0
        self.hlen = HLEN
        self.total_len = 0
        self.ident = 0
        self.ttl = 0
        self.proto = 0
        self.src_hi = 0
        self.src_lo = 0
        self.dst_hi = 0
        self.dst_lo = 0
        self.asum = 0
        self.payload_off = 0
        self.payload_end = 0

    def parse(self, buf, off, end):
        # (six locals, reused: a MicroPython frame over 11 words is a heap
        # allocation, and this runs for every datagram)
        end -= off  # the bytes available
        if end < HLEN:
            return "ip_short"
        h = buf[off]
        if h >> 4 != 4:
            return "ip_version"
        h = (h & 0x0F) * 4
        if h < HLEN or h > end:
            return "ip_ihl"
        t = (buf[off + 2] << 8) | buf[off + 3]
        # RFC 1122 3.2.1.1-3.2.1.2: the length field must fit what arrived
        if t < h or t > end:
            return "ip_len"
        if sum16(buf, off, off + h) != 0xFFFF:
            return "ip_checksum"
        if buf[off + 6] & 0x3F or buf[off + 7]:  # MF set or a fragment offset: no reassembly
            return "ip_fragment"
        self.off = off
        self.hlen = h
        self.total_len = t
        self.payload_off = off + h
        self.payload_end = off + t
        self.ident = (buf[off + 4] << 8) | buf[off + 5]
        self.ttl = buf[off + 8]
        self.proto = buf[off + 9]
        self.src_hi = h = (buf[off + 12] << 8) | buf[off + 13]
        self.src_lo = t = (buf[off + 14] << 8) | buf[off + 15]
        h += t
        self.dst_hi = t = (buf[off + 16] << 8) | buf[off + 17]
        h += t
        self.dst_lo = t = (buf[off + 18] << 8) | buf[off + 19]
        self.asum = h + t
        return None

    def _src(self):
        return (self.src_hi << 16) | self.src_lo

    def _dst(self):
        return (self.dst_hi << 16) | self.dst_lo

    if GETATTR_NOT_PROPERTY:  # (see tcpip.compat)
        def __getattr__(self, name):
            if name == "src":
                return self._src()
            if name == "dst":
                return self._dst()
            raise AttributeError(name)
    else:
        src = property(_src)
        dst = property(_dst)


def emit(buf, off, src, dst, proto, payload_len, ttl=64, ident=0, dont_fragment=True):
    """Write a 20-byte header (no options) with its checksum. Returns 20."""
    emit_h(buf, off, src >> 16, src & 0xFFFF, dst >> 16, dst & 0xFFFF, proto, payload_len, ttl,
           ident, 0x4000 if dont_fragment else 0)
    return HLEN


def emit_h(buf, off, src_hi, src_lo, dst_hi, dst_lo, proto, payload_len, ttl, ident, frag=0x4000):
    """``emit`` with the addresses as 16-bit halves (the per-frame path)."""
    # One C call for the header (no allocation on MicroPython either), then
    # the checksum over it (RFC 791: computed with the field zero).
    struct.pack_into(HDR_FMT, buf, off, 0x45, 0, (HLEN + payload_len) & 0xFFFF,
                     ident & 0xFFFF, frag, ttl & 0xFF, proto & 0xFF, 0,
                     src_hi, src_lo, dst_hi, dst_lo)
    c = checksum(buf, off, off + HLEN)
    buf[off + 10] = c >> 8
    buf[off + 11] = c & 0xFF


def aton(s):
    """'192.0.2.1' -> int; ValueError for anything that is not a dotted quad."""
    if isinstance(s, int):
        return s
    parts = s.split(".")
    if len(parts) != 4:
        raise ValueError("not an IPv4 address: %r" % (s,))
    v = 0
    for p in parts:
        if not p or not p.isdigit():
            raise ValueError("not an IPv4 address: %r" % (s,))
        n = int(p)
        if n > 255:
            raise ValueError("not an IPv4 address: %r" % (s,))
        v = (v << 8) | n
    return v


def ntoa(v):
    """int -> '192.0.2.1'."""
    return "%d.%d.%d.%d" % ((v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF)


def prefix_mask(prefix):
    return (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF if prefix else 0


