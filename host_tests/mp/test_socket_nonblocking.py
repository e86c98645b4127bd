"""Non-blocking socket calls poll the stack once before they report EAGAIN /
None / EALREADY, so an application that only makes non-blocking calls (umqtt's
``check_msg()`` loop, a CircuitPython main loop) sees what has arrived even
though nothing else polls the stack.  A poll already in progress is not
entered again.  Virtual time; CPython and MicroPython.

Each test leaves the peer's segment waiting in the NIC (``poll=False``): only
the socket call under test can take it in.
"""
import tcpip.socket as socket
from tcpip.compat import EAGAIN, EINPROGRESS, EISCONN
from tcphelp import Peer, PEER_IP, PEER_PORT, STACK_MAC, seq_add, SYN, ACK, PSH
from tcphelp import PEER_MAC as TCP_PEER_MAC
from tcphelp import errno_of as _errno
from framehelp import udp_frame, US_IP, PEER_IP as PEER_IP_N


def _nonblocking(p, conn=None, type=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, type, stack=p.stack, _conn=conn) if conn is not None \
        else socket.socket(socket.AF_INET, type, stack=p.stack)
    s.setblocking(False)
    return s


def _accepted(p):
    """An established connection from the peer, as a non-blocking socket."""
    c, snd, rcv = p.accept()
    return _nonblocking(p, c), snd, rcv


def test_nonblocking_recv_takes_in_a_waiting_segment_before_eagain():
    p = Peer()
    s, snd, rcv = _accepted(p)
    assert _errno(lambda: s.recv(100)) == EAGAIN  # nothing anywhere
    p.send(PSH | ACK, rcv, snd, b"hello", poll=False)
    assert s.recv(100) == b"hello"
    assert not p.nic.inbox
    assert _errno(lambda: s.recv(100)) == EAGAIN


def test_nonblocking_read_one_byte_like_umqtt_check_msg():
    # umqtt.simple: sock.setblocking(False); sock.read(1) is None when no message
    p = Peer()
    s, snd, rcv = _accepted(p)
    assert s.read(1) is None
    p.send(PSH | ACK, rcv, snd, b"\x30\x05", poll=False)
    assert s.read(1) == b"\x30"
    assert s.read(1) == b"\x05"
    assert s.read(1) is None


def test_nonblocking_readline_takes_in_a_waiting_line():
    p = Peer()
    s, snd, rcv = _accepted(p)
    assert s.readline() is None
    p.send(PSH | ACK, rcv, snd, b"line one\nrest", poll=False)
    assert s.readline() == b"line one\n"
    assert s.readline() == b"rest"  # the partial line, as MicroPython streams do
    assert s.readline() is None


def test_nonblocking_recv_sees_the_peers_fin():
    p = Peer()
    s, snd, rcv = _accepted(p)
    p.send(ACK | 1, rcv, snd, poll=False)  # FIN
    assert s.recv(100) == b""


def test_nonblocking_accept_takes_in_the_handshakes_last_ack():
    p = Peer()
    srv = _nonblocking(p)
    srv.bind(("0.0.0.0", 7))
    srv.listen(2)
    p.port = 7
    p.send(SYN, 100, mss=1460)
    sa = p.one()
    assert _errno(srv.accept) == EAGAIN  # half-open
    p.send(ACK, 101, seq_add(sa.seq, 1), poll=False)
    conn, addr = srv.accept()
    assert addr == (PEER_IP, PEER_PORT)
    conn.close()
    srv.close()


def test_nonblocking_connect_progress_polls_until_established():
    p = Peer()
    s = _nonblocking(p)
    assert _errno(lambda: s.connect((PEER_IP, PEER_PORT))) == EINPROGRESS
    syn = p.one()
    p.port = syn.sport
    p.send(SYN | ACK, 5000, seq_add(syn.seq, 1), mss=1460, poll=False)
    assert _errno(lambda: s.connect((PEER_IP, PEER_PORT))) == EISCONN  # not EALREADY
    assert s._conn.is_established()
    s.close()


