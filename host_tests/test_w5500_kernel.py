"""The Linux kernel pings the stack through the whole board path on a PC:

    kernel (netns) -> veth/TAP -> tools/w5500_emu.py (register-level W5500)
      -> SPI adapter -> tcpip.nic.w5500 driver -> firmware/netboot.py -> Stack

run by ``tools/w5500_emu.py serve`` under MicroPython (veth + packet socket) and
CPython (TAP), inside a namespace this test makes (192.0.2.0/24 only) and
always deletes.  SPI bytes per frame are recorded in .build/measurements.jsonl.
Needs root and /dev/net/tun; skips with the reason elsewhere.
"""
import json
import os
import re
import select
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "helpers"))

import netharness as H  # noqa: E402

EMU = os.path.join(H.ROOT, "tools", "w5500_emu.py")


class EmuBoard:
    def __init__(self, runtime):
        self.runtime = runtime
        self.ns = H.netns.Namespace(H.ns_name("w5k"), mode="tap" if runtime == "cpython" else "veth")
        self.proc = None

    def start(self):
        self.ns.create()
        env = dict(os.environ)
        lib = os.path.join(H.ROOT, "lib")
        tools = os.path.join(H.ROOT, "tools")
        if self.runtime == "micropython":
            argv = [H.MICROPYTHON, "-X", "heapsize=4M", EMU, "serve", "--nic", "packet", "--if", "vb"]
            env["MICROPYPATH"] = lib + ":" + tools + ":.frozen"
        else:
            argv = [sys.executable, EMU, "serve", "--nic", "tap", "--if", "tap0"]
            env["PYTHONPATH"] = lib + ":" + tools
        self.proc = subprocess.Popen(self.ns.argv(argv), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        r, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().decode().strip() if r else ""
        if line != "ready":
            self.close()
            raise AssertionError("emulated board did not start: %r %s" % (line, self._stderr()))
        return self

    def _stderr(self):
        try:
            return self.proc.stderr.read().decode()[-3000:]
        except Exception:
            return ""

    def stop(self):
        """SIGINT the board; returns its final stats line as a dict."""
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=15)
        for line in out.decode().splitlines():
            if line.startswith("{"):
                return json.loads(line)
        raise AssertionError("no stats from the board: %s %s" % (out[-2000:], err[-2000:]))

    def close(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
        finally:
            self.ns.destroy()


@pytest.fixture(params=H.RUNTIMES)
def board(request):
    why = H.skip_reason(request.param, tools=("ping",))
    if why:
        pytest.skip(why)
    b = EmuBoard(request.param).start()
    try:
        yield b
    finally:
        b.close()


def _ping(ns, count, size, interval="0.05"):
    p = ns.run(["ping", "-c", str(count), "-s", str(size), "-i", interval, "-W", "2",
                H.STACK_IP], timeout=60)
    m = re.search(r"(\d+) received", p.stdout)
    return int(m.group(1)) if m else 0, p.stdout


def test_kernel_pings_stack_through_emulated_w5500(board):
    got, out = _ping(board.ns, 20, 56)
    assert got == 20, out
    got, out = _ping(board.ns, 10, 1472)  # full-size 1514-byte frames both ways
    assert got == 10, out
    st = board.stop()
    nic, chip, stats = st["nic"], st["chip"], st["stats"]
    assert stats["icmp_echo_replies_tx"] == 30
    assert nic["resyncs"] == 0 and nic["tx_timeouts"] == 0
    assert chip["rx_overflow_drops"] == 0
    frames = nic["rx_frames"] + nic["tx_frames"]
    assert frames >= 60
    assert nic["spi_bytes"] == chip["spi_bytes"]  # driver and chip count the same bytes
    H.record("w5500_emulated_ping", {
        "runtime": board.runtime, "frames": frames,
        "spi_bytes": nic["spi_bytes"], "frame_bytes": nic["rx_bytes"] + nic["tx_bytes"],
        "spi_overhead_bytes_per_frame": round((nic["spi_bytes"] - nic["rx_bytes"] -
                                               nic["tx_bytes"]) / float(frames), 1),
    })
