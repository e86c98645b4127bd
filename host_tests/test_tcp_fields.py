"""The layout of a TCP control block (Connection): four attributes, every number
and flag in ``c.w``, named by ``tcp.FIELDS`` in the order of the ``_X`` constants."""
from tcpip import tcp
from tcpip.config import Config
from tcpip.stack import Stack


class _Nic:
    mac = b"\x02\x00\x00\x00\x00\x0b"

    def recv_into(self, buf):
        return 0

    def send(self, frame):
        pass

    def link_up(self):
        return True


def _stack():
    return Stack(Config(mac=_Nic.mac, ip="192.0.2.2", prefix=24, gateway="192.0.2.1"), _Nic())


def test_field_constants_follow_the_names():
    for i, name in enumerate(tcp.FIELDS):
        assert getattr(tcp, "_" + name.upper()) == i, name
    assert tcp._NFIELDS == len(tcp.FIELDS) == len(set(tcp.FIELDS))


def test_connection_holds_four_attributes_only():
    s = _stack()
    c = s.tcp.pool[0]
    assert sorted(vars(c)) == ["rx", "tcp", "tx", "w"]
    assert len(c.w) == len(tcp.FIELDS)


def test_fields_read_by_name():
    s = _stack()
    c = s.tcp.open("192.0.2.1", 80)
    w = c.w
    assert c.state == w[tcp._STATE] == tcp.SYN_SENT
    assert c.snd_una == w[tcp._SND_UNA] and c.rport == 80
    assert c.in_use and c.user and c.listener is None and c.error == 0
    c.nodelay = True
    assert w[tcp._NODELAY] == 1 and c.nodelay
    assert sorted(vars(c)) == ["rx", "tcp", "tx", "w"]  # no attribute crept in


def test_listener_is_held_by_id():
    s = _stack()
    l = s.tcp.listen(7)
    assert l.id == s.tcp.listeners.index(l) + 1
    c = s.tcp.pool[0]
    c.w[tcp._LISTENER] = l.id
    assert c.listener is l
