"""The Linux kernel talks to the stack through the whole board path of tools/vboard/vboard.py --nic w5500:

    kernel (netns) -> TAP (CPython) or veth + packet socket (MicroPython)
      -> tools/emu/w5500_emu.py (register-level W5500) -> SPI adapter
      -> tcpip.nic.w5500 driver -> firmware/netboot.py -> Stack -> --serve services

under both runtimes: ping at 56 and 1472 bytes, the http status page, and TCP
bulk transfers each way with the kernel as client (python sockets inside the
namespace, host_tests/helpers/tcp_kernel_peer.py) checked byte for byte by SHA-256.
SPI bytes per frame and per payload byte and the MB/s go to
.build/measurements.jsonl (netharness.record).  Namespaces are ``w5vb*``,
always deleted.  Needs root (and /dev/net/tun for CPython); skips otherwise.
"""
import json
import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "helpers"))

import netharness as H  # noqa: E402
from vboardproc import VBoardProcess  # noqa: E402

KPEER = os.path.join(H.HERE, "tcp_kernel_peer.py")
BULK_BYTES = 4 * 1000 * 1000
ECHO_BYTES = 2 * 1000 * 1000
_seq = [0]


class W5500VBoard(VBoardProcess):
    """One ``tools/vboard/vboard.py --nic w5500`` process and its namespace ``w5vb*``."""

    def __init__(self, runtime, serve):
        _seq[0] += 1
        self.runtime = runtime
        VBoardProcess.__init__(self, "w5vb%d-%d" % (os.getpid() % 100000, _seq[0]),
                               ["--runtime", runtime, "--nic", "w5500", "--serve", serve],
                               "vboard --nic w5500", ready_s=30, stop_s=30, close_s=15, run_s=60,
                               accept=lambda line: line == "ready %s" % H.STACK_IP)

    def kernel(self, *args, timeout=120):
        """tcp_kernel_peer.py in the namespace (the kernel's side); its JSON result."""
        p = self.run([sys.executable, KPEER] + [str(a) for a in args], timeout=timeout)
        assert p.returncode == 0, "kernel side %r failed: %s" % (args, p.stderr[-3000:])
        return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(params=H.RUNTIMES)
def runtime(request):
    why = H.skip_reason(request.param, tools=("ping",))
    if why:
        pytest.skip(why)
    if not H.has_real_stack():
        pytest.skip("lib/tcpip/stack.py is missing")
    return request.param


def _board(runtime, serve):
    return W5500VBoard(runtime, serve)


def _kernel_run(runtime, mode, nbytes):
    """A board serving ``mode``, tcp_kernel_peer.py ``mode nbytes`` against it:
    (the kernel side's result, the board's stats)."""
    b = _board(runtime, mode)
    try:
        r = b.kernel(mode, nbytes)
        st = b.stop()
    finally:
        b.close()
    return r, st


def _check_board_path(st):
    """What every run through the emulated chip must show."""
    assert st["nic_resyncs"] == 0 and st["nic_tx_timeouts"] == 0, st
    assert st["chip_rx_overflow_drops"] == 0, st
    # The driver and the chip counted the same SPI traffic, and every frame
    # the stack handled crossed the SPI bus.
    assert st["nic_spi_bytes"] == st["chip_spi_bytes"] > 0
    assert st["nic_rx_frames"] == st["rx_frames"]
    assert st["nic_tx_frames"] == st["tx_frames"] == st["chip_tx_frames"]


def test_kernel_pings_stack_and_reads_status_page_through_emulated_w5500(runtime):
    b = _board(runtime, "echo,http")
    try:
        got = {}
        for size, count in ((56, 20), (1472, 10)):  # 1472: 1514-byte frames both ways
            p = b.run(["ping", "-n", "-c", str(count), "-s", str(size), "-i", "0.05", "-W", "2",
                       "-p", "a5c3e1f0", H.STACK_IP])
            m = re.search(r"(\d+) received", p.stdout)
            got[size] = int(m.group(1)) if m else 0
            assert got[size] == count and "wrong data" not in p.stdout, p.stdout
        neigh = b.run(["ip", "neigh", "show", H.STACK_IP]).stdout
        assert H.STACK_MAC in neigh.lower(), neigh
        page = None
        if H.netns._which("curl"):
            page = b.run(["curl", "-s", "-m", "10", "http://%s/" % H.STACK_IP], timeout=20)
            assert page.returncode == 0 and "icmp_echo_replies_tx" in page.stdout, page.stdout[-500:]
        st = b.stop()
    finally:
        b.close()
    _check_board_path(st)
    # ours 30, plus the one (rarely more) with which vboard saw the board ready
    assert 31 <= st["icmp_echo_replies_tx"] <= 35
    frames = st["nic_rx_frames"] + st["nic_tx_frames"]
    payload = st["nic_rx_bytes"] + st["nic_tx_bytes"]
    H.record("w5500_vboard_ping", {
        "runtime": runtime, "frames": frames, "spi_bytes": st["nic_spi_bytes"],
        "frame_bytes": payload, "http_page": page is not None,
        "spi_bytes_per_frame": round(st["nic_spi_bytes"] / float(frames), 1),
        "spi_overhead_bytes_per_frame": round((st["nic_spi_bytes"] - payload) / float(frames), 1),
    })


def _record_tcp(name, runtime, st, payload_bytes, seconds):
    frames = st["nic_rx_frames"] + st["nic_tx_frames"]
    data = {
        "runtime": runtime, "payload_bytes": payload_bytes, "seconds": round(seconds, 3),
        "MB_per_s": round(payload_bytes / 1e6 / seconds, 3),
        "spi_bytes": st["nic_spi_bytes"], "frames": frames,
        "spi_bytes_per_payload_byte": round(st["nic_spi_bytes"] / float(payload_bytes), 3),
        "spi_bytes_per_frame": round(st["nic_spi_bytes"] / float(frames), 1),
    }
    H.record(name, data)
    print("MEASURE %s %s" % (name, json.dumps(data)))


def test_stack_to_kernel_chargen_bulk_through_emulated_w5500(runtime):
    r, st = _kernel_run(runtime, "chargen", BULK_BYTES)
    assert r["received"] == BULK_BYTES
    assert r["sha"] == H.chargen_sha(BULK_BYTES)
    _check_board_path(st)
    assert st["nic_tx_bytes"] > BULK_BYTES  # every byte left through the chip's TX buffer
    _record_tcp("w5500_vboard_stack_to_kernel", runtime, st, BULK_BYTES, r["seconds"])


def test_kernel_to_stack_discard_bulk_through_emulated_w5500(runtime):
    r, st = _kernel_run(runtime, "discard", BULK_BYTES)
    assert r["sent"] == BULK_BYTES and r["after"] == 0  # the stack's FIN came after it read all
    _check_board_path(st)
    assert st["nic_rx_bytes"] > BULK_BYTES  # every byte came in through the chip's RX ring
    assert st["tcp_rst_tx"] == 0
    _record_tcp("w5500_vboard_kernel_to_stack", runtime, st, BULK_BYTES, r["seconds"])


def test_kernel_echo_bulk_both_ways_sha256_through_emulated_w5500(runtime):
    r, st = _kernel_run(runtime, "echo", ECHO_BYTES)
    assert r["sent"] == ECHO_BYTES and r["received"] == ECHO_BYTES
    assert r["sha_received"] == r["sha_sent"]
    _check_board_path(st)
    _record_tcp("w5500_vboard_echo", runtime, st, 2 * ECHO_BYTES, r["seconds"])
