"""Header prediction, differentially: the same segments through two stacks, one
with the fast path in Tcp.input (``tcp.hdrpred``) and one without, must leave
the same control block, send the same frames and deliver the same bytes.

An operation is a tuple of small ints (0..255) so that a pseudo-random
generator (the MicroPython suite) and hypothesis (CPython) can both make
them; ``Twin.step`` reads each one as a peer segment built from the
connection's current numbers (in order or not, acking new data or not, with
or without payload, FIN, RST, SYN, URG, a window of any size), an
application send or read, or time passing.
"""
from tcphelp import Peer, ACK, PSH, RST, FIN, SYN, seq_add

ISN = 0xFFFFF000  # the stack's ISN: its send side wraps 2**32 early on
PEER_ISN = 0x3FFFF000  # the peer's: above 2**30 (heap ints on a 32-bit port), wraps too

_SEQ_OFF = (0, 0, 0, 0, 0, 0, -1, -100, 1, 100, 1460, 3000, -3000)
_LEN = (0, 0, 0, 1, 100, 536, 1460, 1460, 1460, 2100)
_FLAGS = (ACK, ACK, ACK, ACK | PSH, ACK | PSH, ACK | PSH, ACK | FIN, ACK | PSH | FIN, ACK | RST,
          ACK | 0x20, ACK | SYN, 0)
_WINDOW = (65535, 65535, 65535, 2048, 1000, 536, 0)
_SEND = (1, 100, 1460, 3000)
_READ = (1, 100, 4096, 1000)
_ADVANCE = (0, 10, 200, 1000, 3000)


def pattern(seq, n):
    """The peer's payload at absolute sequence number seq (the same bytes when resent)."""
    return bytes([(seq + i) % 251 for i in range(n)])


def _masked(frame):
    # the IP identification (and so the header checksum) is not the TCP layer's
    f = bytearray(frame)
    if len(f) >= 26 and f[12] == 8 and f[13] == 0:
        f[18] = f[19] = f[24] = f[25] = 0
    return bytes(f)


class Twin:
    """Two stacks on the same scripted conversation: ``a`` predicts, ``b`` does not."""

    def __init__(self, keepalive=False, reanchor_at=0, **cfg):
        self.peers = []
        self.conns = []
        for on in (True, False):
            p = Peer(isn=ISN, **cfg)
            p.tcp.hdrpred = on
            if reanchor_at:  # move the anchors after reanchor_at - 64 KB (tcp.py's fields)
                p.tcp.reanchor_at = reanchor_at
                p.tcp.reanchor_by = 0x10000
            c, _, _ = p.accept(peer_isn=PEER_ISN)
            c.set_keepalive(keepalive)
            self.peers.append(p)
            self.conns.append(c)
        self.a, self.b = self.peers
        self.ca, self.cb = self.conns
        self.got = [bytearray(), bytearray()]  # what each application read
        self.ops = 0
        self.compare("accept")

    def predicted(self):
        """Segments the fast path took on (a, b)."""
        return tuple(p.stack.counters.get("tcp_predicted") for p in self.peers)

    def step(self, op):
        """Apply one operation (a tuple of ints) to both stacks and compare them."""
        self.ops += 1
        kind = op[0] % 16
        if kind < 11:
            self._segment(op)
        elif kind < 13:
            n = _SEND[op[1] % len(_SEND)]
            data = bytes([(self.ops + i) & 0xFF for i in range(n)])
            r = [self._call(c.send, data) for c in self.conns]
            assert r[0] == r[1], ("send", r)
        elif kind < 15:
            n = _READ[op[1] % len(_READ)]
            buf = bytearray(n)
            r = []
            for i in (0, 1):
                k = self._call(self.conns[i].recv_into, buf)
                r.append(k)
                if isinstance(k, int) and k > 0:
                    self.got[i] += buf[:k]
            assert r[0] == r[1], ("recv_into", r)
        else:
            ms = _ADVANCE[op[1] % len(_ADVANCE)]
            for p in self.peers:
                p.poll(ms)
        self.compare(op)

    def _call(self, fn, arg):
        try:
            return fn(arg)
        except OSError as e:
            return "OSError %d" % e.args[0]

    def _segment(self, op):
        c = self.ca
        if c.state_name() == "CLOSED":
            return
        seq = seq_add(c.rcv_nxt, _SEQ_OFF[op[1] % len(_SEQ_OFF)])
        una = c.snd_una
        ahead = (c.snd_max - una) & 0xFFFFFFFF
        k = op[2] % 8
        if k < 2:
            ack = una
        elif k < 4:
            ack = seq_add(una, ahead)  # everything sent
        elif k == 4:
            ack = seq_add(una, ahead // 2 if ahead > 1 else ahead)
        elif k == 5:
            ack = seq_add(una, ahead + 1)  # beyond what was sent
        elif k == 6:
            ack = seq_add(una, -1)
        else:
            ack = seq_add(una, -70000)  # too old (RFC 5961 5.2)
        n = _LEN[op[3] % len(_LEN)]
        flags = _FLAGS[op[4] % len(_FLAGS)]
        window = _WINDOW[op[5] % len(_WINDOW)]
        for p in self.peers:
            p.send(flags, seq, ack, data=pattern(seq, n), window=window)

    def compare(self, what):
        a, b = self.peers
        fa = [_masked(f) for f in a.nic.sent]
        fb = [_masked(f) for f in b.nic.sent]
        a.nic.sent = []
        b.nic.sent = []
        assert fa == fb, ("frames differ after", what, len(fa), len(fb))
        wa = list(self.ca.w)
        wb = list(self.cb.w)
        assert wa == wb, ("control blocks differ after", what, _diff(wa, wb))
        assert self.got[0] == self.got[1], ("bytes delivered differ after", what)
        sa = a.stack.stats()
        sb = b.stack.stats()
        sa.pop("tcp_predicted")
        sb.pop("tcp_predicted")
        assert sa == sb, ("counters differ after", what)
        for name in ("next_at", "ack_soon"):
            assert getattr(a.tcp, name) == getattr(b.tcp, name), (name, what)


def _diff(wa, wb):
    from tcpip.tcp import FIELDS
    out = []
    for i in range(len(wa)):
        if wa[i] != wb[i]:
            out.append((FIELDS[i] if i < len(FIELDS) else i, wa[i], wb[i]))
    return out


def run(ops, **cfg):
    """Run ops through a Twin; returns it (its predicted() says how often the
    fast path was taken)."""
    t = Twin(**cfg)
    for op in ops:
        t.step(op)
    return t

