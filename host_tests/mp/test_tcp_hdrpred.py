"""Header prediction (the fast path in Tcp.input): it is taken for in-order
data and for pure ACKs of new data on an ESTABLISHED connection, not for
anything else, and it changes nothing a peer or the application can see:
seeded operation sequences run through a stack with it and one without must
leave the same control block, frames and bytes (helpers/hdrpredhelp.py)."""
from tcphelp import Peer, ACK, PSH, FIN, seq_add
from xorshift import Xorshift32
from tcpip.tcp import FIELDS
from hdrpredhelp import Twin, run, pattern, PEER_ISN


def _predicted(p):
    return p.stack.counters.get("tcp_predicted")


def test_in_order_data_takes_the_fast_path():
    p = Peer()
    c, snd, rcv = p.accept()
    p.send(ACK | PSH, rcv, snd, data=b"a" * 100)
    p.send(ACK, seq_add(rcv, 100), snd, data=b"b" * 100)
    assert _predicted(p) == 2
    buf = bytearray(300)
    assert c.recv_into(buf) == 200 and bytes(buf[:200]) == b"a" * 100 + b"b" * 100


def test_pure_ack_of_new_data_takes_the_fast_path():
    p = Peer()
    c, snd, rcv = p.accept()
    c.send(b"x" * 1000)
    d = p.one()
    assert len(d.data) == 1000
    p.send(ACK, rcv, seq_add(snd, 1000))
    assert _predicted(p) == 1
    assert c.snd_una == seq_add(snd, 1000) and c.unsent() == 0


def test_pure_ack_and_window_update_are_taken_whole_where_viper_compiles():
    # where viper compiles tcpip/wire/native_emit.py's ACK, a pure ACK (and
    # a window update) never reaches Tcp.input: Interface.input hands the
    # frame to Tcp.ack_input, which parses and checks it once
    import tcpip.tcp as tcp
    p = Peer()
    c, snd, rcv = p.accept()
    calls = []
    general = p.stack.iface.tcp_input

    def spy(iface, ip, now_ms):
        calls.append(1)
        return general(iface, ip, now_ms)

    p.stack.iface.tcp_input = spy
    native = p.stack.tcp.load_ack()  # (else loaded by the first bulk send)
    assert native == (tcp._copy_viper is not None)
    c.send(b"x" * 1000)
    assert len(p.one().data) == 1000
    p.send(ACK, rcv, seq_add(snd, 1000))  # (a) an ACK of new data
    p.send(ACK, rcv, seq_add(snd, 1000), window=2048)  # (c) a window update
    assert _predicted(p) == 2 and c.unsent() == 0 and c.snd_una == seq_add(snd, 1000)
    assert c.snd_wnd == 2048 and p.stack.stats()["in_tcp"] >= 2
    assert len(calls) == (0 if native else 2), calls
    p.send(ACK, rcv, seq_add(snd, 1000), window=2048)  # the same again: nothing new
    assert len(calls) == (1 if native else 3) and _predicted(p) == 2


def test_the_ack_taker_loads_on_the_first_send_that_queues_more_than_a_segment():
    # its machine code (5 KB on a board) stays off the heap until a
    # connection sends in bulk: short writes (a request, a TLS handshake)
    # leave pure ACKs to the general way
    import tcpip.tcp as tcp
    from tcpip.iface import M_TCP_ACK
    saved = tcp._ack_native, tcp._ack_todo
    tcp._ack_native, tcp._ack_todo = None, tcp._copy_viper is not None  # (as after import)
    try:
        p = Peer()
        c, snd, rcv = p.accept()
        assert p.stack.iface.memo[M_TCP_ACK] is None
        c.send(b"x" * 1000)
        assert len(p.one().data) == 1000
        p.send(ACK, rcv, seq_add(snd, 1000))
        c.send(b"y" * 1460)  # a segment's worth queued: not yet
        assert p.stack.iface.memo[M_TCP_ACK] is None and tcp._ack_native is None
        assert len(p.one().data) == 1460
        p.send(ACK, rcv, seq_add(snd, 1000 + 1460))
        c.send(b"z" * 1461)  # more than a segment queued: loaded where viper is
        native = tcp._copy_viper is not None
        assert (p.stack.iface.memo[M_TCP_ACK] is not None) == native
        assert (tcp._ack_native is not None) == native and not tcp._ack_todo
        assert sum(len(f.data) for f in p.out()) == 1461
        p.send(ACK, rcv, seq_add(snd, 1000 + 1460 + 1461))  # taken by either way alike
        assert c.unsent() == 0 and c.snd_una == seq_add(snd, 1000 + 1460 + 1461)
        # a stack made once it is loaded takes pure ACKs with it from the start
        q = Peer()
        assert (q.stack.iface.memo[M_TCP_ACK] is not None) == native
    finally:
        if tcp._ack_native is None:
            tcp._ack_native, tcp._ack_todo = saved


