"""make bench's board section (tools/measure/bench_board.py) reports every figure, and
tcpip allocates nothing per TCP segment on the emulated board's heap.

Both run stock firmware in rp2040js with the W5500 model and a tcpip peer
stepped on the board's simulated clock (in this process, CPython; the board
side is MicroPython on the emulated RP2040).  The heap figures (free after
``import tcpip``, after ``netboot.start()``, while serving) go to
.build/measurements.jsonl.  Skips with one line when node, rp2040js or the
firmware images are missing.
"""
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "helpers"))

import netharness as H  # noqa: E402

sys.path.insert(0, H.TOOLS)
import bench_board as BB  # noqa: E402
import rp2040_board as RB  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def prerequisites():
    why = RB.missing_prerequisite(images=(RB.MICROPYTHON_UF2, RB.LWIP_UF2))
    if why:
        pytest.skip(why)


def test_quick_board_bench_reports_every_figure_for_tcpip_and_lwip_with_ratios():
    out = BB.run(["rp2040-micropython", "rp2040-lwip"], 30, wall_s=120)
    assert BB.missing(out) == [], out
    tc, lw = out["rp2040-micropython"], out["rp2040-lwip"]
    assert tc["payload_checked"] and lw["payload_checked"]
    assert set(out["ratio_to_lwip"]["rp2040-micropython"]) >= {"in_kBps", "out_kBps", "ping_ms"}
    # the heap shrinks as the stack comes up; the reference leaves more to the application
    assert tc["heap_free_repl"] > tc["heap_free_import"] > tc["heap_free_started"] > tc["heap_free_serving"] > 0
    # the pure-ACK taker (Tcp.ack_input's machine code), not loaded at
    # start, was loaded by the board's first bulk send (chargen)
    assert tc["ack_taker_loaded"] is True, tc
    # one full frame costs at least its SPI wire time (12 MHz: 1009 us)
    assert tc["spi_baud"] == 12000000 and tc["nic_send_1514_us"] >= tc["spi_wire_1514_us"] > 1000
    # frames per data segment: into the board one frame acks two segments
    # (its 2,920-byte window); out of it the peer (tcpip, 32 KB rings, a
    # fast reader) sends its ACK and no window update on top of it
    assert 0 < tc["frames_board_in"] * 3 <= tc["frames_peer_in"] * 2, tc
    assert 0 < tc["frames_peer_out"] <= tc["frames_board_out"] + 3, tc
    assert "| rp2040-micropython | rp2040-lwip |" in BB.table(out)
    H.record("rp2040_micropython_heap", {k: tc[k] for k in (
        "heap_free_repl", "heap_free_import", "heap_free_started", "heap_free_serving")})
    H.record("bench_board_quick", {rt: {k: out[rt][k] for k in BB.FIGURES} for rt in
                                   ("rp2040-micropython", "rp2040-lwip")})


def test_quick_circuitpython_bench_serves_discard_and_chargen_payload_checked():
    """The CircuitPython row: the services (chargen's pattern included) fit its
    heap and move data both ways with the RFC 864 pattern checked."""
    if RB.missing_prerequisite(images=(RB.CIRCUITPYTHON_UF2,)):
        pytest.skip(RB.missing_prerequisite(images=(RB.CIRCUITPYTHON_UF2,)))
    out = BB.run(["rp2040-circuitpython"], 30, wall_s=120)
    assert BB.missing(out) == [], out
    cp = out["rp2040-circuitpython"]
    assert cp["payload_checked"] and cp["in_kBps"] > 0 and cp["out_kBps"] > 0
    assert cp["heap_free_started"] > cp["heap_free_serving"] > 0
    assert cp["nic_resyncs"] == 0 and cp["board_retransmits"] == 0, cp
    H.record("bench_board_quick_circuitpython", {k: cp[k] for k in BB.FIGURES})


