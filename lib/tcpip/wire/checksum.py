"""Internet checksum (RFC 1071) over a region of a buffer.

Four implementations of ``sum16``, chosen once at import:

- portable (CPython): the ones' complement sum of 16-bit words equals the
  region read as one big-endian integer, modulo 0xFFFF, because
  2**16 == 1 (mod 0xFFFF).  ``int.from_bytes`` keeps that loop
  in C.  The only care point is zero: a ones' complement sum is 0 only for
  all-zero data, and 0xFFFF for any other multiple of 0xFFFF.  On MicroPython
  this allocates a big integer per call (about 2 bytes per byte summed).
- packed (CircuitPython, a MicroPython without the native emitter;
  tcpip/wire/checksum_packed.py): the
  region is copied 512 bytes at a time into a scratch ``array('H')`` with
  ``struct.pack_into("512s", ...)`` (a raw copy that zero-pads a short
  piece), and ``sum()`` over a memoryview of its items adds the 16-bit words
  in C as small ints; the words are read in the machine's byte order, and
  the ones' complement sum of byte-swapped words is the byte-swapped sum
  (RFC 1071 2.(B)).  It allocates ~50 bytes a call (the memoryviews) plus,
  at its first call, the 512-byte scratch.  On the emulated Feather RP2040
  (CircuitPython 10.2.1), 1480 bytes: 1.66 ms and 48 B where the chunked sum
  takes 2.99 ms and leaves 3.2 KB of garbage; there a garbage collection
  with the stack up costs ~20 ms, so the garbage mattered more than the time.
  Chosen at import after a self-check against the portable sum.
- chunked (the fallback where packed fails its self-check): the portable sum
  in 512-byte pieces read through a memoryview.  A frame-sized integer wants
  a free heap block of about 1.5 KB twice per frame (the integer, the
  remainder of ``%``, sized like it); a board serving with ~8 KB free and
  fragmented does not always have one (CircuitPython's services died with
  MemoryError mid-echo), while ~520-byte blocks are found.  Its ulab (on the
  Feather RP2040) sums in software floats: 5.6 ms, and inexact above 2**24.
- viper (MicroPython with the native emitter: unix, rp2): a machine-code loop
  over the bytes with an end-around-carry fold; allocates nothing.  A
  MicroPython board set holds it compiled (tcpip/wire/native_mc.mpy), a unix
  port compiles it from source at import; a runtime without the native
  emitter (CircuitPython) takes the packed one and CPython the portable one.

``IMPL`` names the one in use; ``sum16_portable``, ``sum16_chunked`` and
``sum16_viper`` (None when unavailable) stay reachable for tests, and
``tcpip.wire.checksum_packed.sum16_packed`` (its own module, loaded only
where there is neither viper nor CPython).
"""
from tcpip.wire.bytes import sum16_unchecked as _sum16_loaded


def fold(acc):
    """Reduce a sum of 16-bit words to its ones' complement value 0..0xFFFF."""
    r = acc % 0xFFFF
    if r == 0 and acc:
        return 0xFFFF
    return r


def sum16_portable(buf, start, end):
    """Ones' complement sum of buf[start:end] (odd length padded with a zero byte)."""
    if end > len(buf):
        end = len(buf)
    n = int.from_bytes(buf[start:end], "big")
    if (end - start) & 1:
        n <<= 8
    return fold(n)


_PIECE_BYTES = 512  # even: every piece starts on a 16-bit word


def sum16_chunked(buf, start, end):
    """sum16_portable over pieces of _PIECE_BYTES: the same sum, no copy, smaller allocations."""
    if end > len(buf):
        end = len(buf)
    m = memoryview(buf)
    acc = 0
    i = start
    while i < end:
        j = i + _PIECE_BYTES
        if j > end:
            j = end
        n = int.from_bytes(m[i:j], "big")
        if (j - i) & 1:
            n <<= 8
        acc += fold(n)  # 0 only for an all-zero piece, so fold(acc) keeps zero apart
        i = j
    return fold(acc)


# Compiled with exec so that this file stays plain Python everywhere (mpy-cross,
# CPython, CircuitPython); MicroPython's compiler turns the decorator into native
# code and never looks up the name ``micropython`` at run time.  The word sum of
# a 1514-byte frame is below 2**26, so the accumulator stays a machine word (and
# a small int on a 32-bit port); folding the carries back in (RFC 1071 2.(B))
# gives 0 only for an all-zero region, like ``fold``.  Viper's byte loads are
# slow on a Cortex-M0+ (308 us for 1480 bytes on the emulated RP2040), so a
# region that starts at an even address is summed a 32-bit word at a time:
# a little-endian word holds two byte-swapped 16-bit words, and the ones'
# complement sum of byte-swapped words is the byte-swapped sum (RFC 1071
# 2.(B)), so those words are summed apart, folded and swapped back.  The
# source is tcpip/wire/native.py's SUM16: machine code on a MicroPython board
# (tcpip/wire/native_mc.mpy), compiled at import on a unix port; either is
# loaded with the copy by tcpip.wire.bytes and checked here.


def _load_viper():
    try:
        f = _sum16_loaded
        if f is None:
            return None
        # a self-check: a runtime that accepted the source must also agree
        if f(b"\x45\x00\x00\x1c\xff", 0, 5) != 0x441D:  # 0x4500 + 0x001C + 0xFF00, folded
            return None
        # the word path, from an address = 0, 2 (mod 4) and an odd one
        b = bytes(range(1, 41))
        for o in range(4):
            if f(b, o, 40) != sum16_portable(b, o, 40):
                return None
        return f
    except Exception:
        return None


sum16_viper = _load_viper()
if sum16_viper is not None:
    sum16 = sum16_viper
    IMPL = "viper"
elif __import__("sys").implementation.name == "cpython":
    sum16 = sum16_portable
    IMPL = "portable"
else:
    # (its own module: a MicroPython board with viper never loads its code)
    from tcpip.wire.checksum_packed import sum16_packed, packed_ok
    if packed_ok(sum16_portable):
        sum16 = sum16_packed
        IMPL = "packed"
    else:
        sum16 = sum16_chunked
        IMPL = "chunked"


def checksum(buf, start, end, acc=0):
    """Checksum field value for buf[start:end] plus an earlier partial sum."""
    return ~fold(sum16(buf, start, end) + acc) & 0xFFFF


def addr_sum(src, dst):
    """The addresses' part of the pseudo-header sum: their four 16-bit halves.

    The per-segment paths keep addresses as 16-bit halves and add them
    themselves (``IPv4.asum``): a 32-bit address is a heap object on a 32-bit
    MicroPython port, and so is anything computed from one."""
    return (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF)


def pseudo_sum(src, dst, proto, length):
    """Sum of the IPv4 pseudo-header (RFC 9293 3.1, RFC 768)."""
    return addr_sum(src, dst) + proto + length


def verify(buf, start, end, acc=0):
    """True when the region, checksum field included, sums to 0xFFFF."""
    return fold(sum16(buf, start, end) + acc) == 0xFFFF
