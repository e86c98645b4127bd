"""TLS on tcpip sockets (tcpip.tls; the runtimes' TLS engines), certificates
made at test time with openssl from a throwaway CA (host_tests/tlscerts.py).

In memory, both runtimes: host_tests/tls_link_suite.py (two stacks over
nic/link.py, clean and impaired, refused certificates and host names)."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import tlscerts  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not tlscerts.available():
        pytest.skip("openssl missing")
    return tlscerts.make(tmp_path_factory.mktemp("certs"))


def run_suite(runtime, suite, certs, name_filter=None):
    env = dict(os.environ, TLS_CERTS=os.path.dirname(certs["ca"]))
    path = os.path.join(ROOT, "lib") + ":" + os.path.join(ROOT, "tools") + ":" + os.path.join(HERE, "mp")
    args = [os.path.join(HERE, "mprun.py"), os.path.join(HERE, suite)] + ([name_filter] if name_filter else [])
    if runtime == "micropython":
        if not os.path.exists(MICROPYTHON):
            pytest.skip("micropython not installed (run make setup)")
        cmd = [MICROPYTHON, "-X", "heapsize=4M"] + args
        env["MICROPYPATH"] = path + ":.frozen"
    else:
        cmd = [sys.executable] + args
        env["PYTHONPATH"] = path
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 0, "%s %s failed:\n%s" % (runtime, suite, out[-6000:])
    assert " passed, 0 failed" in out
    return out


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_tls_between_two_stacks_in_memory(runtime, certs):
    run_suite(runtime, "tls_link_suite.py", certs)


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


def nginx_conf(d, certs):
    www = os.path.join(d, "www")
    os.makedirs(www, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log info;
events { worker_connections 64; }
http {
  access_log %(d)s/access.log;
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy; fastcgi_temp_path %(d)s/fastcgi;
  uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  default_type application/octet-stream;
  server {
    listen 192.0.2.1:443 ssl;
    server_name files.test;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(key)s;
    root %(www)s;
  }
}
""" % {"d": d, "cert": certs["cert"], "key": certs["key"], "www": www})
    return conf, www


def start_servers(net, tmp_path, certs, data):
    conf, www = nginx_conf(str(tmp_path), certs)
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
