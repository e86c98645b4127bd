"""Socket API behaviour that needs no peer: the tcpip.socket name, getaddrinfo's
shape, SocketPool's attributes, and the errors misuse raises (CPython's errno
values).  Runs under CPython and MicroPython (host_tests/helpers/mprun.py)."""
import tcpip
from tcpip.config import Config
from tcpip.stack import Stack
from tcpip.compat import ticks_ms, ticks_diff
from tcphelp import errno_of as _errno
from nullnic import NullNIC

MAC = b"\x02\x00\x00\x00\x00\x09"


def _stack():
    st = Stack(Config(mac=MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.1",
                      dns=["192.0.2.1"]), NullNIC(MAC))
    tcpip.set_stack(st)
    return st


def test_socket_name_is_callable_and_the_module():
    _stack()
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    assert isinstance(s, tcpip.socket.socket)
    s.close()
    import tcpip.socket as mod
    assert mod.AF_INET == 2 and mod.SOCK_STREAM == 1 and mod.SOCK_DGRAM == 2
    assert mod.getaddrinfo is tcpip.getaddrinfo


def test_getaddrinfo_literal_shape_without_dns():
    st = _stack()
    assert tcpip.getaddrinfo("192.0.2.9", 80) == [(2, 1, 6, "", ("192.0.2.9", 80))]
    assert tcpip.getaddrinfo("192.0.2.9", 53, 0, tcpip.SOCK_DGRAM) == [(2, 2, 17, "", ("192.0.2.9", 53))]
    assert tcpip.getaddrinfo("192.0.2.9", 80)[0][-1] == ("192.0.2.9", 80)
    assert st.nic.sent == 0  # no DNS query, no ARP


def test_socketpool_has_what_adafruit_libraries_use():
    st = _stack()
    pool = tcpip.SocketPool(st)
    for name in ("AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "socket", "getaddrinfo", "timeout", "gaierror"):
        assert hasattr(pool, name), name
    assert issubclass(pool.timeout, OSError) and issubclass(pool.gaierror, OSError)
    s = pool.socket(pool.AF_INET, pool.SOCK_STREAM)
    assert hasattr(s, "recv_into") and hasattr(s, "settimeout")
    s.close()
    assert pool.getaddrinfo("192.0.2.1", 1883, 0, pool.SOCK_STREAM)[0][-1] == ("192.0.2.1", 1883)


def test_udp_recv_times_out_with_etimedout():
    _stack()
    u = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    u.bind(("", 5000))
    u.settimeout(0.05)
    t0 = ticks_ms()
    try:
        u.recv(10)
        assert False, "no timeout"
    except OSError as e:
        assert e.args[0] == 110
        assert isinstance(e, tcpip.timeout)
    assert 40 <= ticks_diff(ticks_ms(), t0) < 1000
    u.setblocking(False)
    assert _errno(lambda: u.recvfrom(10)) == 11
    u.close()


def test_tcp_connect_timeout_and_nonblocking_einprogress():
    _stack()
    s = tcpip.socket()
    s.settimeout(0.05)
    assert _errno(lambda: s.connect(("192.0.2.1", 80))) == 110
    s.close()
    s = tcpip.socket()
    s.setblocking(False)
    assert _errno(lambda: s.connect(("192.0.2.1", 80))) == 115  # EINPROGRESS
    assert _errno(lambda: s.connect(("192.0.2.1", 80))) == 114  # EALREADY
    s.close()


def test_misuse_raises_cpython_errnos():
    _stack()
    assert _errno(lambda: tcpip.socket(10, tcpip.SOCK_STREAM)) == 95  # EOPNOTSUPP (AF_INET6)
    s = tcpip.socket()
    assert _errno(s.listen) == 22  # EINVAL: listen before bind
    assert _errno(lambda: s.send(b"x")) == 107  # ENOTCONN
    assert _errno(s.getpeername) == 107
    s.bind(("", 8080))
    s.listen(1)
    s.setblocking(False)
    assert _errno(s.accept) == 11  # EAGAIN
    s.close()
    assert _errno(lambda: s.recv(1)) == 9  # EBADF after close
    u = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    assert _errno(lambda: u.send(b"x")) == 107
    assert _errno(lambda: u.sendto(b"x", ("192.0.2.255", 9))) == 13  # EACCES without SO_BROADCAST
    u.close()
    with tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM) as w:
        w.bind(("", 5001))
    assert _errno(lambda: w.sendto(b"x", ("192.0.2.1", 9))) == 9


def test_no_route_is_ehostunreach():
    st = _stack()
    st.iface.configure("192.0.2.2", 24, "0.0.0.0")
    s = tcpip.socket()
    assert _errno(lambda: s.connect(("198.51.100.1", 80))) == 113
    s.close()
