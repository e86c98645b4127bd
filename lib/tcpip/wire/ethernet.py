"""Ethernet II header (IEEE 802.3), with an 802.1Q tag recognised."""
from tcpip.compat import const
from tcpip.wire.bytes import copy

HLEN = const(14)
TYPE_IPV4 = const(0x0800)
TYPE_ARP = const(0x0806)
TYPE_VLAN = const(0x8100)
MIN_FRAME = const(60)  # without FCS; shorter frames are padded on send
MAX_FRAME = const(1514)

BROADCAST = b"\xff\xff\xff\xff\xff\xff"


class Ethernet:
    """Parsed Ethernet header: ethertype, payload offset, vlan id (-1 untagged)."""

    def __init__(self):
        self.ethertype = 0
        self.payload_off = HLEN
        self.vlan = -1

    def parse(self, buf, end):
        if end < HLEN:
            return "eth_short"
        t = (buf[12] << 8) | buf[13]
        self.vlan = -1
        self.payload_off = HLEN
        if t == TYPE_VLAN:
            if end < HLEN + 4:
                return "eth_short"
            self.vlan = ((buf[14] << 8) | buf[15]) & 0x0FFF
            t = (buf[16] << 8) | buf[17]
            self.payload_off = HLEN + 4
        self.ethertype = t
        return None


def is_broadcast(buf, off=0):
    return (buf[off] & buf[off + 1] & buf[off + 2] & buf[off + 3] & buf[off + 4] & buf[off + 5]) == 0xFF


def is_multicast(buf, off=0):
    return buf[off] & 1 == 1


def mac_eq(buf, off, mac):
    """buf[off:off+6] == mac, without slicing."""
    return (buf[off] == mac[0] and buf[off + 1] == mac[1] and buf[off + 2] == mac[2]
            and buf[off + 3] == mac[3] and buf[off + 4] == mac[4] and buf[off + 5] == mac[5])


def emit(buf, dst, src, ethertype, dst_off=0):
    """Write dst MAC (from dst[dst_off:dst_off+6]), src MAC and type at buf[0:14]."""
    copy(buf, 0, dst, dst_off, 6)  # no slice: dst may be a MAC inside a larger table
    copy(buf, 6, src, 0, 6)
    buf[12] = ethertype >> 8
    buf[13] = ethertype & 0xFF
    return HLEN


def mac_str(mac):
    return ":".join("%02x" % b for b in mac)
