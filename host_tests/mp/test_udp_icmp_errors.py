"""ICMP errors about our UDP datagrams (udp.py docstring): a connected socket
gets ECONNREFUSED / EHOSTUNREACH once on its next receive or send, like Linux;
unconnected sockets and other sockets ignore them; TCP still gets its own.
Runs under CPython and MicroPython (host_tests/helpers/mprun.py)."""
import tcpip
from tcpip.config import Config
from tcpip.stack import Stack
from tcpip.compat import ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT
from tcpip.wire import ipv4, icmp
from framehelp import US_MAC, PEER_MAC, US_IP, PEER_IP, ipv4_frame, icmp_error, udp_frame
from tcphelp import FakeNic
from tcphelp import errno_of as _errno


def _stack():
    nic = FakeNic(US_MAC)
    st = Stack(Config(mac=US_MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.254"), nic)
    arp = st.iface.arp
    i = arp.alloc(PEER_IP, 0)
    arp.set_valid(i, PEER_MAC, 0, 0)
    tcpip.set_stack(st)
    return st, nic


def _last_udp(nic):
    for f in reversed(nic.sent):
        if len(f) > 42 and f[12:14] == b"\x08\x00" and f[23] == 17:
            return f
    raise AssertionError("no UDP datagram sent")


def _unreachable_for_last_sent(nic, code=icmp.CODE_PORT_UNREACH):
    """The peer's ICMP destination unreachable quoting the last datagram we sent."""
    quoted = _last_udp(nic)[14:14 + 28]
    nic.inbox.append(ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_ICMP,
                                icmp_error(icmp.DEST_UNREACH, code, quoted)))


def test_connected_socket_gets_econnrefused_once_on_recv():
    st, nic = _stack()
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    s.connect(("192.0.2.1", 9999))
    assert s.send(b"hello") == 5
    _unreachable_for_last_sent(nic)
    s.settimeout(1)
    assert _errno(lambda: s.recv(10)) == ECONNREFUSED
    s.settimeout(0.05)
    assert _errno(lambda: s.recv(10)) == ETIMEDOUT  # reported once, then cleared
    assert s.send(b"again") == 5
    s.close()


def test_connected_socket_gets_it_on_send_and_queued_data_comes_first():
    st, nic = _stack()
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    s.bind(("", 4444))
    s.connect(("192.0.2.1", 9999))
    s.send(b"x")
    nic.inbox.append(udp_frame(9999, 4444, b"early"))  # an answer that got here first
    _unreachable_for_last_sent(nic)
    st.poll(0)
    s.settimeout(1)
    assert s.recv(10) == b"early"
    assert _errno(lambda: s.send(b"y")) == ECONNREFUSED
    assert s.send(b"y") == 1
    s.close()


def test_host_unreachable_is_ehostunreach():
    st, nic = _stack()
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    s.connect(("192.0.2.1", 9999))
    s.send(b"x")
    _unreachable_for_last_sent(nic, code=1)
    s.settimeout(1)
    assert _errno(lambda: s.recv(10)) == EHOSTUNREACH
    s.close()


def test_unconnected_and_other_sockets_ignore_it():
    st, nic = _stack()
    u = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    u.bind(("", 5555))
    u.sendto(b"x", ("192.0.2.1", 9999))
    _unreachable_for_last_sent(nic)
    other = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    other.connect(("192.0.2.1", 9998))  # another peer port: not its datagram
    st.poll(0)
    u.settimeout(0.05)
    other.settimeout(0.05)
    assert _errno(lambda: u.recvfrom(10)) == ETIMEDOUT
    assert _errno(lambda: other.recv(10)) == ETIMEDOUT
    assert u.sendto(b"y", ("192.0.2.1", 9999)) == 1
    assert st.stats()["in_icmp"] == 1 and st.stats().get("internal_errors", 0) == 0
    u.close()
    other.close()


def test_truncated_quote_is_ignored():
    st, nic = _stack()
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    s.connect(("192.0.2.1", 9999))
    s.send(b"x")
    quoted = _last_udp(nic)[14:14 + 24]  # IPv4 header + half a UDP header
    nic.inbox.append(ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_ICMP,
                                icmp_error(icmp.DEST_UNREACH, icmp.CODE_PORT_UNREACH, quoted)))
    s.settimeout(0.05)
    assert _errno(lambda: s.recv(10)) == ETIMEDOUT
    assert st.stats().get("internal_errors", 0) == 0
    s.close()
