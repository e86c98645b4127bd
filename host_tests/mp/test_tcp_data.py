"""TCP data transfer against a scripted peer: windows, ACKs, Nagle, out-of-order,
retransmission, fast retransmit, persist, keepalive, sequence wraparound."""
from tcphelp import Peer, ACK, PSH, RST, FIN, seq_add, build, PEER_IP, STACK_IP, PEER_PORT, state
from tcpip.compat import ETIMEDOUT
from tcpip.tcp import FIELDS


def test_receive_window_is_ring_free_space_in_every_segment():
    p = Peer(tcp_rx_bytes=2048)
    c, snd, rcv = p.connect()
    p.send(ACK | PSH, rcv, snd, data=b"a" * 100)
    p.poll(200)  # delayed ACK fires
    a = p.one()
    assert a.ack == seq_add(rcv, 100)
    # 1948 free, but receiver SWS avoidance keeps the old right edge
    assert a.window == 1948
    buf = bytearray(100)
    assert c.recv_into(buf) == 100 and bytes(buf) == b"a" * 100
    p.none()  # 100 bytes freed is less than min(1024, MSS): no update yet
    c.send(b"q")
    s = p.one()
    assert s.window == 1948 and s.data == b"q"


def test_window_update_sent_when_app_frees_space():
    p = Peer(tcp_rx_bytes=2048)
    c, snd, rcv = p.connect()
    p.send(ACK, rcv, snd, data=b"b" * 1460)
    p.send(ACK, seq_add(rcv, 1460), snd, data=b"c" * 588)
    p.poll()  # less than one MSS of window left: the ACK goes at the next poll
    a = p.out()[-1]
    assert a.ack == seq_add(rcv, 2048) and a.window == 0
    buf = bytearray(2048)
    assert c.recv_into(buf, 0, 1500) == 1500
    p.none()  # bytes are left in the ring: the update goes at the next poll ...
    p.poll()
    u = p.one()  # ... at once, with no time passing
    assert u.is_(ACK) and u.ack == seq_add(rcv, 2048) and u.window == 1500


def test_reads_in_a_row_send_one_window_update():
    # a full ring read in two pieces: the first read owes the update (for
    # the next poll), the second empties the ring and sends it at once,
    # carrying the owed ACK: one frame for the two reads
    p = Peer(tcp_rx_bytes=2920)
    c, snd, rcv = p.connect()
    for k in range(2):
        p.nic.inbox.append(build(PEER_IP, STACK_IP, PEER_PORT, p.port, seq_add(rcv, 1460 * k), snd,
                                 ACK, data=b"r" * 1460))
    p.poll()
    p.none()
    buf = bytearray(1460)
    assert c.recv_into(buf) == 1460
    p.none()
    assert c.recv_into(buf) == 1460
    u = p.one()
    assert u.is_(ACK) and u.ack == seq_add(rcv, 2920) and u.window == 2920
    p.poll()
    p.none()  # nothing was left owed


def test_no_window_update_while_the_advertised_window_is_above_half_the_ring():
    # Linux tcp_cleanup_rbuf: a read sends an update only when the window
    # last advertised is at most half the ring, even when it empties the
    # ring (else every segment read gets its own frame: an ACK per segment)
    p = Peer(tcp_rx_bytes=8192)
    c, snd, rcv = p.connect()
    p.send(ACK, rcv, snd, data=b"h" * 1460)
    p.send(ACK, seq_add(rcv, 1460), snd, data=b"h" * 1460)
    p.poll()  # every second full segment: ACKed at the next poll
    a = p.one()
    assert a.ack == seq_add(rcv, 2920) and a.window == 8192 - 2920
    buf = bytearray(1460)
    assert c.recv_into(buf) == 1460  # 5272 advertised > 4096: no frame
    p.none()
    p.poll()
    p.none()
    assert c.recv_into(buf) == 1460  # the ring is empty, 5272 still advertised: no frame
    p.none()
    p.advance(500)
    p.none()  # nothing owed: no delayed ACK either
    # the peer goes on in the window it has; the next ACK carries the new one
    p.send(ACK, seq_add(rcv, 2920), snd, data=b"h" * 1460)
    p.send(ACK, seq_add(rcv, 4380), snd, data=b"h" * 1460)
    p.poll()
    a = p.one()
    assert a.ack == seq_add(rcv, 5840) and a.window == 8192 - 2920


