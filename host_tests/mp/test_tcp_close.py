"""TCP close in every order (RFC 9293 3.6) and resets (RFC 9293 3.5.2, RFC 5961)."""
from tcphelp import Peer, SYN, ACK, PSH, FIN, RST, seq_add, state, errno_of
from tcpip.compat import ECONNRESET, EPIPE

FA = FIN | ACK


def test_active_close_fin_wait_to_time_wait_then_freed():
    p = Peer(tcp_msl_ms=1000)
    c, snd, rcv = p.connect()
    c.close()
    f = p.one()
    assert f.is_(FA) and f.seq == snd and f.ack == rcv
    assert state(c) == "FIN-WAIT-1"
    p.send(ACK, rcv, seq_add(snd, 1))
    assert state(c) == "FIN-WAIT-2"
    p.send(FA, rcv, seq_add(snd, 1))
    a = p.one()
    assert a.is_(ACK) and a.ack == seq_add(rcv, 1)
    assert state(c) == "TIME-WAIT"
    assert p.tcp.free_blocks() == 3
    p.advance(1990)
    assert state(c) == "TIME-WAIT"
    p.advance(20)  # 2 * MSL
    assert p.tcp.free_blocks() == 4


def test_fin_retransmitted_in_time_wait_is_acked_again():
    p = Peer(tcp_msl_ms=1000)
    c, snd, rcv = p.connect()
    c.close()
    p.one()
    p.send(FA, rcv, seq_add(snd, 1))
    p.one()
    p.advance(1500)
    p.send(FA, rcv, seq_add(snd, 1))
    assert p.one().ack == seq_add(rcv, 1)
    p.advance(1500)
    assert state(c) == "TIME-WAIT"  # the 2 MSL wait restarted
    p.advance(600)
    assert p.tcp.free_blocks() == 4


def test_passive_close_close_wait_last_ack():
    p = Peer()
    c, snd, rcv = p.accept()
    p.send(FA, rcv, snd)
    a = p.one()
    assert a.is_(ACK) and a.ack == seq_add(rcv, 1)
    assert state(c) == "CLOSE-WAIT"
    assert c.recv_into(bytearray(10)) == 0  # end of data
    c.close()
    f = p.one()
    assert f.is_(FA) and f.seq == snd
    assert state(c) == "LAST-ACK"
    p.send(ACK, seq_add(rcv, 1), seq_add(snd, 1))
    assert p.tcp.free_blocks() == 4


def test_fin_after_data_reads_data_then_end():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(FA | PSH, rcv, snd, data=b"last words")
    assert p.one().ack == seq_add(rcv, 11)
    buf = bytearray(64)
    assert c.recv_into(buf) == 10 and bytes(buf[:10]) == b"last words"
    assert c.recv_into(buf) == 0
    assert c.at_eof()


def test_simultaneous_close_goes_through_closing():
    p = Peer(tcp_msl_ms=500)
    c, snd, rcv = p.connect()
    c.close()
    f = p.one()
    assert f.is_(FA)
    p.send(FA, rcv, snd)  # the peer's FIN crosses ours: it does not ack our FIN
    a = p.one()
    assert a.is_(ACK) and a.ack == seq_add(rcv, 1)
    assert state(c) == "CLOSING"
    p.send(ACK, seq_add(rcv, 1), seq_add(snd, 1))
    assert state(c) == "TIME-WAIT"
    p.advance(1010)
    assert p.tcp.free_blocks() == 4


def test_fin_ack_together_from_fin_wait_1_to_time_wait():
    p = Peer()
    c, snd, rcv = p.connect()
    c.close()
    p.one()
    p.send(FA, rcv, seq_add(snd, 1))
    assert p.one().is_(ACK)
    assert state(c) == "TIME-WAIT"


def test_half_close_keeps_reading():
    p = Peer()
    c, snd, rcv = p.connect()
    c.send(b"request")
    c.shutdown()
    segs = p.out()
    assert segs[-1].flags & FIN
    data = b"".join(s.data for s in segs)
    assert data == b"request"
    p.send(ACK, rcv, seq_add(snd, 8))
    assert state(c) == "FIN-WAIT-2"
    p.send(ACK | PSH, rcv, seq_add(snd, 8), data=b"response")
    buf = bytearray(32)
    assert c.recv_into(buf) == 8 and bytes(buf[:8]) == b"response"
    try:
        c.send(b"more")
        assert False
    except OSError as e:
        assert e.args[0] == 32  # EPIPE
    p.send(FA, seq_add(rcv, 8), seq_add(snd, 8))
    assert state(c) == "TIME-WAIT"
    assert c.recv_into(buf) == 0


