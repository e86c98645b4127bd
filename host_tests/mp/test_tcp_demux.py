"""Tcp.input's connection lookup (RFC 9293 3.10.7: a segment goes to the
block of its 4-tuple, else to a listener or a RST): the memo of the last
matched block must never send a segment to the wrong connection, with
several connections interleaved, a block freed, or its slot reused by
another pair."""
from tcphelp import Peer, build, seq_add, ACK, PSH, RST, SYN, STACK_IP, PEER_IP
from tcpip.wire.ipv4 import aton

PEER2_IP = "192.0.2.3"
PEER2_MAC = b"\x02\x00\x00\x00\x00\x03"


def _peer(**cfg):
    p = Peer(isn=0x5000, **cfg)
    arp = p.stack.iface.arp
    i = arp.alloc(aton(PEER2_IP), p.now)
    arp.set_valid(i, PEER2_MAC, 0, p.now)
    p.l = p.tcp.listen(7)
    return p


def _deliver(p, ip, sport, seq, ack, flags, data=b""):
    kw = {"src_mac": PEER2_MAC} if ip == PEER2_IP else {}
    p.nic.inbox.append(build(ip, STACK_IP, sport, 7, seq, ack, flags, data=data, **kw))
    p.poll()


def _open(p, ip, sport, isn):
    # the peer at ip:sport connects; returns (conn, stack's next seq, peer's next seq)
    _deliver(p, ip, sport, isn, 0, SYN)
    sa = [s for s in p.out() if s.dport == sport and s.dst == aton(ip)][-1]
    assert sa.is_(SYN | ACK)
    _deliver(p, ip, sport, isn + 1, seq_add(sa.seq, 1), ACK)
    c = p.tcp.accept(p.l)
    assert c is not None and c.rport == sport
    p.out()
    return c, seq_add(sa.seq, 1), isn + 1


def _read(c):
    buf = bytearray(4096)
    n = c.recv_into(buf)
    return bytes(buf[:n]) if n > 0 else b""


def test_interleaved_connections_each_get_only_their_own_bytes():
    p = _peer()
    pairs = [(PEER_IP, 40000), (PEER_IP, 40001), (PEER2_IP, 40000)]
    conns = [_open(p, ip, sport, 1000 * (k + 1)) for k, (ip, sport) in enumerate(pairs)]
    nxt = [rcv for _, _, rcv in conns]
    got = [b"", b"", b""]
    # an order that hits the memo (the same pair twice) and misses it (every
    # other pair, the same address with another port, the same port at
    # another address)
    for k in (0, 0, 1, 2, 0, 2, 2, 1, 0, 1, 2, 0):
        ip, sport = pairs[k]
        c, snd, _ = conns[k]
        data = bytes([0x41 + k]) * (10 + k)
        _deliver(p, ip, sport, nxt[k], snd, ACK | PSH, data)
        nxt[k] += len(data)
        for j in range(3):
            got[j] += _read(conns[j][0])
    # each block got its own bytes only, all of them
    assert got == [b"A" * 10 * 5, b"B" * 11 * 3, b"C" * 12 * 4], got
    p.advance(500)  # the delayed ACKs: each to its own pair, acking its own bytes
    acks = {(s.dst, s.dport): s.ack for s in p.out()}
    assert acks == {(aton(ip), sport): nxt[k] for k, (ip, sport) in enumerate(pairs)}
    assert p.stack.counters.get("drop_tcp_no_socket") == 0


def test_segment_for_a_freed_block_gets_a_reset_not_the_block():
    p = _peer()
    c, snd, rcv = _open(p, PEER_IP, 40000, 1000)
    _deliver(p, PEER_IP, 40000, rcv, snd, ACK | PSH, b"abc")  # (the memo: this block)
    assert _read(c) == b"abc"
    _deliver(p, PEER_IP, 40000, rcv + 3, snd, RST)
    c.close()  # the application lets go: the block is free
    assert c.state_name() == "CLOSED" and not c.in_use
    p.out()
    _deliver(p, PEER_IP, 40000, rcv + 3, snd, ACK | PSH, b"def")
    r = p.one()
    assert r.is_(RST) and r.seq == snd and r.dport == 40000  # RFC 9293 3.10.7.1
    assert p.stack.counters.get("drop_tcp_no_socket") == 1


def test_slot_reused_by_another_pair_gets_no_segment_of_the_old_one():
    p = _peer(tcp_sockets=1)
    x, xsnd, xrcv = _open(p, PEER_IP, 40000, 1000)
    _deliver(p, PEER_IP, 40000, xrcv, xsnd, ACK | PSH, b"old")  # (the memo: x's block)
    assert _read(x) == b"old"
    _deliver(p, PEER_IP, 40000, xrcv + 3, xsnd, RST)
    x.close()
    # the one block again, for another pair: same address, another port
    y, ysnd, yrcv = _open(p, PEER_IP, 40001, 7000)
    assert y.w is x.w  # (the same block: the memo's)
    # a late segment of the old pair, in the window the old pair had
    _deliver(p, PEER_IP, 40000, xrcv + 3, xsnd, ACK | PSH, b"stale")
    r = p.one()
    assert r.is_(RST) and r.dport == 40000
    assert _read(y) == b""
    assert y.state_name() == "ESTABLISHED"
    # and the new pair's own data still reaches it, after the miss
    _deliver(p, PEER_IP, 40001, yrcv, ysnd, ACK | PSH, b"new")
    assert _read(y) == b"new"
    # a third pair at another address with the old port: no block at all
    _deliver(p, PEER2_IP, 40001, yrcv + 3, ysnd, ACK | PSH, b"other")
    r = p.one()
    assert r.is_(RST) and r.dst == aton(PEER2_IP)
    assert _read(y) == b""


def test_time_wait_block_reopened_by_a_new_syn_serves_the_new_connection():
    # RFC 6191: a new SYN frees the TIME-WAIT block it matches (the memo's);
    # the new connection's segments reach the new block
    p = _peer()
    c, snd, rcv = _open(p, PEER_IP, 40000, 1000)
    c.close()
    fin = p.one()
    assert fin.flags & 1  # FIN
    _deliver(p, PEER_IP, 40000, rcv, seq_add(snd, 1), ACK | 1)  # ACK of our FIN, and the peer's FIN
    assert c.state_name() == "TIME-WAIT"
    p.out()
    n, nsnd, nrcv = _open(p, PEER_IP, 40000, 900000)
    assert n.state_name() == "ESTABLISHED"
    _deliver(p, PEER_IP, 40000, nrcv, nsnd, ACK | PSH, b"again")
    assert _read(n) == b"again"
