"""`make flash` itself against the emulated board: writable flash on stock MicroPython.

rp2040js does not program its QSPI flash; tools/emu/rp2040/runner.js serves the boot
ROM's flash entry points (erase, program and the XIP steps around them), so the
stock RPI_PICO firmware formats an erased filesystem at its first boot and
mpremote can copy files onto it.  The test boots the board with an erased
filesystem region in a namespace (``rp2f*``, always deleted), runs the real
``make flash BOARD=w5500_evb_pico PORT=<the board's pty>`` (mpremote unchanged),
power-cycles the board with the flash it wrote, and checks that main.py brings
the stack up and the kernel's ping is answered.  Skips with one line when node,
rp2040js or the firmware images are missing.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netharness as H  # noqa: E402

sys.path.insert(0, H.TOOLS)
import fsimage  # noqa: E402
import rp2040_board as RB  # noqa: E402

BOARD_PY = os.path.join(H.TOOLS, "emu", "rp2040_board.py")


@pytest.fixture(scope="module", autouse=True)
def prerequisites():
    why = RB.missing_prerequisite() or H.skip_reason(None, tools=("ping",))
    if why:
        pytest.skip(why)
    if not os.path.exists(os.path.join(H.ROOT, ".venv", "bin", "mpremote")):
        pytest.skip("mpremote not installed in .venv (run make setup)")


def _start(ns, *args):
    p = subprocess.Popen(ns.argv([sys.executable, BOARD_PY, "--if", ns.board_if, "--duration", "240"]
                                 + list(args)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("pty "):
        _stop(p)
        raise AssertionError("board did not start: %r %s" % (line, p.stderr.read()[-2000:]))
    return p, line.split()[1]


def _stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            return p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
    return p.communicate(timeout=10)


def _pings(ns, size, count, wall_s=60):
    deadline = time.monotonic() + wall_s
    while time.monotonic() < deadline:
        r = subprocess.run(ns.argv(["ping", "-n", "-c", str(count), "-s", str(size), "-i", "0.3",
                                    "-W", "2", H.STACK_IP]), capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            return r.stdout
    raise AssertionError("no ping answer from %s within %d s: %s" % (H.STACK_IP, wall_s, r.stdout))


def test_make_flash_over_the_pty_writes_an_empty_filesystem_and_the_stack_comes_up_after_reset(tmp_path):
    config = tmp_path / "tcpip_config.json"
    config.write_text(json.dumps({"dhcp": False, "ip": H.STACK_IP, "prefix": 24, "gateway": H.PEER_IP,
                                  "dns": [], "mac": "02:00:00:00:00:02", "poll_ms": 10}))
    saved = tmp_path / "fs.img"
    ns = H.netns.Namespace("rp2f%d" % (os.getpid() % 100000), mode="veth")
    board = None
    try:
        ns.create()
        board, pty_path = _start(ns, "--empty-fs", "--save-fs", str(saved))
        t0 = time.monotonic()
        p = subprocess.run(["make", "-s", "--no-print-directory", "flash", "BOARD=w5500_evb_pico",
                            "PORT=" + pty_path, "CONFIG=%s" % config], cwd=H.ROOT, capture_output=True,
                           text=True, timeout=300)
        flash_wall_s = time.monotonic() - t0
        assert p.returncode == 0 and "flashed w5500_evb_pico" in p.stdout, p.stdout + p.stderr
        _stop(board)
        # What the board wrote is what make flash copies, byte for byte.
        got = fsimage.read_littlefs_image(str(saved))
        want = fsimage.micropython_files("w5500_evb_pico", config=str(config))
        assert got == want
        # Power cycle: a new board from the flash the first one wrote.
        board, _ = _start(ns, "--fs-image", str(saved))
        for size in (56, 1472):
            out = _pings(ns, size, 3)
            assert "3 received" in out, out
        _stop(board)
        board = None
    finally:
        if board is not None:
            _stop(board)
        ns.destroy()
    H.record("rp2040_make_flash", {"files": len(want), "bytes": sum(len(v) for v in want.values()),
                                   "make_flash_wall_s": round(flash_wall_s, 1)})
