"""ping / netstat / ifconfig / stats / trace (+ pcap read by tshark) on a live
stack against the kernel, under CPython and MicroPython."""
import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402


def _section(text, name):
    m = re.search(r"^=== %s\n(.*?)^=== " % name, text, re.S | re.M)
    assert m, "no section %s in:\n%s" % (name, text)
    return m.group(1)


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_repl_tools(runtime, tmp_path):
    pcap = tmp_path / "trace.pcap"
    events, p = nsharness.run_with_kernel_servers(runtime, "repl", "repl_app.py", [str(pcap)], timeout=60)
    assert events and events[-1].get("event") == "done", p.stdout[-3000:] + p.stderr[-3000:]
    res = events[-1]
    text = p.stdout

    # ping: per-reply lines and a summary like ping(8), and the numbers returned
    ping = _section(text, "ping")
    assert ping.startswith("PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.\n"), ping
    assert len(re.findall(r"^64 bytes from 192\.0\.2\.1: icmp_seq=[123] time=\d+ ms$", ping, re.M)) == 3
    assert "3 packets transmitted, 3 received, 0% packet loss" in ping
    assert re.search(r"^rtt min/avg/max = \d+/[\d.]+/\d+ ms$", ping, re.M)
    r = res["ping"]
    assert r["sent"] == 3 and r["received"] == 3 and r["loss_pct"] == 0 and len(r["rtt_ms"]) == 3

    # trace: the handshake, data and close as readable lines
    tr = _section(text, "trace")
    syn = re.search(r"^-> TCP 192\.0\.2\.2:(\d+) > 192\.0\.2\.1:7001 \[SYN\] seq=\d+ win=\d+ mss=1460 len=0$",
                    tr, re.M)
    assert syn, tr
    port = syn.group(1)
    assert re.search(r"^<- TCP 192\.0\.2\.1:7001 > 192\.0\.2\.2:%s \[SYN,ACK\] seq=\d+ ack=\d+ win=\d+ mss=\d+" % port,
                     tr, re.M), tr
    assert re.search(r"^-> TCP 192\.0\.2\.2:%s > 192\.0\.2\.1:7001 \[ACK\] seq=\d+ ack=\d+ win=\d+ len=0$" % port,
                     tr, re.M), tr
    assert re.search(r"^-> TCP .*\[PSH,ACK\].* len=7$", tr, re.M), tr
    assert re.search(r"^-> TCP 192\.0\.2\.2:%s > .*\[FIN" % port, tr, re.M), tr
    assert res["echo"] == "traced\n"

    # netstat: LISTEN and ESTABLISHED rows with queue sizes
    ns_text = _section(text, "netstat")
    assert ns_text.splitlines()[0].split() == ["Proto", "Recv-Q", "Send-Q", "Local", "Address",
                                               "Foreign", "Address", "State"]
    rows = res["netstat"]
    assert ["tcp", "192.0.2.2:8000", "0.0.0.0:*", "LISTEN", 0, 0] in rows, rows
    est = {r[2]: r for r in rows if r[3] == "ESTABLISHED"}
    assert est["192.0.2.1:7001"][4] == 100 and est["192.0.2.1:7001"][5] == 0, rows
    assert est["192.0.2.1:7003"][5] > 0, (rows, res.get("sent_b"), res.get("send_stop"))
    assert re.search(r"^tcp\s+100\s+0\s+192\.0\.2\.2:\d+\s+192\.0\.2\.1:7001\s+ESTABLISHED$", ns_text, re.M)

    # ifconfig get and set
    assert res["ifconfig"] == [["192.0.2.2", "255.255.255.0", "192.0.2.1", "192.0.2.1"],
                               ["192.0.2.2", "255.255.255.0", "192.0.2.1", "192.0.2.53"]]
    # stats: one human-readable counter per line
    st = _section(text, "stats")
    assert re.search(r"^rx_frames\s+\d+$", st, re.M) and re.search(r"^tcp_active_opens\s+\d+$", st, re.M)

    # the pcap opens in tshark without errors and shows the handshake
    if shutil.which("tshark"):
        t = subprocess.run(["tshark", "-r", str(pcap), "-Y", "tcp.flags.syn==1"], capture_output=True,
                           text=True, timeout=60)
        assert t.returncode == 0 and "appears to be damaged" not in t.stderr, t.stderr
        assert len(t.stdout.strip().splitlines()) == 2, t.stdout  # SYN and SYN-ACK