def test_peer_half_close_we_keep_sending():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(FA, rcv, snd)
    p.out()
    assert state(c) == "CLOSE-WAIT"
    c.send(b"still here")
    s = p.one()
    assert s.data == b"still here" and s.ack == seq_add(rcv, 1)


def test_close_with_unread_data_sends_rst():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(ACK | PSH, rcv, snd, data=b"unread")
    p.advance(200)
    p.out()
    c.close()
    r = p.one()
    assert r.is_(RST) and r.seq == snd
    assert p.tcp.free_blocks() == 4


def test_data_after_close_gets_rst():
    p = Peer()
    c, snd, rcv = p.connect()
    c.close()
    p.one()
    p.send(ACK | PSH, rcv, seq_add(snd, 1), data=b"late")
    r = p.out()[-1]
    assert r.is_(RST)
    assert p.tcp.free_blocks() == 4


def test_abort_sends_rst_and_frees():
    p = Peer()
    c, snd, rcv = p.connect()
    c.abort()
    r = p.one()
    assert r.is_(RST) and r.seq == snd
    assert p.tcp.free_blocks() == 4


def test_fin_wait_2_of_closed_connection_times_out():
    p = Peer(tcp_fin_wait2_ms=3000)
    c, snd, rcv = p.connect()
    c.close()
    p.one()
    p.send(ACK, rcv, seq_add(snd, 1))
    assert state(c) == "FIN-WAIT-2"
    p.advance(3010)
    assert p.tcp.free_blocks() == 4


def test_rst_with_exact_sequence_resets():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(RST, rcv)
    p.none()
    assert c.error == ECONNRESET
    try:
        c.recv_into(bytearray(4))
        assert False
    except OSError as e:
        assert e.args[0] == ECONNRESET
    c.close()
    assert p.tcp.free_blocks() == 4


def test_in_window_rst_gets_challenge_ack():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(RST, seq_add(rcv, 100))
    a = p.one()
    assert a.is_(ACK) and a.seq == snd and a.ack == rcv  # RFC 5961 3.2
    assert state(c) == "ESTABLISHED" and c.error == 0


def test_out_of_window_rst_ignored():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(RST, seq_add(rcv, 100000))
    p.none()
    p.send(RST, seq_add(rcv, -5))
    p.none()
    assert state(c) == "ESTABLISHED"


def test_syn_in_established_gets_challenge_ack():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(SYN, 123456, mss=1460)
    a = p.one()
    assert a.is_(ACK) and a.ack == rcv and a.seq == snd  # RFC 5961 4.2
    assert state(c) == "ESTABLISHED"


def test_syn_to_closed_port_gets_rst_ack():
    p = Peer()
    p.send(SYN, 1000, dport=81)
    r = p.one()
    assert r.is_(RST | ACK) and r.seq == 0 and r.ack == 1001 and r.sport == 81


def test_ack_to_closed_port_gets_rst_with_its_ack_as_seq():
    p = Peer()
    p.send(ACK | PSH, 1000, 777777, data=b"abc", dport=81)
    r = p.one()
    assert r.is_(RST) and r.seq == 777777


def test_data_without_ack_to_closed_port_rst_covers_it():
    p = Peer()
    p.send(FIN | PSH, 1000, data=b"abc", dport=81)
    r = p.one()
    assert r.is_(RST | ACK) and r.ack == 1004


def test_rst_to_closed_port_is_not_answered():
    p = Peer()
    p.send(RST, 1000, dport=81)
    p.none()
    p.send(RST | ACK, 1000, 5, dport=81)
    p.none()


def test_ack_to_listener_gets_rst():
    p = Peer()
    p.tcp.listen(7)
    p.send(ACK, 1000, 4242)
    r = p.one()
    assert r.is_(RST) and r.seq == 4242


