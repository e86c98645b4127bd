"""DNS stub resolver (RFC 1035): A records over UDP with a small TTL cache.

``Resolver.start(name, now_ms)`` sends a query; ``Stack.poll`` drives retries
and answers; ``Resolver.result(name)`` returns an address int, ``None`` while
pending, or raises OSError with getaddrinfo's codes (-2 name not known,
-3 temporary failure/timeout), like CPython's socket.gaierror and MicroPython.

Query id and source port are random per query (RFC 5452); an answer counts
only when its id, source address/port and question match ours.  Each attempt
waits ``dns_timeout_ms``; the resolver tries every configured server in turn
``dns_retries`` times.  The resolver is an internal UDP user (``Udp.attach``):
the query is copied into the TX frame, the answer parsed where it arrived,
and no socket of the UDP pool is taken.
"""
from tcpip.compat import random32, ticks_diff, ticks_add
from tcpip.udp import PAYLOAD_OFF
from tcpip.wire import dns as wire
from tcpip.wire.bytes import copy
from tcpip.wire.ipv4 import aton

EAI_NONAME = -2
EAI_AGAIN = -3

_TTL_MAX_MS = 86400000  # a cached answer is kept at most a day (well within half a ticks period)
_PENDING = 1
_DONE = 2
_FAILED = 3


