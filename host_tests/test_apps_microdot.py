"""microdot served on tcpip's socket API answers curl from the namespace,
including a POST of 256 KB, under CPython and MicroPython."""
import hashlib
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402

URL = "http://192.0.2.2:80"


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_microdot_answers_curl(runtime, tmp_path):
    why = nsharness.skip_reason(runtime, tools=("curl",))
    if why:
        pytest.skip(why)
    pytest.importorskip("microdot")
    body = os.urandom(256 * 1024)
    (tmp_path / "body.bin").write_bytes(body)
    net = nsharness.AppNs(runtime, "mdot")
    try:
        argv = net.exe() + [os.path.join(nsharness.APPS, "microdot_app.py")] + net.nic_args
        app = net.spawn(argv, ready='{"event": "listening"}', timeout=20, env=net.env(True))
        curl = ["curl", "-sS", "--max-time", "20"]
        r1 = net.run(curl + [URL + "/"], timeout=30)
        t0 = time.monotonic()
        r2 = net.run(curl + ["-H", "Expect:", "-H", "Content-Type: application/octet-stream",
                             "--data-binary", "@%s" % (tmp_path / "body.bin"), URL + "/upload"],
                     timeout=30)
        post_s = time.monotonic() - t0
        r3 = net.run(curl + [URL + "/shutdown"], timeout=30)
        out, _ = app.communicate(timeout=20)
    finally:
        net.close()
    assert r1.returncode == 0 and r1.stdout.startswith("hello from microdot on tcpip"), r1
    assert r2.returncode == 0, r2
    answer = json.loads(r2.stdout)
    assert answer == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    assert r3.returncode == 0 and r3.stdout == "bye\n", r3
    done = [json.loads(x) for x in out.splitlines() if x.startswith('{"event": "done"')]
    assert done and done[0]["served"] == ["GET /", "POST /upload %d" % len(body), "GET /shutdown"], out
    from netharness import record
    record("microdot_post_256KB_%s" % runtime, {"s": post_s})
