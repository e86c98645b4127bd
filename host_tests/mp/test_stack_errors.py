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
    s.now_ms = rig.now  # (what the poll that calls them set)
    input_(s, 60)
    got.append(s.last_error)
    s.iface.input = iface_input
    assert timer(s, _Boom("timer")) == 1000
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


class _CtrlC:
    """In place of a method of the stack's NIC or interface: raises
    KeyboardInterrupt at its first call (where MicroPython raises a Ctrl-C
    pending since the SPI transfer in progress: at the next branch, in the
    callee or after it), then is the method again."""

    def __init__(self, obj, name):
        self.obj = obj
        self.name = name
        self.fn = getattr(obj, name)
        self.raised = 0
        setattr(obj, name, self)

    def __call__(self, *args):
        if not self.raised:
            self.raised = 1
            setattr(self.obj, self.name, self.fn)
            raise KeyboardInterrupt
        return self.fn(*args)


def _interrupted_poll(where, full):
    # A frame arrives; the poll that takes it in is interrupted at the NIC's
    # receive, the frame's input or the reply's send, from the idle
    # shortcut (no deadline due) or a full poll: the exception reaches the
    # caller (Ctrl-C is the application's), and the next polls answer.
    rig = Rig()
    assert len(rig.step(ping_frame(b"arm"))) == 1
    rig.poll()  # (the timers: the next poll is an idle one)
    st = rig.stack
    obj = st.iface if where == "input" else st.nic
    cc = _CtrlC(obj, where)
    if full:
        rig.iface.wake_at = None  # (something armed a deadline: a full poll)
    rig.inject(ping_frame(b"lost"))
    try:
        rig.poll()
    except KeyboardInterrupt:
        pass
    assert cc.raised == 1, (where, full)
    rig.out()
    out = rig.step(ping_frame(b"again"))
    rig.advance(600)  # (past a link check: whatever was left in the NIC is read)
    out += rig.out()
    return [o[-5:] for o in out]


def test_a_ctrl_c_inside_poll_leaves_the_stack_polling():
    # On the board the services loop stopped receiving for good after a
    # Ctrl-C that struck inside the idle poll's receive: the re-entrancy
    # flag stayed set and every later poll returned at once (1 of 3 runs
    # of test_bench_board's allocation test, the fifth connection's SYN
    # never answered).
    for full in (False, True):
        for where in ("recv_into", "input", "send"):
            got = _interrupted_poll(where, full)
            assert b"again" in got, (where, full, got)
