"""TLS on tcpip sockets (tcpip.tls; the runtimes' TLS engines), certificates
made at test time with openssl from a throwaway CA (tools/common/tlsfixtures.py).

In memory, both runtimes: host_tests/helpers/tls_link_suite.py (two stacks over
nic/link.py, clean and impaired, refused certificates and host names).
In a namespace (root), both runtimes, against real servers: nginx (1 MB GET
byte-exact with adafruit_requests / micropython-lib requests, the wrapped
socket's stream methods, non-blocking reads and select.poll, refused CA and
host name, a silent server, a record cut short: host_tests/apps/tls_app.py),
mosquitto's TLS listener (host_tests/apps/tls_mqtt_app.py), and
tools/vboard/vboard.py --serve https answering curl."""
import os
import json
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import tlsfixtures  # noqa: E402
import mpsuite  # noqa: E402  (host_tests/helpers, on the path by conftest.py)

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not tlsfixtures.available():
        pytest.skip("openssl missing")
    return tlsfixtures.make(tmp_path_factory.mktemp("certs"))


TLS_CASES = [("tls_link_suite", n) for n in mpsuite.scenarios("tls_link_suite", mpsuite.HERE)]


@pytest.fixture(scope="module")
def tls_runs(request, certs):
    """helpers/tls_link_suite.py once per runtime; one item per scenario."""
    def command(runtime):
        env = {"TLS_CERTS": os.path.dirname(certs["ca"])}
        if runtime == "micropython":
            if not os.path.exists(MICROPYTHON):
                pytest.skip("micropython not installed (run make setup)")
            return [MICROPYTHON, "-X", "heapsize=4M"], env, []
        return [sys.executable], env, []
    return mpsuite.Runs(command, mpsuite.selection(request), where=mpsuite.HERE)


@pytest.mark.parametrize("case", TLS_CASES, ids=[n[len("test_"):] for _, n in TLS_CASES])
@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_tls_between_two_stacks_in_memory(runtime, case, tls_runs):
    tls_runs.check(runtime, *case)


def test_connection_manager_has_no_ssl_context_for_tcpip_so_one_is_passed():
    # adafruit_connection_manager.get_radio_ssl_context picks the pool and
    # context by the radio's class name from a fixed list (Radio,
    # ESP_SPIcontrol, WIZNET5K, CPythonNetwork), each importing its own
    # modules; nothing there reaches tcpip, so the context is passed in
    # (adafruit_requests.Session(pool, tls.create_default_context(...)),
    # tested against nginx below).
    acm = pytest.importorskip("adafruit_connection_manager")
    import tcpip
    from tcpip.config import Config
    from tcpip.stack import Stack
    from tcphelp import FakeNic, STACK_MAC
    st = Stack(Config(mac=STACK_MAC, ip="192.0.2.2", prefix=24), FakeNic(STACK_MAC))
    for radio in (st, tcpip.SocketPool(st)):
        with pytest.raises(ValueError, match="Unsupported radio class"):
            acm.get_radio_ssl_context(radio)


# ------------------------------------------------ against real servers (namespace, root)

sys.path.insert(0, os.path.join(HERE, "apps"))
import nsharness  # noqa: E402

SIZE = 1 << 20
# :4444 accepts and says nothing (a handshake that times out); :4445 answers the
# ClientHello with the start of a 4 KB handshake record, then closes.
ODD_SERVERS = r"""
import socket, threading, time
def serve(port, handler):
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("192.0.2.1", port)); ls.listen(8)
    def loop():
        while True:
            c, _ = ls.accept(); threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
held = []
def silent(c):
    held.append(c)
def cut(c):
    c.settimeout(5)
    try:
        c.recv(4096)
        c.sendall(b"\x16\x03\x03\x10\x00" + b"\x02" * 100)
    finally:
        c.close()
serve(4444, silent); serve(4445, cut)
print("ready", flush=True)
time.sleep(120)
"""