def test_pure_acks_the_general_way_drops_are_dropped_the_same_way():
    # what the native path must leave alone (every runtime: the same drops)
    from tcphelp import build, PEER_IP, STACK_IP, PEER_PORT
    p = Peer()
    c, snd, rcv = p.accept()
    c.send(b"x" * 1000)
    p.one()
    ack = seq_add(snd, 1000)
    cases = (  # (byte offset, value, the counter that must count it)
        (52, None, "drop_tcp_checksum"),  # the TCP checksum's high byte flipped
        (24, None, "drop_ip_checksum"),  # the IPv4 header checksum's
        (22, 0, "drop_ip_ttl"),  # TTL 0 (header checksum fixed below)
    )
    for off, value, counter in cases:
        f = bytearray(build(PEER_IP, STACK_IP, PEER_PORT, p.port, rcv, ack, ACK))
        if value is None:
            f[off] ^= 0xFF
        else:
            f[off] = value
            f[24] = f[25] = 0
            s = 0
            for i in range(14, 34, 2):
                s += (f[i] << 8) | f[i + 1]
            while s >> 16:
                s = (s & 0xFFFF) + (s >> 16)
            f[24] = (~s >> 8) & 0xFF
            f[25] = ~s & 0xFF
        before = p.stack.stats()[counter]
        p.nic.inbox.append(bytes(f))
        p.poll()
        assert p.stack.stats()[counter] == before + 1, counter
        assert c.snd_una == snd and _predicted(p) == 0, counter
    p.send(ACK, rcv, ack)  # the good one
    assert c.snd_una == ack and _predicted(p) == 1


def test_other_segments_go_the_general_way():
    p = Peer()
    c, snd, rcv = p.accept()
    p.send(ACK, seq_add(rcv, 100), snd, data=b"z" * 10)  # out of order
    p.send(ACK, rcv, snd)  # a pure ACK of nothing new (duplicate)
    p.send(ACK | FIN, rcv, snd)  # FIN
    assert _predicted(p) == 0
    assert c.state_name() == "CLOSE_WAIT" or c.state_name() == "CLOSE-WAIT"


def test_switched_off_nothing_is_predicted():
    p = Peer()
    p.tcp.hdrpred = False
    c, snd, rcv = p.accept()
    p.send(ACK | PSH, rcv, snd, data=b"a" * 100)
    assert _predicted(p) == 0
    buf = bytearray(100)
    assert c.recv_into(buf) == 100


def _common(r):
    # seven in eight what a transfer is made of: segments in order that ack
    # all that was sent, reads that empty the ring, some sends; the eighth
    # anything at all (old, ahead, FIN, RST, SYN, no ACK, zero window ...)
    v = r()
    if v & 7 == 0:
        return ((v >> 3) & 0xFF, (v >> 11) & 0xFF, (v >> 19) & 0xFF, (v >> 27) & 0x1F,
                r() & 0xFF, r() & 0xFF)
    k = (v >> 3) % 8
    if k < 4:
        return (0, 0, (v >> 6) % 4, (v >> 8) % 10, (v >> 12) % 6, 0)
    if k < 6:
        return (13, 2)  # read up to 4096
    if k == 6:
        return (11, (v >> 6) % 4)  # send
    return (15, (v >> 6) % 3)  # 0, 10 or 200 ms pass


def test_seeded_sequences_same_with_and_without_prediction():
    taken = 0
    for seed in range(1, 13):
        r = Xorshift32(seed * 2654435761).next
        t = run([_common(r) for _ in range(60)])
        a, b = t.predicted()
        assert b == 0
        taken += a
    assert taken > 50, taken  # the comparison is worth something only if the path runs


def test_seeded_sequences_with_small_rings_and_keepalive():
    # a 512-byte RX ring is full after one segment: the "fits the ring" check
    # decides; keepalive probes go out while the peer is quiet for 200 ms
    for seed in range(20, 28):
        r = Xorshift32(seed * 2654435761).next
        t = Twin(keepalive=True, tcp_rx_bytes=512, tcp_tx_bytes=1024, tcp_keepalive_idle_ms=150,
                 tcp_keepalive_interval_ms=50, tcp_keepalive_count=20)
        for _ in range(60):
            t.step(_common(r))