def test_a_reader_of_single_segments_sends_no_frame_per_segment():
    # data read as it comes, a segment per poll (a fast reader, a sender
    # that waits for nothing): the ACKs are every second full segment's,
    # the reads add no window updates (8 segments, 4 frames, not 8)
    p = Peer(tcp_rx_bytes=8192)
    c, snd, rcv = p.connect()
    buf = bytearray(1460)
    seq = rcv
    sent = []
    for k in range(8):
        p.send(ACK, seq, snd, data=b"f" * 1460)
        seq = seq_add(seq, 1460)
        assert c.recv_into(buf) == 1460
        p.poll()
        sent += p.out()
    assert [s.ack for s in sent] == [seq_add(rcv, 2920 * k) for k in range(1, 5)]
    assert all(s.window >= 8192 - 1460 for s in sent)  # never a window the peer cannot use


def test_idle_waits_no_longer_than_the_delayed_ack_and_not_while_an_ack_is_owed():
    p = Peer(tcp_rx_bytes=4096)
    waited = []
    p.nic.wait = waited.append  # Stack.idle waits with the NIC's wait
    c, snd, rcv = p.connect()
    seq = rcv
    for _ in range(4):  # short segments: a delayed ACK is pending
        p.send(ACK, seq, snd, data=b"d" * 600)
        seq = seq_add(seq, 600)
    w = p.poll()
    assert 0 < w <= 200
    p.stack.idle(5000)
    assert waited == [w]  # the delayed ACK's deadline, not the caller's 5 s
    p.none()
    buf = bytearray(1500)
    # 1696 advertised (at most half the ring) and 1500 freed: the update is
    # owed to the next poll, so idle returns at once
    assert c.recv_into(buf) == 1500
    p.none()
    p.stack.idle(w)
    assert waited == [w]
    assert p.poll() >= 0
    u = p.one()
    assert u.ack == seq and u.window == 3196


def test_delayed_ack_at_most_200ms():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(ACK | PSH, rcv, snd, data=b"hello")
    p.none()
    p.advance(190)
    p.none()
    p.advance(10)
    a = p.one()
    assert a.is_(ACK) and a.ack == seq_add(rcv, 5)


def test_every_second_full_segment_acked_at_the_next_poll():
    p = Peer(tcp_rx_bytes=8192)
    c, snd, rcv = p.connect()
    p.send(ACK, rcv, snd, data=b"x" * 1460)
    p.none()
    p.send(ACK, seq_add(rcv, 1460), snd, data=b"x" * 1460)
    p.none()  # not inside the poll that took the segment ...
    assert p.stack.tcp.ack_soon and p.stack.poll(p.now) >= 0
    a = p.one()  # ... but at the next one, with no time passing
    assert a.ack == seq_add(rcv, 2920)


def test_a_poll_that_leaves_an_ack_owed_asks_to_be_called_again_at_once():
    p = Peer(tcp_rx_bytes=8192)
    c, snd, rcv = p.connect()
    for k in range(2):
        p.nic.inbox.append(build(PEER_IP, STACK_IP, PEER_PORT, p.port, seq_add(rcv, 1460 * k), snd,
                                 ACK, data=b"x" * 1460))
    assert p.poll() == 0
    p.none()
    p.poll()
    assert p.one().ack == seq_add(rcv, 2920)


def test_owed_ack_rides_on_the_window_update_when_the_app_reads_first():
    # the 2 KB ring fills: the ACK is owed; the application reads before the
    # next poll, so one segment carries both the ACK and the reopened window
    p = Peer(tcp_rx_bytes=2048)
    c, snd, rcv = p.connect()
    for k, n in ((0, 1460), (1460, 588)):  # both arrive within one poll
        p.nic.inbox.append(build(PEER_IP, STACK_IP, PEER_PORT, p.port, seq_add(rcv, k), snd, ACK,
                                 data=b"b" * n))
    p.poll()
    p.none()
    buf = bytearray(2048)
    assert c.recv_into(buf) == 2048
    u = p.one()
    assert u.ack == seq_add(rcv, 2048) and u.window == 2048
    p.poll()
    p.none()  # nothing was left owed


