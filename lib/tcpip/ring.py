"""Fixed-size ring buffers for TCP/UDP receive and send queues.

A ring is a region ``buf[base:base + size]`` of a bytearray plus a few integers
kept in an integer array ``s`` starting at index ``i``::

    s[i + BASE]     where the ring starts in buf
    s[i + SIZE]     its size in bytes
    s[i + HEAD]     index (0 .. size-1) of the first readable byte
    s[i + COUNT]    readable bytes
    s[i + NRANGES]  out-of-order ranges held
    s[i + RANGES:]  range k is s[i+RANGES+2k], s[i+RANGES+2k+1]; a ring that
                    keeps ranges ends the array, whose length tells their room

The functions below take ``(buf, s, i, ...)`` and allocate nothing.  That lets
the TCP layer keep both rings of a connection inside the connection's field
array and all ring bytes in one pool-wide bytearray (no Ring object per
direction: each costs a heap object and a map on MicroPython).  ``Ring`` is the
same thing with its own buffer and state, for UDP endpoints and for tests.

Besides the ordinary queue operations a ring accepts data *ahead* of the
readable data (TCP out-of-order segments): such bytes are stored in place and
remembered as a bounded number of filled ranges ``[start, end)``, offsets counted from
the end of the readable data (always > 0 when stored).  When in-order data
reaches a range, the range joins the readable data.

Copies go through ``wire.bytes.copy`` (memoryview slices on CPython, a native
loop on MicroPython), so moving data in or out allocates nothing there.
"""
from array import array
from tcpip.compat import const
from tcpip.wire.bytes import copy as _copy, copy_viper as _copy_viper

BASE = const(0)
SIZE = const(1)
HEAD = const(2)
COUNT = const(3)
NRANGES = const(4)
RANGES = const(5)


def fields(max_ranges):
    """State slots a ring with room for max_ranges out-of-order ranges needs."""
    return RANGES + 2 * max_ranges


def init(s, i, base, size):
    s[i + BASE] = base
    s[i + SIZE] = size
    clear(s, i)


def clear(s, i):
    s[i + HEAD] = 0
    s[i + COUNT] = 0
    s[i + NRANGES] = 0


# -- copying helpers (two copies at most: before and after the wrap).  The
# per-segment operations (write, read_into, peek_into) do the common case,
# no wrap, themselves: on MicroPython a call whose frame exceeds 11 slots
# takes a heap allocation, and these are called for every segment.

def _put(buf, s, i, pos, src, src_off, n):
    # pos: index in the ring; copies n bytes from src[src_off:]
    first = s[i + SIZE] - pos
    pos += s[i + BASE]
    if n <= first:
        _copy(buf, pos, src, src_off, n)
    else:
        _copy(buf, pos, src, src_off, first)
        _copy(buf, s[i + BASE], src, src_off + first, n - first)


def _get(buf, s, i, pos, dst, dst_off, n):
    first = s[i + SIZE] - pos
    pos += s[i + BASE]
    if n <= first:
        _copy(dst, dst_off, buf, pos, n)
    else:
        _copy(dst, dst_off, buf, pos, first)
        _copy(dst, dst_off + first, buf, s[i + BASE], n - first)


# -- queue operations

def write(buf, s, i, src, src_off, n):
    """Append n bytes of src[src_off:] (fewer when full); returns bytes stored."""
    free = s[i + SIZE] - s[i + COUNT]
    if n > free:
        n = free
    if n <= 0:
        return 0
    pos = s[i + HEAD] + s[i + COUNT]
    if pos >= s[i + SIZE]:
        pos -= s[i + SIZE]
    if pos + n <= s[i + SIZE]:
        _copy(buf, s[i + BASE] + pos, src, src_off, n)
    else:
        _put(buf, s, i, pos, src, src_off, n)
    s[i + COUNT] += n
    if s[i + NRANGES]:
        _advance_ranges(s, i, n)
    return n


