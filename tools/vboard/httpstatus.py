"""A small HTTP status page for a tcpip stack, written on tcpip's socket API
(portable: CPython, MicroPython, CircuitPython).  Never blocks: call ``run()``
after every ``stack.poll()``.

    import httpstatus
    page = httpstatus.StatusServer(stack, port=80)
    while True:
        stack.poll(ticks_ms())
        page.run()

``GET /`` answers a plain-text page: the interface (address, netmask, gateway,
DNS, MAC, DHCP state), the socket table (netstat) and the counters (stats).
``GET /json`` answers the same as JSON.  Anything else: 404.  One request per
connection (HTTP/1.0 style, ``Connection: close``).  ``HttpsStatusServer``
serves it over TLS.
"""
try:
    import json
except ImportError:  # pragma: no cover
    import ujson as json

from tcpip.socket import socket, AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR
from tcpip.compat import ticks_ms, ticks_diff, EAGAIN
from tcpip.wire.ipv4 import ntoa
from tcpip import repl

MAX_REQUEST_BYTES = 2048
REQUEST_TIMEOUT_MS = 5000


def _nonzero_stats(stack):
    """The counters that are not 0: what the text page shows, without the
    dict of all ~100 (a board's heap, serving, has a few KB)."""
    d = {}
    for names, values in stack.counters.groups:
        for i in range(len(names)):
            if values[i]:
                d[names[i]] = values[i]
    return d


def status(stack, nonzero=False):
    """The page's data as a dict (interface, netstat rows, counters: only
    those that are not 0 when ``nonzero``)."""
    iface = stack.iface
    mac = ":".join("%02x" % b for b in iface.mac)
    dhcp = stack.dhcp
    info = {
        "ip": ntoa(iface.ip), "netmask": ntoa(iface.netmask), "gateway": ntoa(iface.gateway),
        "dns": list(stack.cfg.dns), "mac": mac, "mtu": iface.mtu,
        "config": "dhcp %s" % dhcp.state if dhcp is not None else "static",
    }
    rows = [list(r) for r in repl.netstat(stack=stack, quiet=True)]
    return {"interface": info, "netstat": rows,
            "stats": _nonzero_stats(stack) if nonzero else stack.stats()}


def render_text(st):
    return "".join(render_lines(st))


def render_lines(st):
    """The text page as a list of lines, each ending in a newline."""
    i = st["interface"]
    out = ["tcpip status", "",
           "interface  %s/%s  gateway %s  dns %s" % (i["ip"], i["netmask"], i["gateway"],
                                                     ",".join(i["dns"]) or "-"),
           "           mac %s  mtu %d  %s" % (i["mac"], i["mtu"], i["config"]), "",
           "Proto Recv-Q Send-Q Local Address          Foreign Address        State"]
    for r in st["netstat"]:
        out.append("%-5s %6d %6d %-22s %-22s %s" % (r[0], r[4], r[5], r[1], r[2], r[3]))
    out.append("")
    s = st["stats"]
    for k in sorted(s):
        if s[k]:
            out.append("%-28s %d" % (k, s[k]))
    for k in range(len(out)):
        out[k] += "\n"
    return out


class _Client:
    def __init__(self, sock, now_ms):
        self.sock = sock
        self.req = b""
        self.out = None  # the response: a list of byte strings, written in order
        self.part = 0
        self.off = 0
        self.t0 = now_ms


