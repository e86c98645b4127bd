"""Listen backlog, pool exhaustion and SYN cookies with the default config:
connections beyond what the pool can hold are either served a moment later
or refused at once, never left to a 1 s SYN retransmission or to silence.
(Limits and their reasons: tcpip/config.py.)"""
from tcphelp import Peer, PEER_IP, STACK_IP, SYN, ACK, RST, PSH, FIN, seq_add, build


def _deliver(p, sport, seq, ack, flags, data=b""):
    """Queue one segment from a client port; the test polls when it wants."""
    p.nic.inbox.append(build(PEER_IP, STACK_IP, sport, 7, seq, ack, flags, 65535, data,
                             1460 if flags & SYN else None))


def _handshake(p, sport, isn=100, data=b""):
    """A client at sport connects (and sends data); returns the SYN,ACK."""
    p.send(SYN, isn, mss=1460, sport=sport)
    sa = [s for s in p.out() if s.dport == sport][-1]
    assert sa.is_(SYN | ACK), sa
    p.send(ACK | (PSH if data else 0), isn + 1, seq_add(sa.seq, 1), data, sport=sport)
    return sa


def test_default_backlog_is_the_pool_size():
    p = Peer()
    assert p.cfg.tcp_backlog == 0 and p.tcp.listen(7).backlog == 4
    assert p.tcp.listen(8, backlog=2).backlog == 2


def test_clients_that_connect_and_close_within_one_poll_do_not_lock_out_the_next():
    # two clients complete the handshake and close before the application
    # accepts (one poll); the third client's SYN must be answered at once
    p = Peer()
    l = p.tcp.listen(7)
    sas = []
    for k in range(2):
        p.send(SYN, 100, mss=1460, sport=3000 + k)
        sas.append(p.one())
    for k in range(2):
        _deliver(p, 3000 + k, 101, seq_add(sas[k].seq, 1), ACK)
        _deliver(p, 3000 + k, 101, seq_add(sas[k].seq, 1), FIN | ACK)
    _deliver(p, 3002, 100, 0, SYN)
    p.poll()
    third = [s for s in p.out() if s.dport == 3002]
    assert len(third) == 1 and third[0].is_(SYN | ACK), third
    assert p.tcp.pending(l) == 3 and p.stack.stats()["drop_tcp_backlog"] == 0


def test_cookie_ack_finding_every_block_held_by_the_application_gets_rst():
    # four accepted connections the application keeps: a fifth client gets a
    # cookie SYN,ACK, and its ACK a RST (ECONNRESET at once, not silence)
    p = Peer()
    l = p.tcp.listen(7)
    held = []
    for k in range(4):
        _handshake(p, 4000 + k)
        held.append(p.tcp.accept(l))
    assert p.tcp.free_blocks() == 0
    p.out()
    p.send(SYN, 700, mss=1460, sport=4100)
    sa = p.one()
    assert sa.is_(SYN | ACK)
    p.send(ACK | PSH, 701, seq_add(sa.seq, 1), b"hello", sport=4100)
    r = p.one()
    assert r.is_(RST) and r.seq == seq_add(sa.seq, 1) and r.dport == 4100
    st = p.stack.stats()
    assert st["tcp_syncookies_refused"] == 1 and st["drop_tcp_no_block"] == 1
    assert all(c.state_name() == "ESTABLISHED" for c in held)


def test_cookie_ack_waits_while_finished_clients_wait_for_accept_then_gets_in():
    # the pool is full of connections whose clients connected and closed
    # before the application accepted them (CLOSE-WAIT): they free in a
    # moment, so the cookie ACK is dropped (the client retransmits) rather
    # than refused, and the retransmission gets a block
    p = Peer()
    l = p.tcp.listen(7)
    for k in range(4):
        sa = _handshake(p, 5000 + k)
        p.send(FIN | ACK, 101, seq_add(sa.seq, 1), sport=5000 + k)
    assert p.tcp.free_blocks() == 0 and p.tcp.pending(l) == 4
    p.out()
    p.send(SYN, 900, mss=1460, sport=5100)
    sa = p.one()
    assert sa.is_(SYN | ACK)  # a cookie: no block, nothing stored
    p.send(ACK | PSH, 901, seq_add(sa.seq, 1), b"late", sport=5100)
    p.none()
    assert p.stack.stats()["drop_tcp_no_block"] == 1
    c = p.tcp.accept(l)
    c.abort()  # the application served one
    p.out()
    p.send(ACK | PSH, 901, seq_add(sa.seq, 1), b"late", sport=5100)  # the client's retransmission
    assert not [s for s in p.out() if s.flags & RST]
    got = None
    while True:
        k = p.tcp.accept(l)
        if k is None:
            break
        if k.rport == 5100:
            got = k
    assert got is not None and got.recv_into(bytearray(8)) == 4
    assert p.stack.stats()["tcp_syncookies_refused"] == 0


def test_cookie_ack_gets_rst_when_the_pool_waits_for_accept_with_clients_still_open():
    # established, not yet accepted, clients still sending: nothing frees
    # soon, so the sixth client is refused at once
    p = Peer()
    l = p.tcp.listen(7)
    for k in range(4):
        _handshake(p, 6000 + k, data=b"x")
    assert p.tcp.free_blocks() == 0 and p.tcp.pending(l) == 4
    p.out()
    p.send(SYN, 900, mss=1460, sport=6100)
    sa = p.one()
    p.send(ACK, 901, seq_add(sa.seq, 1), sport=6100)
    assert p.one().is_(RST)
    assert p.stack.stats()["tcp_syncookies_refused"] == 1
