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


# The user's script: connects to a kernel server in the namespace (retrying
# until it listens), sends 4 KB, waits for the server's FIN.  ``net`` is the
# running interface; tcpip.socket uses its stack.
RUN_SCRIPT = """
import time
import tcpip.socket as socket
print("board at", net.ifconfig()[0], net.stack.iface is not None)
for attempt in range(100):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(("%s", 5001))
        break
    except OSError:
        s.close()
        time.sleep(0.1)
else:
    raise OSError("no kernel server on 5001")
s.sendall(bytes(range(256)) * 16)
s.shutdown(socket.SHUT_WR)
while s.recv(64):
    pass
s.close()
print("sent 4096")
""" % nh.PEER_IP


@pytest.mark.parametrize("runtime", nh.RUNTIMES)
def test_run_script_talks_to_a_kernel_server_and_exits_with_its_status(runtime, tmp_path):
    import hashlib
    why = nh.skip_reason(runtime)
    if why or not nh.has_real_stack():
        pytest.skip(why or "needs the real stack")
    script = tmp_path / "send.py"
    script.write_text(RUN_SCRIPT)
    name = nh.ns_name("run")
    sink = None
    try:
        p = _start(["--netns", name, "--runtime", runtime, "--run", str(script)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "inet %s/" % nh.PEER_IP not in subprocess.run(
                ["ip", "-n", name, "addr"], capture_output=True, text=True).stdout:
            time.sleep(0.05)  # the kernel side's address: the sink can listen
        sink = subprocess.Popen(["ip", "netns", "exec", name, sys.executable,
                                 os.path.join(nh.HERE, "tcp_kernel_peer.py"), "sink", "5001"],
                                stdout=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=90)
        sunk = json.loads(sink.communicate(timeout=30)[0].strip().splitlines()[-1])
    finally:
        if sink is not None and sink.poll() is None:
            sink.kill()
            sink.wait(timeout=10)
        netns.destroy(name)
    lines = out.splitlines()
    assert p.returncode == 0, err
    assert lines[:3] == ["ready %s" % nh.STACK_IP, "board at %s True" % nh.STACK_IP, "sent 4096"], out
    assert lines[3].startswith('{"stats"') and len(lines) == 4, out
    assert sunk["bytes"] == 4096 and sunk["sha"] == hashlib.sha256(bytes(range(256)) * 16).hexdigest()
    assert not netns.exists(name)


@pytest.mark.parametrize("runtime", nh.RUNTIMES)
def test_run_script_that_raises_or_exits_gives_its_status_and_traceback(runtime, tmp_path):
    why = nh.skip_reason(runtime)
    if why:
        pytest.skip(why)
    for body, status, in_err in (("print('before')\nraise ValueError('from the script')\n", 1,
                                  "ValueError: from the script"),
                                 ("import sys\nprint('before')\nsys.exit(3)\n", 3, None)):
        script = tmp_path / "bad.py"
        script.write_text(body)
        name = nh.ns_name("runerr")
        try:
            p = _start(["--netns", name, "--runtime", runtime, "--run", str(script)])
            out, err = p.communicate(timeout=60)
        finally:
            netns.destroy(name)
        assert p.returncode == status, (out, err)
        assert out.splitlines()[:2] == ["ready %s" % nh.STACK_IP, "before"], out
        if in_err:
            assert in_err in err and "bad.py" in err, err
    assert _main(["--netns", "tcpip-never", "--runtime", runtime, "--run", str(script),
                  "--serve", "echo"])[0] == 2
