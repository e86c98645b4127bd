"""The tools/vboard/vboard.py contract: the lines it prints, its exit codes, its cleanup."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest

import netharness as nh
import netns
import vboard


def _main(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = vboard.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_unknown_service_is_rejected_with_exit_2(monkeypatch):
    monkeypatch.setattr(vboard, "known_services", lambda: ("echo",))
    code, out, err = _main(["--netns", "tcpip-never", "--runtime", "cpython", "--serve", "echo,gopher"])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "'gopher'" in err and "known: echo" in err, err
    assert not netns.exists("tcpip-never")


def test_not_root_is_one_line_and_exit_2(monkeypatch):
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    code, out, err = _main(["--netns", "tcpip-never", "--runtime", "micropython"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "root" in err, err


def test_no_dev_net_tun_is_one_line_and_exit_2(monkeypatch):
    real_exists = os.path.exists
    monkeypatch.setattr(netns.os, "geteuid", lambda: 0)
    monkeypatch.setattr(netns.os.path, "exists", lambda p: False if p == "/dev/net/tun" else real_exists(p))
    code, out, err = _main(["--netns", "tcpip-never", "--runtime", "cpython"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "/dev/net/tun" in err, err


def test_micropython_cannot_use_a_tap():
    code, out, err = _main(["--netns", "tcpip-never", "--runtime", "micropython", "--nic", "tap"])
    assert code == 2 and "--nic packet" in err, err


def test_firmware_chooses_the_image_of_rp2040_micropython_only():
    code, out, err = _main(["--netns", "tcpip-never", "--runtime", "cpython", "--firmware", "W5500_EVB_PICO"])
    assert code == 2 and out == "" and "rp2040-micropython" in err, err
    assert not netns.exists("tcpip-never")


def _start(argv):
    return subprocess.Popen([sys.executable, nh.VBOARD] + argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("runtime", nh.RUNTIMES)
def test_duration_run_prints_ready_then_stats_and_removes_namespace(runtime):
    why = nh.skip_reason(runtime)
    if why:
        pytest.skip(why)
    name = nh.ns_name("dur")
    extra = [] if nh.has_real_stack() else ["--stack", "echo_stack"]
    try:
        p = _start(["--netns", name, "--runtime", runtime, "--duration", "1",
                    "--ip", "192.0.2.20", "--peer-ip", "192.0.2.10", "--prefix", "24"] + extra)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        lines = out.splitlines()
        assert lines[0] == "ready 192.0.2.20", out
        assert len(lines) == 2 and lines[1].startswith('{"stats"'), out
        stats = json.loads(lines[1])["stats"]
        assert stats["rx_frames"] >= 1 and stats["tx_frames"] >= 1, stats
        assert not netns.exists(name)
    finally:
        netns.destroy(name)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_board_prints_stats_and_cleans_up(sig):
    why = nh.skip_reason("micropython")
    if why:
        pytest.skip(why)
    b = nh.VBoard("micropython", "sig")
    try:
        assert netns.exists(b.name)
        res = b.ping(count=3)
        assert res.received == 3, res.output
        stats = b.stop(sig=sig)
        assert b.proc.returncode == 0, b.stderr()
        assert stats["rx_frames"] >= 3, stats
        deadline = time.monotonic() + 5
        while netns.exists(b.name) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not netns.exists(b.name)
    finally:
        b.close()


def test_existing_namespace_is_not_taken_over():
    why = nh.skip_reason("micropython")
    if why:
        pytest.skip(why)
    ns = netns.Namespace(nh.ns_name("busy"), mode="veth").create()
    try:
        code, out, err = _main(["--netns", ns.name, "--runtime", "micropython"])
        assert code == 2 and "already exists" in err, err
        assert netns.exists(ns.name)  # still there: it was not ours to delete
    finally:
        ns.destroy()