def read_into(buf, s, i, dst, dst_off, n):
    """Move up to n readable bytes into dst[dst_off:]; returns bytes moved."""
    if n > s[i + COUNT]:
        n = s[i + COUNT]
    if n <= 0:
        return 0
    if s[i + HEAD] + n <= s[i + SIZE]:
        _copy(dst, dst_off, buf, s[i + BASE] + s[i + HEAD], n)
    else:
        _get(buf, s, i, s[i + HEAD], dst, dst_off, n)
    discard(s, i, n)
    return n


def peek_into(buf, s, i, dst, dst_off, n, offset):
    """Copy up to n bytes starting `offset` bytes past the head; nothing is consumed."""
    avail = s[i + COUNT] - offset
    if n > avail:
        n = avail
    if n <= 0:
        return 0
    pos = s[i + HEAD] + offset
    if pos >= s[i + SIZE]:
        pos -= s[i + SIZE]
    if pos + n <= s[i + SIZE]:
        _copy(dst, dst_off, buf, s[i + BASE] + pos, n)
    else:
        _get(buf, s, i, pos, dst, dst_off, n)
    return n


def discard(s, i, n):
    """Drop n bytes from the head (acknowledged or consumed data)."""
    if n > s[i + COUNT]:
        n = s[i + COUNT]
    head = s[i + HEAD] + n
    if head >= s[i + SIZE]:
        head -= s[i + SIZE]
    s[i + COUNT] -= n
    if s[i + COUNT] == 0 and s[i + NRANGES] == 0:
        head = 0  # keep later writes contiguous when the ring drains
    s[i + HEAD] = head
    return n


def find(buf, s, i, byte, limit):
    """Offset of the first readable `byte` value within limit bytes (all when
    limit < 0), or -1 (readline)."""
    n = s[i + COUNT]
    if 0 <= limit < n:
        n = limit
    base = s[i + BASE]
    size = s[i + SIZE]
    pos = s[i + HEAD]
    for k in range(n):
        if buf[base + pos] == byte:
            return k
        pos += 1
        if pos == size:
            pos = 0
    return -1


# -- out-of-order data

def write_at(buf, s, i, offset, src, src_off, n):
    """Store n bytes `offset` bytes past the end of readable data.

    offset 0 is an ordinary write.  Returns bytes accepted (0 when it does
    not fit in the free space or no range slot is left).  Readable data
    grows when the gap before a stored range fills.
    """
    if offset == 0:
        return write(buf, s, i, src, src_off, n)
    free = s[i + SIZE] - s[i + COUNT]
    if offset >= free:
        return 0
    if offset + n > free:
        n = free - offset
    if n <= 0 or not _add_range(s, i, offset, offset + n):
        return 0
    pos = s[i + HEAD] + s[i + COUNT] + offset
    while pos >= s[i + SIZE]:
        pos -= s[i + SIZE]
    _put(buf, s, i, pos, src, src_off, n)
    return n


def ranges(s, i):
    """Stored out-of-order ranges as (start, end) offsets past readable data (allocates; tests)."""
    r = i + RANGES
    return [(s[r + 2 * k], s[r + 2 * k + 1]) for k in range(s[i + NRANGES])]


def _add_range(s, i, start, end):
    r = i + RANGES
    k = s[i + NRANGES]
    # find the insertion point and merge overlapping/adjacent ranges
    a = 0
    while a < k and s[r + 2 * a + 1] < start:
        a += 1
    b = a
    while b < k and s[r + 2 * b] <= end:
        if s[r + 2 * b] < start:
            start = s[r + 2 * b]
        if s[r + 2 * b + 1] > end:
            end = s[r + 2 * b + 1]
        b += 1
    merged = b - a
    if merged == 0 and k == (len(s) - r) >> 1:
        return False
    # replace ranges a..b-1 with one range
    shift = 1 - merged
    if shift > 0:
        m = k
        while m > a:
            s[r + 2 * m] = s[r + 2 * m - 2]
            s[r + 2 * m + 1] = s[r + 2 * m - 1]
            m -= 1
    elif shift < 0:
        for m in range(a + 1, k + shift):
            s[r + 2 * m] = s[r + 2 * (m - shift)]
            s[r + 2 * m + 1] = s[r + 2 * (m - shift) + 1]
    s[r + 2 * a] = start
    s[r + 2 * a + 1] = end
    s[i + NRANGES] = k + shift
    return True


