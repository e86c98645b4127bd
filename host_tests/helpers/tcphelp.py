"""Shared helpers for the TCP scenario suites (CPython and MicroPython).

Two harnesses, both on virtual time:

``Peer`` -- the stack under test on a fake NIC, and a scripted peer: the test
builds exact segments (``peer.send(SYN, seq=100, mss=1000)``) and checks the
exact segments the stack answers with (``peer.out()`` -> list of ``Seg``).

``Pair`` -- two stacks over ``nic/link.py`` (optionally impaired), with
``run(cond, limit_ms)`` to advance the shared clock until a condition holds.
Stack clocks are wrapping ticks (``start_ms`` near 2**30 tests the wrap; by
default they start at ``vclock.START_MS``).
"""
from tcpip.stack import Stack
from tcpip.config import Config
from tcpip.compat import ticks_add
import vclock
from tcpip.wire import ethernet, ipv4
from tcpip.wire import tcp as wtcp
from tcpip.wire.tcp import FIN, SYN, RST, PSH, ACK  # noqa: F401 (re-exported for tests)
from tcpip.wire.ipv4 import aton
from tcpip.nic.link import Link
from tcpip import tcp as tcpmod

STACK_IP = "192.0.2.2"
PEER_IP = "192.0.2.1"
STACK_MAC = b"\x02\x00\x00\x00\x00\x02"
PEER_MAC = b"\x02\x00\x00\x00\x00\x01"
PEER_PORT = 40000
M32 = 0xFFFFFFFF


def errno_of(fn):
    """The errno of the OSError fn() raises, or None when it raises nothing."""
    try:
        fn()
    except OSError as e:
        return e.args[0]
    return None


def seq_add(a, n):
    return (a + n) & M32


class FakeNic:
    def __init__(self, mac):
        self.mac = mac
        self.inbox = []
        self.sent = []

    def recv_into(self, buf):
        if not self.inbox:
            return 0
        f = self.inbox.pop(0)
        buf[:len(f)] = f
        return len(f)

    def send(self, frame):
        self.sent.append(bytes(frame))

    def link_up(self):
        return True


class Seg:
    """A TCP segment the stack sent, decoded (checksums verified)."""

    def __init__(self, frame):
        ip = ipv4.IPv4()
        assert ip.parse(frame, 14, len(frame)) is None, "bad IPv4 header from the stack"
        assert ip.proto == 6
        t = wtcp.Tcp()
        why = t.parse(frame, ip.payload_off, ip.payload_end, ip.src, ip.dst)
        assert why is None, "stack sent a bad TCP segment: %s" % why
        self.src = ip.src
        self.dst = ip.dst
        self.sport = t.sport
        self.dport = t.dport
        self.seq = t.seq
        self.ack = t.ack
        self.flags = t.flags
        self.window = t.window
        self.mss = t.mss
        self.data = bytes(frame[t.payload_off:t.payload_end])

    def is_(self, flags):
        """True when exactly these flags are set."""
        return self.flags == flags

    def __repr__(self):
        return "<Seg %s seq=%d ack=%d win=%d len=%d>" % (wtcp.flags_str(self.flags), self.seq,
                                                         self.ack, self.window, len(self.data))


def build(src, dst, sport, dport, seq, ack, flags, window=65535, data=b"", mss=None,
          src_mac=PEER_MAC, dst_mac=STACK_MAC):
    """A whole Ethernet frame carrying one TCP segment (checksums filled in)."""
    hlen = 24 if mss is not None else 20
    tlen = hlen + len(data)
    buf = bytearray(14 + 20 + tlen)
    ethernet.emit(buf, dst_mac, src_mac, ethernet.TYPE_IPV4)
    s = aton(src)
    d = aton(dst)
    ipv4.emit(buf, 14, s, d, 6, tlen)
    wtcp.emit(buf, 34, sport, dport, seq & M32, ack & M32, flags, window, hlen)
    if mss is not None:
        wtcp.opt_mss(buf, 54, mss)
    buf[34 + hlen:] = data
    wtcp.finish(buf, 34, tlen, s, d)
    return bytes(buf)


