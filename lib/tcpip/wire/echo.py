"""ICMP echo replies (RFC 792) made from the request, without a pass over its data.

``reply_in_place`` turns a received echo request frame (checked by the
interface: ICMP checksum good, addressed to us) into its reply in the same
buffer: MAC addresses swapped, a new IPv4 header, type and code 0, the ICMP
checksum updated from the request's (RFC 1624).  Nothing is copied but the
6-byte MAC addresses (and the message, moved up over the request's IP
options when it had some), so the reply costs the same for 8 bytes of data
as for 1472.  ``echo_to_reply`` is the ICMP part alone.

``accept`` (MicroPython with the native emitter; None elsewhere) does all of
it in machine code, the checks included: given a whole received frame and
``params()`` (our MAC and address, the subnet's broadcast address, TTL and
largest frame), it makes the reply in place and returns its length when the
frame is an echo request the interface would answer (unicast to our MAC and
address, IPv4 without options, every check of ``tcpip.iface``'s receive path
passed), and returns 0 without touching the frame otherwise: the interface's
general path then takes the frame and counts it as before.  On the emulated
RP2040 the interpreted path from a received frame to the reply's send took
about 1 ms.

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
    IPv4 header ``ip`` parsed at 14, addressed to us) in place; returns the
    reply frame's length (Ethernet padding left out).

    The reply goes to the request's link-layer sender (no ARP lookup, RFC
    1122 3.2.2.6: to the address the request came from) from ``mac``, with
    ``ttl`` and no IP options (RFC 1122 3.2.2.6 lets a host leave the
    request's out)."""
    total = ip.payload_end - ip.payload_off  # (the message, for now)
    if ip.payload_off != _IP_OFF + 20:
        copy(buf, _IP_OFF + 20, buf, ip.payload_off, total)  # (forward: safe as it overlaps)
    echo_to_reply(buf, _IP_OFF + 20, _IP_OFF + 20 + total)
    # RFC 791 header checksum from the words themselves: the addresses' sum
    # is the request's (the same two addresses, swapped)
    total += 20
    s = _HDR_WORDS + total + (ttl << 8) + ip.asum
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    pack_into(HDR_FMT, buf, _IP_OFF, 0x45, 0, total, 0, 0x4000, ttl, 1, ~s & 0xFFFF,
              ip.dst_hi, ip.dst_lo, ip.src_hi, ip.src_lo)
    copy(buf, 0, buf, 6, 6)
    copy(buf, 6, mac, 0, 6)
    return _IP_OFF + total


def params(iface):
    """The block ``accept`` reads, from a ``tcpip.iface.Interface`` (its
    ``mac``, ``ip_hi``/``ip_lo``, ``bc_hi``/``bc_lo`` and ``cfg``): our MAC
    (6 bytes), our address and the subnet's broadcast address (4 each;
    broadcast 0 when there is none), the reply's TTL, a spare byte and the
    largest frame taken in (2 bytes, MTU + 14).  Build it again when the
    address changes; the TTL may be updated in place at ``params[14]``."""
    p = bytearray(18)
    copy(p, 0, iface.mac, 0, 6)
    cfg = iface.cfg
    pack_into("!HHHHBBH", p, 6, iface.ip_hi, iface.ip_lo, iface.bc_hi, iface.bc_lo, cfg.ttl, 0,
              cfg.mtu + _IP_OFF)
    return p


# accept(buf, n, p) in viper (machine code on MicroPython; compiled from
# source at import as in tcpip.wire.checksum, so the file stays plain
# Python).  The checks are the general path's, in the order that decides
# soonest, each declining (0) rather than counting: Ethernet to our MAC,
# IPv4, untagged, 42 bytes to the largest frame; IHL 5, total length from
# 28 bytes to what arrived; not a fragment; TTL not 0; ICMP; to our address
# (not 0.0.0.0); RFC 1122 3.2.1.3: not from a multicast, class E, loopback
# or our subnet's broadcast address; echo request; both checksums good.
_VIPER_SRC = """
@micropython.viper
def accept(buf, n: int, p) -> int:
    b = ptr8(buf)
    q = ptr8(p)
    if n < 42 or n > ((q[16] << 8) | q[17]):
        return 0
    i = 0
    while i < 6:
        if b[i] != q[i]:
            return 0
        i += 1
    if b[12] != 8 or b[13] != 0 or b[14] != 0x45 or b[23] != 1 or b[34] != 8:
        return 0
    total = (b[16] << 8) | b[17]
    if total < 28 or total + 14 > n:
        return 0
    if (b[20] & 0x3F) != 0 or b[21] != 0 or b[22] == 0:
        return 0
    if b[30] != q[6] or b[31] != q[7] or b[32] != q[8] or b[33] != q[9]:
        return 0
    if (q[6] | q[7] | q[8] | q[9]) == 0:
        return 0
    if b[26] >= 224 or b[26] == 127:
        return 0
    if b[26] == q[10] and b[27] == q[11] and b[28] == q[12] and b[29] == q[13] \\
            and (q[10] | q[11] | q[12] | q[13]) != 0:
        return 0
    s = 0
    i = 14
    while i < 34:
        s += (b[i] << 8) | b[i + 1]
        i += 2
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    if s != 0xFFFF:
        return 0
    end = 14 + total
    s = 0
    i = 34
    while i + 1 < end:
        s += (b[i] << 8) | b[i + 1]
        i += 2
    if i < end:
        s += b[i] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    if s != 0xFFFF:
        return 0
    # ICMP (RFC 1624 eqn 3, as echo_to_reply): type and code 0
    c = ((((b[36] << 8) | b[37]) ^ 0xFFFF)) + ((((b[34] << 8) | b[35]) ^ 0xFFFF))
    c = ((c & 0xFFFF) + (c >> 16)) ^ 0xFFFF
    b[34] = 0
    b[35] = 0
    if c == 0:
        b[36] = 0
        b[37] = 0
        s = 0
        i = 34
        while i + 1 < end:
            s += (b[i] << 8) | b[i + 1]
            i += 2
        if i < end:
            s += b[i] << 8
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        c = s ^ 0xFFFF
    b[36] = c >> 8
    b[37] = c & 0xFF
    # IPv4: TOS 0, ID 0, DF, our TTL, the addresses swapped, the checksum
    b[15] = 0
    b[18] = 0
    b[19] = 0
    b[20] = 0x40
    b[21] = 0
    b[22] = q[14]
    b[24] = 0
    b[25] = 0
    i = 0
    while i < 4:
        t = b[26 + i]
        b[26 + i] = b[30 + i]
        b[30 + i] = t
        i += 1
    s = 0
    i = 14
    while i < 34:
        s += (b[i] << 8) | b[i + 1]
        i += 2
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = s ^ 0xFFFF
    b[24] = s >> 8
    b[25] = s & 0xFF
    # Ethernet: back to the sender, from us
    i = 0
    while i < 6:
        b[i] = b[6 + i]
        b[6 + i] = q[i]
        i += 1
    return end
"""


def _load_viper():
    try:
        ns = {}
        exec(_VIPER_SRC, ns)
        return ns["accept"]
    except Exception:  # CPython (NameError), no native emitter (SyntaxError, ValueError)
        return None


accept = _load_viper()
del _VIPER_SRC  # (2.4 KB of source the heap need not keep once compiled)