def test_ack_rides_on_data():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(ACK | PSH, rcv, snd, data=b"ping")
    p.none()
    c.send(b"pong")
    s = p.one()
    assert s.data == b"pong" and s.ack == seq_add(rcv, 4)
    p.send(ACK, seq_add(rcv, 4), seq_add(snd, 4))
    p.advance(300)
    p.none()  # the pending ACK went with the data


def test_out_of_order_segments_kept_and_delivered_when_gap_fills():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(ACK, seq_add(rcv, 10), snd, data=b"KLMNOPQRST")
    d1 = p.one()
    assert d1.ack == rcv  # duplicate ACK at once
    p.send(ACK, seq_add(rcv, 30), snd, data=b"0123456789")
    assert p.one().ack == rcv
    assert c.recv_into(bytearray(50)) == -1
    p.send(ACK, rcv, snd, data=b"ABCDEFGHIJ")
    a = p.one()
    assert a.ack == seq_add(rcv, 20)  # gap filled up to the second hole
    p.send(ACK, seq_add(rcv, 20), snd, data=b"abcdefghij")
    assert p.one().ack == seq_add(rcv, 40)
    buf = bytearray(64)
    n = c.recv_into(buf)
    assert bytes(buf[:n]) == b"ABCDEFGHIJKLMNOPQRSTabcdefghij0123456789"


def _read_all(c, limit=4096):
    """Everything readable now, then what recv_into says next (0 = end of data, -1 = nothing)."""
    buf = bytearray(limit)
    got = b""
    while True:
        n = c.recv_into(buf)
        if n <= 0:
            return got, n
        got += bytes(buf[:n])


def test_out_of_order_fin_is_held_and_acked_at_once():
    # RFC 9293 3.10.7.4 (hold what lies beyond rcv_nxt) and RFC 5681 4.2 (ACK
    # an out-of-order segment at once): 1001:2001, a bare FIN at 2001, then 1:1001
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(ACK, seq_add(rcv, 1000), snd, data=b"b" * 1000)
    assert p.one().ack == rcv
    p.send(FIN | ACK, seq_add(rcv, 2000), snd)
    dup = p.one()
    assert dup.is_(ACK) and dup.ack == rcv  # a duplicate ACK for the FIN beyond the hole
    assert state(c) == "ESTABLISHED"
    p.send(ACK, rcv, snd, data=b"a" * 1000)
    a = p.one()
    assert a.ack == seq_add(rcv, 2001)  # the data and the held FIN
    assert state(c) == "CLOSE-WAIT"
    got, last = _read_all(c)
    assert got == b"a" * 1000 + b"b" * 1000 and last == 0  # end of data, not "nothing yet"


def test_out_of_order_fin_with_data_keeps_the_fin():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(FIN | ACK | PSH, seq_add(rcv, 10), snd, data=b"KLMNOPQRST")
    assert p.one().ack == rcv
    p.send(ACK, rcv, snd, data=b"ABCDEFGHIJ")
    assert p.one().ack == seq_add(rcv, 21)
    assert state(c) == "CLOSE-WAIT"
    assert _read_all(c) == (b"ABCDEFGHIJKLMNOPQRST", 0)


def test_held_fin_waits_for_every_hole_before_it():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(ACK, seq_add(rcv, 20), snd, data=b"u" * 10)
    p.send(FIN | ACK, seq_add(rcv, 30), snd)
    p.out()
    p.send(ACK, rcv, snd, data=b"s" * 10)
    assert p.one().ack == seq_add(rcv, 10)  # the second hole is still open: no FIN yet
    assert state(c) == "ESTABLISHED" and _read_all(c) == (b"s" * 10, -1)
    p.send(ACK, seq_add(rcv, 10), snd, data=b"t" * 10)
    assert p.one().ack == seq_add(rcv, 31)
    assert _read_all(c) == (b"t" * 10 + b"u" * 10, 0)


def test_duplicate_segment_acked_not_delivered_twice():
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(ACK | PSH, rcv, snd, data=b"once")
    p.send(ACK | PSH, rcv, snd, data=b"once")
    a = p.one()
    assert a.ack == seq_add(rcv, 4)
    buf = bytearray(16)
    n = c.recv_into(buf)
    assert bytes(buf[:n]) == b"once"


