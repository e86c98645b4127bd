"""A socket closed from a finaliser: MicroPython's TLS socket, dropped without
close(), closes its stream (our socket) from its ``__del__`` while the garbage
collector runs with the heap locked.  That close only marks the control block;
the next poll sends the FIN and the block goes back to the pool.  Nothing is
sent, and nothing allocates, inside the collection.

MicroPython: a real TLS socket over a tcpip socket, dropped and collected.
CPython has no locked heap (and a tcpip socket there has no finaliser): the
same close runs with the heap reported locked.  Virtual time."""
import gc
import sys

import tcpip.socket as socket
from tcphelp import Peer, FIN, PSH, ACK, RST, seq_add, state

MP = sys.implementation.name != "cpython"


def _drop_unclosed(p, c):
    """Make a socket over c, wrap it the way TLS users do, and drop it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, stack=p.stack, _conn=c)
    if MP:
        import tls
        ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = tls.CERT_NONE
        ctx.wrap_socket(s, server_hostname="files.test", do_handshake_on_connect=False)
    return None


def _collect(s_holder=None):
    _clobber_stack()
    if MP:
        gc.collect()
        return
    g = socket.socket.close.__globals__  # lib/tcpip/socket.py's own globals
    locked = g["_heap_locked"]
    g["_heap_locked"] = lambda: True
    try:
        s_holder.close()  # what the finaliser does
    finally:
        g["_heap_locked"] = locked


def _clobber_stack():
    # the collector scans the C stack conservatively: overwrite what the
    # dropped objects' calls left there
    x = [0] * 64
    return len(x)


def test_socket_closed_in_a_finaliser_sends_its_fin_at_the_next_poll():
    p = Peer()
    c, snd, rcv = p.connect()
    free = p.tcp.free_blocks()
    if MP:
        _drop_unclosed(p, c)
        _collect()
    else:
        _collect(socket.socket(socket.AF_INET, socket.SOCK_STREAM, stack=p.stack, _conn=c))
    p.none()  # nothing sent from inside the collection
    assert state(c) == "ESTABLISHED"
    p.poll()
    fin = p.one()
    assert fin.is_(FIN | ACK) and fin.seq == snd, fin
    assert state(c) == "FIN-WAIT-1"
    p.send(FIN | ACK, rcv, seq_add(snd, 1))
    assert p.one().is_(ACK)
    p.advance(2 * p.cfg.tcp_msl_ms + 100, 100)  # TIME-WAIT
    assert p.tcp.free_blocks() == free + 1


def test_socket_closed_in_a_finaliser_with_unread_data_resets():
    # RFC 9293 3.10.4: unread data is lost, the peer is told (RST), at the next poll
    p = Peer()
    c, snd, rcv = p.connect()
    p.send(PSH | ACK, rcv, snd, b"unread")
    p.out()
    free = p.tcp.free_blocks()
    if MP:
        _drop_unclosed(p, c)
        _collect()
    else:
        _collect(socket.socket(socket.AF_INET, socket.SOCK_STREAM, stack=p.stack, _conn=c))
    p.none()
    p.poll()
    rst = p.one()
    assert rst.flags & RST, rst
    assert p.tcp.free_blocks() == free + 1