def start_servers(net, tmp_path, certs, data):
    conf, www = tlsfixtures.nginx_conf(str(tmp_path), certs)
    with open(os.path.join(www, "blob.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(www, "small.txt"), "wb") as f:
        f.write(b"hello tls\n")
    net.spawn(["nginx", "-c", conf, "-p", str(tmp_path), "-e", os.path.join(str(tmp_path), "error.log")],
              log=os.path.join(str(tmp_path), "nginx.out"))
    net.spawn(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=53",
               "--interface=" + net.ns.kernel_if, "--bind-interfaces", "--except-interface=lo",
               "--listen-address=192.0.2.1", "--no-resolv", "--no-hosts", "--local=/test/",
               "--host-record=files.test,192.0.2.1", "--host-record=other.test,192.0.2.1"])
    net.spawn([sys.executable, "-c", ODD_SERVERS], ready="ready")
    net.wait_port(443)
    net.wait_port(53, udp=True)


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_tls_against_nginx_and_broken_servers(runtime, tmp_path, certs):
    why = nsharness.skip_reason(runtime, tools=("nginx", "dnsmasq"))
    if why:
        pytest.skip(why)
    if runtime == "cpython":
        pytest.importorskip("adafruit_requests")
    import hashlib
    data = os.urandom(SIZE)
    net = nsharness.AppNs(runtime, "tls")
    try:
        start_servers(net, tmp_path, certs, data)
        events, p = net.run_app("tls_app.py", [os.path.dirname(certs["ca"]), str(SIZE)], timeout=180)
    finally:
        net.close()
    checks = nsharness.checks_of(events)
    assert events and events[-1].get("event") == "done", p.stdout[-3000:] + p.stderr[-3000:]
    assert not events[-1]["failed"], nsharness.failed(events, p)
    done = events[-1]
    assert done["status"] == 200 and done["bytes"] == SIZE
    assert done["sha256"] == hashlib.sha256(data).hexdigest()
    for name in ("wrong_ca_refused", "wrong_host_refused", "handshake_timeout", "peer_closes_mid_record"):
        assert checks[name]["ok"], checks[name]
    from netharness import record
    rec = {"ms": done["ms"], "library": done["library"], "MB_per_s": SIZE / 1e6 / max(done["ms"], 1) * 1000}
    for name in ("wrong_ca_refused", "wrong_host_refused", "handshake_timeout", "peer_closes_mid_record"):
        rec[name] = checks[name]["info"]["error"]
    if "memory" in done:
        rec["memory"] = done["memory"]
    record("https_get_1MB_%s" % runtime, rec)


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_mqtt_over_tls_through_mosquitto(runtime, tmp_path, certs):
    why = nsharness.skip_reason(runtime, tools=("mosquitto", "dnsmasq"))
    if why:
        pytest.skip(why)
    pytest.importorskip("adafruit_minimqtt")
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("user root\nlistener 8883 192.0.2.1\ncafile %s\ncertfile %s\nkeyfile %s\n"
                    "allow_anonymous true\npersistence false\n" % (certs["ca"], certs["cert"], certs["key"]))
    log = tmp_path / "mosquitto.log"
    net = nsharness.AppNs(runtime, "tlsmq")
    try:
        net.spawn(["mosquitto", "-v", "-c", str(conf)], log=str(log))
        net.spawn(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=53",
                   "--interface=" + net.ns.kernel_if, "--bind-interfaces", "--except-interface=lo",
                   "--listen-address=192.0.2.1", "--no-resolv", "--no-hosts", "--local=/test/",
                   "--host-record=files.test,192.0.2.1"])
        net.wait_port(8883)
        net.wait_port(53, udp=True)
        events, p = net.run_app("tls_mqtt_app.py", [os.path.dirname(certs["ca"])], timeout=90)
    finally:
        net.close()
    assert events and events[-1].get("event") == "done", p.stdout[-3000:] + p.stderr[-3000:]
    assert not events[-1]["failed"], nsharness.failed(events, p) + log.read_text()[-2000:]
    checks = nsharness.checks_of(events)
    text = log.read_text()
    assert "New client connected from 192.0.2.2" in text, text[-2000:]
    from netharness import record
    record("mqtt_tls_%s" % runtime, {k: checks[k]["info"] for k in checks})


