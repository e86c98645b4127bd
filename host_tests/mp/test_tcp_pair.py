"""Two stacks over the in-memory link on virtual time: transfers, close orders,
timers across the 2**30 tick wrap, loss recovery."""
from tcphelp import Pair, Pump, STACK_IP, state


def _pump_both_ways(pair, ca, cb, nbytes, limit_ms):
    up = Pump(ca, cb, nbytes, seed=3)
    down = Pump(cb, ca, nbytes, seed=5)

    def each():
        up.step()
        down.step()
    pair.each = each
    ok = pair.run(lambda: up.done() and down.done(), limit_ms)
    assert ok, "transfer stalled: up %d/%d down %d/%d (%s, %s)" % (
        up.got, nbytes, down.got, nbytes, state(ca), state(cb))
    assert up.ok and down.ok
    pair.each = None


def _bulk(pair, nbytes, limit_ms=120000):
    ca, cb = pair.connect()
    _pump_both_ways(pair, ca, cb, nbytes, limit_ms)
    ca.close()
    cb.close()
    assert pair.run(lambda: pair.a.tcp.free_blocks() == 4 and pair.b.tcp.free_blocks() == 4, 60000)
    return ca, cb


def test_bulk_both_directions():
    pair = Pair()
    _bulk(pair, 100000)


def test_bulk_with_timers_across_tick_wrap():
    # start 3 s before the 30-bit clock wraps; TIME-WAIT etc. straddle it
    pair = Pair(start_ms=(1 << 30) - 3000, delay_ms=2)
    _bulk(pair, 60000)


def test_bulk_under_loss_and_reordering():
    pair = Pair(seed=11, loss=0.05, reorder=0.05, duplicate=0.01, corrupt=0.01, delay_ms=1)
    _bulk(pair, 50000, 600000)
    st = pair.a.stats()
    assert st["drop_tcp_checksum"] + pair.b.stats()["drop_tcp_checksum"] + \
        st["drop_ip_checksum"] + pair.b.stats()["drop_ip_checksum"] >= 0


def test_client_closes_first():
    pair = Pair()
    ca, cb = pair.connect()
    ca.close()
    assert pair.run(lambda: state(cb) == "CLOSE-WAIT", 1000)
    assert cb.recv_into(bytearray(4)) == 0
    cb.close()
    assert pair.run(lambda: pair.b.tcp.free_blocks() == 4, 1000)
    assert state(ca) == "TIME-WAIT"
    assert pair.run(lambda: pair.a.tcp.free_blocks() == 4, 10000)


def test_server_closes_first():
    pair = Pair()
    ca, cb = pair.connect()
    cb.close()
    assert pair.run(lambda: state(ca) == "CLOSE-WAIT", 1000)
    ca.close()
    assert pair.run(lambda: pair.a.tcp.free_blocks() == 4, 1000)
    assert state(cb) == "TIME-WAIT"
    assert pair.run(lambda: pair.b.tcp.free_blocks() == 4, 10000)


def test_both_close_at_once():
    pair = Pair(delay_ms=5)
    ca, cb = pair.connect()
    ca.close()
    cb.close()
    assert pair.run(lambda: state(ca) == "CLOSING" and state(cb) == "CLOSING", 100)
    assert pair.run(lambda: pair.a.tcp.free_blocks() == 4 and pair.b.tcp.free_blocks() == 4, 10000)


def test_simultaneous_open_between_stacks():
    pair = Pair(delay_ms=5)
    ca = pair.a.tcp.open(STACK_IP, 6000, local_port=6001)
    cb = pair.b.tcp.open("192.0.2.1", 6001, local_port=6000)
    assert pair.run(lambda: ca.is_established() and cb.is_established(), 5000)
    ca.send(b"hi")
    buf = bytearray(8)
    assert pair.run(lambda: cb.readable() == 2, 1000)
    assert cb.recv_into(buf) == 2


