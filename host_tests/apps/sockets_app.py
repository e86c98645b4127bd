"""Socket API semantics against kernel peers (host_tests/apps/kernel_servers.py);
portable: CPython (TAP) and MicroPython (packet socket).

    <runtime> sockets_app.py tap tap0 | packet vb

Prints one JSON line per check ({"check", "ok", ...}), then {"event": "done"}.
"""
import sys

import tcpip
from tcpip.compat import ticks_ms, ticks_diff
import apphelp

K = "192.0.2.1"
MP = sys.implementation.name == "micropython"
EAGAIN, EBADF, EACCES, EINVAL = 11, 9, 13, 22
ECONNRESET, ENOTCONN, ETIMEDOUT, ECONNREFUSED, EINPROGRESS = 104, 107, 110, 111, 115

stack = apphelp.make_stack(sys.argv[1:3], tcp_sockets=8, udp_sockets=4)
apphelp.pump(stack, 300)
checks = apphelp.Checks()
S = tcpip.socket


def errno_of(fn):
    try:
        fn()
    except OSError as e:
        return e.args[0]
    return None


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def connect(port, timeout=5):
    s = S(tcpip.AF_INET, tcpip.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((K, port))
    return s


def c_getaddrinfo():
    before = stack.stats()["udp_tx"]
    r = tcpip.getaddrinfo(K, 80)
    expect(r == [(2, 1, 6, "", (K, 80))], r)
    r = tcpip.getaddrinfo("192.0.2.7", "53", 0, tcpip.SOCK_DGRAM)
    expect(r == [(2, 2, 17, "", ("192.0.2.7", 53))], r)
    expect(tcpip.getaddrinfo(K, 80)[0][-1] == (K, 80), "[0][-1]")
    expect(stack.stats()["udp_tx"] == before, "an IP literal sent a DNS query")
    return r


def c_connect_refused():
    s = S()
    e = errno_of(lambda: s.connect((K, 7009)))
    s.close()
    expect(e == ECONNREFUSED, e)
    return e


def c_send_recv():
    s = connect(7001)
    expect(s.getpeername() == (K, 7001), s.getpeername())
    name = s.getsockname()
    expect(name[0] == "192.0.2.2" and name[1] >= 1024, name)
    expect(s.send(b"abc") == 3, "send")
    data = bytes(i % 251 for i in range(10000))
    expect(s.sendall(data) is None, "sendall returns None")
    got = s.recv(3)
    expect(got == b"abc", got)
    buf = bytearray(20000)
    n = 0
    while n < len(data):
        k = s.recv_into(memoryview(buf)[n:], 700)
        expect(0 < k <= 700, k)
        n += k
    expect(bytes(buf[:n]) == data, "echoed bytes differ")
    s.close()
    return name


def c_stream_methods():
    s = connect(7001)
    expect(s.write(b"line one\nline two\n") == 18, "write")
    expect(s.readline() == b"line one\n", "readline")
    expect(s.read(4) == b"line", "read(n)")
    b = bytearray(5)
    expect(s.readinto(b) == 5 and b == b" two\n", b)
    s.write(b"xyz", 2)
    expect(s.read(2) == b"xy", "write(buf, n)")
    s.close()


def c_recv_timeout():
    s = connect(7003)
    s.settimeout(0.3)
    expect(s.gettimeout() == 0.3, s.gettimeout())
    t0 = ticks_ms()
    try:
        s.recv(10)
        raise AssertionError("no timeout")
    except OSError as e:
        dt = ticks_diff(ticks_ms(), t0)
        expect(e.args[0] == ETIMEDOUT, e.args)
        expect(isinstance(e, tcpip.socket.timeout), type(e))
    expect(250 <= dt < 1500, dt)
    s.close()
    return dt


def c_nonblocking_recv():
    s = connect(7003)
    s.setblocking(False)
    expect(s.gettimeout() == 0.0, s.gettimeout())
    expect(errno_of(lambda: s.recv(10)) == EAGAIN, "recv")
    expect(s.read(10) is None, "read -> None")
    expect(s.readinto(bytearray(4)) is None, "readinto -> None")
    s.close()


def c_send_full():
    s = connect(7003)  # the peer never reads and has a 4 KB window
    s.setblocking(False)
    sent = 0
    t0 = ticks_ms()
    err = None
    while ticks_diff(ticks_ms(), t0) < 5000:
        try:
            sent += s.send(b"z" * 1000)
        except OSError as e:
            err = e.args[0]
            break
        apphelp.pump(stack, 5)
    expect(err == EAGAIN, err)
    expect(s.write(b"z" * 100) is None, "non-blocking write when full -> None")
    s.settimeout(0.3)
    e = errno_of(lambda: s.sendall(b"z" * 5000))
    expect(e == ETIMEDOUT, e)
    s.close()
    return sent


def c_nonblocking_connect():
    s = S()
    s.setblocking(False)
    e = errno_of(lambda: s.connect((K, 7001)))
    expect(e == EINPROGRESS, e)
    t0 = ticks_ms()
    while ticks_diff(ticks_ms(), t0) < 3000:
        apphelp.pump(stack, 5)
        try:
            s.getpeername()
            break
        except OSError:
            pass
    expect(s.getpeername() == (K, 7001), "never connected")
    expect(s.send(b"q") == 1, "send")
    s.close()


def c_reset():
    s = connect(7002)
    s.send(b"bye\n")
    e = errno_of(lambda: s.recv(10))
    expect(e == ECONNRESET, e)
    s.close()


def c_peer_close():
    s = connect(7004)
    expect(s.readline() == b"hello\n", "greeting")
    expect(s.recv(10) == b"", "EOF")
    expect(s.read(5) == b"", "read at EOF")
    s.close()


def c_shutdown():
    s = connect(7001)
    s.sendall(b"half")
    s.shutdown(tcpip.SHUT_WR)
    expect(s.read() == b"half", "read() to EOF")
    expect(errno_of(lambda: s.send(b"x")) is not None, "send after SHUT_WR")
    s.close()


def c_setsockopt_and_context():
    with S() as s:
        s.setsockopt(tcpip.SOL_SOCKET, tcpip.SO_REUSEADDR, 1)
        s.setsockopt(tcpip.IPPROTO_TCP, tcpip.TCP_NODELAY, 1)
        s.setsockopt(tcpip.SOL_SOCKET, tcpip.SO_KEEPALIVE, 1)
        s.settimeout(5)
        s.connect((K, 7001))
        s.send(b"n")
        expect(s.recv(1) == b"n", "echo")
        expect(errno_of(lambda: s.setsockopt(tcpip.SOL_SOCKET, 12345, 1)) == EINVAL, "bad opt")
    expect(errno_of(lambda: s.send(b"x")) == EBADF, "send after with-block")
    expect(errno_of(lambda: S().getpeername()) == ENOTCONN, "getpeername unconnected")


def c_listen_accept():
    ls = S()
    ls.setsockopt(tcpip.SOL_SOCKET, tcpip.SO_REUSEADDR, 1)
    ls.bind(("", 8000))
    ls.listen(2)
    expect(ls.getsockname() == ("192.0.2.2", 8000), ls.getsockname())
    ls.settimeout(0)
    expect(errno_of(ls.accept) == EAGAIN, "accept with none waiting")
    ctl = connect(7006, timeout=20)
    ctl.send(b"connect 8000 3\n")
    ls.settimeout(10)
    peers = []
    for _ in range(3):
        c, addr = ls.accept()
        expect(addr[0] == K, addr)
        c.settimeout(10)
        c.write(c.readline())
        peers.append(c)
    res = ctl.readline()
    for c in peers:
        c.close()
    ctl.close()
    ls.close()
    expect(b'"ok": 3' in res, res)
    return res.decode()


def c_udp():
    u = S(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    u.bind(("", 7100))
    expect(u.getsockname() == ("192.0.2.2", 7100), u.getsockname())
    u.settimeout(2)
    expect(u.sendto(b"dgram", (K, 7005)) == 5, "sendto")
    d, a = u.recvfrom(100)
    expect(d == b"dgram" and a == (K, 7005), (d, a))
    u.sendto(b"into", (K, 7005))
    b = bytearray(10)
    n, a = u.recvfrom_into(b)
    expect(n == 4 and b[:4] == b"into", b)
    u.connect((K, 7005))
    expect(u.getpeername() == (K, 7005), "peer")
    u.send(b"conn")
    expect(u.recv(10) == b"conn", "connected recv")
    u.setblocking(False)
    expect(errno_of(lambda: u.recvfrom(10)) == EAGAIN, "EAGAIN")
    u.settimeout(0.2)
    expect(errno_of(lambda: u.recv(10)) == ETIMEDOUT, "timeout")
    u.close()


def c_udp_broadcast():
    u = S(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    u.settimeout(2)
    expect(errno_of(lambda: u.sendto(b"b", ("192.0.2.255", 7005))) == EACCES, "needs SO_BROADCAST")
    u.setsockopt(tcpip.SOL_SOCKET, tcpip.SO_BROADCAST, 1)
    u.sendto(b"bcast", ("192.0.2.255", 7005))
    d, a = u.recvfrom(100)
    expect(d == b"bcast" and a == (K, 7005), (d, a))
    u.close()


def c_udp_refused():
    # the kernel answers a datagram to a closed port with ICMP port
    # unreachable: a connected socket sees ECONNREFUSED once, like on Linux
    u = S(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    u.connect((K, 7999))
    u.settimeout(2)
    u.send(b"anyone?")
    e = errno_of(lambda: u.recv(100))
    expect(e == ECONNREFUSED, e)
    e = errno_of(lambda: u.recv(100))
    expect(e == ETIMEDOUT, e)  # reported once
    u.close()
    return e


def c_icmp_port_unreachable():
    before = stack.stats()
    ctl = connect(7006, timeout=20)
    t0 = ticks_ms()
    ctl.send(b"udpburst 9999 60\n")
    res = ctl.readline()
    dt = ticks_diff(ticks_ms(), t0)
    ctl.close()
    after = stack.stats()
    sent = after["icmp_errors_tx"] - before["icmp_errors_tx"]
    limited = after["icmp_rate_limited"] - before["icmp_rate_limited"]
    expect(b'"refused": 0' not in res, res)
    expect(sent >= 1 and limited >= 1, (sent, limited))
    expect(sent <= 10 * (dt // 1000 + 2), (sent, dt))
    return {"icmp_sent": sent, "limited": limited, "ms": dt, "kernel": res.decode().strip()}


def c_bulk_readinto():
    s = connect(7007, timeout=10)
    n = 200000
    s.write(b"%d\n" % n)
    buf = bytearray(n)
    t0 = ticks_ms()
    expect(s.readinto(buf) == n, "readinto short")
    dt = ticks_diff(ticks_ms(), t0)
    for i in range(0, n, 997):
        if buf[i] != i % 251:
            raise AssertionError("byte %d" % i)
    s.close()
    return {"bytes": n, "ms": dt}


def c_select_poll():
    import select
    s = connect(7001)
    s.setblocking(False)
    p = select.poll()
    p.register(s, select.POLLIN)
    expect(p.poll(0) == [], "readable before data")
    s.send(b"ping")
    r = p.poll(2000)
    expect(len(r) == 1 and r[0][0] is s and r[0][1] & select.POLLIN, r)
    expect(s.recv(10) == b"ping", "data")
    p.modify(s, select.POLLOUT)
    r = p.poll(1000)
    expect(r and r[0][1] & select.POLLOUT, r)
    s.close()


for name in ("getaddrinfo", "connect_refused", "send_recv", "stream_methods", "recv_timeout",
             "nonblocking_recv", "send_full", "nonblocking_connect", "reset", "peer_close",
             "shutdown", "setsockopt_and_context", "listen_accept", "udp", "udp_broadcast", "udp_refused",
             "icmp_port_unreachable", "bulk_readinto"):
    checks.run(name, globals()["c_" + name])
if MP:
    checks.run("select_poll", c_select_poll)
apphelp.say({"event": "done", "failed": checks.failed, "stats": stack.stats()})
