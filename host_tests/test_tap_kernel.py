"""The stack against the Linux kernel, on a real wire, under both runtimes.

CPython attaches to a TAP device (nic/tap.py); MicroPython opens a raw packet
socket on a veth end (nic/packet.py).  Each test starts tools/vboard/vboard.py in a
namespace of its own, talks to the board with the kernel's own tools (ping,
arping, ip neigh) and with frames scapy builds, then stops the board and reads
the counters it printed.  Needs root and /dev/net/tun; skips with the reason
otherwise.
"""

import json
import os
import sys

import pytest

import netharness as nh
from netharness import RUNTIMES, STACK_IP, STACK_MAC, PEER_IP

KERNEL_PEER = os.path.join(nh.HERE, "kernel_peer.py")
sys.path.insert(0, nh.HERE)
from kernel_peer import KINDS  # noqa: E402


def _board(runtime, tag, tools=("ping",)):
    why = nh.skip_reason(runtime, tools)
    if why:
        pytest.skip(why)
    return nh.VBoard(runtime, tag)


@pytest.fixture
def board_factory():
    boards = []

    def make(runtime, tag, tools=("ping",)):
        b = _board(runtime, tag, tools)
        boards.append(b)
        return b

    yield make
    for b in boards:
        b.close()  # stops the process by PID and deletes the namespace, always


def _assert_ping_ok(res, count, what):
    assert res.transmitted == count, what + res.output
    assert res.received == count, what + res.output
    assert res.loss_pct == 0.0, what + res.output
    assert res.duplicates == 0 and res.errors == 0, what + res.output
    assert not res.wrong_data, "reply payload differs from request: " + what + res.output


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ping_sizes_answered_with_matching_payload(board_factory, runtime):
    b = board_factory(runtime, "ping")
    rtts = {}
    for size in (0, 56, 1472):
        res = b.ping(size=size, count=20)
        _assert_ping_ok(res, 20, "ping -s %d: " % size)
        if size:
            # iputils prints the ICMP length (header + payload) of each reply
            assert "%d bytes from %s" % (size + 8, STACK_IP) in res.output, res.output
        rtts[size] = res.rtt_ms
    stats = b.stop()
    assert stats["rx_frames"] >= 60 and stats["tx_frames"] >= 60, stats
    nh.record("ping_rtt", {"runtime": runtime, "rtt_ms_min_avg_max_mdev": rtts})


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_arping_answered(board_factory, runtime):
    b = board_factory(runtime, "arping", tools=("ping", "arping"))
    p = b.run(["arping", "-c", "3", "-w", "5", "-i", b.kernel_if, STACK_IP], timeout=30)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    # Thomas Habets' arping: "42 bytes from 02:00:00:00:00:02 (192.0.2.2): index=0 ..."
    answers = [line for line in out.splitlines() if ("from %s" % STACK_MAC) in line.lower()]
    assert len(answers) == 3, out
    stats = b.stop()
    assert stats["arp_replies_tx"] >= 3, stats


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_kernel_neighbour_table_shows_our_mac(board_factory, runtime):
    b = board_factory(runtime, "neigh")
    _assert_ping_ok(b.ping(count=2), 2, "ping: ")
    mac, words = b.ns.neighbour(STACK_IP)
    assert mac == STACK_MAC, words
    assert not {"FAILED", "INCOMPLETE"} & set(words), words


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_frame_gets_no_answer_and_is_counted(board_factory, runtime, kind):
    if not nh.has_real_stack():
        pytest.skip("lib/tcpip/stack.py not there yet")
    try:
        import scapy  # noqa: F401
    except ImportError:
        pytest.skip("scapy not installed (run make setup)")
    key = KINDS[kind]
    count = 3
    b = board_factory(runtime, "bad")
    p = b.run([sys.executable, KERNEL_PEER, "--iface", b.kernel_if, "--kind", kind,
               "--count", str(count), "--dst-mac", STACK_MAC, "--dst-ip", STACK_IP,
               "--src-ip", PEER_IP], timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["sent"] == count
    assert report["answers"] == [], "the stack answered a malformed frame: %s" % report
    # and it is still alive and well
    _assert_ping_ok(b.ping(count=5), 5, "ping after %s: " % kind)
    stats = b.stop()
    assert stats.get(key, 0) == count, "%s: expected %s == %d in %s" % (kind, key, count, stats)
    assert stats.get("internal_errors", 0) == 0, stats


@pytest.mark.parametrize("size,preload", [(56, 1), (1472, 64)], ids=["56B", "1472B-burst64"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ping_flood_loses_nothing(board_factory, runtime, size, preload):
    # preload 64 keeps 64 requests in flight: the NIC must hand over bursts of
    # back-to-back frames one by one, none glued together or dropped.
    b = board_factory(runtime, "flood")
    res = b.ping(size=size, count=2000, flood=True, preload=preload, pattern=None, timeout=300)
    nh.record("ping_flood", {"runtime": runtime, "nic": "tap" if runtime == "cpython" else "packet",
                             "size": size, "preload": preload,
                             "transmitted": res.transmitted, "received": res.received,
                             "loss_pct": res.loss_pct, "time_ms": res.time_ms,
                             "rate_per_s": round(res.rate_per_s()), "rtt_ms": res.rtt_ms})
    print("ping -f -l %d -s %d -c 2000 %s: %.1f%% loss, %d replies/s, rtt %s ms"
          % (preload, size, runtime, res.loss_pct, res.rate_per_s(), res.rtt_ms))
    assert res.received == 2000 and res.loss_pct == 0.0, res.output
    stats = b.stop()
    assert stats.get("nic_tx_dropped", 0) == 0, stats
    assert stats["icmp_echo_replies_tx"] >= 2000, stats


def test_packet_nic_under_cpython_too():
    # nic/packet.py has a CPython branch (recv_into through a raw file); the
    # micropython tests cover the other one.
    why = nh.skip_reason("micropython")
    if why:
        pytest.skip(why)
    b = nh.VBoard("cpython", "cpkt", nic="packet")
    try:
        _assert_ping_ok(b.ping(size=1472, count=5), 5, "ping -s 1472: ")
        res = b.ping(size=1472, count=500, flood=True, preload=64, pattern=None)
        assert res.received == 500 and res.loss_pct == 0.0, res.output
        assert b.ns.neighbour(STACK_IP)[0] == STACK_MAC
    finally:
        b.close()