def test_nonblocking_send_takes_in_the_ack_that_frees_the_ring():
    p = Peer(tcp_tx_bytes=2048)
    c, snd, rcv = p.connect()
    s = _nonblocking(p, c)
    assert s.send(b"x" * 4000) == 2048  # the TX ring, full
    sent = sum(len(x.data) for x in p.out())
    assert sent == 2048
    assert _errno(lambda: s.send(b"y")) == EAGAIN
    p.send(ACK, rcv, seq_add(snd, 2048), poll=False)
    assert s.send(b"y" * 100) == 100


def test_nonblocking_udp_recvfrom_takes_in_a_waiting_datagram():
    p = Peer()
    u = _nonblocking(p, type=socket.SOCK_DGRAM)
    u.bind(("", 5000))
    assert _errno(lambda: u.recvfrom(100)) == EAGAIN
    p.nic.inbox.append(udp_frame(4000, 5000, b"ping", src=PEER_IP_N, dst=US_IP,
                                 eth_dst=STACK_MAC, eth_src=TCP_PEER_MAC))
    assert u.recvfrom(100) == (b"ping", (PEER_IP, 4000))
    u.close()


def test_select_poll_readiness_polls_the_stack():
    # MicroPython's select.poll asks ioctl(MP_STREAM_POLL): the answer includes
    # a segment that was waiting in the NIC
    p = Peer()
    s, snd, rcv = _accepted(p)
    assert s.ioctl(3, 1) == 0  # POLLIN asked, nothing there
    p.send(PSH | ACK, rcv, snd, b"x", poll=False)
    assert s.ioctl(3, 1) == 1


def test_nonblocking_call_inside_a_poll_does_not_poll_again():
    # a board's background poller may be inside Stack.poll when the
    # application's call comes (micropython.schedule): no second poll runs
    p = Peer()
    s, snd, rcv = _accepted(p)
    p.send(PSH | ACK, rcv, snd, b"late", poll=False)
    p.stack._in_poll = True
    try:
        assert _errno(lambda: s.recv(100)) == EAGAIN
        assert len(p.nic.inbox) == 1  # untouched
    finally:
        p.stack._in_poll = False
    assert s.recv(100) == b"late"


def test_pollout_once_a_third_of_the_tx_ring_is_free():
    # as Linux's sk_stream_is_writeable (free >= queued / 2): a writer that
    # sends "while writable" stops once the ring is mostly full
    p = Peer(tcp_tx_bytes=3000)
    c, snd, rcv = p.connect(window=65535)
    s = _nonblocking(p, c)
    assert s.ioctl(3, 4) == 4  # empty ring: POLLOUT
    assert s.send(b"x" * 2500) == 2500
    p.out()
    assert s.ioctl(3, 4) == 0  # 500 free, 2500 queued: not yet
    p.send(ACK, rcv, seq_add(snd, 400))
    assert s.ioctl(3, 4) == 0  # 900 free, 2100 queued: not yet
    p.send(ACK, rcv, seq_add(snd, 500))
    assert s.ioctl(3, 4) == 4  # 1000 free, 2000 queued: a third of the ring
    assert s.send(b"y" * 100) == 100  # send() itself takes any room there is


def test_socketpool_socket_with_timeout_0_polls_too():
    # CircuitPython code (no background poller on those boards) sets timeout 0
    import tcpip
    p = Peer()
    pool = tcpip.SocketPool(p.stack)
    u = pool.socket(pool.AF_INET, pool.SOCK_DGRAM)
    u.settimeout(0)
    u.bind(("", 5001))
    buf = bytearray(16)
    assert _errno(lambda: u.recvfrom_into(buf)) == EAGAIN
    p.nic.inbox.append(udp_frame(4000, 5001, b"cp", src=PEER_IP_N, dst=US_IP,
                                 eth_dst=STACK_MAC, eth_src=TCP_PEER_MAC))
    assert u.recvfrom_into(buf) == (2, (PEER_IP, 4000)) and buf[:2] == b"cp"
    u.close()