class Peer:
    """The stack under test plus a scripted peer at PEER_IP:PEER_PORT."""

    def __init__(self, now=None, isn=None, **cfg):
        c = Config(mac=STACK_MAC, ip=STACK_IP, prefix=24, gateway=PEER_IP)
        for k in cfg:
            setattr(c, k, cfg[k])
        self.cfg = c
        self.nic = FakeNic(STACK_MAC)
        self.stack = Stack(c, self.nic)
        self.tcp = self.stack.tcp
        if isn is not None:
            self.tcp.isn = lambda: isn
        self.now = ticks_add(vclock.START_MS if now is None else now, 0)
        arp = self.stack.iface.arp
        i = arp.alloc(aton(PEER_IP), self.now)
        arp.set_valid(i, PEER_MAC, 0, self.now)
        self.stack.poll(self.now)
        self.nic.sent = []
        self.port = 7  # the stack's port in the scripted conversation
        # sockets on this stack poll it on the virtual clock too
        self.stack.clock_ms = self.clock_ms

    def clock_ms(self):
        return self.now

    def poll(self, advance_ms=0):
        """Advance the virtual clock (wrapping like ticks_ms) and poll once."""
        self.now = ticks_add(self.now, advance_ms)
        return self.stack.poll(self.now)

    def advance(self, ms, step_ms=10):
        """Advance ms in steps, polling at each."""
        while ms > 0:
            d = step_ms if ms > step_ms else ms
            self.poll(d)
            ms -= d

    def send(self, flags, seq, ack=0, data=b"", window=65535, mss=None, sport=PEER_PORT, dport=None,
             poll=True):
        """Deliver one segment from the peer and poll the stack (poll=False: the
        segment only waits in the NIC until something polls)."""
        f = build(PEER_IP, STACK_IP, sport, self.port if dport is None else dport, seq, ack, flags,
                  window, data, mss)
        self.nic.inbox.append(f)
        if poll:
            self.poll()

    def out(self):
        """TCP segments the stack sent since the last call (ARP and others skipped)."""
        segs = []
        for f in self.nic.sent:
            if len(f) >= 34 and f[12] == 8 and f[13] == 0 and f[23] == 6:
                segs.append(Seg(f))
        self.nic.sent = []
        return segs

    def one(self):
        """Exactly one segment was sent: return it."""
        s = self.out()
        assert len(s) == 1, "expected one segment, got %r" % (s,)
        return s[0]

    def none(self):
        s = self.out()
        assert not s, "expected no segment, got %r" % (s,)

    # -- ready-made conversations

    def connect(self, peer_isn=5000, mss=1460, window=65535):
        """Active open from the stack to the peer; returns (conn, our_isn_plus_1, peer_next)."""
        c = self.tcp.open(PEER_IP, PEER_PORT)
        syn = self.one()
        assert syn.is_(SYN)
        self.port = syn.sport
        self.send(SYN | ACK, peer_isn, seq_add(syn.seq, 1), window=window, mss=mss)
        a = self.one()
        assert a.is_(ACK) and a.ack == seq_add(peer_isn, 1), a
        assert c.state_name() == "ESTABLISHED"
        return c, seq_add(syn.seq, 1), seq_add(peer_isn, 1)

    def accept(self, port=7, peer_isn=5000, mss=1460, window=65535):
        """Passive open: the peer connects to the stack's listener; returns (conn, stack_next, peer_next)."""
        self.port = port
        l = self.tcp.listen(port)
        self.send(SYN, peer_isn, window=window, mss=mss)
        sa = self.one()
        assert sa.is_(SYN | ACK) and sa.ack == seq_add(peer_isn, 1), sa
        self.send(ACK, seq_add(peer_isn, 1), seq_add(sa.seq, 1), window=window)
        self.none()
        c = self.tcp.accept(l)
        assert c is not None
        self.listener = l
        return c, seq_add(sa.seq, 1), seq_add(peer_isn, 1)


