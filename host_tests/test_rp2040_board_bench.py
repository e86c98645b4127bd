"""tools/measure/board_bench.py, what a real-board owner runs, on the emulated
board: stock MicroPython (RPI_PICO) in rp2040js with the W5500 model, the board
set as .mpy on LittleFS plus the files its docstring says to copy
(memreport, services, nullnic), the script sent over the raw REPL as
``mpremote run`` does.

It must run to its end on a stock Pico's heap (each measurement lets go of its
stacks before the next; it once kept ~97 KB alive and ran out of memory), print
its JSON line, and then serve: a tcpip peer on the board's simulated clock
(tools/measure/bench_board.py's SimPeer) moves data both ways through that
service, payload checked, and the script's SPI figure must agree with it: one
full segment out of the board cannot take less than the ``nic.send()`` of its
frame that the script measured.  The counts are made smaller than the
script's defaults (the same code, fewer repetitions) to keep the test short.
Skips with one line when node, rp2040js or the firmware image is missing.
"""
import json
import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "helpers"))

import netharness as H  # noqa: E402

sys.path.insert(0, H.TOOLS)
import bench_board as BB  # noqa: E402
import rp2040_board as RB  # noqa: E402

ROOT = os.path.dirname(HERE)
SCRIPT = os.path.join(ROOT, "tools", "measure", "board_bench.py")
# (name, the script's value, the test's): fewer repetitions, a shorter service
COUNTS = (("TX_FRAMES", "const(200)", "const(50)"), ("PAIR_SEGMENTS", "const(300)", "const(60)"),
          ("SERVE_S", "60", "6"))
NBYTES = 60000


@pytest.fixture(scope="module", autouse=True)
def prerequisites():
    why = RB.missing_prerequisite(images=(RB.MICROPYTHON_UF2,))
    if why:
        pytest.skip(why)


def _script():
    src = open(SCRIPT).read()
    for name, was, now in COUNTS:
        line = "%s = %s\n" % (name, was)
        assert src.count(line) == 1, "board_bench.py no longer sets %s = %s" % (name, was)
        src = src.replace(line, "%s = %s\n" % (name, now))
    # the user's heap as the script finds it after a soft reset, and at its end
    return "import gc\ngc.collect()\n_free0 = gc.mem_free()\n" + src + \
        "\ngc.collect()\nprint('heap-after', _free0, gc.mem_free())\n"


def _until_serving_or_end(b, wall_s):
    got = b""
    end = time.monotonic() + wall_s
    while time.monotonic() < end and b.alive():
        got += b.read_all()
        if b"\x04" in got:  # the raw REPL's end of output: the script stopped
            raise AssertionError("board_bench.py ended before serving: %s"
                                 % got.decode(errors="replace")[-1500:])
        i = got.find(b"serving discard/chargen/echo")
        if i >= 0 and b"\n" in got[i:]:
            return got.decode(errors="replace")
        time.sleep(0.2)
    raise AssertionError("board_bench.py did not serve within %d s wall: %s"
                         % (wall_s, got.decode(errors="replace")[-1500:]))


def test_board_bench_runs_on_a_stock_pico_and_agrees_with_the_service():
    peer = BB.SimPeer()
    workdir = os.path.join(ROOT, ".build", "rp2040")
    os.makedirs(workdir, exist_ok=True)
    extra = {"/" + os.path.basename(p)[:-3] + ".mpy": RB.mpy_of(os.path.join(ROOT, p), workdir)
             for p in ("tools/measure/memreport.py", "tools/vboard/services.py", "tools/common/nullnic.py")}
    settings = {"dhcp": False, "ip": BB.BOARD_IP, "prefix": 24, "gateway": BB.PEER_IP, "dns": [],
                "mac": "02:00:00:00:00:02", "poll_ms": 10}
    b = RB.micropython_board(settings, wire=peer.wire, realtime=False, extra_files=extra, no_main=True)
    b.sync_us = BB.SYNC_US
    peer.attach(b)
    try:
        b.start()
        b.wait_for(b">>> ", wall_s=60)
        b.write(b"\r\x03\x03\x01")
        b.wait_for(b"raw REPL; CTRL-B to exit\r\n>", 30)
        b.write(_script().encode() + b"\x04")
        b.wait_for(b"OK", 30)
        # the JSON line, then the service; or the script ended (a traceback)
        text = _until_serving_or_end(b, 240)
        lines = [ln for ln in text.splitlines() if ln.startswith("{")]
        assert lines, text[-2000:]
        out = json.loads(lines[-1])
        served_in = peer.transfer("discard", NBYTES, 120)
        served_out = peer.transfer("chargen", NBYTES, 120)  # payload checked against RFC 864
        tail = b.wait_for(b"\x04>", 120).decode(errors="replace")
    finally:
        b.close()
    out_, err = tail.split("\x04")[:2]
    assert err.strip() == "", err[-2000:]
    free0, free1 = [int(x) for x in out_.split("heap-after")[1].split()[:2]]
    assert out["runtime"] == "micropython" and out["platform"] == "rp2"
    assert out["pair_payload_ok"] is True and out["pair_wire_drops"] == 0
    assert "projected_tx_mb_per_s" not in out
    assert out["stack_default_bytes"] > 0
    assert 500 < out["pair_bytes_per_segment"] <= 1460
    # a full frame's nic.send() is at least its SPI wire time (1517 bytes at 12 MHz)
    assert out["spi_tx_us_per_1514"] >= 1517 * 8 / 12.0, out
    assert 0 < out["spi_empty_poll_us"] < out["spi_tx_us_per_1514"], out
    # the service agrees with the SPI figure: a full segment (1460 B of payload
    # in a 1514-byte frame) out of the board takes at least one nic.send()
    floor_kBps = 1460 / out["spi_tx_us_per_1514"] * 1000.0
    assert 0 < served_out["kBps"] <= floor_kBps, (served_out, out)
    assert served_in["kBps"] > 0
    # at its end the real stack is still up (its code and buffers): room is left
    assert free1 > 32768, (free0, free1)
    H.record("rp2040_board_bench", dict(
        {k: out[k] for k in ("spi_tx_us_per_1514", "spi_empty_poll_us", "pair_us_per_segment",
                             "pair_bytes_per_segment", "pair_alloc_per_segment_send",
                             "pair_alloc_per_segment_recv", "stack_default_bytes")},
        served_in_kBps=served_in["kBps"], served_out_kBps=served_out["kBps"], spi_floor_out_kBps=round(floor_kBps, 1),
        heap_free_before=free0, heap_free_after=free1))
