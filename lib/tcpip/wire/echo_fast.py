"""tcpip.wire.echo's ``accept`` in machine code (viper): see that module.

Plain viper source, so mpy-cross compiles it to machine code inside the
.mpy (``-march=armv6m``): the MicroPython board set (tools/deploy/board.mk)
ships it so as ``tcpip/wire/echo_native.mpy``, which the interface
loads by itself after its first echo reply (nothing to compile on the
board).  Imported as source (a MicroPython unix port, a board given the .py
files) it is compiled at import: there only ``echo.compile_accept()``
imports it (about 90 ms on the emulated RP2040).  CPython and CircuitPython
(no native emitter) cannot import it.

``accept(iface, n)``: see ``tcpip.wire.echo`` (``n`` the frame's length in
``iface.rx``; the params block from the interface's memo).  The interface
makes it its own ``echo_fast`` method when it arms it, and it sends the
reply itself (``iface.nic.send``): no bytecode runs between the idle
shortcut's receive and the NIC's send, about 0.1 ms of a ping on the
emulated RP2040.  The checks are the general path's, in the order that
decides soonest, each declining (0) rather than counting: armed, no
tracer on, Ethernet to our MAC, IPv4, untagged, 42
bytes to the largest frame; IHL 5, total length from 28 bytes to what
arrived; not a fragment; TTL not 0; ICMP; to our address (not 0.0.0.0); RFC
1122 3.2.1.3: not from a multicast, class E, loopback or our subnet's
broadcast address; echo request; both checksums good (RFC 1071 sums of
16-bit words here, a machine word at a time, no calls: a call from viper
costs about what 30 words of sum do).
"""
import micropython
from micropython import const

# tcpip.iface's memo slot holding the params block (None: not armed); the
# interface's own _M_ECHO (host_tests/test_echo_native.py checks they agree)
_M_ECHO = const(10)

# rx, n and the view rx[:n] of the last reply sent, and the slice's start
# (viper builds a slice only of objects)
_VIEW = [None, 0, None, 0]


@micropython.viper
def accept(iface, size) -> int:
    p = iface.memo[_M_ECHO]
    if not p or iface.trace:
        return 0
    buf = iface.rx
    n = int(size)
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
    if (q[6] | q[7] | q[8] | q[9]) == 0 or b[26] >= 224 or b[26] == 127:
        return 0
    if b[26] == q[10] and b[27] == q[11] and b[28] == q[12] and b[29] == q[13] \
            and (q[10] | q[11] | q[12] | q[13]) != 0:
        return 0
    # RFC 1071: each sum folds to 0xFFFF when its checksum is good.  The
    # sums add the 16-bit halves of whole machine words, read as the
    # machine reads them (little-endian on every MicroPython native
    # target: a one's complement sum is the same either way round, byte-
    # swapped, RFC 1071 2(B), and 0xFFFF swapped is 0xFFFF): the IPv4
    # header is 5 words from rx[14], which tcpip.iface keeps on a 4-byte
    # boundary (checked: else the general path answers).
    a = int(b) + 14
    if a & 3:
        return 0
    i = a + 20
    s = 0
    while a < i:
        v = uint(ptr32(a)[0])
        s += int((v & 0xFFFF) + (v >> 16))
        a += 4
    s = (s & 0xFFFF) + (s >> 16)
    if (s & 0xFFFF) + (s >> 16) != 0xFFFF:
        return 0
    # the ICMP message, from rx[34]: its whole words, then 0 to 3 bytes (a
    # sum of up to 370 words of two halves fits the machine word)
    end = 14 + total
    i += (end - 34) & ~3
    s = 0
    while a < i:
        v = uint(ptr32(a)[0])
        s += int((v & 0xFFFF) + (v >> 16))
        a += 4
    i -= int(b)
    if i + 1 < end:
        s += b[i] | (b[i + 1] << 8)
        i += 2
    if i < end:
        s += b[i]  # (an odd length: padded with a zero byte)
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    if s != 0xFFFF:
        return 0
    # ICMP (RFC 1624 eqn 3, as echo_to_reply): type and code 0; a result
    # of 0 (0x0000 or 0xFFFF?) is left to the general path
    c = (((b[36] << 8) | b[37]) ^ 0xFFFF) + (((b[34] << 8) | b[35]) ^ 0xFFFF)
    c = ((c & 0xFFFF) + (c >> 16)) ^ 0xFFFF
    if c == 0:
        return 0
    b[34] = 0
    b[35] = 0
    b[36] = c >> 8
    b[37] = c & 0xFF
    # IPv4: TOS 0, ID 0, DF, our TTL, the addresses swapped, the checksum
    b[15] = 0
    b[18] = 0
    b[19] = 0
    b[20] = 0x40
    b[21] = 0
    b[22] = int(iface.cfg.ttl)
    ptr16(int(b) + 24)[0] = 0
    i = 0
    while i < 4:
        c = b[26 + i]
        b[26 + i] = b[30 + i]
        b[30 + i] = c
        i += 1
    a = int(b) + 14
    i = a + 20
    s = 0
    while a < i:
        v = uint(ptr32(a)[0])
        s += int((v & 0xFFFF) + (v >> 16))
        a += 4
    s = (s & 0xFFFF) + (s >> 16)
    s = ((s & 0xFFFF) + (s >> 16)) ^ 0xFFFF
    ptr16(int(b) + 24)[0] = s  # (a sum of words read as the machine reads them)
    # Ethernet: back to the sender, from us
    i = 0
    while i < 6:
        b[i] = b[6 + i]
        b[6 + i] = q[i]
        i += 1
    # the interface's counters (unsigned 32-bit: they wrap), where p says
    w = ptr32(iface.ctr)
    w[q[18]] += 1
    w[q[19]] += n
    w[q[20]] += 1
    w[q[21]] += 1
    # the reply rx[:end], sent (the view of the last length kept: a
    # memoryview slice is a heap object); a send's OSError counted as the
    # interface's _send_rx counts it, any other error left to the caller
    m = _VIEW
    if m[0] is not buf or int(m[1]) != end:
        m[0] = buf
        m[1] = end
        m[2] = memoryview(buf)[m[3]:m[1]]
    try:
        iface.nic.send(m[2])
    except OSError:
        w[q[24]] += 1
        return end
    w[q[22]] += 1
    w[q[23]] += end
    return end
