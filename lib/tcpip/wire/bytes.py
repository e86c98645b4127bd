"""Big-endian field access by index, without slices or tuples (no allocation)."""


def get16(b, o):
    return (b[o] << 8) | b[o + 1]


def get32(b, o):
    return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]


def put16(b, o, v):
    b[o] = (v >> 8) & 0xFF
    b[o + 1] = v & 0xFF


def put32(b, o, v):
    b[o] = (v >> 24) & 0xFF
    b[o + 1] = (v >> 16) & 0xFF
    b[o + 2] = (v >> 8) & 0xFF
    b[o + 3] = v & 0xFF


def copy_slices(dst, dst_off, src, src_off, n):
    """dst[dst_off:dst_off+n] = src[src_off:src_off+n] (portable; slices are
    views when dst and src are memoryviews, copies for a bytes/bytearray src)."""
    dst[dst_off:dst_off + n] = src[src_off:src_off + n]


# MicroPython: a slice of a bytearray is a copy on the heap and a slice of a
# memoryview a new view object, so per-segment copies (NIC buffer <-> ring <->
# application) use a native loop there (tcpip/wire/native.py's COPY), loaded
# at import by tcpip.wire.viper: a MicroPython board set holds it as machine
# code (tcpip/wire/native_mc.mpy, tools/deploy/board.mk), a unix port compiles
# the text (this file stays plain Python for CPython, CircuitPython and
# mpy-cross).  It never reads or writes outside either buffer: n is cut to
# what both can hold.
# Viper's code for a byte loop is slow on a Cortex-M0+ (about 67 cycles a
# byte on the emulated RP2040: 778 us for a 1460-byte segment), so whole
# words are moved: once the destination is word-aligned, each word is either
# one aligned load (source aligned the same way) or two aligned loads merged
# with shifts (little-endian; the loads stay inside the aligned words that
# hold the source bytes).  Bytes before the first and after the last whole
# word go one by one.


def _load_viper():
    # COPY with SUM16 (tcpip.wire.checksum's, which checks it itself): one
    # load of their module.  Not even tried where the runtime loads no
    # machine code (sys.implementation._mpy's architecture bits 0, or no
    # _mpy: CircuitPython, CPython), which has no native emitter either.
    if not getattr(__import__("sys").implementation, "_mpy", 0) >> 10:
        return None, None
    try:
        from tcpip.wire.viper import load  # (dropped again by load)
        code = load(("copy", "sum16"), ("COPY", "SUM16"))
        if code is None:
            return None, None
        f = code[0]
        t = bytearray(4)
        f(t, 1, b"\x01\x02\x03", 1, 5)
        if t != bytearray(b"\x00\x02\x03\x00"):
            return None, code[1]
        # the word paths, every source alignment (a big-endian port fails here)
        src = bytes(range(48))
        for so in range(4):
            t = bytearray(48)
            f(t, 1, src, so, 40)
            if t[1:41] != src[so:so + 40] or t[0] or t[41:] != bytearray(7):
                return None, code[1]
        return code
    except Exception:
        return None, None


def copy_views(dst, dst_off, src, src_off, n):
    """copy_slices through a view of src: two small view objects instead of a
    copy of the bytes.  CircuitPython (no viper): a 1460-byte slice copy per
    segment wants a free block of that size, which its heap, serving with a
    few KB free, does not always have (the services died with MemoryError)."""
    dst[dst_off:dst_off + n] = memoryview(src)[src_off:src_off + n]


copy_viper, sum16_unchecked = _load_viper()  # (the sum: tcpip.wire.checksum checks it)
if copy_viper is not None:
    copy = copy_viper
elif __import__("sys").implementation.name == "cpython":
    copy = copy_slices
else:
    copy = copy_views
