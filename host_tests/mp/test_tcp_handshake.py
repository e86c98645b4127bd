"""TCP opens (RFC 9293 3.5): active, passive, simultaneous; SYN retransmission,
MSS option, pool and backlog limits.  Scripted peer, exact segments."""
from tcphelp import Peer, PEER_IP, PEER_PORT, SYN, ACK, RST, PSH, seq_add, state
from tcpip.compat import ENOMEM, ECONNREFUSED, ETIMEDOUT, EADDRINUSE
from tcphelp import errno_of as _err


def test_active_open_sends_syn_with_mss_and_window():
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    s = p.one()
    assert s.is_(SYN)
    assert s.mss == 1460  # MTU 1500 - 40
    assert s.window == 2920  # the RX ring's free space (default: two full segments)
    assert s.dport == PEER_PORT and 49152 <= s.sport <= 65535
    assert state(c) == "SYN-SENT"


def test_isn_is_random_per_connection():
    p = Peer(tcp_sockets=4)
    seqs = []
    for _ in range(3):
        p.tcp.open(PEER_IP, PEER_PORT)
        seqs.append(p.one().seq)
    assert len(set(seqs)) == 3


def test_three_way_handshake_and_peer_mss_honoured():
    p = Peer(tcp_tx_bytes=4096)
    c, snd, rcv = p.connect(mss=1000)
    assert c.snd_mss == 1000
    c.send(b"x" * 2500)
    segs = p.out()
    assert [len(s.data) for s in segs] == [1000, 1000, 500]
    assert segs[0].seq == snd and segs[1].seq == seq_add(snd, 1000)
    assert segs[2].seq == seq_add(snd, 2000)
    assert all(s.ack == rcv for s in segs)
    assert [s.flags & 8 for s in segs] == [0, 0, 8]  # PSH only on the last


def test_peer_without_mss_option_gets_536():
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn = p.one()
    p.port = syn.sport
    p.send(SYN | ACK, 77, seq_add(syn.seq, 1))
    p.one()
    assert c.snd_mss == 536
    c.send(b"y" * 600)
    assert [len(s.data) for s in p.out()] == [536, 64]


def test_syn_retransmitted_with_backoff_then_etimedout():
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    first = p.one()
    times = []
    t = 0
    for _ in range(700):
        p.poll(100)
        t += 100
        for s in p.out():
            assert s.is_(SYN) and s.seq == first.seq
            times.append(t)
        if c.error:
            break
    # 1 s initial RTO doubling: 1, 3, 7, 15, 31 s; give up after 5 retries
    assert times == [1000, 3000, 7000, 15000, 31000], times
    assert t == 63000  # the last RTO (32 s) ran out
    assert c.error == ETIMEDOUT
    assert _err(lambda: c.recv_into(bytearray(10))) == ETIMEDOUT
    c.close()
    assert p.tcp.free_blocks() == 4


def test_rst_ack_to_syn_is_connection_refused():
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn = p.one()
    p.port = syn.sport
    p.send(RST | ACK, 0, seq_add(syn.seq, 1))
    p.none()
    assert c.error == ECONNREFUSED
    assert _err(lambda: c.send(b"a")) == ECONNREFUSED


def test_syn_sent_bad_ack_gets_rst_and_keeps_waiting():
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn = p.one()
    p.port = syn.sport
    p.send(SYN | ACK, 900, seq_add(syn.seq, 50))
    r = p.one()
    assert r.is_(RST) and r.seq == seq_add(syn.seq, 50)
    assert state(c) == "SYN-SENT"


def test_passive_open_syn_ack_and_accept():
    p = Peer()
    l = p.tcp.listen(7)
    assert p.tcp.accept(l) is None
    p.send(SYN, 1000, mss=1200, window=8000)
    sa = p.one()
    assert sa.is_(SYN | ACK) and sa.ack == 1001 and sa.mss == 1460 and sa.window == 2920
    assert p.tcp.accept(l) is None  # not established yet
    p.send(ACK, 1001, seq_add(sa.seq, 1), window=8000)
    c = p.tcp.accept(l)
    assert c is not None and state(c) == "ESTABLISHED"
    assert c.snd_mss == 1200 and c.snd_wnd == 8000
    assert p.tcp.accept(l) is None


def test_lost_syn_ack_resent_on_syn_retransmission():
    p = Peer()
    p.tcp.listen(7)
    p.send(SYN, 1000, mss=1460)
    a = p.one()
    p.send(SYN, 1000, mss=1460)
    b = p.one()
    assert b.is_(SYN | ACK) and b.seq == a.seq and b.ack == 1001


def test_syn_ack_retransmitted_until_given_up():
    p = Peer()
    l = p.tcp.listen(7)
    p.send(SYN, 1000, mss=1460)
    p.one()
    n = 0
    for _ in range(700):
        p.poll(100)
        n += len([s for s in p.out() if s.is_(SYN | ACK)])
    assert n == 5
    assert p.tcp.pending(l) == 0 and p.tcp.free_blocks() == 4


