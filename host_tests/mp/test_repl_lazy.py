"""The REPL helpers (tcpip.ping, netstat, ifconfig, stats, trace) load
tcpip/repl.py and tcpip/tracer.py on first use, not at ``import tcpip``, and
work the same.  Runs under CPython and MicroPython (host_tests/helpers/mprun.py), one
process per suite, so sys.modules below is what ``import tcpip`` loaded."""
import sys

import tcpip

LOADED_BY_IMPORT = [m for m in ("tcpip.repl", "tcpip.tracer") if m in sys.modules]

from tcpip.config import Config  # noqa: E402
from tcpip.stack import Stack  # noqa: E402
from tcphelp import FakeNic  # noqa: E402

MAC = b"\x02\x00\x00\x00\x00\x09"


class Lines:
    def __init__(self):
        self.lines = []

    def write(self, text):
        self.lines.append(text)


def _stack():
    st = Stack(Config(mac=MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.1",
                      dns=["192.0.2.53"]), FakeNic(MAC))
    tcpip.set_stack(st)
    return st


def test_a_import_tcpip_loads_neither_repl_nor_tracer():
    assert LOADED_BY_IMPORT == [], LOADED_BY_IMPORT


def test_helpers_answer_through_the_package():
    st = _stack()
    assert tcpip.ifconfig() == ("192.0.2.2", "255.255.255.0", "192.0.2.1", "192.0.2.53")
    tcpip.ifconfig(("192.0.2.7", "255.255.255.0", "192.0.2.1", "0.0.0.0"))
    assert tcpip.ifconfig(stack=st) == ("192.0.2.7", "255.255.255.0", "192.0.2.1", "0.0.0.0")
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    s.bind(("", 5353))
    assert tcpip.netstat(quiet=True) == [("udp", "192.0.2.7:5353", "*:*", "", 0, 0)]
    s.close()
    assert "tcpip.repl" in sys.modules
    counters = st.stats()
    assert tcpip.stats(all=True) == counters


def test_trace_stays_the_function_after_tracer_is_imported():
    st = _stack()
    out = Lines()
    tcpip.trace(True, out=out)
    assert "tcpip.tracer" in sys.modules
    from tcpip.tracer import Tracer  # noqa: F401  (must not rebind tcpip.trace)
    r = tcpip.ping("192.0.2.1", count=1, timeout_ms=0, interval_ms=0, quiet=True)
    assert r["sent"] == 1 and r["received"] == 0
    assert st.nic.sent and st.nic.sent[0][12:14] == b"\x08\x06"  # ARP for 192.0.2.1
    assert out.lines and out.lines[0].startswith("-> ARP who-has 192.0.2.1"), out.lines
    tcpip.trace(False)
    assert st.iface.trace is None
    assert callable(tcpip.trace)