class Resolver:
    def __init__(self, iface, udp, cache_entries=4, timeout_ms=2000, retries=2):
        # What it uses, not the Stack: the interface (its settings' server
        # list, TX frame and counters) and the UDP layer it attaches to.
        self.iface = iface
        self.udp = udp
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.query = bytearray(272)  # kept: sent again on retries, checked against answers
        self.qlen = 0
        self.answer = wire.DnsAnswer()
        # fixed cache: names, addresses, expiry (ms on the ticks clock)
        self.n = cache_entries
        self.names = [None] * cache_entries
        self.addrs = [0] * cache_entries
        self.expires = [0] * cache_entries
        self.status = [0] * cache_entries  # _DONE or _FAILED (negative entry)
        self.swept_ms = 0  # when timers() last dropped expired entries
        self.pending_name = None
        self.port = 0  # our UDP port for the query in progress (0: none)
        self.server_i = 0
        self.server = 0  # the server asked last, and as halves
        self.server_hi = 0
        self.server_lo = 0
        self.attempt = 0
        self.due_ms = 0
        self.qid = 0
        self.error = 0
        self.queries_tx = 0

    def servers(self):
        return self.iface.cfg.dns

    def _cached(self, name, now_ms):
        for i in range(self.n):
            if self.names[i] == name:
                # (an expiry further away than the longest TTL we store is
                # a stale one seen from the next turn of the clock)
                if 0 < ticks_diff(self.expires[i], now_ms) <= _TTL_MAX_MS:
                    return i
                self.names[i] = None
        return -1

    def _sweep(self, now_ms):
        """Forget expired entries.  Run every second from timers(): an expiry
        compared long after it passed would look like the future again once
        the ticks clock has moved half a period (3.1 days on a 2**29 clock),
        and the entry would be served days after its TTL."""
        self.swept_ms = now_ms
        for i in range(self.n):
            if self.names[i] is not None and ticks_diff(self.expires[i], now_ms) <= 0:
                self.names[i] = None

    def _store(self, name, addr, ttl_s, status, now_ms):
        # RFC 1035 3.2.1 TTL, capped so the ticks clock never wraps past it.
        # TTL 0 still answers the query in progress (RFC 1035 4.1.3): keep 1 s.
        ttl_ms = ttl_s * 1000 if ttl_s < 86400 else _TTL_MAX_MS
        if ttl_ms < 1000:
            ttl_ms = 1000
        victim = 0
        for i in range(self.n):
            if self.names[i] is None or self.names[i] == name:
                victim = i
                break
            if ticks_diff(self.expires[i], self.expires[victim]) < 0:
                victim = i
        self.names[victim] = name
        self.addrs[victim] = addr
        self.status[victim] = status
        self.expires[victim] = ticks_add(now_ms, ttl_ms)

    def start(self, name, now_ms):
        """Begin resolving name (no-op when cached or already pending)."""
        if self._cached(name, now_ms) >= 0 or self.pending_name == name:
            return
        if self.pending_name is not None:
            raise OSError(EAI_AGAIN, "resolver busy with %s" % self.pending_name)
        if not self.servers():
            raise OSError(EAI_AGAIN, "no DNS server configured")
        self.qlen = wire.build_query(self.query, 0, name)
        self.pending_name = name
        self.server_i = 0
        self.attempt = 0
        self._send(now_ms)
        self.iface.wake_at = None  # Stack.poll runs the timers at its next call

    def _detach(self):
        if self.port:
            self.udp.detach(self.port)
            self.port = 0

    def _send(self, now_ms):
        self._detach()
        udp = self.udp
        self.due_ms = ticks_add(now_ms, self.timeout_ms)
        # RFC 5452 9.2: random source port and id for every query
        for _ in range(8):
            port = 1024 + random32() % 64512
            try:
                udp.attach(port, self._input)
                self.port = port
                break
            except OSError:
                continue
        else:
            return  # no port taken this time: the timeout tries again
        self.qid = random32() & 0xFFFF
        q = self.query
        q[0] = self.qid >> 8
        q[1] = self.qid & 0xFF
        servers = self.servers()
        server = aton(servers[self.server_i % len(servers)])
        self.server = server
        self.server_hi = server >> 16  # compared as halves (see wire.ipv4.IPv4)
        self.server_lo = server & 0xFFFF
        copy(self.iface.tx, PAYLOAD_OFF, q, 0, self.qlen)
        try:
            udp.send_tx(port, server, wire.PORT, self.qlen, now_ms)
            self.queries_tx += 1
        except OSError:
            pass

    def _finish(self, addr, ttl_s, status, now_ms):
        self._store(self.pending_name, addr, ttl_s, status, now_ms)
        self.pending_name = None
        self._detach()

    def _input(self, buf, off, end, ip, sport, now_ms):
        """Udp hook: a datagram for our query port, read in the RX frame."""
        if self.pending_name is None or sport != wire.PORT or ip.src_lo != self.server_lo \
                or ip.src_hi != self.server_hi:
            return
        a = self.answer
        why = a.parse(buf, off, end, self.qid, self.query, self.qlen)
        if why:
            # already counted as in_udp: not a frame drop (why is the
            # counter's name: nothing built per datagram)
            self.iface.counters.add(why)
        elif a.rcode == wire.RCODE_NXDOMAIN:
            self._finish(0, 60, _FAILED, now_ms)  # RFC 2308 negative caching, short
        elif a.rcode or not a.address:
            self._next_server(now_ms)
        else:
            self._finish(a.address, a.ttl_s, _DONE, now_ms)
        self.iface.wake_at = None  # Stack.poll runs the timers: a new deadline

    def timers(self, now_ms):
        d = ticks_diff(now_ms, self.swept_ms)
        if d >= 1000 or d < 0:
            self._sweep(now_ms)
        if self.pending_name is None:
            return 10000
        if ticks_diff(now_ms, self.due_ms) >= 0:
            self._next_server(now_ms)
            if self.pending_name is None:
                return 10000
        w = ticks_diff(self.due_ms, now_ms)
        return w if w > 0 else 0

    def _next_server(self, now_ms):
        self.server_i += 1
        if self.server_i >= len(self.servers()):
            self.server_i = 0
            self.attempt += 1
        if self.attempt >= self.retries:
            name = self.pending_name
            self.pending_name = None
            self._detach()
            self.error_name = name
            self.error = EAI_AGAIN
            return
        self._send(now_ms)

    def result(self, name, now_ms):
        """Address int when known; None while pending; OSError when it failed."""
        i = self._cached(name, now_ms)
        if i >= 0:
            if self.status[i] == _FAILED:
                raise OSError(EAI_NONAME, "Name or service not known: %s" % name)
            return self.addrs[i]
        if self.pending_name == name:
            return None
        if self.error and getattr(self, "error_name", None) == name:
            self.error = 0
            raise OSError(EAI_AGAIN, "Temporary failure in name resolution: %s (no answer)" % name)
        return None