# (kind 0: a peer segment: seq choice, ack choice, length, flags, window; see
# hdrpredhelp: seq 9 = rcv_nxt + 100; ack 0 = snd_una, 4 = half way to snd_max,
# 5 = snd_max + 1; length 4 = 100 bytes; flags 6 = ACK|FIN; window 5 = 536)
def test_data_up_to_a_held_fin_goes_the_general_way():
    t = Twin()
    t.step((0, 9, 0, 0, 6, 0))  # a FIN 100 bytes ahead: held
    t.step((0, 0, 0, 4, 0, 0))  # the 100 bytes before it: the FIN counts now
    assert t.ca.state_name() == "CLOSE-WAIT" and t.predicted() == (0, 0)


def test_ack_of_unsent_data_goes_the_general_way():
    t = Twin()
    t.step((0, 0, 0, 0, 0, 5))  # the peer's window: 536 (a window update, predicted)
    t.step((11, 3))  # 2920 bytes written (the TX ring), held: SWS avoidance
    una = t.ca.snd_una
    t.step((0, 0, 5, 0, 0, 5))  # an ACK of a byte never sent: ACK and drop
    assert t.ca.snd_una == una and t.predicted() == (1, 0)


def test_partial_ack_in_fast_recovery_goes_the_general_way():
    t = Twin()
    t.step((11, 3))  # 3000 bytes written, all sent
    for _ in range(3):
        t.step((0, 0, 0, 0, 0, 0))  # three duplicate ACKs: fast retransmit
    assert t.a.stack.stats()["tcp_fast_retransmits"] == 1
    t.step((0, 0, 4, 0, 0, 0))  # a partial ACK: the next hole is resent
    assert t.a.stack.stats()["tcp_retransmits"] == 2 and t.predicted() == (0, 0)


def test_window_update_after_the_ack_takes_the_fast_path():
    # a receiver that reads its ring after ACKing sends the ACK (a smaller
    # window) and then a window update (nothing new acked, a new window):
    # case (c), not a duplicate ACK (RFC 5681 2 (e)): both predicted
    t = Twin()
    t.step((11, 2))  # 1460 bytes written and sent
    t.step((0, 0, 2, 0, 0, 3))  # the peer ACKs them, window 2048
    t.step((0, 0, 0, 0, 0, 0))  # the window update: the same ACK, window 65535
    assert t.predicted() == (2, 0) and t.ca.snd_wnd == 65535


def test_window_update_that_opens_the_window_sends_the_data_held():
    t = Twin()
    t.step((0, 0, 0, 0, 0, 6))  # the peer's window shuts
    t.step((11, 2))  # 1460 bytes written: held, the persist timer runs
    nxt = t.ca.snd_nxt
    t.step((0, 0, 0, 0, 0, 0))  # the window opens: the data goes from the same call
    assert t.ca.snd_nxt == (nxt + 1460) & 0xFFFFFFFF and t.predicted() == (2, 0)


def test_duplicate_ack_with_data_in_flight_goes_the_general_way():
    t = Twin()
    t.step((11, 2))  # 1460 bytes written and sent
    t.step((0, 0, 0, 0, 0, 0))  # the same ACK and window again: a duplicate ACK
    assert t.predicted() == (0, 0) and t.ca.w[FIELDS.index("dupacks")] == 1


def test_in_order_data_wrapping_the_ring_end_takes_the_fast_path():
    t = Twin()
    t.step((0, 0, 0, 6, 3, 0))  # 1460 bytes in order
    t.step((13, 3))  # the application reads 1000: 460 left from offset 1000
    t.step((0, 0, 0, 6, 3, 0))  # 1460 more: bytes 1460..2047, then 0..871
    t.step((13, 2))  # the application reads the rest
    assert t.predicted() == (2, 0) and len(t.got[0]) == 2920
    assert bytes(t.got[0]) == pattern(PEER_ISN + 1, 2920)


def test_a_stream_in_order_is_all_fast_and_delivered():
    t = Twin()
    for i in range(20):
        t.step((0, 0, 0, 6, 3, 0))  # 1460 bytes in order, ACK of nothing new
        t.step((13, 2))  # the application reads
    a, b = t.predicted()
    assert a == 20 and b == 0
    assert len(t.got[0]) == 20 * 1460


def test_both_anchors_move_the_same_way_on_the_fast_path():
    # anchors move once a side is 2 KB past its ISN (2**29 normally)
    t = Twin(reanchor_at=0x10800)
    ra = FIELDS.index("ra_hi")
    sa = FIELDS.index("sa_hi")
    anchors = (t.ca.w[ra], t.ca.w[sa])
    for i in range(4):
        t.step((0, 0, 0, 6, 3, 0))  # 1460 bytes in order
        t.step((13, 2))  # the application reads
        t.step((11, 2))  # and sends 1460
        t.step((0, 0, 2, 0, 0, 0))  # the peer ACKs them
    assert t.predicted() == (8, 0)
    assert t.ca.w[ra] == (anchors[0] + 1) & 0xFFFF and t.ca.w[sa] == (anchors[1] + 1) & 0xFFFF
