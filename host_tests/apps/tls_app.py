"""TLS through tcpip against real servers in the namespace (host_tests/test_tls.py
starts them): nginx on files.test:443, a silent TCP server on :4444 and one
that closes in the middle of a TLS record on :4445.  Portable: CPython uses
adafruit_requests with tcpip.tls, MicroPython micropython-lib ``requests``
(through host_tests/helpers/shims/socket.py) and its own ssl on tcpip sockets.

    <runtime> tls_app.py tap tap0 | packet vb CERT_DIR SIZE

Prints one {"check": ..., "ok": ...} line per check, then {"event": "done"}.
"""
import sys
import gc
import hashlib
import binascii

from tcpip.compat import ticks_ms, ticks_diff
import tcpip
import tcpip.socket as tsock
from tcpip import tls
import apphelp

MP = sys.implementation.name != "cpython"
stack = apphelp.make_stack(sys.argv[1:3], tcp_rx_bytes=16384)
CERTS = sys.argv[3]
SIZE = int(sys.argv[4])
URL = "https://files.test/blob.bin"
checks = apphelp.Checks()
info = {}


def _read(name):
    with open(CERTS + "/" + name, "rb") as f:
        return f.read()


def client_ctx(ca="ca.pem"):
    return tls.create_default_context(cafile=CERTS + "/" + ca)


def held_blocks():
    """Control blocks an application still holds (after a failure: none)."""
    apphelp.pump(stack, 300)
    return [c.index for c in stack.tcp.pool if c.in_use and c.user]


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def errtext(e):
    return "%s: %s" % (type(e).__name__, e)


def fails(fn):
    """fn() must raise: (error text, ms it took)."""
    t0 = ticks_ms()
    try:
        fn()
    except Exception as e:  # the error is the point
        return errtext(e), ticks_diff(ticks_ms(), t0)
    raise AssertionError("no error")


def sha_hex(h):
    return binascii.hexlify(h.digest()).decode()


def c_get_1mb():
    h = hashlib.sha256()
    n = 0
    t0 = ticks_ms()
    if MP:
        import requests  # micropython-lib, unchanged: `socket` is tcpip's (shims)
        r = requests.get(URL)
        status = r.status_code
        n = apphelp.hash_body(r.raw.read, h)
        r.close()
        lib = "micropython-lib requests"
    else:
        import adafruit_requests  # unchanged; the pool is tcpip's, the context tcpip.tls's
        session = adafruit_requests.Session(tcpip.SocketPool(stack), client_ctx())
        r = session.get(URL, timeout=10)
        status = r.status_code
        for chunk in r.iter_content(8192):
            h.update(chunk)
            n += len(chunk)
        r.close()
        session._connection_manager._free_sockets(force=True)
        lib = "adafruit_requests"
    ms = ticks_diff(ticks_ms(), t0)
    info.update({"status": status, "bytes": n, "sha256": sha_hex(h), "ms": ms, "library": lib})
    expect(status == 200 and n == SIZE, (status, n))
    return lib


def raw_tls(host="files.test", ca="ca.pem", port=443, timeout=5):
    """A tcpip socket wrapped the way each runtime's own code does it."""
    ctx = client_ctx(ca)
    s = tsock.socket()
    s.settimeout(timeout)
    addr = tsock.getaddrinfo(host, port)[0][-1]
    if MP:
        s.connect(addr)
        return ctx.wrap_socket(s, server_hostname=host)
    s = ctx.wrap_socket(s, server_hostname=host)  # CircuitPython order: wrap, then connect
    s.connect(addr)
    return s


def c_stream_methods():
    """write / readline / readinto / read on the wrapped socket (blocking)."""
    s = raw_tls()
    s.write(b"GET /small.txt HTTP/1.0\r\nHost: files.test\r\n\r\n")
    line = s.readline() if MP else None
    if not MP:
        buf = bytearray(1)
        line = b""
        while not line.endswith(b"\n"):
            s.readinto(buf)
            line += bytes(buf)
    expect(line.startswith(b"HTTP/1.1 200"), line)
    rest = b""
    while True:
        d = s.read(512)
        if not d:
            break
        rest += d
    s.close()
    expect(rest.endswith(b"\r\n\r\nhello tls\n"), rest[-40:])
    return line.decode().strip()