class StatusServer:
    """Listens on ``port``; ``run()`` accepts, reads requests and writes pages."""

    def __init__(self, stack, port=80, max_clients=2):
        self.stack = stack
        self.port = port
        self.max_clients = max_clients
        self.clients = []
        self.served = 0
        self.memory_errors = 0  # requests dropped: no room on the heap for the page
        s = socket(AF_INET, SOCK_STREAM, 0, stack=stack)
        s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        s.bind(("", port))
        s.listen(max_clients)
        s.setblocking(False)
        self.listener = s

    def close(self):
        for c in self.clients:
            c.sock.close()
        self.clients = []
        self.listener.close()

    def run(self):
        now = ticks_ms()
        while len(self.clients) < self.max_clients:
            try:
                s, _ = self.listener.accept()
            except OSError as e:
                if e.args[0] == EAGAIN:
                    break
                raise
            s.setblocking(False)
            s = self._wrap(s)
            self.clients.append(_Client(s, now))
        for c in list(self.clients):
            try:
                done = self._serve(c, now)
            except OSError:
                done = True
            except MemoryError:
                # a board's heap (CircuitPython serving: ~8 KB free) had no
                # room for the page: drop this request, keep serving
                self.memory_errors += 1
                done = True
            if done:
                c.sock.close()
                self.clients.remove(c)

    def _wrap(self, s):
        return s

    def _serve(self, c, now):
        if c.out is None:
            d = c.sock.read(512)
            if d is None:
                return ticks_diff(now, c.t0) > REQUEST_TIMEOUT_MS
            if not d:
                return True  # closed before a whole request
            c.req += d
            if b"\r\n\r\n" not in c.req and b"\n\n" not in c.req:
                return len(c.req) > MAX_REQUEST_BYTES
            c.out = self._respond(c.req)
        while c.part < len(c.out):
            part = c.out[c.part]
            k = c.sock.write(memoryview(part)[c.off:]) if c.off < len(part) else 0
            if k:
                c.off += k
            if c.off < len(part):
                return ticks_diff(now, c.t0) > REQUEST_TIMEOUT_MS
            c.part += 1
            c.off = 0
        self.served += 1
        return True

    def _respond(self, req):
        line = req.split(b"\n", 1)[0].split()
        method = line[0] if line else b""
        path = line[1] if len(line) > 1 else b""
        if method != b"GET" and method != b"HEAD":
            return self._page(405, "Method Not Allowed", "text/plain", b"only GET\n")
        if path == b"/":
            # line by line: no block the size of the page (a board's heap)
            body = [ln.encode() for ln in render_lines(status(self.stack, nonzero=True))]
            return self._page(200, "OK", "text/plain; charset=utf-8", body, method == b"HEAD")
        if path == b"/json":
            body = json.dumps(status(self.stack)).encode()
            return self._page(200, "OK", "application/json", body, method == b"HEAD")
        return self._page(404, "Not Found", "text/plain", b"not found\n")

    def _page(self, code, reason, ctype, body, head=False):
        """The response as a list of byte strings; body: bytes or such a list."""
        if not isinstance(body, list):
            body = [body]
        n = 0
        for part in body:
            n += len(part)
        hdr = ("HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
               "Connection: close\r\nServer: tcpip\r\n\r\n" % (code, reason, ctype, n))
        return [hdr.encode()] + ([] if head else body)


class HttpsStatusServer(StatusServer):
    """The same page over TLS (port 443 by default): each accepted socket is
    wrapped server-side by ``context`` (the runtime's TLS engine, e.g.
    ``tcpip.tls.server_context(certfile, keyfile)``); the handshake runs
    inside the non-blocking reads and writes."""

    def __init__(self, stack, context, port=443, max_clients=2):
        self.context = context
        StatusServer.__init__(self, stack, port, max_clients)

    def _wrap(self, s):
        return _TlsClient(self.context.wrap_socket(s, server_side=True, do_handshake_on_connect=False), s)


class _TlsClient:
    """A wrapped socket whose close also closes the TCP socket: after a failed
    handshake MicroPython's TLS socket may not pass the close on."""

    def __init__(self, tls_sock, raw):
        self.tls = tls_sock
        self.raw = raw

    def read(self, n):
        return self.tls.read(n)

    def write(self, buf):
        return self.tls.write(buf)

    def close(self):
        try:
            self.tls.close()
        finally:
            self.raw.close()
