"""Tcp._emit's native code (tcpip/wire/native_emit.py's EMIT, where viper compiles
it) against its portable code: seeded operation sequences (helpers/
hdrpredhelp.py) through a stack that uses it and one that does not must
leave the same control block, frames and bytes."""
import sys

from xorshift import Xorshift32
from hdrpredhelp import Twin
from tcpip import tcp


def test_native_emit_is_compiled_wherever_viper_is():
    # on MicroPython the layout check passes (a FIELDS change without EMIT's
    # indices would silently fall back to the portable code: fail here)
    from tcpip.wire import checksum
    if sys.implementation.name == "micropython":
        assert (tcp._emit_native is not None) == (checksum.IMPL == "viper")
    else:
        assert tcp._emit_native is None


def _twin(**cfg):
    t = Twin(**cfg)
    # both predict; only a's segments go through the native code
    t.b.tcp.hdrpred = True
    t.b.tcp.native_emit = False
    return t


def _op(r):
    # mostly a transfer both ways (in-order segments acking what was sent,
    # sends of every size, reads), sometimes anything at all
    v = r()
    if v & 7 == 0:
        return ((v >> 3) & 0xFF, (v >> 11) & 0xFF, (v >> 19) & 0xFF, (v >> 27) & 0x1F,
                r() & 0xFF, r() & 0xFF)
    k = (v >> 3) % 8
    if k < 3:
        return (0, 0, (v >> 6) % 5, (v >> 9) % 10, (v >> 13) % 6, (v >> 16) % 7)
    if k < 5:
        return (11, (v >> 6) % 4)  # send 1, 100, 1460 or 3000 bytes
    if k == 5:
        return (13, (v >> 6) % 4)  # read
    return (15, (v >> 6) % 5)  # time passes (retransmissions, probes)


def test_seeded_sequences_same_with_native_and_portable_emit():
    segs = 0
    for seed in range(1, 9):
        r = Xorshift32(seed * 2654435761).next
        t = _twin()
        for _ in range(80):
            t.step(_op(r))
        segs += t.a.stack.counters.get("tcp_segs_out")
    assert segs > 200, segs  # the comparison is worth something only if segments went out


def test_seeded_sequences_with_small_rings_wrapping():
    # 1 KB TX ring: segments wrap its end (the native copy's two pieces)
    for seed in range(20, 26):
        r = Xorshift32(seed * 2654435761).next
        t = _twin(tcp_rx_bytes=512, tcp_tx_bytes=1024)
        for _ in range(80):
            t.step(_op(r))
