"""The ticks clock's period comes from its source (tcpip.compat): 2**30 for
MicroPython's time.ticks_ms and the CPython clock, 2**29 for CircuitPython's
supervisor.ticks_ms; ticks_diff/ticks_add work modulo that period, so a
blocking call with a timeout ends on time across the clock's wrap.  (Every
virtual-time suite also runs on a 2**29 clock: test_mp_suites.py.)
Runs under CPython and MicroPython (host_tests/helpers/mprun.py)."""
import sys
import tcpip
from tcpip import compat
from tcpip.compat import ticks_diff, ticks_add, ticks_ms, ETIMEDOUT
from tcpip.config import Config
from tcpip.stack import Stack
from framehelp import US_MAC, PEER_MAC, PEER_IP
from tcphelp import FakeNic, errno_of

P29 = 1 << 29


class _Clock:
    """A clock source like supervisor.ticks_ms: wraps at period, moves 1 ms a
    read and as far as the stack waits; stops the test after 1000 s (a hang)."""

    def __init__(self, start, period):
        self.t = start
        self.start = start
        self.period = period

    def __call__(self):
        self.t += 1
        if self.t - self.start > 1000000:
            raise RuntimeError("the clock ran 1000 s: the call hangs")
        return self.t % self.period


class _WaitNic(FakeNic):
    def __init__(self, mac, clock):
        FakeNic.__init__(self, mac)
        self.clock = clock

    def wait(self, ms):
        self.clock.t += ms


def _with_clock(fn, period, body):
    saved = (compat._clock, compat.TICKS_PERIOD)
    compat.set_clock(fn, period)
    try:
        body()
    finally:
        compat.set_clock(saved[0], saved[1])


def test_ticks_arithmetic_follows_a_2_29_period():
    def body():
        assert compat.TICKS_MAX == P29 - 1 and compat.TICKS_HALF == P29 >> 1
        assert ticks_add(P29 - 1, 2) == 1
        assert ticks_diff(5, P29 - 5) == 10
        assert ticks_diff(P29 - 5, 5) == -10
        assert ticks_diff(ticks_add(100, (P29 >> 1) - 1), 100) == (P29 >> 1) - 1
        assert 0 <= ticks_ms() < P29
    _with_clock(lambda: 3 * P29 + 7, P29, body)
    assert ticks_add((1 << 30) - 1, 2) == 1  # restored


def test_set_clock_rejects_a_period_that_is_not_a_power_of_two():
    period = compat.TICKS_PERIOD
    for bad in (0, 1000, 3 << 20, 1 << 31):
        try:
            compat.set_clock(None, bad)
        except ValueError:
            continue
        raise AssertionError("accepted %d" % bad)
    assert compat.TICKS_PERIOD == period


def test_recvfrom_timeout_ends_on_time_across_a_2_29_wrap():
    # a 5 s recvfrom started 3 s before the wrap of a clock like CircuitPython's
    clock = _Clock(P29 - 3000, P29)

    def body():
        nic = _WaitNic(US_MAC, clock)
        st = Stack(Config(mac=US_MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.254"), nic)
        a = st.iface.arp
        i = a.alloc(PEER_IP, 0)
        a.set_valid(i, PEER_MAC, 0, 0)
        tcpip.set_stack(st)
        s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
        s.bind(("", 5000))
        s.settimeout(5)
        t0 = clock.t
        assert errno_of(lambda: s.recvfrom(100)) == ETIMEDOUT
        took = clock.t - t0
        assert 5000 <= took < 5200, took
        assert clock.t % P29 < 3000  # it did cross the wrap
        s.close()
    _with_clock(clock, P29, body)


def test_circuitpython_supervisor_clock_gives_a_2_29_period():
    if sys.implementation.name != "cpython":
        return  # the runtime's own time.ticks_ms is chosen first there
    import time
    assert not hasattr(time, "ticks_ms")
    fake = type(sys)("supervisor")
    fake.ticks_ms = lambda: P29 + 42  # as if it had wrapped once
    saved = sys.modules.get("tcpip.compat")
    sys.modules["supervisor"] = fake
    del sys.modules["tcpip.compat"]
    try:
        import tcpip.compat as cp
        assert cp.TICKS_PERIOD == P29 and cp.TICKS_MAX == P29 - 1
        assert cp.ticks_ms() == 42
        assert cp.ticks_diff(3, P29 - 3) == 6
    finally:
        del sys.modules["supervisor"]
        sys.modules["tcpip.compat"] = saved
        tcpip.compat = saved
