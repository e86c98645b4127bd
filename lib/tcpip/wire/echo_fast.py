"""tcpip.wire.echo's ``accept`` in machine code (viper): see that module.

Loaded and compiled only by ``tcpip.wire.echo.compile_accept()``, which an
application calls when it wants the faster echo reply (about 90 ms of
compiling and 2 KB of heap on the emulated RP2040).
"""
from tcpip.wire.checksum import sum16

# accept(buf, n, p) in viper (machine code on MicroPython; compiled from
# source by make_accept() as in tcpip.wire.checksum, so the file stays plain
# Python).  The checks are the general path's, in the order that decides
# soonest, each declining (0) rather than counting: Ethernet to our MAC,
# IPv4, untagged, 42 bytes to the largest frame; IHL 5, total length from
# 28 bytes to what arrived; not a fragment; TTL not 0; ICMP; to our address
# (not 0.0.0.0); RFC 1122 3.2.1.3: not from a multicast, class E, loopback
# or our subnet's broadcast address; echo request; both checksums good (by
# checksum.sum16: less code to compile on the board than loops of its own).
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
    if (q[6] | q[7] | q[8] | q[9]) == 0 or b[26] >= 224 or b[26] == 127:
        return 0
    if b[26] == q[10] and b[27] == q[11] and b[28] == q[12] and b[29] == q[13] \\
            and (q[10] | q[11] | q[12] | q[13]) != 0:
        return 0
    if int(sum16(buf, 14, 34)) != 0xFFFF or int(sum16(buf, 34, 14 + total)) != 0xFFFF:
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
    c = int(sum16(buf, 14, 34)) ^ 0xFFFF
    b[24] = c >> 8
    b[25] = c & 0xFF
    # Ethernet: back to the sender, from us
    i = 0
    while i < 6:
        b[i] = b[6 + i]
        b[6 + i] = q[i]
        i += 1
    return 14 + total
"""




def make_accept():
    """``accept`` compiled (once: the source is dropped then), or None where
    there is no native emitter."""
    global _VIPER_SRC
    try:
        ns = {"sum16": sum16}  # (checksum.py's, viper too where this compiles)
        exec(_VIPER_SRC, ns)
        return ns["accept"]
    except Exception:  # CPython (NameError), no native emitter (SyntaxError, ValueError)
        return None
    finally:
        _VIPER_SRC = None  # (2.4 KB of source the heap need not keep)
