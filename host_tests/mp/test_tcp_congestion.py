"""Congestion control (RFC 5681, NewReno RFC 6582) against a scripted peer."""
from tcphelp import Peer, ACK, seq_add
from tcpip.tcp import FIELDS


def _conn(tx=16384, mss=1000):
    p = Peer(tcp_tx_bytes=tx)
    c, snd, rcv = p.connect(mss=mss, window=60000)
    return p, c, snd, rcv


def test_initial_window_is_rfc5681_and_limited_by_small_ring():
    p, c, snd, rcv = _conn(mss=1000)
    assert c.cwnd == 4000  # min(4 * MSS, max(2 * MSS, 4380))
    p2 = Peer(tcp_tx_bytes=2048)
    c2, _, _ = p2.connect(mss=1460)
    assert c2.cwnd == 2048  # never more than the TX ring can hold


def test_slow_start_grows_one_mss_per_ack():
    p, c, snd, rcv = _conn()
    c.send(b"s" * 16000)
    assert len(p.out()) == 4
    p.send(ACK, rcv, seq_add(snd, 1000))
    assert c.cwnd == 5000
    assert len(p.out()) == 2  # one acked, cwnd grew by one: two more go out


def test_congestion_avoidance_grows_about_one_mss_per_window():
    p, c, snd, rcv = _conn()
    c.w[FIELDS.index("ssthresh")] = 3000  # fields are read-only by name
    c.send(b"s" * 16000)
    p.out()
    p.send(ACK, rcv, seq_add(snd, 1000))
    assert c.cwnd == 4000 + 1000 * 1000 // 4000  # MSS*MSS/cwnd


def test_rto_collapses_cwnd_to_one_segment():
    p, c, snd, rcv = _conn()
    c.send(b"s" * 16000)
    assert len(p.out()) == 4  # 4000 bytes in flight
    p.advance(200)  # RTO (the handshake measured ~0 ms: the 200 ms floor)
    segs = p.out()
    assert segs and segs[0].seq == snd and len(segs[0].data) == 1000
    assert c.cwnd == 1000 and c.ssthresh == 2000  # max(flight / 2, 2 * MSS)
    assert len(segs) == 1


def test_newreno_partial_ack_retransmits_next_hole_then_exits():
    p, c, snd, rcv = _conn()
    c.send(b"s" * 16000)
    assert len(p.out()) == 4
    for _ in range(3):
        p.send(ACK, rcv, snd, window=60000)
    r = p.out()
    assert r[0].seq == snd  # fast retransmit of the first segment
    assert c.in_recovery and c.ssthresh == 2000
    recover = c.recover
    # partial ACK: segment 1 arrived, segment 3 was lost too
    p.send(ACK, rcv, seq_add(snd, 2000), window=60000)
    r = p.out()
    assert r and r[0].seq == seq_add(snd, 2000) and len(r[0].data) == 1000
    assert c.in_recovery
    p.send(ACK, rcv, recover, window=60000)
    assert not c.in_recovery
    assert c.cwnd <= 2000 + 1000


def test_duplicate_acks_with_window_change_are_not_counted():
    p, c, snd, rcv = _conn()
    c.send(b"s" * 16000)
    p.out()
    for w in (50000, 40000, 30000):
        p.send(ACK, rcv, snd, window=w)  # window updates, not duplicate ACKs
    assert c.dupacks == 0 and not c.in_recovery


def test_fast_recovery_inflates_by_one_mss_per_duplicate_ack_and_deflates_on_full_ack():
    p, c, snd, rcv = _conn()
    c.send(b"s" * 4000)
    assert len(p.out()) == 4  # 4000 bytes in flight, nothing more to send
    for _ in range(3):
        p.send(ACK, rcv, snd, window=60000)
    assert c.in_recovery and c.ssthresh == 2000
    assert c.cwnd == 2000 + 3 * 1000  # RFC 5681 3.2 (4): ssthresh + 3 * MSS
    p.send(ACK, rcv, snd, window=60000)  # a fourth: one MSS more
    assert c.cwnd == 6000 and c.dupacks == 4
    p.send(ACK, rcv, c.recover, window=60000)  # a full ACK ends recovery
    assert not c.in_recovery and c.dupacks == 0
    assert c.cwnd == 1000  # RFC 6582 3.2 (3): min(ssthresh, flight + MSS), nothing in flight
