"""DHCP and DNS clients against dnsmasq in a namespace, under CPython (TAP) and MicroPython (veth)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import netns  # noqa: E402

APP = os.path.join(HERE, "apps", "dhcp_dns_app.py")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")

why = netns.preflight()
pytestmark = pytest.mark.skipif(why is not None or not shutil.which("dnsmasq"),
                                reason=why or "dnsmasq missing (make setup installs dnsmasq-base)")

RUNTIMES = {
    "cpython": ("tap", [sys.executable, APP, "tap", "tap0"]),
    "micropython": ("veth", [MICROPYTHON, APP, "packet", "vb"]),
}


def _dnsmasq(ns, tmp_path, dns=True, pool="192.0.2.50,192.0.2.99", extra=()):
    argv = ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--interface=" + ns.kernel_if,
            "--bind-interfaces", "--except-interface=lo", "--listen-address=192.0.2.1",
            "--dhcp-range=%s,255.255.255.0,2m" % pool,
            "--dhcp-option=3,192.0.2.1", "--dhcp-option=6,192.0.2.1",
            # T1 short so a renewal happens during the test (T2 well after it)
            "--dhcp-option=option:T1,5", "--dhcp-option=option:T2,100",
            "--no-resolv", "--no-hosts", "--local=/example.test/",
            "--host-record=www.example.test,192.0.2.80", "--local-ttl=30",
            "--cname=alias.example.test,www.example.test",
            "--dhcp-leasefile=%s" % (tmp_path / "leases"), "--log-dhcp", "--log-queries"]
    if not dns:
        argv.append("--port=0")
    argv.extend(extra)
    log = open(tmp_path / "dnsmasq.log", "w")
    return subprocess.Popen(ns.argv(argv), stdout=log, stderr=subprocess.STDOUT)


def _run_app(ns, runtime, seconds, args):
    mode, argv = RUNTIMES[runtime]
    env = dict(os.environ)
    env["MICROPYPATH"] = os.path.join(ROOT, "lib")
    env["PYTHONPATH"] = os.path.join(ROOT, "lib")
    p = subprocess.run(ns.argv(argv + [str(seconds)] + args), capture_output=True, text=True,
                       timeout=seconds + 30, env=env)
    events = []
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    assert events and events[-1]["event"] == "done", p.stdout + p.stderr
    return events


@pytest.fixture(params=sorted(RUNTIMES))
def runtime(request):
    if request.param == "micropython" and not os.path.exists(MICROPYTHON):
        pytest.skip("micropython missing (make setup)")
    return request.param


def _namespace(runtime, tag):
    ns = netns.Namespace("tcpdh%s%d" % (tag, os.getpid() % 10000), mode=RUNTIMES[runtime][0])
    return ns.create()


def test_dhcp_lease_renew_and_dns_names(runtime, tmp_path):
    ns = _namespace(runtime, "a")
    server = _dnsmasq(ns, tmp_path)
    try:
        time.sleep(0.3)
        events = _run_app(ns, runtime, 14, ["www.example.test", "ALIAS.example.test",
                                            "nope.example.test"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(5)
        ns.destroy()
    bound = [e for e in events if e["event"] == "bound"]
    assert bound, events
    first = bound[0]
    a, b, c, d = (int(x) for x in first["ip"].split("."))
    assert (a, b, c) == (192, 0, 2) and 50 <= d <= 99
    assert first["prefix"] == 24 and first["gateway"] == "192.0.2.1"
    assert first["dns"] == ["192.0.2.1"] and first["lease_s"] == 120 and first["t1_s"] == 5
    resolved = {e["name"]: e["address"] for e in events if e["event"] == "resolved"}
    assert resolved == {"www.example.test": "192.0.2.80", "ALIAS.example.test": "192.0.2.80"}
    errors = {e["name"]: e["errno"] for e in events if e["event"] == "error"}
    assert errors == {"nope.example.test": -2}  # NXDOMAIN: EAI_NONAME like getaddrinfo
    # renewal at T1 (unicast REQUEST, same address)
    renewed = [e for e in events if e["event"] == "renewed"]
    assert renewed and renewed[0]["ip"] == first["ip"]
    log = (tmp_path / "dnsmasq.log").read_text()
    assert "DHCPACK" in log and log.count("DHCPREQUEST") >= 2


def test_dns_server_down_times_out(runtime, tmp_path):
    ns = _namespace(runtime, "b")
    try:
        # static address, DNS server 192.0.2.1 runs nothing on port 53
        events = _run_app(ns, runtime, 8, ["--static", "www.example.test"])
    finally:
        ns.destroy()
    errors = [e for e in events if e["event"] == "error"]
    assert errors == [{"event": "error", "name": "www.example.test", "errno": -3}], events
    assert events[-1]["stats"]["udp_tx"] >= 2  # retried before giving up


ARP_OWNER = """
import sys
from scapy.all import ARP, Ether, sendp, sniff
ifname, ip = sys.argv[1], sys.argv[2]
mac = "02:00:00:00:00:50"
def answer(p):
    if ARP in p and p[ARP].op == 1 and p[ARP].pdst == ip:
        sendp(Ether(dst=p[Ether].src, src=mac) / ARP(op=2, hwsrc=mac, psrc=ip,
              hwdst=p[ARP].hwsrc, pdst=p[ARP].psrc), iface=ifname, verbose=False)
print("ready", flush=True)
sniff(iface=ifname, filter="arp", prn=answer, store=False, timeout=30)
"""


def test_dhcp_declines_an_address_another_host_answers_for(runtime, tmp_path):
    ns = _namespace(runtime, "c")
    # Another host (a scapy responder) already uses the only address in the
    # pool, and dnsmasq is told not to ping-check it: only our ARP probe
    # (RFC 5227 2.1.1) can notice the clash.
    owner = subprocess.Popen(ns.argv([sys.executable, "-c", ARP_OWNER, ns.kernel_if, "192.0.2.50"]),
                             stdout=subprocess.PIPE, text=True)
    server = None
    try:
        assert owner.stdout.readline().strip() == "ready"
        server = _dnsmasq(ns, tmp_path, pool="192.0.2.50,192.0.2.50", extra=["--no-ping"])
        time.sleep(0.3)
        events = _run_app(ns, runtime, 7, [])
    finally:
        owner.terminate()
        owner.wait(5)
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(5)
        ns.destroy()
    states = [e.get("state") for e in events if e["event"] == "state"]
    assert "checking" in states, events
    assert not [e for e in events if e["event"] == "bound"], events
    assert events[-1]["stats"]["dhcp_declines"] >= 1
    assert events[-1]["stats"]["arp_probes_tx"] >= 1
    assert "DHCPDECLINE" in (tmp_path / "dnsmasq.log").read_text()