def test_rst_in_syn_received_frees_passive_block():
    p = Peer()
    l = p.tcp.listen(7)
    p.send(SYN, 1000, mss=1460)
    p.one()
    assert p.tcp.pending(l) == 1
    p.send(RST, 1001)
    assert p.tcp.pending(l) == 0 and p.tcp.free_blocks() == 4


def test_bad_ack_in_syn_received_gets_rst():
    p = Peer()
    p.tcp.listen(7)
    p.send(SYN, 1000, mss=1460)
    sa = p.one()
    p.send(ACK, 1001, seq_add(sa.seq, 99))
    r = p.one()
    assert r.is_(RST) and r.seq == seq_add(sa.seq, 99)


def test_unlisten_resets_pending_connections():
    p = Peer()
    l = p.tcp.listen(7)
    p.send(SYN, 1000, mss=1460)
    sa = p.one()
    p.send(ACK, 1001, seq_add(sa.seq, 1))
    p.tcp.unlisten(l)
    assert p.one().is_(RST)
    assert p.tcp.free_blocks() == 4
    p.send(SYN, 5000, mss=1460)
    assert p.one().is_(RST | ACK)


def test_rst_in_time_wait_ignored_rfc1337():
    p = Peer(tcp_msl_ms=1000)
    c, snd, rcv = p.connect()
    c.close()
    p.one()
    p.send(FA, rcv, seq_add(snd, 1))
    p.one()
    p.send(RST, seq_add(rcv, 1))
    assert state(c) == "TIME-WAIT"
    p.advance(2010)
    assert p.tcp.free_blocks() == 4


def test_close_in_syn_sent_frees_at_once_without_rst():
    from tcphelp import PEER_IP, PEER_PORT
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn = p.one()
    c.close()
    p.none()
    assert p.tcp.free_blocks() == 4
    p.port = syn.sport
    p.send(SYN | ACK, 9, seq_add(syn.seq, 1))  # a late SYN,ACK meets no connection
    r = p.one()
    assert r.is_(RST) and r.seq == seq_add(syn.seq, 1)


def test_shutdown_before_established_sends_fin_after_handshake():
    from tcphelp import PEER_IP, PEER_PORT
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn = p.one()
    c.send(b"early")
    c.shutdown()
    p.port = syn.sport
    p.send(SYN | ACK, 9, seq_add(syn.seq, 1), mss=1460)
    segs = p.out()
    data = b"".join(s.data for s in segs)
    assert data == b"early" and segs[-1].flags & FIN
    assert state(c) == "FIN-WAIT-1"


def test_lost_fin_is_retransmitted():
    p = Peer()
    c, snd, rcv = p.connect()
    c.close()
    f1 = p.one()
    p.advance(200)
    f2 = p.one()
    assert f2.is_(FA) and f2.seq == f1.seq


def test_new_syn_reopens_time_wait_pair_rfc6191():
    p = Peer(tcp_msl_ms=30000)
    c, snd, rcv = p.accept()
    c.close()  # the server closes first and keeps TIME-WAIT
    p.one()
    p.send(FA, rcv, seq_add(snd, 1))
    p.one()
    assert state(c) == "TIME-WAIT"
    p.send(SYN, seq_add(rcv, 100000), mss=1460)  # same port pair, higher sequence number
    sa = p.one()
    assert sa.is_(SYN | ACK) and sa.ack == seq_add(rcv, 100001)
    assert p.stack.stats()["tcp_time_wait_reused"] == 1


def test_writable_raises_the_error_of_a_reset_connection():
    # 0 means "the TX ring is full"; a dead connection must not look like that
    p = Peer()
    c, snd, rcv = p.connect()
    assert c.writable() == p.stack.cfg.tcp_tx_bytes  # the whole TX ring
    p.send(RST, rcv)
    assert errno_of(c.writable) == ECONNRESET
    assert errno_of(lambda: c.send(b"x")) == ECONNRESET


def test_writable_raises_epipe_after_shutdown_and_counts_a_full_ring_as_0():
    p = Peer()
    c, snd, rcv = p.connect(window=0)
    n = p.stack.cfg.tcp_tx_bytes
    assert c.send(b"f" * (n + 1000)) == n
    assert c.writable() == 0
    c.shutdown()
    assert errno_of(c.writable) == EPIPE
