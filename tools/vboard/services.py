"""Built-in test services on the connection API: echo (RFC 862, port 7),
discard (RFC 863, port 9), chargen (RFC 864, port 19) over TCP, and udpecho
(RFC 862 over UDP, port 7) -- servers for the kernel's clients, and client
modes for benchmarks.  Portable (CPython and
MicroPython; runs in the virtual board's stack process).

Servers::

    import services
    svc = services.start(stack, ["echo", "discard", "chargen"])
    while True:
        stack.poll(ticks_ms())
        svc.run()                  # or services.run(): every started set

Clients (the stack connects out; ``run()`` after every poll until ``done``)::

    c = services.Client(stack, "discard", "192.0.2.1", port=9, nbytes=20000000)
    c = services.Client(stack, "chargen", "192.0.2.1", port=19, nbytes=1000000)
    c = services.Client(stack, "echo", "192.0.2.1", port=7, nbytes=100000)
    ... c.done, c.error, c.sent, c.received, c.digest() (SHA-256 hex of the
    bytes sent for discard, received for chargen, echoed back for echo)

Each server serves as many clients at once as the TCP pool has blocks; the
per-connection state is two small ints.  Nothing is allocated per TCP
segment (udpecho slices a view per datagram).
"""
try:
    import hashlib
except ImportError:  # pragma: no cover
    hashlib = None
try:
    import binascii
except ImportError:  # pragma: no cover
    binascii = None

NAMES = ("echo", "discard", "chargen")  # TCP; the index is the connection's kind
UDP_NAMES = ("udpecho",)
SERVICES = NAMES + UDP_NAMES  # tools/vboard/vboard.py reads this name
PORTS = {"echo": 7, "discard": 9, "chargen": 19}
CLIENT_KINDS = ("echo", "discard", "chargen", "recv")  # recv: read until the server closes

_SCRATCH_BYTES = 1460

_started = []


def chargen_pattern(extra=0):
    """RFC 864 character generator: 95 lines of 72 printable characters + CRLF,
    each line starting one character later (7030 bytes, then it repeats),
    followed by the next ``extra`` bytes of the repetition, in one buffer (a
    board's heap may have no room for the pattern and a longer copy of it)."""
    n = 95 * 74
    out = bytearray(n + extra)
    o = 0
    for line in range(95):
        for i in range(72):
            out[o] = 32 + (line + i) % 95
            o += 1
        out[o] = 13
        out[o + 1] = 10
        o += 2
    for j in range(extra):
        out[n + j] = out[j % n]
    return out


class Services:
    """Listeners for the named services and the connections they accepted."""

    def __init__(self, stack, names, backlog=None):
        self.stack = stack
        self.tcp = stack.tcp
        self.listeners = []  # (kind index, Listener)
        self.udp_ep = None
        for name in names:
            if name == "udpecho":
                self.udp_ep = stack.udp.open()
                self.udp_ep.bind(7)
                continue
            if name not in PORTS:
                raise ValueError("unknown service %r (known: %s)" % (name, ", ".join(SERVICES)))
            self.listeners.append((NAMES.index(name), self.tcp.listen(PORTS[name], backlog)))
        n = len(self.tcp.pool)
        self.conns = [None] * n
        self.kind = [0] * n
        self.pos = [0] * n  # chargen: offset in the pattern
        self.scratch = bytearray(_SCRATCH_BYTES)
        self.scratch_mv = memoryview(self.scratch)
        # The 7030-byte pattern and then its first tcp_tx_bytes again, so a
        # send of up to a whole TX ring never wraps (a send cut at the
        # pattern's end would go out as a short segment, which the peer ACKs
        # at once: twice the frames); not the pattern twice (14 KB): a
        # board-sized heap has no room for that.
        self.pattern = None
        if "chargen" in names:
            self.pattern_len = 95 * 74
            self.pattern = chargen_pattern(stack.cfg.tcp_tx_bytes)
        self.served = 0

    def stop(self):
        for i in range(len(self.conns)):
            c = self.conns[i]
            if c is not None:
                c.abort()
                self.conns[i] = None
        for _, l in self.listeners:
            self.tcp.unlisten(l)
        self.listeners = []
        if self.udp_ep is not None:
            self.udp_ep.close()
            self.udp_ep = None

    def run(self):
        """Accept and serve; call after every stack.poll()."""
        ep = self.udp_ep
        while ep is not None and ep.datagrams:
            n, src, sport = ep.recvfrom_into(self.scratch)
            try:
                ep.sendto(self.scratch_mv[:n], src, sport, self.stack.now_ms)
                self.served += 1
            except OSError:
                pass  # no route / ARP queue full: a lost echo, as on a real LAN
        for kind, l in self.listeners:
            while True:
                c = self.tcp.accept(l)
                if c is None:
                    break
                slot = c.index
                self.conns[slot] = c
                self.kind[slot] = kind
                self.pos[slot] = 0
                self.served += 1
        for i in range(len(self.conns)):
            c = self.conns[i]
            if c is None:
                continue
            try:
                done = self._serve(i, c)
            except OSError:
                done = True  # reset or timed out: nothing more to do
            if done:
                c.close()
                self.conns[i] = None

    def _serve(self, i, c):
        k = self.kind[i]
        buf = self.scratch
        if k == 0:  # echo: what comes in goes back out, as fast as the TX ring takes it
            while True:
                room = c.writable()
                if room <= 0:
                    return False
                if room > len(buf):
                    room = len(buf)
                n = c.recv_into(buf, 0, room)
                if n < 0:
                    return False
                if n == 0:
                    return True  # client closed: our FIN follows the echoed bytes
                c.send(buf, 0, n)
        if k == 1:  # discard
            while True:
                n = c.recv_into(buf)
                if n < 0:
                    return False
                if n == 0:
                    return True
        # chargen: send until the client closes; whatever it sends is discarded
        while True:
            n = c.recv_into(buf)
            if n == 0:
                return True
            if n < 0:
                break
        pat = self.pattern
        plen = self.pattern_len
        while True:
            room = c.writable()
            if room <= 0:
                return False
            p = self.pos[i]
            if room > len(pat) - p:
                room = len(pat) - p
            k = c.send(pat, p, room)
            if k <= 0:
                return False
            p += k
            if p >= plen:
                p -= plen
            self.pos[i] = p


