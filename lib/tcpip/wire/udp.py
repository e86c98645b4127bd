"""UDP header (RFC 768) with the IPv4 pseudo-header checksum."""
from tcpip.compat import const
from tcpip.wire.bytes import get16, put16
from tcpip.wire.checksum import sum16, fold, addr_sum

HLEN = const(8)
PROTO = const(17)


class Udp:
    """Parsed UDP header: sport, dport, payload_off, payload_end."""

    def __init__(self):
        self.sport = 0
        self.dport = 0
        self.payload_off = 0
        self.payload_end = 0

    def parse(self, buf, off, end, src, dst):
        return self.parse_sum(buf, off, end, addr_sum(src, dst))

    def parse_sum(self, buf, off, end, asum):
        """``parse`` with the addresses' pseudo-header sum (``IPv4.asum``)."""
        avail = end - off
        if avail < HLEN:
            return "udp_short"
        length = get16(buf, off + 4)
        if length < HLEN or length > avail:
            return "udp_len"
        if get16(buf, off + 6):  # 0 means the sender computed none (RFC 768)
            if fold(sum16(buf, off, off + length) + asum + PROTO + length) != 0xFFFF:
                return "udp_checksum"
        self.sport = get16(buf, off)
        self.dport = get16(buf, off + 2)
        self.payload_off = off + HLEN
        self.payload_end = off + length
        return None


def emit(buf, off, sport, dport, payload_len, src, dst):
    """Header and checksum over payload already at buf[off+8:]. Returns 8."""
    return emit_sum(buf, off, sport, dport, payload_len, addr_sum(src, dst))


def emit_sum(buf, off, sport, dport, payload_len, asum):
    """``emit`` with the addresses' pseudo-header sum."""
    length = HLEN + payload_len
    put16(buf, off, sport)
    put16(buf, off + 2, dport)
    put16(buf, off + 4, length)
    buf[off + 6] = 0
    buf[off + 7] = 0
    c = ~fold(sum16(buf, off, off + length) + asum + PROTO + length) & 0xFFFF
    put16(buf, off + 6, c or 0xFFFF)  # RFC 768: a computed 0 is sent as all ones
    return HLEN
