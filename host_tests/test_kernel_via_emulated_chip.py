"""The Linux kernel pings the stack, and talks TCP to its echo and discard
services, through each emulated WIZnet chip on a PC:

    kernel (netns) -> veth/TAP -> tools/emu/w5500_emu.py or tools/emu/w5100s_emu.py
      (register-level chip) -> SPI adapter -> tcpip.nic.w5500 / w5100s driver
      -> firmware/netboot.py -> Stack

run by ``tools/<chip>_emu.py serve`` under MicroPython (veth + packet socket)
and CPython (TAP), inside a namespace this test makes (192.0.2.0/24 only) and
always deletes.  One body for both chips (the ``board`` fixture takes the chip
and the runtime); SPI bytes per frame are recorded in .build/measurements.jsonl.
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
import toolpath  # noqa: E402  (tools/toolpath.py, on sys.path from netharness)

# chip: (its emulator, what the emulated board serves besides ping)
CHIPS = {
    "w5500": ("w5500_emu.py", []),
    "w5100s": ("w5100s_emu.py", ["--serve", "echo,discard"]),
}


class EmuBoard:
    def __init__(self, chip, runtime):
        self.chip = chip
        self.runtime = runtime
        self.ns = H.netns.Namespace(H.ns_name(chip[:5]), mode="tap" if runtime == "cpython" else "veth")
        self.proc = None

    def start(self):
        self.ns.create()
        env = dict(os.environ)
        emu, serve = CHIPS[self.chip]
        emu = os.path.join(H.ROOT, "tools", "emu", emu)
        if self.runtime == "micropython":
            argv = [H.MICROPYTHON, "-X", "heapsize=4M", emu, "serve", "--nic", "packet", "--if", "vb"] + serve
            env["MICROPYPATH"] = toolpath.env_path(H.ROOT, [".frozen"])
        else:
            argv = [sys.executable, emu, "serve", "--nic", "tap", "--if", "tap0"] + serve
            env["PYTHONPATH"] = toolpath.env_path(H.ROOT)
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


def _boards(chips):
    return [pytest.param((c, r), id="%s-%s" % (c, r)) for c in chips for r in H.RUNTIMES]


@pytest.fixture
def board(request):
    chip, runtime = request.param
    why = H.skip_reason(runtime, tools=("ping",))
    if why:
        pytest.skip(why)
    b = EmuBoard(chip, runtime).start()
    try:
        yield b
    finally:
        b.close()


def _ping(ns, count, size, interval="0.05"):
    p = ns.run(["ping", "-c", str(count), "-s", str(size), "-i", interval, "-W", "2",
                H.STACK_IP], timeout=60)
    m = re.search(r"(\d+) received", p.stdout)
    return int(m.group(1)) if m else 0, p.stdout


@pytest.mark.parametrize("board", _boards(CHIPS), indirect=True)
def test_kernel_pings_stack_through_emulated_chip(board):
    got, out = _ping(board.ns, 20, 56)
    assert got == 20, out
    got, out = _ping(board.ns, 10, 1472)  # full-size 1514-byte frames both ways
    assert got == 10, out
    st = board.stop()
    nic, chip, stats = st["nic"], st["chip"], st["stats"]
    assert stats["icmp_echo_replies_tx"] == 30
    assert nic["resyncs"] == 0 and nic["tx_timeouts"] == 0
    assert chip["rx_overflow_drops"] == 0
    assert chip.get("bad_opcodes", 0) == 0  # a W5100S frame with an unknown opcode
    frames = nic["rx_frames"] + nic["tx_frames"]
    assert frames >= 60
    assert nic["spi_bytes"] == chip["spi_bytes"]  # driver and chip count the same bytes
    H.record("%s_emulated_ping" % board.chip, {
        "runtime": board.runtime, "frames": frames,
        "spi_bytes": nic["spi_bytes"], "frame_bytes": nic["rx_bytes"] + nic["tx_bytes"],
        "spi_overhead_bytes_per_frame": round((nic["spi_bytes"] - nic["rx_bytes"] -
                                               nic["tx_bytes"]) / float(frames), 1),
    })


def _client(ns, mode, nbytes):
    """tools/measure/bench.py's kernel-side client (payload checked) inside the namespace."""
    p = ns.run([sys.executable, os.path.join(H.ROOT, "tools", "measure", "bench.py"), "client", mode,
                H.STACK_IP, str(nbytes), "30"], timeout=90)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    assert lines, p.stdout + p.stderr
    return json.loads(lines[-1])


@pytest.mark.parametrize("board", _boards(["w5100s"]), indirect=True)  # the W5500: test_w5500_vboard.py
def test_kernel_tcp_echo_and_discard_through_emulated_chip(board):
    e = _client(board.ns, "echo", 200000)
    assert e["ok"] and e["bytes"] == 200000, e  # every byte echoed, in order
    d = _client(board.ns, "discard", 1000000)
    assert d["ok"] and d["bytes"] == 1000000, d  # the server's FIN after the last byte
    st = board.stop()
    nic, chip, stats = st["nic"], st["chip"], st["stats"]
    assert stats["tcp_passive_opens"] == 2 and stats.get("internal_errors", 0) == 0
    assert nic["resyncs"] == 0 and nic["tx_timeouts"] == 0 and chip["bad_opcodes"] == 0
    H.record("%s_emulated_tcp" % board.chip, {
        "runtime": board.runtime, "echo_mb_per_s": round(e["bytes"] / 1e6 / e["seconds"], 3),
        "discard_mb_per_s": round(d["bytes"] / 1e6 / d["seconds"], 3),
        "spi_bytes_per_payload_byte": round(nic["spi_bytes"] / float(2 * e["bytes"] + d["bytes"]), 3),
    })
