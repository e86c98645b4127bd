"""tools/measure/board_bench.py and the memreport parts it runs on a board (CPython and
MicroPython): each measurement lets go of its stacks before the next starts,
so a board's heap holds one set at a time, and no throughput is projected.

tcpip.stack keeps the last Stack built as ``current()``; a measurement that
returned with its stack still there kept the stack, its rings and the
SlotWire's frame slots (97 KB with 32 slots) alive, and the next
``make_pair()`` ran out of memory on a Pico.
"""
import sys
import gc

import memreport
import tcpip.stack

IS_MP = sys.implementation.name == "micropython"
# Heap growth allowed across a measurement (MicroPython): interned names,
# small caches; one held stack would be more than ten times this.
SLACK_BYTES = 4096


def _scrub(depth=24):
    """Overwrite the C stack below this frame with fresh frames of small ints.
    MicroPython's GC is conservative: a dead frame's stale copy of a pointer
    (a local of the measurement that has returned) that the collector's own
    frames happen not to overwrite keeps what it points to alive."""
    z0 = z1 = z2 = z3 = z4 = z5 = z6 = z7 = 0
    if depth:
        _scrub(depth - 1)
    return z0 + z1 + z2 + z3 + z4 + z5 + z6 + z7


def _settle():
    tcpip.stack.set_current(None)
    _scrub()
    gc.collect()
    return memreport.mem_alloc()


def _held_bytes(fn):
    """Heap growth (MicroPython) over a measurement's run, and the stack left
    current.  A measurement is run twice more against one baseline: a stack
    the code really keeps is still held after the second; a stale word on the
    C stack (see _scrub) that pinned the first is gone by then."""
    fn()  # warm up: imports and first-use caches are not what is measured
    m0 = _settle()
    held = 0
    for _ in range(2):
        fn()
        _scrub()
        gc.collect()
        held = memreport.mem_alloc() - m0
        if held < SLACK_BYTES:
            break
    return held, tcpip.stack.current()


def test_alloc_per_segment_lets_go_of_its_stacks():
    held, current = _held_bytes(lambda: memreport.alloc_per_segment(segments=30, warmup=10, batch=10))
    assert current is None
    if IS_MP:
        assert held < SLACK_BYTES, held


def test_pair_rate_lets_go_of_its_stacks():
    held, current = _held_bytes(lambda: memreport.pair_rate(nbytes=20000))
    assert current is None
    if IS_MP:
        assert held < SLACK_BYTES, held


def test_release_forgets_the_stack_set_for_sockets_too():
    import tcpip.socket
    w, a, b = memreport.make_pair(slots=2)
    tcpip.socket.set_stack(a)  # the one registry: tcpip.stack.current()
    assert tcpip.stack.current() is a and tcpip.socket.get_stack() is a
    memreport.release(a, b)
    assert tcpip.stack.current() is None
    try:
        tcpip.socket.get_stack()
        assert False, "a released stack is still the sockets' default"
    except OSError:
        pass


def test_release_leaves_a_stack_it_was_not_given():
    w, a, b = memreport.make_pair(slots=2)
    memreport.release(a)  # b was built last: it stays current
    assert tcpip.stack.current() is b
    memreport.release(b)
    assert tcpip.stack.current() is None


def test_board_bench_pair_figures_fit_a_small_wire_and_let_go():
    import board_bench  # tools/measure/board_bench.py; importing it runs nothing
    _settle()
    out = board_bench.pair_figures()
    assert tcpip.stack.current() is None
    assert out["pair_payload_ok"]
    assert out["pair_wire_drops"] == 0  # 4 slots each way are enough for 2 KB rings
    assert 500 < out["pair_bytes_per_segment"] <= 1460
    assert out["pair_us_per_segment"] > 0
    if IS_MP:
        assert out["pair_alloc_per_segment_send"] == 0
        assert out["pair_alloc_per_segment_recv"] == 0



def test_bulk_transfer_starts_in_a_heap_without_large_free_blocks():
    # A board's heap beside two stacks is in pieces: Bulk must not need one
    # large block (its byte pattern was built from a 1,711-int list: 7 KB on
    # 32 bits, 14 KB here).  MicroPython only: CPython has no such heap.
    if not IS_MP:
        return
    w, a, b = memreport.make_pair(slots=2)
    gc.collect()
    hold = [None] * 4096
    n = 0
    try:
        while n < len(hold):
            hold[n] = bytearray(4000)
            n += 1
    except MemoryError:
        pass
    try:
        for i in range(0, n, 2):
            hold[i] = None  # free 4,000-byte holes between blocks still held
        gc.collect()
        bulk = memreport.Bulk(a, b)
        for _ in range(20):
            bulk.step(False)
        assert bulk.got > 0 and bulk.bad == 0
    finally:
        hold = None
        memreport.release(a, b)
