"""The sources of the two viper loops of tcpip/wire: ``COPY`` (``copy`` in
tcpip.wire.bytes) and ``SUM16`` (``sum16`` in tcpip.wire.checksum), which
tcpip.wire.viper loads at import on MicroPython (the comments on each loop
are there): a MicroPython board set holds them compiled ahead, as machine
code (tcpip/wire/native_mc.mpy, made from this text by tools/deploy/board.mk),
and leaves this file off; a unix port compiles the text.  They live apart
from the code that uses them because a loaded .mpy keeps all its string
constants for as long as any of its functions lives: tcpip.wire.viper reads
the text and drops this module again, so the 3 KB of text does not stay on
the heap next to the compiled loops.
"""

COPY = """
@micropython.viper
def _words(da: uint, sa: uint, e: uint):
    # (the three hot values as the first three locals: the native emitter
    # keeps those in registers, the rest on the stack; 1,460 bytes in 78
    # against 160 us on the RP2040.  The addresses come as word numbers,
    # address >> 2: an argument is passed as an object, and an address of
    # 2**30 or more, a 32-bit x86 heap's, would be a big int, allocated)
    da <<= 2
    sa <<= 2
    e = (e << 2) - 4
    while sa < e:  # two words a turn
        v = ptr32(sa)[0]
        u = ptr32(sa)[1]
        ptr32(da)[0] = v
        ptr32(da)[1] = u
        sa += 8
        da += 8
    if sa == e:
        ptr32(da)[0] = ptr32(sa)[0]


@micropython.viper
def copy(dst, dst_off: int, src, src_off: int, n: int):
    m = int(len(dst)) - dst_off
    if n > m:
        n = m
    m = int(len(src)) - src_off
    if n > m:
        n = m
    if n <= 0 or dst_off < 0 or src_off < 0:
        return
    da = int(ptr8(dst)) + dst_off
    sa = int(ptr8(src)) + src_off
    if n >= 16:
        while da & 3:
            ptr8(da)[0] = ptr8(sa)[0]
            da += 1
            sa += 1
            n -= 1
        k = n >> 2
        dw = ptr32(da)
        r = sa & 3
        i = 0
        if r == 0:
            _words(uint(da) >> 2, uint(sa) >> 2, (uint(sa) >> 2) + uint(k))
        else:
            sw = ptr32(sa - r)
            lo = r << 3
            hi = 32 - lo
            prev = uint(sw[0])
            k2 = k - 1
            while i < k2:
                cur = uint(sw[i + 1])
                dw[i] = (prev >> lo) | (cur << hi)
                prev = uint(sw[i + 2])
                dw[i + 1] = (cur >> lo) | (prev << hi)
                i += 2
            while i < k:
                cur = uint(sw[i + 1])
                dw[i] = (prev >> lo) | (cur << hi)
                prev = cur
                i += 1
        k <<= 2
        da += k
        sa += k
        n -= k
    d = ptr8(da)
    s = ptr8(sa)
    i = 0
    while i < n:
        d[i] = s[i]
        i += 1
"""

SUM16 = """
@micropython.viper
def _sum_words(sa: uint, e: uint, t: uint) -> uint:
    # (the hot values as the first three locals, kept in registers; the
    # addresses as word numbers: see COPY's _words)
    sa <<= 2
    e = (e << 2) - 12
    while sa < e:  # four words a turn
        v = uint(ptr32(sa)[0])
        u = uint(ptr32(sa)[1])
        t += (v & 0xFFFF) + (v >> 16) + (u & 0xFFFF) + (u >> 16)
        v = uint(ptr32(sa)[2])
        u = uint(ptr32(sa)[3])
        t += (v & 0xFFFF) + (v >> 16) + (u & 0xFFFF) + (u >> 16)
        sa += 16
    e += 12
    while sa < e:
        v = uint(ptr32(sa)[0])
        t += (v & 0xFFFF) + (v >> 16)
        sa += 4
    return t


@micropython.viper
def sum16(buf, start: int, end: int) -> int:
    p = ptr8(buf)
    n = int(len(buf))
    if end > n:
        end = n  # like the portable slice: never read past the buffer
    s = 0
    i = start
    a = int(p) + i
    if end - i >= 16 and (a & 1) == 0:
        if a & 2:
            s += (p[i] << 8) | p[i + 1]
            i += 2
        k = (end - i) >> 2
        t = uint(_sum_words(uint(int(p) + i) >> 2, (uint(int(p) + i) >> 2) + uint(k), uint(0)))
        i += k << 2
        while t >> 16:
            t = (t & 0xFFFF) + (t >> 16)
        s += int(((t & 0xFF) << 8) | (t >> 8))
    e8 = end - 8
    while i <= e8:
        s += ((p[i] << 8) | p[i + 1]) + ((p[i + 2] << 8) | p[i + 3]) \\
            + ((p[i + 4] << 8) | p[i + 5]) + ((p[i + 6] << 8) | p[i + 7])
        i += 8
    while i + 1 < end:
        s += (p[i] << 8) | p[i + 1]
        i += 2
    if i < end:
        s += p[i] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s
"""