def start(stack, names, backlog=None):
    """Listen for the named services on stack; returns the Services (call its run())."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    s = Services(stack, names, backlog)
    _started.append(s)
    return s


def run():
    """Run every service set started with start() (one call per poll)."""
    for s in _started:
        s.run()


class Client:
    """The stack as a client of a discard, chargen or echo server (benchmarks).

    discard: send nbytes of a pattern, then close.  chargen: read nbytes, then
    close.  echo: send nbytes and read them back, then close.  recv: read
    until the server closes (any port).  ``done`` turns
    True after the close; ``error`` holds an errno if the connection failed.
    """

    def __init__(self, stack, kind, ip, port=None, nbytes=1000000, chunk=_SCRATCH_BYTES):
        if kind not in CLIENT_KINDS:
            raise ValueError("unknown client mode %r (known: %s)" % (kind, ", ".join(CLIENT_KINDS)))
        self.kind = kind
        self.nbytes = nbytes
        self.sent = 0
        self.received = 0
        self.done = False
        self.error = 0
        self.eof = False
        self.buf = bytearray(chunk)
        # sent data: bytes (i % 251), one contiguous run of any length <= chunk
        self.pat = bytes([i % 251 for i in range(251 + chunk)])
        self.h_out = hashlib.sha256() if hashlib else None
        self.h_in = hashlib.sha256() if hashlib else None
        self.conn = stack.tcp.open(ip, port or PORTS.get(kind, 0))

    def digest(self, which=None):
        if which is None:
            which = "out" if self.kind == "discard" else "in"
        h = self.h_in if which == "in" else self.h_out
        if h is None:
            return None
        d = h.digest()
        return binascii.hexlify(d).decode() if binascii else d.hex()

    def run(self):
        if self.done:
            return
        c = self.conn
        try:
            self._run(c)
        except OSError as e:
            self.error = e.args[0] if e.args else -1
            self.done = True
            c.close()

    def _run(self, c):
        if not c.is_established():
            if c.error:
                raise OSError(c.error, "connect failed")
            return
        chunk = len(self.buf)
        if self.kind == "discard" or self.kind == "echo":
            while self.sent < self.nbytes:
                n = self.nbytes - self.sent
                if n > chunk:
                    n = chunk
                w = c.writable()
                if w <= 0:
                    break
                if n > w:
                    n = w
                o = self.sent % 251
                k = c.send(self.pat, o, n)
                if k <= 0:
                    break
                if self.h_out:
                    self.h_out.update(memoryview(self.pat)[o:o + k])
                self.sent += k
            if self.sent >= self.nbytes and self.kind == "discard" and not c.fin_queued:
                c.shutdown()
        while True:
            n = c.recv_into(self.buf)
            if n < 0:
                break
            if n == 0:
                self.eof = True
                break
            self.received += n
            if self.h_in:
                self.h_in.update(memoryview(self.buf)[:n])
        if self.kind == "echo" and self.received >= self.nbytes and not c.fin_queued:
            c.shutdown()
        if self.kind == "chargen" and self.received >= self.nbytes and not self.done:
            self.done = True
            c.close()  # unread data may remain: a RST ends chargen (RFC 864 allows)
            return
        if self.kind == "discard" and self.sent >= self.nbytes and (self.eof or c.unsent() == 0
                                                                   and c.state_name() == "FIN-WAIT-2"):
            self.done = True
            c.close()
            return
        if self.eof:
            self.done = True
            c.close()