def test_simultaneous_open():
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn = p.one()
    p.port = syn.sport
    p.send(SYN, 3000, mss=1460)  # the peer's own SYN crosses ours
    sa = p.one()
    assert sa.is_(SYN | ACK) and sa.seq == syn.seq and sa.ack == 3001
    assert state(c) == "SYN-RECEIVED"
    p.send(SYN | ACK, 3000, seq_add(syn.seq, 1), mss=1460)
    # RFC 9293 figure 8: the SYN,ACK completes it
    assert state(c) == "ESTABLISHED"


def test_backlog_full_of_half_open_answers_with_a_syn_cookie():
    # RFC 4987 3.6: no state for the second SYN, but a SYN,ACK whose ISN is a
    # cookie; the ACK that returns it becomes an established connection
    p = Peer(tcp_backlog=1)
    l = p.tcp.listen(7, backlog=1)
    p.send(SYN, 100, mss=1460, sport=1111)
    assert p.one().is_(SYN | ACK)
    free = p.tcp.free_blocks()
    p.send(SYN, 200, mss=1220, sport=2222)
    sa = p.one()
    assert sa.is_(SYN | ACK) and sa.ack == 201 and sa.mss == 1460
    assert p.tcp.free_blocks() == free and p.tcp.pending(l) == 1  # stateless
    st = p.stack.stats()
    assert st["tcp_syncookies_sent"] == 1 and st["tcp_syn_evictions"] == 0
    p.send(ACK | PSH, 201, seq_add(sa.seq, 1), b"hi", sport=2222)
    p.advance(300)  # the delayed ACK
    ack = p.one()
    assert ack.ack == 203 and not ack.flags & RST
    assert p.tcp.pending(l) == 2 and p.stack.stats()["tcp_syncookies_ok"] == 1
    c = p.tcp.accept(l)  # the established one (1111 is still half-open)
    assert c is not None and c.rport == 2222 and state(c) == "ESTABLISHED"
    assert c.snd_mss == 1220  # from the cookie's MSS table
    buf = bytearray(8)
    assert c.recv_into(buf) == 2 and bytes(buf[:2]) == b"hi"


def test_burst_of_clients_beyond_the_backlog_all_connect():
    # three clients at once on listen(2): nobody is reset (SYN-RECEIVED
    # eviction used to RST the first one); the third waits for accept()
    p = Peer(tcp_backlog=2)
    l = p.tcp.listen(7, backlog=2)
    sas = []
    for k in range(3):
        p.send(SYN, 100 * k, mss=1460, sport=4000 + k)
        sas.append(p.one())
    assert all(sa.is_(SYN | ACK) for sa in sas)
    for k in range(3):
        p.send(ACK, 100 * k + 1, seq_add(sas[k].seq, 1), sport=4000 + k)
    assert not [s for s in p.out() if s.flags & RST]
    assert p.stack.stats()["drop_tcp_backlog"] == 1  # the third, accept queue full
    first = p.tcp.accept(l)
    assert first.rport == 4000
    # the third client's data (its ACK retransmitted, in effect) now gets in
    p.send(ACK | PSH, 201, seq_add(sas[2].seq, 1), b"x", sport=4002)
    assert not [s for s in p.out() if s.flags & RST]
    ports = [p.tcp.accept(l).rport, p.tcp.accept(l).rport]
    assert sorted(ports) == [4001, 4002], ports
    assert p.stack.stats()["tcp_syncookies_ok"] == 1


def test_forged_or_stale_syn_cookie_gets_rst():
    p = Peer(tcp_backlog=1)
    l = p.tcp.listen(7, backlog=1)
    p.send(SYN, 100, mss=1460, sport=1111)
    p.one()
    p.send(SYN, 200, mss=1460, sport=2222)
    sa = p.one()
    free = p.tcp.free_blocks()
    # wrong cookie (one off), and the right cookie for a different client ISN
    p.send(ACK, 201, seq_add(sa.seq, 2), sport=2222)
    assert p.one().is_(RST)
    p.send(ACK, 301, seq_add(sa.seq, 1), sport=2222)
    assert p.one().is_(RST)
    # the right cookie from another port
    p.send(ACK, 201, seq_add(sa.seq, 1), sport=2223)
    assert p.one().is_(RST)
    # the right cookie, but after three 64 s slots
    p.advance(200000, step_ms=5000)
    p.out()
    p.send(ACK, 201, seq_add(sa.seq, 1), sport=2222)
    assert p.one().is_(RST)
    assert p.tcp.free_blocks() >= free and p.stack.stats()["tcp_syncookies_ok"] == 0
    assert p.tcp.pending(l) == 0  # the half-open one timed out meanwhile


