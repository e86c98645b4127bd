"""tcpip.wire.echo's ``accept`` in machine code (viper): see that module.

Plain viper source, so mpy-cross compiles it to machine code inside the
.mpy (``-march=armv6m``): the MicroPython board set (tools/deploy/board.mk)
ships it so as ``tcpip/wire/echo_native.mpy``, which the interface
loads by itself after its first echo reply (nothing to compile on the
board).  Imported as source (a MicroPython unix port, a board given the .py
files) it is compiled at import: there only ``echo.compile_accept()``
imports it (about 90 ms on the emulated RP2040).  CPython and CircuitPython
(no native emitter) cannot import it.

``accept(buf, n, p, ctr)``: see ``tcpip.wire.echo`` (``ctr`` an
``array('I')``, the interface's counters).  The checks are the general
path's, in the order that decides soonest, each declining (0) rather than
counting: Ethernet to our MAC, IPv4, untagged, 42
bytes to the largest frame; IHL 5, total length from 28 bytes to what
arrived; not a fragment; TTL not 0; ICMP; to our address (not 0.0.0.0); RFC
1122 3.2.1.3: not from a multicast, class E, loopback or our subnet's
broadcast address; echo request; both checksums good (RFC 1071 sums of
16-bit words here, no calls: a call from viper costs about what 30 words of
sum do).
"""
import micropython


@micropython.viper
def accept(buf, n: int, p, ctr) -> int:
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
    # RFC 1071: each sum folds to 0xFFFF when its checksum is good (a sum
    # of up to 750 words fits the machine word)
    s = 0
    i = 14
    while i < 34:
        s += (b[i] << 8) | b[i + 1]
        i += 2
    s = (s & 0xFFFF) + (s >> 16)
    if (s & 0xFFFF) + (s >> 16) != 0xFFFF:
        return 0
    end = 14 + total
    s = 0
    i = 34
    while i + 1 < end:
        s += (b[i] << 8) | b[i + 1]
        i += 2
    if i < end:
        s += b[i] << 8  # (an odd length: padded with a zero byte)
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
    b[22] = q[14]
    b[24] = 0
    b[25] = 0
    i = 0
    while i < 4:
        c = b[26 + i]
        b[26 + i] = b[30 + i]
        b[30 + i] = c
        i += 1
    s = 0
    i = 14
    while i < 34:
        s += (b[i] << 8) | b[i + 1]
        i += 2
    s = (s & 0xFFFF) + (s >> 16)
    s = ((s & 0xFFFF) + (s >> 16)) ^ 0xFFFF
    b[24] = s >> 8
    b[25] = s & 0xFF
    # Ethernet: back to the sender, from us
    i = 0
    while i < 6:
        b[i] = b[6 + i]
        b[6 + i] = q[i]
        i += 1
    # the interface's counters (unsigned 32-bit: they wrap), where p says
    w = ptr32(ctr)
    w[q[18]] += 1
    w[q[19]] += n
    w[q[20]] += 1
    return end
