"""Ring buffer basics, wrap-around and out-of-order ranges (CPython and MicroPython)."""
from tcpip.ring import Ring


def _read(r, n=-1):
    buf = bytearray(r.size if n < 0 else n)
    got = r.read_into(buf)
    return bytes(buf[:got])


def test_new_ring_is_empty_with_full_free_space():
    r = Ring(16)
    assert r.used() == 0 and r.free() == 16
    assert _read(r) == b""


def test_write_then_read_returns_same_bytes():
    r = Ring(16)
    assert r.write(b"hello") == 5
    assert r.used() == 5 and r.free() == 11
    assert _read(r) == b"hello"
    assert r.used() == 0


def test_write_is_truncated_to_free_space():
    r = Ring(8)
    assert r.write(b"0123456789") == 8
    assert r.write(b"x") == 0
    assert _read(r) == b"01234567"


def test_write_from_memoryview_with_offset_and_count():
    r = Ring(8)
    src = memoryview(bytearray(b"abcdefgh"))
    assert r.write(src, 2, 3) == 3
    assert _read(r) == b"cde"


def test_read_into_memoryview_at_offset():
    r = Ring(8)
    r.write(b"xyz")
    dst = bytearray(b"......")
    assert r.read_into(memoryview(dst), 2, 2) == 2
    assert dst == bytearray(b"..xy..")
    assert _read(r) == b"z"


def test_wrap_around_keeps_order():
    r = Ring(8)
    r.write(b"abcdef")
    assert _read(r, 4) == b"abcd"
    # head at 4, count 2: the next 6 bytes wrap past the end of the buffer
    assert r.write(b"123456") == 6
    assert r.used() == 8
    assert _read(r) == b"ef123456"


def test_peek_at_offset_across_wrap_consumes_nothing():
    r = Ring(8)
    r.write(b"abcdef")
    r.discard(5)
    r.write(b"ghijk")  # f at index 5, g.. wrap
    dst = bytearray(4)
    assert r.peek_into(dst, 0, 4, 2) == 4
    assert bytes(dst) == b"hijk"
    assert r.peek_into(dst, 0, 4, 6) == 0
    assert r.used() == 6
    assert _read(r) == b"fghijk"


def test_discard_is_bounded_by_used():
    r = Ring(8)
    r.write(b"abc")
    assert r.discard(10) == 3
    assert r.used() == 0


def test_drained_ring_restarts_at_index_zero():
    r = Ring(8)
    r.write(b"abcde")
    r.discard(5)
    assert r.head == 0
    r.write(b"12345678")
    assert bytes(r.buf) == b"12345678"


def test_find_across_wrap_and_limit():
    r = Ring(8)
    r.write(b"abcdef")
    r.discard(4)
    r.write(b"gh\nij")
    assert r.find(ord("\n")) == 4
    assert r.find(ord("\n"), 4) == -1
    assert r.find(ord("z")) == -1


def test_write_at_ahead_is_not_readable_until_gap_fills():
    r = Ring(16)
    r.write(b"ab")
    assert r.write_at(3, b"fgh") == 3
    assert r.used() == 2
    assert r.ranges() == [(3, 6)]
    assert r.free() == 14
    assert r.write(b"cde") == 3  # fills [0,3): joins the stored range
    assert r.ranges() == []
    assert _read(r) == b"abcdefgh"


def test_write_at_zero_is_a_plain_write():
    r = Ring(8)
    assert r.write_at(0, b"abc") == 3
    assert _read(r) == b"abc"


def test_ranges_merge_when_adjacent_or_overlapping():
    r = Ring(32)
    r.write_at(10, b"KLM")
    r.write_at(4, b"EF")
    assert r.ranges() == [(4, 6), (10, 13)]
    r.write_at(6, b"GHIJ")  # adjacent to both: one range
    assert r.ranges() == [(4, 13)]
    r.write_at(12, b"MNOP")  # overlaps the end
    assert r.ranges() == [(4, 16)]
    r.write(b"abcd")
    assert _read(r) == b"abcdEFGHIJKLMNOP"


def test_in_order_write_overlapping_a_range_joins_it():
    r = Ring(16)
    r.write_at(2, b"cdef")
    r.write(b"abcd")  # covers half of the stored range
    assert r.ranges() == []
    assert _read(r) == b"abcdef"


def test_range_count_is_bounded():
    r = Ring(32, max_ranges=2)
    assert r.write_at(2, b"x") == 1
    assert r.write_at(6, b"y") == 1
    assert r.write_at(10, b"z") == 0  # no slot left
    assert r.write_at(3, b"q") == 1  # merges with (2,3): no new slot needed
    assert r.ranges() == [(2, 4), (6, 7)]


def test_write_at_beyond_free_space_is_refused_or_clipped():
    r = Ring(8)
    r.write(b"abcd")
    assert r.write_at(4, b"x") == 0
    assert r.write_at(2, b"xyz") == 2
    assert r.ranges() == [(2, 4)]


def test_out_of_order_data_wraps_around():
    r = Ring(8)
    r.write(b"abcdef")
    r.discard(5)  # head 5, "f" readable
    assert r.write_at(2, b"4567") == 4  # indices 0..3, past the wrap
    assert r.write(b"12") == 2  # indices 6, 7
    assert _read(r) == b"f124567"


def test_clear_forgets_data_and_ranges():
    r = Ring(8)
    r.write(b"abc")
    r.write_at(2, b"z")
    r.clear()
    assert r.used() == 0 and r.ranges() == [] and r.free() == 8
