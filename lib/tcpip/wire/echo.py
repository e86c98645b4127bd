"""ICMP echo replies (RFC 792) made from the request, without a pass over its data.

``reply_in_place`` turns a received echo request frame (checked by the
interface: ICMP checksum good, addressed to us) into its reply in the same
buffer: MAC addresses swapped, a new IPv4 header, type and code 0, the ICMP
checksum updated from the request's (RFC 1624).  Nothing is copied but the
6-byte MAC addresses (and the message, moved up over the request's IP
options when it had some), so the reply costs the same for 8 bytes of data
as for 1472.  ``echo_to_reply`` is the ICMP part alone.

``accept`` (machine code; None where there is none) does all of it, the
checks and the send included: given the interface (a
``tcpip.iface.Interface``: its ``rx``, ``ctr``, ``nic``, ``cfg.ttl``,
``trace`` and, in its memo, the block ``params()`` made: our MAC and
address, the subnet's broadcast address, the largest frame and where the
counters are) and a received frame's length, it makes the reply in place, counts the request in and the
reply out, hands the reply to the NIC (a send's OSError counted under
``tx_errors``, as ``Interface._send_rx`` counts it) and returns its length
when the frame is an echo request the interface would answer (unicast to
our MAC and address, IPv4 without options, every check of
``tcpip.iface``'s receive path passed, no tracer on), and returns 0
without touching the frame otherwise: the interface's general path then
takes the frame and counts it as before.  It is ``tcpip/wire/echo_fast.py``
(viper) as the MicroPython board set ships it, compiled by mpy-cross
(``tcpip/wire/echo_native.mpy``, tools/deploy/board.mk): the interface
loads that by itself (``load_native``) after its first echo reply, nothing
to compile.  Elsewhere ``accept`` stays None unless
the application calls ``compile_accept()`` (MicroPython with the native
emitter: the unix ports, a board given the .py sources).  On the emulated
RP2040 the interpreted path from a received frame to the reply's send took
about 1 ms; ``accept`` about 65 us and the NIC's send.

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


def params(iface, c):
    """The block ``accept`` reads, from a ``tcpip.iface.Interface`` (its
    ``mac``, ``ip_hi``/``ip_lo``, ``bc_hi``/``bc_lo`` and ``cfg``): our MAC
    (6 bytes), our address and the subnet's broadcast address (4 each;
    broadcast 0 when there is none), the TTL when built (unused: ``accept``
    reads ``cfg.ttl``), a spare byte, the largest frame taken in (2 bytes,
    MTU + 14), then ``c``: the positions in the interface's counter array
    (``ctr``, unsigned 32-bit) of the counters ``accept`` bumps, one byte
    each: frames, bytes and ICMP messages in, echo replies out, then
    frames and bytes out and transmit errors.  Build it again when the
    address changes."""
    p = bytearray(18)
    copy(p, 0, iface.mac, 0, 6)
    cfg = iface.cfg
    pack_into("!HHHHBBH", p, 6, iface.ip_hi, iface.ip_lo, iface.bc_hi, iface.bc_lo, cfg.ttl, 0,
              cfg.mtu + _IP_OFF)
    return p + c


accept = None


def load_native():
    """Load ``accept`` from the board set's machine code
    (tcpip/wire/echo_native.mpy) when it is there and ``accept`` is still
    None; returns ``accept``.  The interface calls this once, after its
    first echo reply went out: loading the module from a board's flash takes
    some milliseconds, which that reply need not wait for."""
    global accept
    if accept is None:
        try:
            # (no such module elsewhere; an .mpy of another architecture
            # would be a ValueError: no machine code there either)
            from tcpip.wire.echo_native import accept as a
        except Exception:
            return None
        accept = a
    return accept


def compile_accept():
    """Load ``accept`` and return it: the board set's machine code when it is
    there (``load_native``), else tcpip/wire/echo_fast.py compiled from
    source by the native emitter (once), else None (CPython, CircuitPython).
    On the emulated RP2040 compiling takes about 90 ms and the machine code
    about 2 KB of heap, for about 0.7 ms less per echo request
    (docs/performance.md), so the interface never compiles it itself: an
    application that wants the faster ping without the board set calls this
    (after ``tcpip.start()``); the interface then answers with ``accept``
    from its next echo request on."""
    global accept
    if load_native() is None:
        try:
            from tcpip.wire.echo_fast import accept as a
        except Exception:  # CPython (ImportError), no native emitter (SyntaxError)
            return None
        accept = a
    return accept
