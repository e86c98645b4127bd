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
# application) use a native loop there, compiled from source at import (the
# file stays plain Python for CPython, CircuitPython and mpy-cross).  It never
# reads or writes outside either buffer: n is cut to what both can hold.
_VIPER_SRC = """
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
    d = ptr8(dst)
    s = ptr8(src)
    i = 0
    while i < n:
        d[dst_off + i] = s[src_off + i]
        i += 1
"""


def _load_viper():
    try:
        ns = {}
        exec(_VIPER_SRC, ns)
        f = ns["copy"]
        t = bytearray(4)
        f(t, 1, b"\x01\x02\x03", 1, 5)
        if t != bytearray(b"\x00\x02\x03\x00"):
            return None
        return f
    except Exception:  # CPython (NameError), no native emitter (SyntaxError, ValueError)
        return None


def copy_views(dst, dst_off, src, src_off, n):
    """copy_slices through a view of src: two small view objects instead of a
    copy of the bytes.  CircuitPython (no viper): a 1460-byte slice copy per
    segment wants a free block of that size, which its heap, serving with a
    few KB free, does not always have (the services died with MemoryError)."""
    dst[dst_off:dst_off + n] = memoryview(src)[src_off:src_off + n]


copy_viper = _load_viper()
if copy_viper is not None:
    copy = copy_viper
elif __import__("sys").implementation.name == "cpython":
    copy = copy_slices
else:
    copy = copy_views
