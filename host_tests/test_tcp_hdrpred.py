"""Header prediction under hypothesis: generated sequences of peer segments
(in order or not, acking new data, nothing, too much or too little, with or
without payload, FIN, RST, SYN, URG, any window), application sends and reads
and time passing go through two stacks, one with the fast path in Tcp.input
and one without; after every step both must hold the same control block,
have sent the same frames and delivered the same bytes (helpers/hdrpredhelp.py,
shared with the MicroPython suite host_tests/mp/test_tcp_hdrpred.py)."""
from hypothesis import given, settings, strategies as st, HealthCheck

from hdrpredhelp import Twin

_BYTE = st.integers(0, 255)
# a transfer's common steps (in-order segments acking nothing new, what was
# sent or half of it; reads, writes, time passing) mixed with anything at all
_COMMON = st.one_of(
    st.tuples(st.just(0), st.just(0), st.sampled_from((0, 2, 4)), st.integers(0, 9),
              st.integers(0, 5), st.just(0)),
    st.tuples(st.just(13), st.just(2)),
    st.tuples(st.just(11), st.integers(0, 3)),
    st.tuples(st.just(15), st.integers(0, 4)),
)
_ANY = st.tuples(_BYTE, _BYTE, _BYTE, _BYTE, _BYTE, _BYTE)
# steps that set up the states where the fast path must stand aside (the
# field numbers as hdrpredhelp reads them)
_EDGES = (
    [(0, 9, 0, 0, 6, 0)],  # a FIN 100 bytes ahead: held until the gap fills
    [(0, 10, 0, 0, 6, 0)],  # ... 1460 bytes ahead
    [(11, 3)] + [(0, 0, 0, 0, 0, 0)] * 3,  # data out, three duplicate ACKs: fast recovery
    [(15, 4)],  # 3 s pass: a retransmission timeout rewinds snd_nxt (go-back-N)
    [(0, 0, 5, 0, 0, 5)],  # an ACK of one byte more than was sent, window 536
    [(0, 0, 0, 0, 0, 6)],  # the peer's window shuts
    [(0, 9, 0, 4, 0, 0)],  # 100 bytes out of order: a gap to fill
    # a segment, a read of 1000 bytes, a segment: it wraps round the RX ring's end
    [(0, 0, 0, 6, 3, 0), (13, 3), (0, 0, 0, 6, 3, 0)],
)
_OPS = st.lists(st.one_of(_COMMON.map(lambda o: [o]), _COMMON.map(lambda o: [o]),
                          _ANY.map(lambda o: [o]), st.sampled_from(_EDGES)),
                min_size=5, max_size=50).map(lambda steps: [op for step in steps for op in step])
_CFG = st.sampled_from(({}, {"tcp_rx_bytes": 512, "tcp_tx_bytes": 1024},
                        {"tcp_rx_bytes": 8192, "tcp_tx_bytes": 8192},
                        {"reanchor_at": 0x10800}))  # anchors move every 2 KB


@settings(max_examples=400, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ops=_OPS, cfg=_CFG, keepalive=st.booleans())
def test_same_block_frames_and_bytes_with_and_without_prediction(ops, cfg, keepalive):
    if keepalive:
        cfg = dict(cfg, tcp_keepalive_idle_ms=150, tcp_keepalive_interval_ms=50)
    t = Twin(keepalive=keepalive, **cfg)
    for op in ops:
        t.step(op)
    assert t.predicted()[1] == 0


def test_generated_sequences_take_the_fast_path():
    # the comparison above is worth something only if the fast path runs in it
    taken = []

    @settings(max_examples=50, derandomize=True, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(ops=st.lists(st.one_of(_COMMON, _COMMON, _ANY), min_size=40, max_size=60))
    def run(ops):
        t = Twin()
        for op in ops:
            t.step(op)
        taken.append(t.predicted()[0])
    run()
    assert sum(taken) > 50, taken