def c_nonblocking_and_poll():
    """Non-blocking wrapped socket: reads return None (MicroPython) or raise EAGAIN
    until data is there; select.poll on the wrapped object where the runtime allows."""
    s = raw_tls()
    s.write(b"GET /small.txt HTTP/1.0\r\nHost: files.test\r\n\r\n")
    s.setblocking(False)
    polled = None
    if MP:
        import select
        p = select.poll()
        p.register(s, select.POLLIN)
        r = p.poll(3000)
        polled = bool(r and r[0][1] & select.POLLIN)
    got = b""
    t0 = ticks_ms()
    nones = 0
    while ticks_diff(ticks_ms(), t0) < 5000:
        try:
            d = s.read(256) if MP else s.recv(256)
        except OSError as e:
            expect(e.args[0] == 11, e)
            d = None
        if d is None:
            nones += 1
            apphelp.pump(stack, 5)
            continue
        if not d:
            break
        got += d
    s.close()
    expect(got.endswith(b"hello tls\n"), got[-40:])
    if MP:
        expect(polled, "poll did not report POLLIN")
    return {"would_block": nones, "poll": polled}


def c_asyncio_get():
    """MicroPython's own asyncio.open_connection(ssl=context) over tcpip sockets
    (``socket`` is tcpip's through host_tests/helpers/shims; waits are select.poll on
    the wrapped socket)."""
    if not MP:
        return "CPython: use tcpip.aio (no TLS there)"
    import asyncio

    async def go():
        r, w = await asyncio.open_connection("files.test", 443, ssl=client_ctx())
        w.write(b"GET /small.txt HTTP/1.0\r\nHost: files.test\r\n\r\n")
        await w.drain()
        out = b""
        while True:
            d = await r.read(512)
            if not d:
                break
            out += d
        w.close()
        await w.wait_closed()  # MicroPython's Stream closes the socket here
        return out

    out = asyncio.run(asyncio.wait_for(go(), 10))
    expect(out.startswith(b"HTTP/1.1 200") and out.endswith(b"hello tls\n"), out[-60:])
    return len(out)


def c_wrong_ca_refused():
    err, ms = fails(lambda: raw_tls(ca="other_ca.pem"))
    expect(not held_blocks(), held_blocks())
    return {"error": err, "ms": ms}


def c_wrong_host_refused():
    err, ms = fails(lambda: raw_tls(host="other.test"))
    expect(not held_blocks(), held_blocks())
    return {"error": err, "ms": ms}


def c_handshake_timeout():
    err, ms = fails(lambda: raw_tls(port=4444, timeout=2))
    expect(ms < 2600, ms)
    expect(not held_blocks(), held_blocks())
    return {"error": err, "ms": ms}


def c_peer_closes_mid_record():
    err, ms = fails(lambda: raw_tls(port=4445, timeout=5))
    expect(ms < 5000, ms)
    expect(not held_blocks(), held_blocks())
    return {"error": err, "ms": ms}


def c_memory():
    """MicroPython heap (gc.mem_alloc) before, during and after one TLS session."""
    if not MP:
        return "CPython: not measured"
    gc.collect()
    before = gc.mem_alloc()
    # the heap in use (after a collection) each time the TLS engine reads
    # from the socket: its high point is the handshake's
    orig = tsock.socket.readinto
    peak = [0]

    def sampling(self, buf, nbytes=0):
        gc.collect()
        m = gc.mem_alloc()
        if m > peak[0]:
            peak[0] = m
        return orig(self, buf, nbytes)

    tsock.socket.readinto = sampling
    try:
        s = raw_tls()
    finally:
        tsock.socket.readinto = orig
    gc.collect()
    during = gc.mem_alloc()
    s.write(b"GET /small.txt HTTP/1.0\r\nHost: files.test\r\n\r\n")
    while s.read(512):
        pass
    s.close()
    s = None
    gc.collect()
    after = gc.mem_alloc()
    r = {"before": before, "handshake_peak": peak[0], "during": during, "after": after,
         "handshake_bytes": peak[0] - before, "session_bytes": during - before}
    info["memory"] = r
    return r


for name in ("memory", "get_1mb", "stream_methods", "nonblocking_and_poll", "asyncio_get", "wrong_ca_refused",
             "wrong_host_refused", "handshake_timeout", "peer_closes_mid_record"):
    if len(sys.argv) > 5 and name not in sys.argv[5:]:
        continue
    checks.run(name, globals()["c_" + name])
info["event"] = "done"
info["failed"] = checks.failed
apphelp.say(info)
