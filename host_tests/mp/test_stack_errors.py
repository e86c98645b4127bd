"""Stack.poll catches an exception raised by the driver, by a frame's input or
by a transport's timer: the stack keeps running, ``internal_errors`` counts it
and ``stack.last_error`` names it (CPython and MicroPython).  The handlers
CircuitPython uses (``tcpip.stack_bind``: it has no sys.exc_info) are run
here too, with current_exception() saying nothing as there, against the
default ones."""
from tcpip import stack as stack_mod
from tcpip import stack_bind
from framehelp import Rig, ping_frame


class _Boom:
    def __init__(self, what):
        self.what = what

    def timers(self, now_ms):
        raise ValueError(self.what)


def _raising_recv(buf):
    raise ValueError("driver")


def _raising_input(n, now_ms):
    raise ValueError("input")


def _no_exc_info():
    return None  # what current_exception() says on CircuitPython


def _break_three_ways(rig, recv, input_, timer):
    """One exception each from the driver, a frame and a timer, through the
    given handlers; the values last_error took after each."""
    s = rig.stack
    got = []
    nic_recv = s.nic.recv_into
    s.nic.recv_into = _raising_recv
    recv(s)
    got.append(s.last_error)
    s.nic.recv_into = nic_recv
    iface_input = s.iface.input
    s.iface.input = _raising_input
    input_(s, 60, rig.now)
    got.append(s.last_error)
    s.iface.input = iface_input
    assert timer(s, _Boom("timer"), rig.now) == 1000
    got.append(s.last_error)
    assert s.stats()["internal_errors"] == 3
    return got


def _names(got):
    return [None if e is None else (type(e).__name__, e.args[0]) for e in got]


def test_last_error_is_none_until_something_raises():
    rig = Rig()
    assert rig.stack.last_error is None and rig.stats().get("internal_errors", 0) == 0


def test_a_timer_that_raises_is_counted_named_and_the_stack_keeps_answering():
    rig = Rig()
    rig.stack.add_transport(_Boom("timer"))
    rig.poll()
    assert rig.stats()["internal_errors"] >= 1
    e = rig.stack.last_error
    assert isinstance(e, ValueError) and e.args == ("timer",)
    out = rig.step(ping_frame(b"abc"))  # still answering: one echo reply
    assert len(out) == 1 and out[0][23] == 1 and out[0][34] == 0 and out[0][-3:] == b"abc", out


def test_default_handlers_name_the_exception_where_the_runtime_has_exc_info():
    # (CPython and the unix port: sys.exc_info; the class has its default handlers)
    assert not stack_mod.BIND_EXCEPTIONS
    got = _break_three_ways(Rig(), stack_mod.Stack._recv, stack_mod.Stack._input, stack_mod.Stack._timer)
    assert _names(got) == [("ValueError", "driver"), ("ValueError", "input"), ("ValueError", "timer")]


def test_circuitpython_handlers_name_the_exception_without_exc_info():
    saved = stack_mod.current_exception
    stack_mod.current_exception = _no_exc_info
    try:
        plain = _break_three_ways(Rig(), stack_mod.Stack._recv, stack_mod.Stack._input, stack_mod.Stack._timer)
        bound = _break_three_ways(Rig(), stack_bind.recv, stack_bind.input_, stack_bind.timer)
    finally:
        stack_mod.current_exception = saved
    assert plain == [None, None, None]  # what kept last_error None on CircuitPython
    assert _names(bound) == [("ValueError", "driver"), ("ValueError", "input"), ("ValueError", "timer")]