VBOARD = os.path.join(ROOT, "tools", "vboard", "vboard.py")


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_vboard_serves_the_status_page_over_https_to_curl(runtime, tmp_path):
    """tools/vboard/vboard.py --serve https: the status page through the runtime's TLS
    engine as a server (MicroPython: SSLContext(PROTOCOL_TLS_SERVER) on an
    accepted tcpip socket); curl verifies it against the throwaway CA."""
    import select
    import signal
    import time
    import netns
    why = nsharness.skip_reason(runtime, tools=("curl",))
    if why:
        pytest.skip(why)
    if not tlsfixtures.available():
        pytest.skip("openssl missing")
    c = tlsfixtures.make(tmp_path, host="vboard.test", ip="192.0.2.2")
    name = "apttls%s%d" % (runtime[:2], os.getpid() % 100000)
    proc = subprocess.Popen([sys.executable, VBOARD, "--netns", name, "--runtime", runtime,
                             "--serve", "https,http", "--tls-cert", c["cert"], "--tls-key", c["key"],
                             "--duration", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        line = None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and line is None:
            r, _, _ = select.select([proc.stdout], [], [], 0.2)
            if r:
                line = proc.stdout.readline().strip()
            elif proc.poll() is not None:
                break
        assert line == "ready 192.0.2.2", (line, proc.stderr.read() if proc.poll() is not None else "")
        run = ["ip", "netns", "exec", name, "curl", "-sS", "--max-time", "20", "--cacert", c["ca"]]
        page = subprocess.run(run + ["https://192.0.2.2/"], capture_output=True, text=True, timeout=30)
        js = subprocess.run(run + ["https://192.0.2.2/json"], capture_output=True, text=True, timeout=30)
        wrong = subprocess.run(run[:-1] + [c["other_ca"], "https://192.0.2.2/"],
                               capture_output=True, text=True, timeout=30)
        after = subprocess.run(run + ["https://192.0.2.2/json"], capture_output=True, text=True, timeout=30)
        plain = subprocess.run(run + ["http://192.0.2.2/"], capture_output=True, text=True, timeout=30)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        netns.destroy(name)
    assert page.returncode == 0, page.stderr + err[-2000:]
    assert "interface  192.0.2.2/255.255.255.0" in page.stdout, page.stdout
    assert js.returncode == 0, js.stderr + err[-2000:]
    st = json.loads(js.stdout)
    assert ["tcp", "192.0.2.2:443", "0.0.0.0:*", "LISTEN", 0, 0] in st["netstat"], st["netstat"]
    assert wrong.returncode == 60, (wrong.returncode, wrong.stderr)  # curl: peer certificate not verified
    assert after.returncode == 0, after.stderr  # a refused client leaves the server serving
    # no connection is left held from the refused handshake: only ours (and TIME-WAITs)
    held = [r for r in json.loads(after.stdout)["netstat"] if r[3] not in ("LISTEN", "TIME_WAIT")]
    assert len(held) == 1 and held[0][1] == "192.0.2.2:443", held
    assert plain.returncode == 0 and "tcpip status" in plain.stdout


def test_vboard_serve_https_without_certificate_is_a_usage_error():
    import io
    from contextlib import redirect_stderr, redirect_stdout
    import netns
    import vboard
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = vboard.main(["--netns", "tcpip-never", "--runtime", "cpython", "--serve", "https"])
    assert code == 2 and out.getvalue() == ""
    assert "--tls-cert" in err.getvalue() and err.getvalue().count("\n") == 1, err.getvalue()
    assert not netns.exists("tcpip-never")
