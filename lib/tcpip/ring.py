"""Fixed-size ring buffer over one bytearray, for TCP/UDP receive and send queues.

Nothing allocates after construction.  Besides the ordinary queue operations it
accepts data *ahead* of the write pointer (TCP out-of-order segments): such
bytes are stored in place and remembered as a bounded number of filled ranges;
when in-order data reaches a range, the range joins the readable data.

Offsets passed to ``write_at`` count from the end of the readable data.

Copies go through ``wire.bytes.copy`` (memoryview slices on CPython, a native
loop on MicroPython), so moving data in or out allocates nothing there.
"""
from array import array
from tcpip.wire.bytes import copy as _copy, copy_viper as _copy_viper


class Ring:
    # A ring without ranges (TX, UDP) never stores these, so it reads the
    # class's and has four instance attributes instead of six.
    r = ()
    nranges = 0

    def __init__(self, size, max_ranges=4):
        # The viper copy takes the bytearray itself; on CPython the buffer is
        # held as a memoryview, whose slices are views: one memcpy per copy.
        buf = bytearray(size)
        self.buf = buf if _copy_viper is not None else memoryview(buf)
        self.size = size
        self.head = 0  # index of the first readable byte
        self.count = 0  # readable bytes
        # Out-of-order ranges [start, end) relative to the end of readable data,
        # kept sorted and disjoint: range i is r[2 * i], r[2 * i + 1] (signed:
        # a range start goes <= 0 for a moment when in-order data reaches it).
        # Few attributes on purpose: every instance attribute costs a slot in
        # the object's map.
        if max_ranges > 0:
            self.r = array("i", bytes(8 * max_ranges))
            self.nranges = 0

    @property
    def max_ranges(self):
        return len(self.r) >> 1

    def used(self):
        return self.count

    def free(self):
        return self.size - self.count

    def clear(self):
        self.head = 0
        self.count = 0
        if self.nranges:
            self.nranges = 0

    # -- copying helpers (two slices at most: before and after the wrap)

    def _put(self, pos, src, src_off, n):
        # pos: index in buf; copies n bytes from src[src_off:]
        first = self.size - pos
        if n <= first:
            _copy(self.buf, pos, src, src_off, n)
        else:
            _copy(self.buf, pos, src, src_off, first)
            _copy(self.buf, 0, src, src_off + first, n - first)

    def _get(self, pos, dst, dst_off, n):
        first = self.size - pos
        if n <= first:
            _copy(dst, dst_off, self.buf, pos, n)
        else:
            _copy(dst, dst_off, self.buf, pos, first)
            _copy(dst, dst_off + first, self.buf, 0, n - first)

    # -- queue operations

    def write(self, src, src_off=0, n=-1):
        """Append up to n bytes (all of src when n < 0); returns bytes stored."""
        if n < 0 or n > len(src) - src_off:
            n = len(src) - src_off
        free = self.size - self.count
        if n > free:
            n = free
        if n <= 0:
            return 0
        pos = self.head + self.count
        if pos >= self.size:
            pos -= self.size
        self._put(pos, src, src_off, n)
        self.count += n
        if self.nranges:
            self._advance_ranges(n)
        return n

    def read_into(self, dst, dst_off=0, n=-1):
        """Move up to n readable bytes into dst[dst_off:]; returns bytes moved."""
        if n < 0 or n > len(dst) - dst_off:
            n = len(dst) - dst_off
        if n > self.count:
            n = self.count
        if n <= 0:
            return 0
        self._get(self.head, dst, dst_off, n)
        self.discard(n)
        return n

    def peek_into(self, dst, dst_off, n, offset=0):
        """Copy up to n bytes starting `offset` bytes past the head; nothing is consumed."""
        avail = self.count - offset
        if n > avail:
            n = avail
        if n <= 0:
            return 0
        pos = self.head + offset
        if pos >= self.size:
            pos -= self.size
        self._get(pos, dst, dst_off, n)
        return n

    def discard(self, n):
        """Drop n bytes from the head (acknowledged or consumed data)."""
        if n > self.count:
            n = self.count
        self.head += n
        if self.head >= self.size:
            self.head -= self.size
        self.count -= n
        if self.count == 0 and self.nranges == 0:
            self.head = 0  # keep later writes contiguous when the ring drains
        return n

    def find(self, byte, limit=-1):
        """Offset of the first readable `byte` value within limit bytes, or -1 (readline)."""
        n = self.count if limit < 0 or limit > self.count else limit
        buf = self.buf
        pos = self.head
        size = self.size
        for i in range(n):
            if buf[pos] == byte:
                return i
            pos += 1
            if pos == size:
                pos = 0
        return -1

    # -- out-of-order data

    def write_at(self, offset, src, src_off=0, n=-1):
        """Store n bytes `offset` bytes past the end of readable data.

        offset 0 is an ordinary write.  Returns bytes accepted (0 when it does
        not fit in the free space or no range slot is left).  Readable data
        grows when the gap before a stored range fills.
        """
        if n < 0 or n > len(src) - src_off:
            n = len(src) - src_off
        if offset == 0:
            return self.write(src, src_off, n)
        free = self.size - self.count
        if offset >= free:
            return 0
        if offset + n > free:
            n = free - offset
        if n <= 0:
            return 0
        if not self._add_range(offset, offset + n):
            return 0
        pos = self.head + self.count + offset
        while pos >= self.size:
            pos -= self.size
        self._put(pos, src, src_off, n)
        return n

    def ranges(self):
        """Stored out-of-order ranges as (start, end) offsets past readable data (allocates; for tests and SACK)."""
        r = self.r
        return [(r[2 * i], r[2 * i + 1]) for i in range(self.nranges)]

    def _add_range(self, start, end):
        r = self.r
        k = self.nranges
        # find insertion point and merge overlapping/adjacent ranges
        i = 0
        while i < k and r[2 * i + 1] < start:
            i += 1
        j = i
        while j < k and r[2 * j] <= end:
            if r[2 * j] < start:
                start = r[2 * j]
            if r[2 * j + 1] > end:
                end = r[2 * j + 1]
            j += 1
        merged = j - i
        if merged == 0 and 2 * k == len(r):
            return False
        # replace ranges i..j-1 with one range
        shift = 1 - merged
        if shift > 0:
            m = k
            while m > i:
                r[2 * m] = r[2 * m - 2]
                r[2 * m + 1] = r[2 * m - 1]
                m -= 1
        elif shift < 0:
            for m in range(i + 1, k + shift):
                r[2 * m] = r[2 * (m - shift)]
                r[2 * m + 1] = r[2 * (m - shift) + 1]
        r[2 * i] = start
        r[2 * i + 1] = end
        self.nranges = k + shift
        return True

    def _advance_ranges(self, n):
        # In-order data of n bytes arrived: ranges move n closer, and a range
        # that now starts at (or before) the end of readable data joins it.
        r = self.r
        k = self.nranges
        w = 0
        for i in range(k):
            s = r[2 * i] - n
            e = r[2 * i + 1] - n
            if e <= 0:
                continue  # fully overwritten by the in-order data
            r[2 * w] = s
            r[2 * w + 1] = e
            w += 1
        self.nranges = w
        if w and r[0] <= 0:
            e = r[1]
            # the bytes [0, e) are already in place
            for i in range(1, w):
                r[2 * i - 2] = r[2 * i] - e
                r[2 * i - 1] = r[2 * i + 1] - e
            self.nranges = w - 1
            self.count += e
