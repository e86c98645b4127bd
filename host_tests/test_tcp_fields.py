"""The layout of a TCP control block (Connection): two attributes, every number,
flag and ring index in ``c.w``, named by ``tcp.FIELDS`` in the order of the
``_X`` constants, then the RX ring's out-of-order ranges; the ring bytes of the
whole pool in one buffer, ``tcp.buf``."""
from tcpip import tcp
from tcpip.config import Config
from tcpip.stack import Stack
from nullnic import NullNIC


def _stack():
    mac = b"\x02\x00\x00\x00\x00\x0b"
    return Stack(Config(mac=mac, ip="192.0.2.2", prefix=24, gateway="192.0.2.1"), NullNIC(mac))


def test_field_constants_follow_the_names():
    for i, name in enumerate(tcp.FIELDS):
        assert getattr(tcp, "_" + name.upper()) == i, name
    assert tcp._NFIELDS == len(tcp.FIELDS) == len(set(tcp.FIELDS))


def test_connection_holds_two_attributes_only():
    s = _stack()
    c = s.tcp.pool[0]
    assert sorted(vars(c)) == ["tcp", "w"]
    assert len(c.w) == len(tcp.FIELDS) + 2 * s.cfg.tcp_ooo_ranges


def test_rings_are_slices_of_one_pool_buffer():
    s = _stack()
    cfg = s.cfg
    per = cfg.tcp_rx_bytes + cfg.tcp_tx_bytes
    assert len(s.tcp.buf) == cfg.tcp_sockets * per
    for i, c in enumerate(s.tcp.pool):
        assert c.index == i
        assert (c.rx_base, c.rx_size) == (i * per, cfg.tcp_rx_bytes)
        assert (c.tx_base, c.tx_size) == (i * per + cfg.tcp_rx_bytes, cfg.tcp_tx_bytes)
        assert c.rx.max_ranges == cfg.tcp_ooo_ranges and c.tx.max_ranges == 0


def test_data_lands_in_the_blocks_own_slice():
    s = _stack()
    c = s.tcp.pool[1]
    c.w[tcp._STATE] = tcp.ESTABLISHED  # enough for the ring path of send()
    c.w[tcp._IN_USE] = c.w[tcp._USER] = 1
    c.w[tcp._SND_WND] = 0  # nothing may leave: the bytes stay in the TX ring
    assert c.send(b"abc") == 3 and c.unsent() == 3
    base = c.tx_base
    assert bytes(s.tcp.buf[base:base + 3]) == b"abc"
    assert bytes(s.tcp.buf[:base]).count(b"abc") == 0


def test_fields_read_by_name():
    s = _stack()
    c = s.tcp.open("192.0.2.1", 80)
    w = c.w
    assert c.state == w[tcp._STATE] == tcp.SYN_SENT
    # sequence numbers by name are absolute; in w they count from the ISS
    assert w[tcp._SND_UNA] == tcp._ISS and w[tcp._SND_NXT] == tcp._ISS + 1 and c.snd_una == c.iss
    assert c.snd_nxt == (c.iss + 1) & 0xFFFFFFFF and c.rport == 80
    assert c.rip == 0xC0000201 and (w[tcp._RIP_HI], w[tcp._RIP_LO]) == (0xC000, 0x0201)
    assert c.in_use and c.user and c.listener is None and c.error == 0
    c.nodelay = True
    assert w[tcp._FLAGS] & tcp._F_NODELAY and c.nodelay and not c.keepalive
    c.set_keepalive(True)
    c.nodelay = False
    assert w[tcp._FLAGS] & (tcp._F_KEEPALIVE | tcp._F_NODELAY) == tcp._F_KEEPALIVE
    assert c.keepalive and not c.nodelay
    assert sorted(vars(c)) == ["tcp", "w"]  # no attribute crept in


def test_listener_is_held_by_id():
    s = _stack()
    l = s.tcp.listen(7)
    assert l.id == s.tcp.listeners.index(l) + 1
    c = s.tcp.pool[0]
    c.w[tcp._LISTENER] = l.id
    assert c.listener is l
