"""The handlers a poll runs at every frame and every timer -- Stack._input,
Stack._timer, Interface._transmit and Interface._send_rx -- run with their
call frame on the C stack on MicroPython: nothing is allocated between the
call and the callee they wrap (gc.mem_alloc() read there, the GC off).  A
state over 11 words gets a heap-allocated frame at every call
(py/objfun.c VM_MAX_STATE_ON_STACK; tools/measure/frames.py and
host_tests/test_frames.py count the words from the .mpy).  On CPython the
same calls run and reach their callee; only the heap check is MicroPython's.
"""
import gc
import sys

from tcpip.iface import Interface
from tcpip.stack import Stack
from framehelp import Rig

IS_MP = sys.implementation.name == "micropython"

_at = [None, None]  # gc.mem_alloc() inside the callee; its arguments


def _input(n, now_ms):
    _at[0] = gc.mem_alloc() if IS_MP else 0
    _at[1] = (n, now_ms)


class _Transport:
    def timers(self, now_ms):
        _at[0] = gc.mem_alloc() if IS_MP else 0
        _at[1] = now_ms
        return 7


class _Nic:
    def send(self, frame):
        _at[0] = gc.mem_alloc() if IS_MP else 0
        _at[1] = len(frame)


def _grew(call):
    """Bytes allocated from just before call() to inside its callee."""
    _at[0] = None
    gc.collect()
    if IS_MP:
        gc.disable()
    try:
        m0 = gc.mem_alloc() if IS_MP else 0
        r = call()
    finally:
        gc.enable()
    assert _at[0] is not None  # the callee ran
    return _at[0] - m0, r


def test_stack_input_keeps_its_frame_off_the_heap():
    s = Rig().stack
    s.now_ms = 1234  # (what the poll that runs it set)
    s.iface.input = _input
    grew, _ = _grew(lambda: Stack._input(s, 60))
    assert grew == 0 and _at[1] == (60, 1234), (grew, _at)


def test_stack_timer_keeps_its_frame_off_the_heap():
    s = Rig().stack
    s.now_ms = 1234  # (what the poll that runs it set)
    t = _Transport()
    grew, r = _grew(lambda: Stack._timer(s, t))
    assert grew == 0 and r == 7 and _at[1] == 1234, (grew, r, _at)


def test_interface_transmit_and_send_rx_keep_their_frames_off_the_heap():
    iface = Rig().stack.iface
    iface.nic = _Nic()
    for _ in range(2):  # (the first call of a length makes its view: memo)
        grew, _ = _grew(lambda: Interface._transmit(iface, 60))
    assert grew == 0 and _at[1] == 60, (grew, _at)
    for _ in range(2):
        grew, _ = _grew(lambda: Interface._send_rx(iface, 98))
    assert grew == 0 and _at[1] == 98, (grew, _at)


class _FailingNic:
    def send(self, frame):
        raise OSError(5)


def test_a_failed_send_counts_tx_errors_and_nothing_sent():
    # (the count moved out of the handlers to keep their frames small)
    iface = Rig().stack.iface
    iface.nic = _FailingNic()
    for call in (lambda: Interface._transmit(iface, 60), lambda: Interface._send_rx(iface, 98)):
        before = iface.counters.dict()
        call()
        after = iface.counters.dict()
        changed = dict((k, after[k] - before[k]) for k in after if after[k] != before[k])
        changed.pop("icmp_echo_replies_tx", None)  # (_send_rx counts the reply first)
        assert changed == {"tx_errors": 1}, changed
