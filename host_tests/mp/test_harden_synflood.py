"""SYN flood on virtual time: spoofed SYNs from random addresses and
ports of 192.0.2.0/24 fill the listener's backlog with half-open connections
whose SYN,ACKs go nowhere (nobody answers ARP for them).  The defence
(tcp.py docstring: SYN cookies once the backlog holds half-open connections)
must let a legitimate client connect
during and right after the flood, the pool must not leak, and the stack must
be idle again once the half-open connections time out.  CPython and MicroPython.
"""
from tcphelp import Peer, build, Seg, PEER_IP, STACK_IP, seq_add, SYN, ACK, FIN
from tcpip.nic.link import _Rng
from tcpip.wire import arp
from tcpip.wire.ipv4 import aton
from framehelp import arp_frame
from tcphelp import PEER_MAC, STACK_MAC

LEGIT_PORT = 33333


def _flood(p, rng, n):
    for _ in range(n):
        src = "192.0.2.%d" % (3 + rng.below(250))
        sport = 1024 + rng.below(60000)
        p.nic.inbox.append(build(src, STACK_IP, sport, 7, rng.next(), 0, SYN, 65535, b"", 1460))


def _answer_arp(p):
    """Play the legitimate host: answer the stack's ARP requests for PEER_IP."""
    for f in p.nic.sent:
        if len(f) >= 42 and f[12:14] == b"\x08\x06" and f[21] == 1 and f[38:42] == bytes([192, 0, 2, 1]):
            p.nic.inbox.append(arp_frame(arp.REPLY, PEER_MAC, aton(PEER_IP), STACK_MAC, aton(STACK_IP)))


def _legit(p, isn, limit_ms=3000):
    """One client handshake + 5 bytes through the accept queue, like a real client:
    answers ARP, resends its SYN every second; True when it worked within limit_ms."""
    sa = None
    p.nic.sent = []
    for t in range(0, limit_ms, 10):
        if t % 1000 == 0:
            p.nic.inbox.append(build(PEER_IP, STACK_IP, LEGIT_PORT, 7, isn, 0, SYN, 65535, b"", 1460))
        p.poll(10)
        _answer_arp(p)
        for f in p.nic.sent:
            if len(f) > 34 and f[12:14] == b"\x08\x00" and f[23] == 6 and f[30:34] == bytes([192, 0, 2, 1]):
                s = Seg(f)
                if s.dport == LEGIT_PORT and s.flags == SYN | ACK:
                    sa = s
        p.nic.sent = []
        if sa is not None:
            break
    if sa is None:
        return False
    p.nic.inbox.append(build(PEER_IP, STACK_IP, LEGIT_PORT, 7, seq_add(isn, 1), seq_add(sa.seq, 1),
                             ACK, 65535, b"hello"))
    p.poll(1)
    c = p.tcp.accept(p.listener)
    if c is None:
        return False
    buf = bytearray(16)
    n = c.recv_into(buf)
    ok = n == 5 and bytes(buf[:5]) == b"hello"
    c.abort()
    p.poll(1)
    p.nic.sent = []
    return ok


def _setup():
    p = Peer(tcp_sockets=4, tcp_backlog=2)
    p.listener = p.tcp.listen(7)
    return p


def test_legit_client_connects_during_and_after_syn_flood():
    p = _setup()
    rng = _Rng(7)
    during = 0
    tries = 0
    for step in range(50):  # 5 s of flood: 40 SYNs per 100 ms (400/s)
        _flood(p, rng, 40)
        for _ in range(5):
            p.poll(20)
        p.nic.sent = []
        if step % 10 == 5:
            tries += 1
            if _legit(p, 1000 + step):
                during += 1
        assert p.tcp.free_blocks() >= 0 and len(p.tcp.pool) == 4
    # right after the flood a client connects at once (no 60 s wait for half-opens)
    assert _legit(p, 77777), "legitimate client starved after the flood"
    st = p.stack.stats()
    assert st["tcp_syncookies_sent"] > 1000, st["tcp_syncookies_sent"]
    # the flood never ACKs: every cookie that came back was a legitimate client's
    assert 1 <= st["tcp_syncookies_ok"] <= tries + 1, st["tcp_syncookies_ok"]
    assert st["tcp_syn_evictions"] == 0  # free blocks were left: nothing evicted
    assert during >= tries - 1, (during, tries)  # during the flood too
    assert st.get("internal_errors", 0) == 0
    # every half-open connection gives up: the pool is whole again
    p.advance(200000, step_ms=1000)
    assert p.tcp.free_blocks() == 4, p.tcp.connections()


def test_backlog_of_established_unaccepted_still_drops_syn():
    """Eviction only takes half-open blocks: established connections waiting for
    accept() are kept and a further SYN is dropped (the client retries)."""
    p = _setup()
    for k in range(2):
        sport = 2000 + k
        p.nic.inbox.append(build(PEER_IP, STACK_IP, sport, 7, 100, 0, SYN, 65535, b"", 1460))
        p.poll(1)
        sa = [s for s in p.out() if s.flags == SYN | ACK][0]
        p.nic.inbox.append(build(PEER_IP, STACK_IP, sport, 7, 101, seq_add(sa.seq, 1), ACK))
        p.poll(1)
        p.out()
    assert p.tcp.pending(p.listener) == 2
    p.nic.inbox.append(build(PEER_IP, STACK_IP, 2009, 7, 100, 0, SYN, 65535, b"", 1460))
    p.poll(1)
    assert not p.out()
    st = p.stack.stats()
    assert st["drop_tcp_backlog"] == 1 and st["tcp_syn_evictions"] == 0


def test_half_open_blocks_are_recycled_when_the_pool_is_full():
    """More listeners than blocks: a SYN with no free block evicts the oldest half-open one."""
    p = Peer(tcp_sockets=2, tcp_backlog=4)
    p.listener = p.tcp.listen(7)
    p.tcp.listen(9)
    for k in range(2):
        p.nic.inbox.append(build("192.0.2.%d" % (50 + k), STACK_IP, 3000 + k, 9, 5, 0, SYN, 65535, b"", 1460))
    p.poll(1)
    assert p.tcp.free_blocks() == 0
    assert _legit(p, 4242)
    assert p.stack.stats()["tcp_syn_evictions"] >= 1
    _ = FIN  # noqa
