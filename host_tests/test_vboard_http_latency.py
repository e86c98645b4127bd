"""The virtual board's status page answers a request without waiting for the
runner's 50 ms poll cap: 50 sequential requests from the namespace (one
client), and no more than one of them waits over 30 ms for the first
response byte (a scheduling hiccup on a shared host, not the 50 ms class of
wait).  Speed itself is measured by ``make bench`` (tools/measure/bench.py), not
asserted here.  Both runtimes.

The wait this guards against: a socket call inside the service (a
non-blocking accept or read, or close) polls the stack and takes in the next
connection's frames; the runner then slept on the NIC's descriptor, which no
longer said anything was there, for up to 50 ms.
"""
import json
import os
import signal
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402
import netns  # noqa: E402

VBOARD = os.path.join(nsharness.ROOT, "tools", "vboard", "vboard.py")
BENCH = os.path.join(nsharness.ROOT, "tools", "measure", "bench.py")
REQUESTS = 50


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_status_page_first_byte_does_not_wait_for_the_poll_cap(runtime):
    why = nsharness.skip_reason(runtime)
    if why:
        pytest.skip(why)
    name = "apptlat%s%d" % (runtime[:2], os.getpid() % 100000)
    proc = subprocess.Popen([sys.executable, VBOARD, "--netns", name, "--runtime", runtime,
                             "--serve", "http", "--duration", "90"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline().strip()
        assert line == "ready 192.0.2.2", (line, proc.stderr.read() if proc.poll() is not None else "")
        p = subprocess.run(["ip", "netns", "exec", name, sys.executable, BENCH, "client", "httpttfb",
                            "192.0.2.2", str(REQUESTS), "60", "1"],
                           capture_output=True, text=True, timeout=90)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        netns.destroy(name)
    r = json.loads(p.stdout.splitlines()[-1])
    ttfb = sorted(r["ttfb_ms"])
    assert r["fails"] == 0 and len(ttfb) == REQUESTS, r
    slow = [round(x, 1) for x in ttfb if x > 30]
    assert len(slow) <= 1, "requests waiting over 30 ms for the first byte: %r (median %.1f ms)" % (
        slow, ttfb[len(ttfb) // 2])
    from netharness import record
    record("http_ttfb_c1_%s" % runtime, {"p50_ms": round(ttfb[len(ttfb) // 2], 2),
                                         "p90_ms": round(ttfb[int(len(ttfb) * 0.9)], 2),
                                         "max_ms": round(ttfb[-1], 2)})
