"""HTTPS next to plain HTTP through tcpip (run by tools/measure/bench.py inside its
namespace, against nginx on 192.0.2.1:80 and :443): TLS handshake time and
GET throughput.  Portable (CPython: tcpip.tls over ssl.SSLObject; MicroPython:
its own ssl).  Prints one JSON line.

    <runtime> tlsbench_app.py tap tap0 | packet vb CA_PEM SIZE HANDSHAKES
"""
import sys

try:
    import json
except ImportError:  # pragma: no cover
    import ujson as json

from tcpip.compat import ticks_ms, ticks_diff
import tcpip.socket as tsock
from tcpip import tls
import vboard_run

opts = vboard_run._parse_args(["--nic", sys.argv[1], "--if", sys.argv[2]])
nic = vboard_run.make_nic(opts)
stack = vboard_run.make_stack(opts, nic)
tsock.set_stack(stack)
CA, SIZE, HANDSHAKES = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
SERVER = ("192.0.2.1", 443)
ctx = tls.create_default_context(cafile=CA)
buf = bytearray(8192)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None


def connect(port):
    s = tsock.socket()
    s.settimeout(10)
    s.connect(("192.0.2.1", port))
    return s


def wrap(s):
    return ctx.wrap_socket(s, server_hostname="files.test")


def get(port, secure):
    """GET /blob.bin: (bytes, ms from connect to the last byte, ms of the handshake)."""
    t0 = ticks_ms()
    s = connect(port)
    hs = 0
    if secure:
        t1 = ticks_ms()
        s = wrap(s)
        hs = ticks_diff(ticks_ms(), t1)
    s.write(b"GET /blob.bin HTTP/1.0\r\nHost: files.test\r\n\r\n")
    n = 0
    while True:
        k = s.readinto(buf)
        if not k:
            break
        n += k
    ms = ticks_diff(ticks_ms(), t0)
    s.close()
    return n, ms, hs


connect_ms = []
handshake_ms = []
for _ in range(HANDSHAKES):
    t0 = ticks_ms()
    s = connect(443)
    t1 = ticks_ms()
    s = wrap(s)
    t2 = ticks_ms()
    s.close()
    connect_ms.append(ticks_diff(t1, t0))
    handshake_ms.append(ticks_diff(t2, t1))
http_n, http_ms, _ = get(80, False)
https_n, https_ms, https_hs = get(443, True)
ok = http_n > SIZE and https_n == http_n  # the same headers and body both ways


def rate(n, ms):
    return round(n / 1e6 / ms * 1000, 3) if ms > 0 else None


print(json.dumps({"tls_connect_ms_median": median(connect_ms),
                  "tls_handshake_ms_median": median(handshake_ms),
                  "tls_handshake_ms_max": max(handshake_ms) if handshake_ms else None,
                  "http_get_mb_per_s": rate(http_n, http_ms),
                  "https_get_mb_per_s": rate(https_n, https_ms),
                  "https_get_after_handshake_mb_per_s": rate(https_n, https_ms - https_hs),
                  "http_get_ms": http_ms, "https_get_ms": https_ms, "get_bytes": https_n,
                  "tls_ok": ok}))
