"""Arbitrary segments thrown at established, listening and closing connections:
no exception may escape poll(), and the control block invariants must hold."""
import os
import sys

from hypothesis import given, settings, strategies as st, HealthCheck

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "helpers"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

from tcphelp import Peer, build, PEER_IP, STACK_IP, PEER_PORT, seq_add  # noqa: E402
from tcpip.tcp import _sdiff  # noqa: E402

segment = st.tuples(
    st.integers(0, 0xFF),  # flags
    st.integers(-70000, 70000),  # seq offset from rcv_nxt
    st.integers(-70000, 70000),  # ack offset from snd_una
    st.integers(0, 65535),  # window
    st.integers(0, 1400),  # payload length
    st.sampled_from([None, 0, 1, 536, 1460, 65535]),  # MSS option
    st.integers(0, 400),  # ms to advance afterwards
)


def _invariants(c):
    if not c.in_use or c.state == 0:  # free, or CLOSED after a reset/timeout
        return
    assert _sdiff(c.snd_nxt, c.snd_una) >= 0
    assert _sdiff(c.snd_max, c.snd_nxt) >= 0
    assert 0 <= c.rx.count <= c.rx.size and 0 <= c.tx.count <= c.tx.size
    assert _sdiff(c.snd_max, c.snd_una) <= c.tx.count + 2  # data + SYN/FIN at most
    assert c.cwnd >= 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(segment, min_size=1, max_size=25), st.sampled_from(["established", "closing", "listen"]))
def test_random_segments_never_crash(segs, where):
    p = Peer(tcp_tx_bytes=4096)
    c = None
    if where == "listen":
        p.tcp.listen(7)
        rcv = 1000
        snd = 0
    else:
        c, snd, rcv = p.connect()
        c.send(b"d" * 3000)
        if where == "closing":
            c.close()
    for flags, dseq, dack, win, n, mss, adv in segs:
        base_rcv = c.rcv_nxt if c is not None and c.in_use else rcv
        base_snd = c.snd_una if c is not None and c.in_use else snd
        f = build(PEER_IP, STACK_IP, PEER_PORT, p.port, seq_add(base_rcv, dseq), seq_add(base_snd, dack),
                  flags, win, b"z" * n, mss)
        p.nic.inbox.append(f)
        p.poll(adv)
        if c is not None:
            _invariants(c)
    p.advance(200000, step_ms=1000)  # every timer runs out
    st_ = p.stack.stats()
    assert st_.get("internal_errors", 0) == 0, repr(getattr(p.stack, "last_error", None))
    p.out()
    if c is not None and c.user:
        c.close()
    p.advance(200000, step_ms=1000)
    p.tcp.unlisten(p.tcp.listeners[0]) if p.tcp.listeners[0].in_use else None
    p.advance(200000, step_ms=1000)
    assert p.tcp.free_blocks() == len(p.tcp.pool)  # nothing leaks
