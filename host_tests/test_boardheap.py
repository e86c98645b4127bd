"""tools/measure/boardheap.py on the emulated RPI_PICO: its breakdown of the heap (code
per module, buffers per socket) adds up to what the board reports, and the
modules it charges are imported one at a time (no import pulls in another).
Skips with one line when node, rp2040js or the firmware images are missing."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netharness as H  # noqa: E402

sys.path.insert(0, H.TOOLS)
import rp2040_board as RB  # noqa: E402
import boardheap  # noqa: E402


def test_breakdown_adds_up_and_charges_one_module_per_import():
    why = RB.missing_prerequisite()
    if why:
        pytest.skip(why)
    r = boardheap.measure()
    u = r["user"]
    used = u["free_repl"] - u["free_started"]
    d = r["data"]["default"]
    parts = r["code_heap_at_start"] + d["nic"] + d["stack"]
    assert abs(parts - used) < 0.03 * used, (parts, used)  # 0.5 % off on the reference run
    # leaf-first order: only the namespace package and asyncio come in on the side
    extra = {row["module"]: row["extra"] for row in r["code"] if row["extra"]}
    assert extra == {"tcpip.compat": ["tcpip"], "tcpip.aio": ["asyncio", "asyncio.core"]}, extra
    # what loads on first use is not loaded after start
    started = set(u["loaded_started"])
    assert not {"tcpip.dns", "tcpip.dhcp", "tcpip.repl", "tcpip.tracer", "tcpip.aio"} & started
    # buffers: a TCP socket is its two rings (the Config defaults) and a
    # control block, a UDP socket its 1 KB ring and a little; 4 KB rings add,
    # for each of the 4 sockets, what each ring lacks to 4 KB
    from tcpip.config import Config
    rings = Config.tcp_rx_bytes + Config.tcp_tx_bytes
    dd = r["data_derived"]
    assert rings < dd["per_tcp_socket"] < rings + 600, dd
    assert 1024 < dd["per_udp_socket"] < 1024 + 400, dd
    more = 4 * (2 * 4096 - rings)
    assert more <= dd["per_ring_kb_x8"] < more + 256, dd
    assert r["mpy_bytes_at_start"] < r["mpy_bytes_board_set"]
    H.record("rp2040_boardheap", {"heap_free": [u["free_repl"], u["free_import"], u["free_started"]],
                                  "code_heap_at_start": r["code_heap_at_start"],
                                  "stack_default_bytes": d["stack"], "nic_bytes": d["nic"],
                                  "per_tcp_socket": dd["per_tcp_socket"]})


def test_missing_firmware_is_one_line_and_exit_2(tmp_path):
    env = dict(os.environ, FIRMWARE_DIR=str(tmp_path))
    p = subprocess.run([sys.executable, os.path.join(H.TOOLS, "measure", "boardheap.py")], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and p.stderr.startswith("boardheap: "), p.stderr
