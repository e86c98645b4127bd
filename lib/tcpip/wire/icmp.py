"""ICMP for IPv4 (RFC 792): echo, destination unreachable, time exceeded.

The reply to an echo request is made by tcpip.wire.echo (loaded on first use)."""
from tcpip.compat import const
from tcpip.wire.bytes import get16, put16
from tcpip.wire.checksum import sum16, checksum

HLEN = const(8)
ECHO_REPLY = const(0)
DEST_UNREACH = const(3)
ECHO_REQUEST = const(8)
TIME_EXCEEDED = const(11)
# destination unreachable codes
CODE_NET_UNREACH = const(0)
CODE_HOST_UNREACH = const(1)
CODE_PROTO_UNREACH = const(2)
CODE_PORT_UNREACH = const(3)
CODE_FRAG_NEEDED = const(4)


class Icmp:
    """Parsed ICMP message: type, code, ident/seq (echo), inner_off (the quoted
    IP header of an error), payload_off/end."""

    def __init__(self):
        self.type = 0
        self.code = 0
        self.ident = 0
        self.seq = 0
        self.payload_off = 0
        self.payload_end = 0
        self.inner_off = 0

    def parse(self, buf, off, end):
        if end - off < HLEN:
            return "icmp_short"
        if sum16(buf, off, end) != 0xFFFF:
            return "icmp_checksum"
        t = buf[off]
        self.type = t
        self.code = buf[off + 1]
        self.ident = get16(buf, off + 4)
        self.seq = get16(buf, off + 6)
        self.payload_off = off + HLEN
        self.payload_end = end
        self.inner_off = off + HLEN
        if t == DEST_UNREACH or t == TIME_EXCEEDED:
            # RFC 792: the quoted header plus 64 bits of its data
            if end - off < HLEN + 20 + 8:
                return "icmp_short"
        return None


def emit_echo(buf, off, type_, ident, seq, payload_len):
    """Echo request/reply header over payload already at buf[off+8:]. Returns 8 + payload_len."""
    buf[off] = type_
    buf[off + 1] = 0
    buf[off + 2] = 0
    buf[off + 3] = 0
    put16(buf, off + 4, ident)
    put16(buf, off + 6, seq)
    end = off + HLEN + payload_len
    put16(buf, off + 2, checksum(buf, off, end))
    return HLEN + payload_len


def emit_error(buf, off, type_, code, quoted_len, extra=0):
    """Error header over the quoted datagram already at buf[off+8:]. Returns 8 + quoted_len."""
    buf[off] = type_
    buf[off + 1] = code
    buf[off + 2] = 0
    buf[off + 3] = 0
    put16(buf, off + 4, extra >> 16)
    put16(buf, off + 6, extra & 0xFFFF)
    end = off + HLEN + quoted_len
    put16(buf, off + 2, checksum(buf, off, end))
    return HLEN + quoted_len