def test_several_segments_in_flight_never_beyond_peer_window():
    p = Peer(tcp_tx_bytes=8192)
    c, snd, rcv = p.connect(mss=500, window=1200)
    assert c.send(b"z" * 5000) == 5000
    segs = p.out()
    # window 1200: 500 + 500 in flight; the 200-byte remainder is less than
    # half the largest window seen, so sender SWS avoidance waits
    assert [len(s.data) for s in segs] == [500, 500]
    p.send(ACK, rcv, seq_add(snd, 500), window=1200)
    assert [len(s.data) for s in p.out()] == [500]
    p.send(ACK, rcv, seq_add(snd, 1500), window=3000)
    # slow start: cwnd 2000 (initial window 4 * MSS) + 2 * 500; window 3000
    assert [len(s.data) for s in p.out()] == [500] * 6


def test_nagle_sends_tail_after_full_segments():
    p = Peer(tcp_tx_bytes=4096)
    c, snd, rcv = p.connect()
    c.send(b"t" * 1500)
    assert [len(s.data) for s in p.out()] == [1460, 40]  # Minshall: no small one in flight
    c.send(b"u" * 10)
    p.none()  # now a small segment is unacknowledged
    p.send(ACK, rcv, seq_add(snd, 1500))
    assert p.one().data == b"u" * 10


def test_nagle_holds_small_segment_until_ack():
    p = Peer()
    c, snd, rcv = p.connect()
    c.send(b"a")
    assert p.one().data == b"a"
    c.send(b"b")
    c.send(b"c")
    p.none()
    p.send(ACK, rcv, seq_add(snd, 1))
    s = p.one()
    assert s.data == b"bc" and s.flags & PSH


def test_nodelay_sends_small_segments_at_once():
    p = Peer()
    c, snd, rcv = p.connect()
    c.set_nodelay(True)
    c.send(b"a")
    c.send(b"b")
    assert [s.data for s in p.out()] == [b"a", b"b"]


def test_retransmission_timeout_backoff_and_karn():
    p = Peer()
    c, snd, rcv = p.connect()
    c.send(b"data")
    first = p.one()
    times = []
    t = 0
    for _ in range(40):
        p.poll(100)
        t += 100
        for s in p.out():
            assert s.seq == first.seq and s.data == b"data"
            times.append(t)
    # the handshake took 0 ms: RTO = max(200 ms floor, srtt + 4*rttvar) = 200
    assert times == [200, 600, 1400, 3000], times


def test_retransmission_give_up_is_etimedout():
    p = Peer(tcp_retries=3)
    c, snd, rcv = p.connect()
    c.send(b"data")
    p.one()
    for _ in range(100):
        p.poll(100)
    segs = p.out()
    assert len(segs) == 4 and segs[-1].is_(RST)  # 3 retransmissions, then RST
    assert c.error == ETIMEDOUT
    try:
        c.send(b"x")
        assert False
    except OSError as e:
        assert e.args[0] == ETIMEDOUT


def test_fast_retransmit_on_three_duplicate_acks():
    p = Peer(tcp_tx_bytes=8192)
    c, snd, rcv = p.connect(mss=1000)
    c.send(b"m" * 4000)
    segs = p.out()
    assert len(segs) == 4
    for _ in range(3):
        p.send(ACK, rcv, snd)
    r = p.one()
    assert r.seq == snd and len(r.data) == 1000  # before any timeout
    assert c.in_recovery
    p.send(ACK, rcv, seq_add(snd, 4000))
    assert not c.in_recovery
    assert p.stack.stats()["tcp_fast_retransmits"] == 1


def test_zero_window_persist_probes_then_resume():
    p = Peer()
    c, snd, rcv = p.connect(window=0)
    c.send(b"w" * 100)
    p.none()
    probes = []
    t = 0
    for _ in range(80):
        p.poll(100)
        t += 100
        for s in p.out():
            assert len(s.data) == 1 and s.seq == snd
            probes.append(t)
            p.send(ACK, rcv, snd, window=0)  # still closed
    assert probes[:5] == [200, 600, 1400, 3000, 6200], probes  # RTO 200, doubling
    assert c.error == 0
    p.send(ACK, rcv, snd, window=4000)  # window opens
    s = p.out()
    assert len(s) == 1 and len(s[0].data) == 100


def test_zero_window_probe_to_us_gets_ack_with_zero_window():
    p = Peer(tcp_rx_bytes=1024)
    c, snd, rcv = p.connect()
    p.send(ACK, rcv, snd, data=b"f" * 1024)
    p.poll()  # the window is shut: the ACK goes at the next poll
    a = p.one()
    assert a.window == 0 and a.ack == seq_add(rcv, 1024)
    p.send(ACK, seq_add(rcv, 1024), snd, data=b"g")
    a = p.one()
    assert a.window == 0 and a.ack == seq_add(rcv, 1024)


