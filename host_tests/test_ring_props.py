"""Ring buffer against a reference model (hypothesis): random interleavings of
write / read_into / peek_into / discard / write_at / find, with wrap-around,
out-of-order range merging and the bounded range count."""
import os
import sys

from hypothesis import given, settings, strategies as st

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

from tcpip.ring import Ring  # noqa: E402


class Model:
    """Readable bytes as a bytearray; out-of-order bytes as {offset past readable end: byte}."""

    def __init__(self, size, max_ranges):
        self.size = size
        self.max_ranges = max_ranges
        self.data = bytearray()
        self.ooo = {}

    def free(self):
        return self.size - len(self.data)

    def ranges(self):
        out = []
        for k in sorted(self.ooo):
            if out and out[-1][1] == k:
                out[-1][1] = k + 1
            else:
                out.append([k, k + 1])
        return [tuple(r) for r in out]

    def write(self, src):
        n = min(len(src), self.free())
        self.data += src[:n]
        # in-order bytes land on top of stored ones; the rest moves n closer
        self.ooo = {k - n: v for k, v in self.ooo.items() if k >= n}
        while 0 in self.ooo:
            # a stored range that now starts at the end of readable data joins it
            self.data.append(self.ooo.pop(0))
            self.ooo = {k - 1: v for k, v in self.ooo.items()}
        return n

    def write_at(self, offset, src):
        if offset == 0:
            return self.write(src)
        free = self.free()
        if offset >= free:
            return 0
        n = min(len(src), free - offset)
        if n <= 0:
            return 0
        start, end = offset, offset + n
        touches = any(s <= end and e >= start for s, e in self.ranges())
        if not touches and len(self.ranges()) == self.max_ranges:
            return 0
        for i in range(n):
            self.ooo[offset + i] = src[i]
        return n

    def read(self, n):
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    def discard(self, n):
        n = min(n, len(self.data))
        del self.data[:n]
        return n

    def find(self, byte, limit):
        region = self.data if limit < 0 else self.data[:limit]
        return region.find(bytes([byte]))


OPS = st.one_of(
    st.tuples(st.just("write"), st.binary(max_size=40)),
    st.tuples(st.just("write_at"), st.integers(0, 40), st.binary(max_size=20)),
    st.tuples(st.just("read"), st.integers(0, 40)),
    st.tuples(st.just("peek"), st.integers(0, 40), st.integers(0, 40)),
    st.tuples(st.just("discard"), st.integers(0, 40)),
    st.tuples(st.just("find"), st.integers(0, 3), st.integers(-1, 40)),
)


def _check(r, m):
    assert r.used() == len(m.data)
    assert r.free() == m.free()
    assert r.ranges() == m.ranges()
    assert r.nranges <= r.max_ranges
    whole = bytearray(r.size)
    assert r.peek_into(whole, 0, r.size) == len(m.data)
    assert bytes(whole[:len(m.data)]) == bytes(m.data)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(size=st.integers(1, 48), max_ranges=st.integers(1, 4), ops=st.lists(OPS, max_size=60))
def test_ring_equals_reference_model(size, max_ranges, ops):
    r = Ring(size, max_ranges)
    m = Model(size, max_ranges)
    for op in ops:
        kind = op[0]
        if kind == "write":
            src = memoryview(bytearray(op[1]))
            assert r.write(src) == m.write(op[1]), op
        elif kind == "write_at":
            assert r.write_at(op[1], op[2]) == m.write_at(op[1], op[2]), op
        elif kind == "read":
            dst = bytearray(op[1] + 3)
            got = r.read_into(memoryview(dst), 3, op[1])
            want = m.read(op[1])
            assert got == len(want) and bytes(dst[3:3 + got]) == want, op
        elif kind == "peek":
            n, off = op[1], op[2]
            dst = bytearray(n)
            got = r.peek_into(dst, 0, n, off)
            want = bytes(m.data[off:off + n])
            assert got == len(want) and bytes(dst[:got]) == want, op
        elif kind == "discard":
            assert r.discard(op[1]) == m.discard(op[1]), op
        elif kind == "find":
            # bytes 0..3 are common in the drawn data, so hits and misses both happen
            assert r.find(op[1], op[2]) == m.find(op[1], op[2]), op
        _check(r, m)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(size=st.integers(8, 64), chunks=st.lists(st.integers(1, 30), min_size=1, max_size=30),
       seed=st.integers(0, 2 ** 32 - 1))
def test_stream_reassembled_from_out_of_order_segments(size, chunks, seed):
    """A TCP-like sender: segments of one stream arrive in a random order within the
    free window; whatever the ring accepts, reading gives the stream in order."""
    stream = bytes((i * 31 + 7) & 0xFF for i in range(sum(chunks)))
    r = Ring(size, 4)
    delivered = bytearray()
    nxt = 0  # stream offset of the end of readable data
    rng = seed
    segs = []
    pos = 0
    for c in chunks:
        segs.append((pos, c))
        pos += c
    for _ in range(len(segs) * 4):
        if not segs:
            break
        rng = (rng * 6364136223846793005 + 1442695040888963407) & (2 ** 64 - 1)
        i = (rng >> 33) % len(segs)
        start, n = segs[i]
        if start + n <= nxt:
            segs.pop(i)  # already covered
            continue
        lo = max(start, nxt)
        got = r.write_at(lo - nxt, stream[lo:start + n])
        before = r.used()
        assert got <= start + n - lo
        # reader takes some data at random
        if rng & 1:
            buf = bytearray(size)
            k = r.read_into(buf, 0, (rng >> 8) % (before + 1))
            delivered += buf[:k]
        nxt = len(delivered) + r.used()
    buf = bytearray(size)
    k = r.read_into(buf)
    delivered += buf[:k]
    assert bytes(delivered) == stream[:len(delivered)]
