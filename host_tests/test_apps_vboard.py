"""tools/vboard/vboard.py --serve http --dhcp: dnsmasq in the namespace leases the
board its address, and the status page (tools/vboard/httpstatus.py, on tcpip's socket
API) answers curl with the interface, the socket table and the counters."""
import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402
import netns  # noqa: E402

VBOARD = os.path.join(nsharness.ROOT, "tools", "vboard", "vboard.py")


def _readline(proc, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            return proc.stdout.readline().strip()
    return None


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_vboard_dhcp_and_http_status_page(runtime):
    why = nsharness.skip_reason(runtime, tools=("dnsmasq", "curl"))
    if why:
        pytest.skip(why)
    name = "apptvb%s%d" % (runtime[:2], os.getpid() % 100000)
    proc = subprocess.Popen([sys.executable, VBOARD, "--netns", name, "--runtime", runtime,
                             "--serve", "http,echo", "--dhcp", "--duration", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        line = _readline(proc, 40)
        assert line == "ready 192.0.2.2", (line, proc.stderr.read() if proc.poll() is not None else "")
        run = ["ip", "netns", "exec", name, "curl", "-sS", "--max-time", "10"]
        page = subprocess.run(run + ["http://192.0.2.2/"], capture_output=True, text=True, timeout=20)
        js = subprocess.run(run + ["http://192.0.2.2/json"], capture_output=True, text=True, timeout=20)
        missing = subprocess.run(run + ["-o", "/dev/null", "-w", "%{http_code}", "http://192.0.2.2/nope"],
                                 capture_output=True, text=True, timeout=20)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        netns.destroy(name)
    assert page.returncode == 0, page.stderr
    text = page.stdout
    assert "interface  192.0.2.2/255.255.255.0  gateway 192.0.2.1  dns 192.0.2.1" in text, text
    assert "dhcp bound" in text
    assert "Proto Recv-Q Send-Q Local Address" in text
    st = json.loads(js.stdout)
    assert st["interface"]["config"] == "dhcp bound" and st["interface"]["ip"] == "192.0.2.2"
    rows = st["netstat"]
    assert ["tcp", "192.0.2.2:80", "0.0.0.0:*", "LISTEN", 0, 0] in rows, rows
    assert ["tcp", "192.0.2.2:7", "0.0.0.0:*", "LISTEN", 0, 0] in rows, rows
    # the request being answered is itself a row
    assert any(r[1] == "192.0.2.2:80" and r[3] == "ESTABLISHED" for r in rows), rows
    assert st["stats"]["rx_frames"] > 0 and st["stats"]["tcp_passive_opens"] >= 2
    assert missing.stdout == "404"
    stats = [json.loads(x)["stats"] for x in out.splitlines() if x.startswith('{"stats"')]
    assert stats and stats[0]["tcp_passive_opens"] >= 3, out + err
    assert not netns.exists(name)
