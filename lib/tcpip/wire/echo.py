"""ICMP echo replies (RFC 792) made from the request, without a pass over its data.

``reply_in_place`` turns a received echo request frame (checked by the
interface: IPv4 header without options, ICMP checksum good, addressed to us)
into its reply in the same buffer: MAC addresses swapped, a new IPv4 header,
type and code 0, the ICMP checksum updated from the request's (RFC 1624).
Nothing is copied but the 6-byte MAC addresses, so the reply costs the same
for 8 bytes of data as for 1472.  ``echo_to_reply`` is the ICMP part alone
(the interface's path for a request with IP options, copied to its TX
buffer first).

The interface loads this module at the first echo request: a board nobody
pings keeps it off its heap.
"""
from struct import pack_into

from tcpip.compat import const
from tcpip.wire.bytes import copy
from tcpip.wire.checksum import checksum
from tcpip.wire.ipv4 import HDR_FMT

_IP_OFF = const(14)
# The reply's IPv4 header words that do not vary: version 4, IHL 5, TOS 0
# (0x4500), identification 0 and DF (0x4000), as tcpip.iface sends every
# datagram (its IDENT: RFC 6864 4.1, an atomic datagram's ID may be anything),
# and the protocol (ICMP, 1).
_HDR_WORDS = const(0x4500 + 0x4000 + 1)


def echo_to_reply(buf, off, end):
    """Turn the echo request at buf[off:end] (its checksum verified) into the
    reply: type and code 0, the checksum updated from the request's (RFC 1624
    eqn 3: HC' = ~(~HC + ~m + m'), m the old type/code word, m' = 0), the
    same value ``icmp.emit_echo`` computes over the whole message."""
    c = (~((buf[off + 2] << 8) | buf[off + 3]) & 0xFFFF) + (~((buf[off] << 8) | buf[off + 1]) & 0xFFFF)
    c = ~((c & 0xFFFF) + (c >> 16)) & 0xFFFF
    buf[off] = 0
    buf[off + 1] = 0
    if c == 0:
        # 0x0000 or 0xFFFF: only the words themselves tell (all zero: 0xFFFF,
        # RFC 1624 section 3); rare, so a pass over the message
        buf[off + 2] = 0
        buf[off + 3] = 0
        c = checksum(buf, off, end)
    buf[off + 2] = c >> 8
    buf[off + 3] = c & 0xFF


def reply_in_place(buf, ip, mac, ttl):
    """Make the reply to the echo request in ``buf`` (Ethernet at 0, the
    IPv4 header ``ip`` parsed at 14 with no options, addressed to us) in
    place; returns the reply frame's length (Ethernet padding left out).

    The reply goes to the request's link-layer sender (no ARP lookup, RFC
    1122 3.2.2.6: to the address the request came from) from ``mac``, with
    ``ttl``."""
    end = ip.payload_end
    echo_to_reply(buf, _IP_OFF + 20, end)
    # RFC 791 header checksum from the words themselves: the addresses' sum
    # is the request's (the same two addresses, swapped)
    total = ip.total_len
    s = _HDR_WORDS + total + (ttl << 8) + ip.asum
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    pack_into(HDR_FMT, buf, _IP_OFF, 0x45, 0, total, 0, 0x4000, ttl, 1, ~s & 0xFFFF,
              ip.dst_hi, ip.dst_lo, ip.src_hi, ip.src_lo)
    copy(buf, 0, buf, 6, 6)
    copy(buf, 6, mac, 0, 6)
    return end