def test_quick_tls_bench_reports_its_figures_payload_checked():
    """rp2040-micropython-tls: a verified TLS transfer from the stepped peer on
    the W5500_EVB_PICO image, next to plain TCP on the same image."""
    if not BB.tlsfixtures_available():
        pytest.skip("openssl missing")
    out = BB.run(["rp2040-micropython-tls"], 30, wall_s=120)
    assert BB.missing(out) == [], out
    r = out["rp2040-micropython-tls"]
    assert r["payload_checked"] and r["firmware"] == RB.LWIP_UF2
    # the handshake (EC P-256, verified) costs the M0+ about 1.5 s; records cost
    # throughput; the open session holds ~23 KB of heap
    assert 500 < r["handshake_ms"] < 5000
    assert 0 < r["https_kBps"] < r["plain_kBps"]
    assert 16000 < r["tls_session_bytes"] < 40000
    assert r["heap_free_after"] > r["heap_free_tls_open"]
    H.record("bench_board_tls_quick", {k: r[k] for k in BB.TLS_FIGURES})


# Where the 16-byte blocks came from (allocation counted around each call on
# the board, 2026-12-03): the driver's nic.send and nic.recv_into.  A frame
# that straddles the end of the W5500's 16 KB TX or RX buffer was moved in two
# SPI transfers, each of a memoryview slice (a heap object: machine.SPI has no
# start/end arguments), and recv_into's two-length view cache made a view for
# every new length.  Now split transfers go through the driver's bounce buffer
# (fixed views) and the cache keeps its two lengths in use (clock algorithm),
# reading other lengths through the bounce buffer (tcpip/nic/macraw.py).
# What was left after that (counted the same way, 2026-12-03), all of it
# per session, none per segment, but varying with the session and so with
# the transfer's size: out of the board ~1.2 KB in Tcp.input for the late
# ACKs of a closed connection (the SYN-cookie check took their 32-bit ack
# whole: heap ints; now the cookie's time slot from the ACK's high half
# first), the ISN drawn as a 32-bit int (64..288 B by its value; now in
# halves); host_tests/mp/test_alloc.py has a test for each.  iface._view's
# two TX views for a connection's three lengths (1514, 54, 58) still remake
# one a session (keeping four moved CircuitPython's heap layout: not kept).  Left (eight runs, 2026-12-03): sessions allocate 80..208 B
# each whatever their size, 60 kB minus 20 kB -48..+64 B: the SYN's 48 B
# (urandom's bytes), the serve loop's Ctrl-C (its traceback, as deep as
# where it lands), the driver's RX view cache admitting a length now and
# then (16 B, tcpip/nic/macraw.py) and a drop reason's first drop, once a
# run (Counters.drop: the reasons table grows, 64 B; sizing it at build
# took ~0.5 KB of heap and was not kept).
# So the test allows 128 B (eight blocks) between the two sessions: an
# allocation per segment would be >= 16 B x 49 extra segments.
def test_tcpip_allocates_nothing_per_tcp_segment_on_the_board_heap():
    """gc disabled in the services loop: a 60 kB transfer into the board
    allocates no more than a 20 kB one (both after a first session warmed up),
    and likewise out of the board, but for a few blocks a session (the
    comment above); the figures go to measurements.jsonl either way.  An
    allocation on every segment (at least one 16-byte block each) shows as
    >= 16 B per extra segment."""
    peer = BB.SimPeer()
    b = BB.tcpip_board(peer)
    try:
        b.start()
        b.wait_for(b">>> ", wall_s=60)
        b.exec(BB.TCPIP_PROBE, wall_s=120)
        BB.serve_session(b, peer, "discard", 20000)  # first connection, ARP, first use of each path
        got = {}
        for kind in ("discard", "chargen"):
            for n in (20000, 60000):
                segs = peer.stack.stats()["tcp_segs_out"]
                st = BB.serve_session(b, peer, kind, n)
                segs = peer.stack.stats()["tcp_segs_out"] - segs + st["stack"]["tcp_segs_out"]
                got[kind, n] = (st["alloc_serving_bytes"], segs)
        rec = {}
        for kind in ("discard", "chargen"):
            (a1, s1), (a2, s2) = got[kind, 20000], got[kind, 60000]
            rec[kind] = {"alloc_20kB": a1, "alloc_60kB": a2, "extra_segments": s2 - s1,
                         "bytes_per_extra_segment": round((a2 - a1) / float(s2 - s1), 3)}
        H.record("rp2040_micropython_alloc_per_segment", rec)
        for kind in ("discard", "chargen"):
            r = rec[kind]
            assert r["extra_segments"] >= 20, rec
            assert r["alloc_60kB"] - r["alloc_20kB"] <= 128, rec
    finally:
        b.close()
