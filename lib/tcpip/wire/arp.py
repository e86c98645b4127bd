"""ARP for IPv4 over Ethernet (RFC 826)."""
from tcpip.compat import const

LEN = const(28)
REQUEST = const(1)
REPLY = const(2)
_HDR_REQUEST = b"\x00\x01\x08\x00\x06\x04\x00\x01"
_HDR_REPLY = b"\x00\x01\x08\x00\x06\x04\x00\x02"


from tcpip.wire.bytes import get32 as _u32, put32


class Arp:
    """Parsed ARP packet: oper, spa/tpa (ints), sha_off/tha_off (offsets of the MACs in buf)."""

    def __init__(self):
        self.oper = 0
        self.spa = 0
        self.tpa = 0
        self.sha_off = 0
        self.tha_off = 0

    def parse(self, buf, off, end):
        if end - off < LEN:
            return "arp_malformed"
        # htype Ethernet, ptype IPv4, hlen 6, plen 4
        if (buf[off] != 0 or buf[off + 1] != 1 or buf[off + 2] != 0x08 or buf[off + 3] != 0
                or buf[off + 4] != 6 or buf[off + 5] != 4):
            return "arp_malformed"
        oper = (buf[off + 6] << 8) | buf[off + 7]
        if oper != REQUEST and oper != REPLY:
            return "arp_malformed"
        self.oper = oper
        self.sha_off = off + 8
        self.spa = _u32(buf, off + 14)
        self.tha_off = off + 18
        self.tpa = _u32(buf, off + 24)
        return None


def emit(buf, off, oper, sha, spa, tha, tpa):
    """Write an ARP packet; sha/tha are 6-byte MACs, spa/tpa ints. Returns 28."""
    buf[off:off + 8] = _HDR_REQUEST if oper == REQUEST else _HDR_REPLY
    buf[off + 8:off + 14] = sha
    put32(buf, off + 14, spa)
    buf[off + 18:off + 24] = tha
    put32(buf, off + 24, tpa)
    return LEN

