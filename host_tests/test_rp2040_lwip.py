"""The reference on the same emulated board: MicroPython's own lwIP (W5500_EVB_PICO firmware).

tools/vboard/vboard.py --runtime rp2040-lwip boots the stock MicroPython v1.28.0
W5500_EVB_PICO image in rp2040js with tools/emu/rp2040/lwip_main.py as main.py
(``network.WIZNET5K`` in MACRAW mode on the emulated W5500, services on the
standard ``socket`` module).  The same checks as for tcpip: the kernel pings 56
and 1472 bytes, TCP echo of 100 KB checked by SHA-256.  Namespaces ``rp2l*``,
always deleted.  Skips with one line when node, rp2040js or the firmware
(FIRMWARE_DIR; README, "Firmware for the emulated board") are missing.
"""
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netharness as H  # noqa: E402
import test_rp2040_micropython as T  # noqa: E402  (the vboard wrapper and helpers)

sys.path.insert(0, H.TOOLS)
import rp2040_board as RB  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def prerequisites():
    why = RB.missing_prerequisite(images=(RB.LWIP_UF2,)) or H.skip_reason(None, tools=("ping",))
    if why:
        pytest.skip(why)


def test_lwip_reference_answers_pings_and_echoes_100kb_to_the_kernel():
    b = T.RP2040VBoard("--serve", "echo", runtime="rp2040-lwip")
    try:
        for size in (56, 1472):
            p = b.run(["ping", "-n", "-c", "5", "-s", str(size), "-i", "0.3", "-W", "3",
                       "-p", "a5c3e1f0", b.ip], timeout=60)
            assert "5 received" in p.stdout and "wrong data" not in p.stdout, p.stdout
        r = b.run([sys.executable, T.KPEER, "echo", "100000"], timeout=150)
        assert r.returncode == 0, r.stderr[-2000:]
        echo = json.loads(r.stdout.strip().splitlines()[-1])
        st = b.stop()
    finally:
        b.close()
    assert echo["sent"] == echo["received"] == 100000
    assert echo["sha_received"] == echo["sha_sent"]
    assert st["accepted"] == 1 and st["rx_bytes"] == st["tx_bytes"] == 100000
    assert st["chip_rx_overflow_drops"] == 0
    rtt = st["board_ping_rtt_sim_ms"]
    # lwIP polls the chip from the INTn edge, after reading CS back as high
    # (idle bus): 0.44 ms on the reference run; 30-56 ms through its 64 ms
    # timer when CS (a driven output) read back as low.
    assert rtt["n"] >= 10 and rtt["min"] < 2.0, rtt
    H.record("rp2040_lwip", {"ping_rtt_sim_ms": rtt, "echo_wall_s": echo["seconds"],
                             "heap_free_serving": st["board_mem_free_serving"],
                             "sim_per_wall": st["board_sim_per_wall"]})