def test_backlog_full_of_established_drops_syn():
    p = Peer(tcp_backlog=1)
    l = p.tcp.listen(7, backlog=1)
    p.send(SYN, 200, mss=1460, sport=2222)
    sa = p.one()
    p.send(ACK, 201, seq_add(sa.seq, 1), sport=2222)  # established, not yet accepted
    p.send(SYN, 300, mss=1460, sport=3333)
    p.none()  # dropped silently: the client retries
    assert p.tcp.pending(l) == 1
    assert p.stack.stats()["drop_tcp_backlog"] == 1


def test_pool_full_active_open_enomem():
    p = Peer(tcp_sockets=2)
    p.tcp.open(PEER_IP, PEER_PORT)
    p.tcp.open(PEER_IP, PEER_PORT)
    assert _err(lambda: p.tcp.open(PEER_IP, PEER_PORT)) == ENOMEM


def test_listen_twice_is_addrinuse():
    p = Peer()
    p.tcp.listen(80)
    assert _err(lambda: p.tcp.listen(80)) == EADDRINUSE


def test_pool_full_reuses_oldest_time_wait():
    p = Peer(tcp_sockets=2)
    conns = []
    for k in range(2):
        c, snd, rcv = p.connect(peer_isn=1000 * (k + 1))
        c.close()
        fin = p.one()
        assert fin.is_(FIN_ACK)
        p.send(ACK, rcv, seq_add(snd, 1))
        p.send(FIN | ACK, rcv, seq_add(snd, 1))
        assert p.one().is_(ACK)
        assert state(c) == "TIME-WAIT"
        conns.append(c)
        p.poll(10)
    assert p.tcp.free_blocks() == 0
    c3 = p.tcp.open(PEER_IP, PEER_PORT)
    assert c3 is conns[0]  # the oldest TIME-WAIT block was recycled
    assert state(conns[1]) == "TIME-WAIT"
    assert p.stack.stats()["tcp_time_wait_reused"] == 1


FIN = 1
FIN_ACK = 0x11


def test_syn_retransmission_across_tick_wrap():
    p = Peer(now=(1 << 30) - 1500)  # the 30-bit clock wraps 1.5 s from now
    p.tcp.open(PEER_IP, PEER_PORT)
    p.one()
    times = []
    t = 0
    for _ in range(100):
        p.poll(100)
        t += 100
        if p.out():
            times.append(t)
    assert times == [1000, 3000, 7000], times
    assert p.now < 10000  # really wrapped


def test_icmp_port_unreachable_refuses_syn_sent():
    from tcpip.wire import icmp, ipv4, ethernet
    from tcphelp import PEER_MAC, STACK_MAC, STACK_IP
    from tcpip.wire.ipv4 import aton
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn_frame = p.nic.sent[-1]
    p.out()
    quoted = syn_frame[14:14 + 48]
    buf = bytearray(14 + 20 + 8 + len(quoted))
    ethernet.emit(buf, STACK_MAC, PEER_MAC, ethernet.TYPE_IPV4)
    buf[42:] = quoted
    icmp.emit_error(buf, 34, 3, 3, len(quoted))
    ipv4.emit(buf, 14, aton(PEER_IP), aton(STACK_IP), 1, 8 + len(quoted))
    p.nic.inbox.append(bytes(buf))
    p.poll()
    assert c.error == ECONNREFUSED


def _data_retransmission_times(p, first_seq, limit_ms):
    """ms after now at which the segment at first_seq went again (100 ms steps)."""
    times = []
    t = 0
    while t < limit_ms:
        p.poll(100)
        t += 100
        for s in p.out():
            if s.seq == first_seq and s.data:
                times.append(t)
    return times


def test_rto_is_3s_once_data_starts_after_a_retransmitted_syn():
    # RFC 6298 5.7: SYN at 0, again at 1 s, SYN,ACK at 1.1 s, 100 bytes at
    # 1.1 s never ACKed: the first retransmission at 4.1 s, not 3.1 s
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn = p.one()
    p.port = syn.sport
    p.poll(1000)
    assert p.one().is_(SYN)
    p.poll(100)
    p.send(SYN | ACK, 5000, seq_add(syn.seq, 1), mss=1460)
    assert p.one().is_(ACK)
    c.send(b"d" * 100)
    d = p.one()
    assert len(d.data) == 100 and c.rto_ms == 3000
    assert _data_retransmission_times(p, d.seq, 4000) == [3000]


def test_rto_after_a_handshake_without_loss_is_not_raised():
    p = Peer()
    c, snd, rcv = p.connect()
    assert c.rto_ms < 3000


def test_rto_is_3s_after_a_retransmitted_syn_ack():
    p = Peer()
    l = p.tcp.listen(7)
    p.send(SYN, 1000, mss=1460)
    sa = p.one()
    p.poll(1000)
    assert p.one().is_(SYN | ACK)  # resent at 1 s
    p.send(ACK, 1001, seq_add(sa.seq, 1))
    c = p.tcp.accept(l)
    c.send(b"e" * 10)
    d = p.one()
    assert c.rto_ms == 3000
    assert _data_retransmission_times(p, d.seq, 3500) == [3000]
