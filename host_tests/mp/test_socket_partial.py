"""Short reads and writes on TCP sockets with a timeout, and a blocking
``send()`` that queues all of its data: bytes a call already moved are never
lost when the timeout passes (a caller that retries -- a TLS engine reading
records -- sees them), and the timeout error comes only when nothing moved.
Virtual time for the stack; the socket timeouts run on ticks_ms (50 ms).
CPython and MicroPython."""
import tcpip.socket as socket
from tcpip.compat import ETIMEDOUT, ticks_ms
from tcphelp import Peer, Seg, build, seq_add, PSH, ACK, PEER_IP, STACK_IP, PEER_PORT
from tcphelp import errno_of as _errno


def _connected(p, timeout=0.05):
    c, snd, rcv = p.connect()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, stack=p.stack, _conn=c)
    s.settimeout(timeout)
    return s, snd, rcv


def test_readinto_returns_what_came_before_the_timeout():
    p = Peer(now=ticks_ms())
    s, snd, rcv = _connected(p)
    p.send(PSH | ACK, rcv, snd, b"r" * 100)
    buf = bytearray(1000)
    assert s.readinto(buf) == 100
    assert buf[:100] == b"r" * 100
    assert _errno(lambda: s.readinto(buf)) == ETIMEDOUT  # nothing more came


def test_read_returns_what_came_before_the_timeout():
    p = Peer(now=ticks_ms())
    s, snd, rcv = _connected(p)
    p.send(PSH | ACK, rcv, snd, b"a" * 100)
    assert s.read(1000) == b"a" * 100
    assert _errno(lambda: s.read(1000)) == ETIMEDOUT
    p.send(PSH | ACK, seq_add(rcv, 100), snd, b"b" * 50)
    assert s.read() == b"b" * 50  # read all: the bytes before the timeout too


def test_recv_into_returns_what_is_there_then_times_out():
    p = Peer(now=ticks_ms())
    s, snd, rcv = _connected(p)
    p.send(PSH | ACK, rcv, snd, b"c" * 100)
    buf = bytearray(1000)
    assert s.recv_into(buf) == 100
    assert _errno(lambda: s.recv_into(buf)) == ETIMEDOUT
    assert _errno(lambda: s.recv(1000)) == ETIMEDOUT


def test_readline_returns_the_partial_line_when_the_timeout_passes():
    p = Peer(now=ticks_ms())
    s, snd, rcv = _connected(p)
    p.send(PSH | ACK, rcv, snd, b"one\ntw")
    assert s.readline() == b"one\n"
    assert s.readline() == b"tw"
    assert _errno(s.readline) == ETIMEDOUT


def _acking(p, max_polls=20000):
    """The peer acknowledges every data segment the stack sends, at once; a
    blocking call still waiting after max_polls polls fails the test."""
    sent = p.nic.sent
    nic_recv_into = p.nic.recv_into
    polls = [0]

    def recv_into(buf):
        polls[0] += 1
        assert polls[0] < max_polls, "the blocking call did not return"
        return nic_recv_into(buf)

    def send(frame):
        f = bytes(frame)
        sent.append(f)
        if len(f) >= 34 and f[12] == 8 and f[13] == 0 and f[23] == 6:
            seg = Seg(f)
            if seg.data:
                p.nic.inbox.append(build(PEER_IP, STACK_IP, PEER_PORT, seg.sport, seg.ack,
                                         seq_add(seg.seq, len(seg.data)), ACK))
    p.nic.send = send
    p.nic.recv_into = recv_into


def test_blocking_send_queues_all_of_its_data():
    # as Linux: a peer that reads whole blocks (iperf3 -R) gets them
    # a blocking call polls on ticks_ms: the peer's clock starts there too
    p = Peer(now=ticks_ms(), tcp_tx_bytes=2048)
    s, snd, rcv = _connected(p, None)
    _acking(p)
    assert s.send(b"x" * 10000) == 10000
    got = sum(len(x.data) for x in p.out())
    assert got == 10000


def test_send_with_a_timeout_returns_what_was_queued_then_times_out():
    p = Peer(now=ticks_ms(), tcp_tx_bytes=2048)
    s, snd, rcv = _connected(p)  # nobody acknowledges
    assert s.send(b"x" * 10000) == 2048  # the TX ring, when the timeout passed
    assert _errno(lambda: s.send(b"y")) == ETIMEDOUT  # nothing queued