def _advance_ranges(s, i, n):
    # In-order data of n bytes arrived: ranges move n closer; a range that
    # now starts at (or before) the end of readable data joins it.  Nothing
    # negative is stored (the state may be an array of unsigned ints).
    r = i + RANGES
    k = s[i + NRANGES]
    joined = 0  # bytes [0, joined) already in place after the readable data
    w = 0
    for m in range(k):
        e = s[r + 2 * m + 1] - n
        if e <= 0:
            continue  # fully overwritten by the in-order data
        st = s[r + 2 * m] - n
        if st <= 0:
            joined = e  # ranges are disjoint and sorted: only the first can join
            continue
        s[r + 2 * w] = st - joined
        s[r + 2 * w + 1] = e - joined
        w += 1
    s[i + NRANGES] = w
    s[i + COUNT] += joined


class Ring:
    """A ring with its own buffer and state (UDP endpoints, tests), or a view
    of one that lives elsewhere (``Ring(0, max_ranges, buf, s, i)``: a TCP
    connection's ``rx``/``tx``).  Same operations as the functions above;
    ``write_at`` refuses when the ring has no room for ranges."""

    def __init__(self, size, max_ranges=4, buf=None, s=None, i=0):
        if s is None:
            s = array("i", bytes(4 * fields(max_ranges)))
            # the viper copy takes the bytearray itself; on CPython slices of
            # a memoryview are views: one memcpy per copy
            buf = bytearray(size)
            if _copy_viper is None:
                buf = memoryview(buf)
            init(s, 0, 0, size)
        self.buf = buf
        self.s = s
        self.i = i
        self.m = max_ranges

    @property
    def size(self):
        return self.s[self.i + SIZE]

    @property
    def head(self):
        return self.s[self.i + HEAD]

    @property
    def count(self):
        return self.s[self.i + COUNT]

    @property
    def nranges(self):
        return self.s[self.i + NRANGES]

    @property
    def max_ranges(self):
        return self.m

    def used(self):
        return self.s[self.i + COUNT]

    def free(self):
        return self.s[self.i + SIZE] - self.s[self.i + COUNT]

    def clear(self):
        clear(self.s, self.i)

    def write(self, src, src_off=0, n=-1):
        """Append up to n bytes (all of src when n < 0); returns bytes stored."""
        if n < 0 or n > len(src) - src_off:
            n = len(src) - src_off
        return write(self.buf, self.s, self.i, src, src_off, n)

    def read_into(self, dst, dst_off=0, n=-1):
        """Move up to n readable bytes into dst[dst_off:]; returns bytes moved."""
        if n < 0 or n > len(dst) - dst_off:
            n = len(dst) - dst_off
        return read_into(self.buf, self.s, self.i, dst, dst_off, n)

    def peek_into(self, dst, dst_off, n, offset=0):
        """Copy up to n bytes starting `offset` bytes past the head; nothing is consumed."""
        return peek_into(self.buf, self.s, self.i, dst, dst_off, n, offset)

    def discard(self, n):
        """Drop n bytes from the head."""
        return discard(self.s, self.i, n)

    def find(self, byte, limit=-1):
        """Offset of the first readable `byte` value within limit bytes, or -1 (readline)."""
        return find(self.buf, self.s, self.i, byte, limit)

    def write_at(self, offset, src, src_off=0, n=-1):
        """Store n bytes `offset` bytes past the end of readable data (see write_at)."""
        if n < 0 or n > len(src) - src_off:
            n = len(src) - src_off
        if offset and not self.m:
            return 0
        return write_at(self.buf, self.s, self.i, offset, src, src_off, n)

    def ranges(self):
        """Stored out-of-order ranges as (start, end) offsets past readable data (allocates)."""
        return ranges(self.s, self.i)
