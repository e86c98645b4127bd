"""The packed Internet checksum (RFC 1071) for runtimes without the native
emitter (CircuitPython): see tcpip/wire/checksum.py, which chooses it."""
try:
    from struct import pack_into as _pack_into
except ImportError:  # pragma: no cover
    from ustruct import pack_into as _pack_into

_SCRATCH_BYTES = 512  # even, and the count in _SCRATCH_FMT
_SCRATCH_FMT = "512s"
_scratch = None  # memoryview of an array('H') of _SCRATCH_BYTES, made at the first call
_SWAP = __import__("sys").byteorder == "little"


def sum16_packed(buf, start, end):
    """sum16_portable as small-int word sums in C over a scratch array('H')
    (MicroPython and CircuitPython: CPython's struct takes only bytes for "s")."""
    global _scratch
    w = _scratch
    if w is None:
        from array import array
        w = _scratch = memoryview(array("H", bytes(_SCRATCH_BYTES)))
    if end > len(buf):
        end = len(buf)
    m = memoryview(buf)
    pack_into = _pack_into
    s = 0
    i = start
    while i < end:
        j = i + _SCRATCH_BYTES
        if j > end:
            j = end
        pack_into(_SCRATCH_FMT, w, 0, m[i:j])  # zero-pads a short piece: adds nothing
        s += sum(w[0:(j - i + 1) >> 1])  # < 2**25: a small int
        i = j
    while s >> 16:  # RFC 1071 2.(B): end-around carries; 0 only for all-zero data
        s = (s & 0xFFFF) + (s >> 16)
    if _SWAP:
        return ((s & 0xFF) << 8) | (s >> 8)
    return s


def packed_ok(sum16_portable):
    """The packed sum agrees with ``sum16_portable`` here (a runtime whose struct
    or memoryview lacks what it uses keeps the chunked sum)."""
    global _scratch
    try:
        b = bytes(range(1, 41)) + b"\xff" * 600
        for o, e in ((0, 40), (1, 40), (0, 39), (2, 640), (3, 3)):
            if sum16_packed(b, o, e) != sum16_portable(b, o, e):
                _scratch = None
                return False
        return True
    except Exception:
        _scratch = None
        return False