class Pair:
    """Two stacks (a = 192.0.2.1, b = 192.0.2.2) over an in-memory link."""

    def __init__(self, seed=1, start_ms=None, cfg_a=None, cfg_b=None, **impair):
        self.link = Link(seed=seed, **impair)
        self.stacks = []
        for end, ip, gw, extra in ((self.link.a, PEER_IP, STACK_IP, cfg_a),
                                   (self.link.b, STACK_IP, PEER_IP, cfg_b)):
            c = Config(mac=end.mac, ip=ip, prefix=24, gateway=gw)
            for k in (extra or {}):
                setattr(c, k, extra[k])
            self.stacks.append(Stack(c, end))
        self.a, self.b = self.stacks
        self.t = 0  # monotonic link time
        self.start = vclock.START_MS if start_ms is None else start_ms
        self.each = None  # called after every poll round (application work)
        for st in self.stacks:
            st.clock_ms = self.now  # sockets poll on the link's virtual clock too

    def now(self):
        return ticks_add(self.start, self.t)

    def round(self):
        now = self.now()
        self.link.now_ms = self.t
        wa = self.a.poll(now)
        wb = self.b.poll(now)
        if self.each:
            self.each()
        return wa if wa < wb else wb

    def run(self, cond, limit_ms=60000, max_step_ms=1000):
        """Poll and advance time until cond() is true; False when limit_ms passed first."""
        t0 = self.t
        busy = 0
        while True:
            w = self.round()
            if cond():
                return True
            if self.t - t0 > limit_ms:
                return False
            nd = self.link.next_due()
            if nd is not None and nd <= self.t and busy < 200:
                busy += 1  # frames due now: deliver them before time moves
                continue
            busy = 0
            if w <= 0:
                w = 1
            if w > max_step_ms:
                w = max_step_ms
            if nd is not None and nd - self.t < w:
                w = nd - self.t
            if self.each is not None and w > 5:
                w = 5  # keep the applications busy
            if w < 1:
                w = 1
            self.t += w

    def connect(self, port=5001):
        """a connects to a listener on b; returns (conn_a, conn_b)."""
        l = self.b.tcp.listen(port)
        ca = self.a.tcp.open(STACK_IP, port)
        got = []

        def done():
            if not got:
                cb = self.b.tcp.accept(l)
                if cb is not None:
                    got.append(cb)
            return got and ca.is_established()
        assert self.run(done, 120000), "no connection"
        self.listener = l
        return ca, got[0]


class Pump:
    """Moves a byte pattern (byte i = (i + seed) % 251) through a connection and
    checks every byte, in order, at the other end; shuts the write side when done."""

    def __init__(self, src, dst, nbytes, seed=1, chunk=1000):
        self.src = src
        self.dst = dst
        self.total = nbytes
        self.sent = 0
        self.got = 0
        self.seed = seed
        self.chunk = chunk
        self.pat = bytes([(i % 251) for i in range(251 + 4096)])
        self.inb = bytearray(4096)
        self.ok = True
        self.eof = False
        self.close_when_done = True

    def step(self):
        if self.sent < self.total and not self.src.fin_queued:
            w = self.src.writable()
            n = self.total - self.sent
            if n > self.chunk:
                n = self.chunk
            if n > w:
                n = w
            if n > 0:
                o = (self.sent + self.seed) % 251
                self.sent += self.src.send(self.pat, o, n)
            if self.sent == self.total and self.close_when_done:
                self.src.shutdown()
        while not self.eof:
            n = self.dst.recv_into(self.inb)
            if n <= 0:
                if n == 0:
                    self.eof = True
                break
            o = (self.got + self.seed) % 251
            if bytes(self.inb[:n]) != self.pat[o:o + n]:
                self.ok = False
            self.got += n

    def done(self):
        return self.got >= self.total and self.eof


def state(c):
    return tcpmod.STATE_NAMES[c.state]