def test_many_connections_in_a_row_do_not_leak():
    pair = Pair(cfg_a={"tcp_msl_ms": 100}, cfg_b={"tcp_msl_ms": 100})
    l = pair.b.tcp.listen(9)
    buf = bytearray(64)
    for i in range(30):
        ca = pair.a.tcp.open(STACK_IP, 9)
        got = []

        def acc():
            if not got:
                c = pair.b.tcp.accept(l)
                if c:
                    got.append(c)
            return got and ca.is_established()
        assert pair.run(acc, 5000)
        cb = got[0]
        ca.send(b"x%d" % i)
        assert pair.run(lambda: cb.readable() > 0, 1000)
        cb.recv_into(buf)
        if i & 1:
            ca.close()
            assert pair.run(lambda: cb.at_eof(), 1000)
            cb.close()
        else:
            cb.close()
            assert pair.run(lambda: ca.at_eof(), 1000)
            ca.close()
    assert pair.run(lambda: pair.a.tcp.free_blocks() == 4 and pair.b.tcp.free_blocks() == 4, 5000)


def test_zero_window_between_stacks_resumes():
    pair = Pair(cfg_b={"tcp_rx_bytes": 1024})
    ca, cb = pair.connect()
    data = bytes(range(256)) * 12
    sent = 0
    while sent < len(data):
        k = ca.send(data, sent)
        sent += k
        pair.run(lambda: True, 10)
        if cb.rx.free() == 0:
            break
    # the receiver's application sleeps: window 0, the sender probes
    pair.run(lambda: False, 5000)
    assert ca.error == 0 and pair.a.stats()["tcp_persist_probes"] > 0
    got = bytearray()
    buf = bytearray(512)

    def each():
        n = cb.recv_into(buf)
        if n > 0:
            got.extend(buf[:n])
        if sent < len(data):
            pass
    pair.each = each
    rest = [sent]

    def more():
        if rest[0] < len(data):
            rest[0] += ca.send(data, rest[0])
        return len(got) == len(data)
    assert pair.run(more, 60000)
    assert bytes(got) == data


def test_bulk_across_anchor_moves_and_the_32_bit_wrap():
    # Sequence numbers live relative to an anchor per direction (small ints on
    # a 32-bit port); the anchor moves by reanchor_by once a side has gone
    # reanchor_at past it (2**28 / 2**29 normally, 64 KB / 128 KB here, so a
    # short transfer moves it many times), while both ISNs sit just below 2**32.
    pair = Pair(seed=7, loss=0.02, reorder=0.02, duplicate=0.01, delay_ms=1)
    from tcpip import tcp
    for s, isn in ((pair.a, 0xFFFFF000), (pair.b, 0xFFFF8000)):
        s.tcp.reanchor_at = 0x20000
        s.tcp.reanchor_by = 0x10000
        s.tcp.isn = (lambda v: lambda: v)(isn)
    ca, cb = pair.connect()
    assert ca.iss == 0xFFFFF000 and cb.iss == 0xFFFF8000 and cb.irs == ca.iss
    f = tcp.FIELDS.index  # the _X constants are not module attributes on MicroPython
    sa0 = (ca.w[f("sa_hi")], cb.w[f("sa_hi")])
    nbytes = 400000
    _pump_both_ways(pair, ca, cb, nbytes, 600000)
    assert pair.run(lambda: ca.unsent() == 0 and cb.unsent() == 0, 60000)
    # each side moved its anchors several times ...
    for c, a0 in ((ca, sa0[0]), (cb, sa0[1])):
        assert (c.w[f("sa_hi")] - a0) & 0xFFFF >= 4, (c.w[f("sa_hi")], a0)
        for name in ("snd_una", "snd_nxt", "snd_max", "rcv_nxt", "rcv_adv"):
            assert 0 < c.w[f(name)] < 0x30000, (name, c.w[f(name)])
    # ... and the absolute numbers still agree with the peer's, across the
    # wrap: ISN + SYN + data + FIN (each Pump shuts its write side when done)
    assert ca.snd_una == cb.rcv_nxt == (0xFFFFF000 + 1 + nbytes + 1) & 0xFFFFFFFF
    assert cb.snd_una == ca.rcv_nxt == (0xFFFF8000 + 1 + nbytes + 1) & 0xFFFFFFFF
    ca.close()
    cb.close()
    assert pair.run(lambda: pair.a.tcp.free_blocks() == 4 and pair.b.tcp.free_blocks() == 4, 60000)