def test_keepalive_probes_then_timeout():
    p = Peer(tcp_keepalive_idle_ms=1000, tcp_keepalive_interval_ms=500, tcp_keepalive_count=2)
    c, snd, rcv = p.connect()
    p.advance(5000)
    p.none()  # off by default
    c.set_keepalive(True)
    p.advance(990)
    p.none()
    p.advance(10)
    k = p.one()
    assert k.seq == seq_add(snd, -1) and not k.data
    p.send(ACK, rcv, snd)  # the peer answers: idle again
    p.advance(990)
    p.none()
    p.advance(20)
    assert p.one().seq == seq_add(snd, -1)
    p.advance(500)
    assert p.one().seq == seq_add(snd, -1)
    p.advance(500)
    assert p.one().is_(RST)
    assert c.error == ETIMEDOUT


def test_sequence_wraparound_both_directions():
    p = Peer(isn=0xFFFFFF00, tcp_tx_bytes=4096)
    c, snd, rcv = p.connect(peer_isn=0xFFFFFFF0)
    assert snd == 0xFFFFFF01 and rcv == 0xFFFFFFF1
    c.nodelay = True
    c.send(b"s" * 600)
    segs = p.out()
    assert segs[0].seq == 0xFFFFFF01 and len(segs[0].data) == 600
    p.send(ACK, rcv, seq_add(snd, 600))
    assert c.snd_una == seq_add(snd, 600) and c.snd_una < 0x1000
    p.send(ACK | PSH, rcv, seq_add(snd, 600), data=b"r" * 100)
    p.advance(200)
    assert p.one().ack == seq_add(rcv, 100) == 0x55
    buf = bytearray(200)
    assert c.recv_into(buf) == 100


def test_rtt_measured_sets_rto():
    p = Peer()
    c, snd, rcv = p.connect()
    c.send(b"a")
    p.one()
    p.advance(300)
    p.out()
    assert c.rto_ms == 400  # backed off once already (200 -> 400)
    p.send(ACK, rcv, seq_add(snd, 1))
    assert c.rto_ms == 400  # Karn: the retransmitted segment gives no sample
    c.send(b"b")
    p.one()
    p.advance(50)
    p.send(ACK, rcv, seq_add(snd, 2))
    # second sample (50 ms) after a first of 0 ms: srtt 6, rttvar 25 -> 200 floor
    assert c.rto_ms == 200 and c.srtt8 > 0


def test_window_update_rule_holds_when_reanchoring_made_snd_wl2_zero():
    # RFC 9293 3.10.7.4: only a newer segment (SND.WL1 < SEG.SEQ, or equal
    # and SND.WL2 =< SEG.ACK) updates the send window.  snd_wl2 is relative;
    # when the send anchor moves by exactly what was ACKed it becomes 0,
    # which must not read as "no window recorded yet"
    p = Peer()
    p.tcp.reanchor_at = 0x20000
    p.tcp.reanchor_by = 0x20000
    c, snd, rcv = p.connect()
    c.nodelay = True
    p.send(ACK | PSH, rcv, snd, data=b"0123456789")
    assert _read_all(c) == (b"0123456789", -1)
    total = 0x20000 - 0x10001  # the send side's relative snd_una then reaches 2**17
    queued = 0
    acked = 0
    for _ in range(400):
        if acked == total:
            break
        if queued < total:
            queued += c.send(b"z" * 1460, 0, min(1460, total - queued))
        top = acked
        for s in p.out():
            if s.data:
                top = max(top, (s.seq - snd) % 2**32 + len(s.data))
        if top > acked:
            acked = top
            p.send(ACK, seq_add(rcv, 10), seq_add(snd, acked))
    assert acked == total and c.snd_una == seq_add(snd, total)
    assert c.w[FIELDS.index("snd_wl2")] == 0 and c.snd_wnd == 65535
    # an older segment (a retransmission reaching back before SND.WL1) with a small window
    p.send(ACK, rcv, seq_add(snd, total), window=100, data=b"0123456789abcdefghij")
    assert c.snd_wnd == 65535
    assert _read_all(c) == (b"abcdefghij", -1)
