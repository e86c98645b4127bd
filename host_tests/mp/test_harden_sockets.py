"""Resource exhaustion through the socket API, on virtual time:
more sockets than control blocks, listen backlog overflow, an application
that does not read (zero window held for minutes, window probes answered),
a peer that does not read (send -> EAGAIN, persist probes, bounded).
Clear errors, nothing grows, everything recovers.  CPython and MicroPython.
"""
import tcpip.socket as socket
from tcpip.compat import EAGAIN, ENOMEM, EINPROGRESS
from tcphelp import Peer, build, PEER_IP, STACK_IP, PEER_PORT, seq_add, SYN, ACK, PSH
from tcphelp import errno_of as _errno


def _sock(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, stack=p.stack)
    s.setblocking(False)
    return s


def test_more_sockets_than_the_pool_is_enomem_then_recovers():
    p = Peer(tcp_sockets=2)
    a, b, c = _sock(p), _sock(p), _sock(p)
    assert _errno(lambda: a.connect((PEER_IP, 7))) == EINPROGRESS
    assert _errno(lambda: b.connect((PEER_IP, 7))) == EINPROGRESS
    assert _errno(lambda: c.connect((PEER_IP, 7))) == ENOMEM  # clear error, no block made
    assert p.tcp.free_blocks() == 0 and len(p.tcp.pool) == 2
    a.close()
    p.advance(100)
    d = _sock(p)
    assert _errno(lambda: d.connect((PEER_IP, 7))) == EINPROGRESS  # the freed block is reused
    for s in (b, c, d):
        s.close()
    p.advance(1000)
    assert p.tcp.free_blocks() == 2


def test_listen_backlog_overflow_drops_syn_until_accept():
    p = Peer(tcp_sockets=4)
    srv = _sock(p)
    srv.bind(("0.0.0.0", 7))
    srv.listen(1)
    p.port = 7
    # one client completes the handshake and waits in the backlog
    p.send(SYN, 100, mss=1460, sport=2001)
    sa = p.one()
    p.send(ACK, 101, seq_add(sa.seq, 1), sport=2001)
    p.out()
    # a second one is dropped silently (its SYN is retried by the client)
    p.send(SYN, 500, mss=1460, sport=2002)
    p.none()
    assert p.stack.stats()["drop_tcp_backlog"] == 1
    conn, addr = srv.accept()
    assert addr[1] == 2001
    p.send(SYN, 500, mss=1460, sport=2002)  # the retry now gets in
    assert p.one().flags == SYN | ACK
    conn.close()
    srv.close()


def test_application_not_reading_holds_a_zero_window_for_minutes():
    p = Peer(tcp_rx_bytes=2048)
    c, snd, rcv = p.accept()
    seq = rcv
    for _ in range(4):  # 4 x 512 = the whole receive ring
        p.send(PSH | ACK, seq, snd, b"z" * 512)
        seq = seq_add(seq, 512)
    p.poll(300)
    segs = p.out()
    assert segs and segs[-1].window == 0 and segs[-1].ack == seq, segs
    probes = 0
    pool_bytes = len(c.tcp.buf)  # every ring of the pool lives in one buffer
    for k in range(36):  # 3 minutes of window probes, one every 5 s
        p.advance(5000, step_ms=500)
        p.out()
        p.send(ACK, seq, snd, b"P")  # RFC 9293 3.8.6.1 zero-window probe
        r = p.out()
        assert len(r) == 1 and r[0].window == 0 and r[0].ack == seq, r  # answered, not taken
        probes += 1
        assert c.rx.count == 2048 and c.rx.size == 2048 and len(c.tcp.buf) == pool_bytes  # nothing grows
    assert p.stack.stats().get("internal_errors", 0) == 0
    buf = bytearray(4096)
    assert c.recv_into(buf) == 2048 and bytes(buf[:3]) == b"zzz"
    upd = p.out()
    assert upd and upd[-1].window > 0, upd  # window update once the application read
    p.send(PSH | ACK, seq, snd, b"after")
    p.poll(300)
    assert c.recv_into(buf) == 5 and bytes(buf[:5]) == b"after"
    assert probes == 36


def test_peer_not_reading_send_gets_eagain_and_persist_probes():
    p = Peer(tcp_tx_bytes=2048)
    c, snd, rcv = p.connect(window=1024)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, stack=p.stack, _conn=c)
    s.setblocking(False)
    sent = 0
    eagain = False
    for _ in range(20):
        try:
            sent += s.send(b"x" * 1000)
        except OSError as e:
            assert e.args[0] == EAGAIN, e
            eagain = True
            break
    assert eagain and sent == 2048, sent  # the TX ring, not more
    segs = p.out()
    got = sum(len(x.data) for x in segs)
    assert 0 < got <= 1024, got  # within the peer's window
    # the peer takes the bytes but closes its window: it is not reading
    p.send(ACK, rcv, seq_add(snd, got), window=0)
    for _ in range(20):  # the acknowledged room fills up again
        try:
            s.send(b"y" * 1000)
        except OSError as e:
            assert e.args[0] == EAGAIN, e
            break
    assert c.tx.count == 2048
    p.out()
    probes0 = p.stack.stats()["tcp_persist_probes"]
    for _ in range(24):  # 2 minutes
        p.advance(5000, step_ms=500)
        for x in p.out():
            assert len(x.data) <= 1, x  # only persist probes go out
            if x.data:
                p.send(ACK, rcv, seq_add(snd, got), window=0)  # probe answered: still zero
        assert c.tx.count <= 2048
    assert p.stack.stats()["tcp_persist_probes"] - probes0 >= 3
    assert _errno(lambda: s.send(b"more")) == EAGAIN  # still full: a clear EAGAIN
    # the peer reads: window opens, everything flows, send works again
    p.send(ACK, rcv, seq_add(snd, got), window=4096)
    p.poll(10)
    more = sum(len(x.data) for x in p.out())
    assert more >= 1000, more
    p.send(ACK, rcv, seq_add(snd, got + more), window=4096)
    assert s.send(b"again") == 5
    _ = (build, STACK_IP, PEER_PORT)
