"""1 MB GET of http://files.test:8080/ (name from dnsmasq) from a Python
http.server in the namespace, byte-exact: adafruit_requests
(CPython, adafruit_connection_manager + tcpip.SocketPool) and micropython-lib
requests (MicroPython unix port, frozen, with `socket` = tcpip.socket)."""
import hashlib
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402

SIZE = 1 << 20


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_get_1mb_byte_exact(runtime, tmp_path):
    why = nsharness.skip_reason(runtime, tools=("dnsmasq",))
    if why:
        pytest.skip(why)
    if runtime == "cpython":
        pytest.importorskip("adafruit_requests")
    data = os.urandom(SIZE)
    (tmp_path / "blob.bin").write_bytes(data)
    net = nsharness.AppNs(runtime, "http")
    try:
        net.spawn([sys.executable, "-m", "http.server", "8080", "--bind", "192.0.2.1",
                   "--directory", str(tmp_path)])
        # DNS only (port 53): the URL's host name goes through tcpip's getaddrinfo
        net.spawn(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=53",
                   "--interface=" + net.ns.kernel_if, "--bind-interfaces", "--except-interface=lo",
                   "--listen-address=192.0.2.1", "--no-resolv", "--no-hosts", "--local=/test/",
                   "--host-record=files.test,192.0.2.1"])
        net.wait_port(8080)
        net.wait_port(53, udp=True)
        events, p = net.run_app("requests_app.py", ["http://files.test:8080/blob.bin"], timeout=90)
    finally:
        net.close()
    assert events and events[-1]["event"] == "done", p.stdout[-2000:] + p.stderr[-3000:]
    done = events[-1]
    assert done["nxdomain"] == [-2, True], done  # gaierror(EAI_NONAME) for a missing name
    assert done["status"] == 200
    assert done["bytes"] == SIZE
    assert done["sha256"] == hashlib.sha256(data).hexdigest()
    from netharness import record
    record("http_get_1MB_%s" % runtime, {"ms": done["ms"], "library": done["library"],
                                         "MB_per_s": SIZE / 1e6 / max(done["ms"], 1) * 1000})
