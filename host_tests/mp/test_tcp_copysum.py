"""Data segments whose checksum Tcp.input checks as it copies the payload into
the RX ring (tcpip.wire.checksum.copy_sum, header prediction) or apart
(_sum_ok: any other way, a wrap, unaligned bytes): a corrupted one is dropped
and counted on every way, leaves the ring and the connection as they were
and is not acknowledged; its good retransmission is taken
(CPython and MicroPython, with the viper loop, the portable one, one that
always declines and none)."""
from tcphelp import Peer, ACK, PSH, seq_add, build, PEER_IP, STACK_IP, PEER_PORT
from tcpip.wire import checksum
from tcpip.tcp import FIELDS

PAYLOAD = bytes((i * 11 + 5) & 0xFF for i in range(1460))


def _declines(dst, dst_off, src, src_off, n):
    return -1  # as the viper loop for bytes not on a word boundary


MODES = [None, checksum.copy_sum_portable, _declines]
if checksum.copy_sum is not None:
    MODES.append(checksum.copy_sum)


def _count(p, name):
    return p.stack.counters.get(name)


def _corrupt(p, seq, ack, data, at):
    f = bytearray(build(PEER_IP, STACK_IP, PEER_PORT, p.port, seq, ack, ACK | PSH, 65535, data))
    f[54 + at] ^= 0x40  # one payload bit (the checksum field stays)
    p.nic.inbox.append(bytes(f))
    p.poll()


def _block(c):
    return list(c.w)


def _run(mode, rx_bytes, first, bad_at):
    p = Peer(tcp_rx_bytes=rx_bytes)
    p.tcp.copy_sum = mode
    c, snd, rcv = p.connect()
    buf = bytearray(4096)
    if first:  # 2 x first bytes in, first read: the head moves, a later segment wraps
        p.send(ACK | PSH, rcv, snd, data=PAYLOAD[:first])
        p.send(ACK | PSH, seq_add(rcv, first), snd, data=PAYLOAD[:first])
        assert c.recv_into(buf, 0, first) == first
        rcv = seq_add(rcv, 2 * first)
        p.poll(500)
        p.out()
    before = _block(c)
    drops = _count(p, "drop_tcp_checksum")
    predicted = _count(p, "tcp_predicted")
    _corrupt(p, rcv, snd, PAYLOAD, bad_at)
    assert _count(p, "drop_tcp_checksum") == drops + 1
    assert _count(p, "tcp_predicted") == predicted
    assert _block(c) == before  # nothing taken: no bytes, no window, no timers
    if first:
        assert c.recv_into(buf, 0, first) == first  # (the bytes before it)
    assert c.recv_into(buf) == -1
    p.poll(500)
    p.out()  # (what the read let out: a window update)
    p.poll(500)
    p.none()  # not acknowledged
    predicted = _count(p, "tcp_predicted")
    p.send(ACK | PSH, rcv, snd, data=PAYLOAD)
    assert _count(p, "tcp_predicted") == predicted + 1
    assert c.recv_into(buf) == len(PAYLOAD) and bytes(buf[:len(PAYLOAD)]) == PAYLOAD
    assert _count(p, "drop_tcp_checksum") == drops + 1


def test_a_corrupted_in_order_segment_is_dropped_on_every_way():
    for mode in MODES:
        for bad_at in (0, 1, 700, 1456, 1459):
            _run(mode, 2920, 0, bad_at)


def test_a_corrupted_segment_that_would_wrap_the_ring_is_dropped():
    for mode in MODES:
        _run(mode, 2920, 1000, 1000)  # head 1000, 1000 held: 1460 more wrap round the end


def test_a_corrupted_segment_off_the_fast_path_is_dropped():
    for mode in MODES:
        p = Peer()
        p.tcp.copy_sum = mode
        c, snd, rcv = p.connect()
        before = _block(c)
        _corrupt(p, seq_add(rcv, 100), snd, PAYLOAD[:200], 5)  # out of order
        assert _count(p, "drop_tcp_checksum") == 1 and _block(c) == before
        p.none()  # (a good one out of order would be acknowledged at once)
        _corrupt(p, rcv, seq_add(snd, 1), PAYLOAD[:200], 5)  # acks something never sent
        assert _count(p, "drop_tcp_checksum") == 2 and _block(c) == before
        p.none()


def test_block_fields_compared_are_the_whole_block():
    # (the comparisons above hold every field of the control block)
    p = Peer()
    c, snd, rcv = p.connect()
    assert len(_block(c)) >= len(FIELDS)
