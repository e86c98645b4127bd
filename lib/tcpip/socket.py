"""Sockets on tcpip, shaped like MicroPython's ``socket`` module and the subset
of CPython's that embedded code uses, plus a CircuitPython-style ``SocketPool``.

    import tcpip.socket as socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"hi", ("192.0.2.1", 7))

Every call that touches the stack holds its lock (``Stack.busy``, see
``tcpip.stack``), so a board's background poller waits for it to return.
Blocking calls drive ``Stack.poll`` until they can finish or their timeout
passes: ``socket.timeout`` (CPython: ``TimeoutError``), an ``OSError`` whose
errno is ETIMEDOUT.  Non-blocking calls raise ``OSError(EAGAIN)`` (CPython:
``BlockingIOError``) and a non-blocking ``connect`` raises EINPROGRESS.  Errors
carry CPython's errno values (ECONNREFUSED, ECONNRESET, ENOTCONN, ...).

A non-blocking call that would block polls the stack once before it says so
(EAGAIN, None, EALREADY), so a loop of non-blocking calls keeps the stack
running where no background poller does (MicroPython unix port, CPython,
CircuitPython); a poll already in progress is not entered twice.  These polls
use ``stack.clock_ms()`` when the stack has one (a stack on a virtual clock).

``close()`` while MicroPython's heap is locked (a finaliser: a TLS socket
dropped without ``close()`` closes its stream from its ``__del__``) only marks
the connection; the next poll sends the FIN (RST when unread data is left).

While a blocking call waits it sleeps on the NIC's file descriptor when the NIC
has one (TAP, packet socket), so it wakes as soon as a frame arrives; on a board
it sleeps at most 10 ms between polls.

A blocking TCP ``send()`` returns once all of its data is queued, as Linux's
does; with a timeout it returns what was queued when the timeout passed, and
raises the timeout only when nothing was.

Stream methods as on MicroPython: ``read(n)`` / ``readinto(buf)`` fill the whole
request unless the peer closes or the timeout passes after some bytes came (a
short read: bytes already delivered are never dropped; nothing read raises the
timeout; a non-blocking socket returns what is there, or None when nothing
is), ``readline()`` (the partial line when the timeout passes), ``write(buf)``
(all of it when blocking).  On MicroPython a socket is an ``io.IOBase`` with
``ioctl``, so ``select.poll`` and asyncio streams accept it; each poll of it
runs the stack, and it is writable (POLLOUT) once a third of its TX ring is
free, as on Linux.
On CPython use ``tcpip.aio`` for asyncio.

Name resolution: ``getaddrinfo(host, port)`` returns CPython-shaped 5-tuples
``(AF_INET, type, proto, '', (ip_str, port))``; IP literals need no DNS; a name
that does not exist raises ``gaierror`` with errno -2 (EAI_NONAME), no answer
-3 (EAI_AGAIN), as CPython and MicroPython do.
"""
from tcpip.compat import const, ticks_ms, ticks_diff, EAGAIN, ETIMEDOUT, EBADF, \
    EINVAL, ENOTCONN, EOPNOTSUPP, EINPROGRESS, EALREADY, EISCONN, ECONNREFUSED
from tcpip.wire.ipv4 import aton, ntoa
import sys as _sys

try:
    import select as _select
except ImportError:  # CircuitPython: no select; sockets sleep between polls
    _select = None

try:
    import io as _io
    _Base = _io.IOBase if hasattr(_io.IOBase, "ioctl") or not hasattr(_io, "RawIOBase") else object
except (ImportError, AttributeError):
    _Base = object

_CPYTHON = _sys.implementation.name == "cpython"

AF_INET = 2
SOCK_STREAM = 1
SOCK_DGRAM = 2
IPPROTO_IP = 0
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 2
SO_BROADCAST = 6
SO_KEEPALIVE = 9
TCP_NODELAY = 1
SHUT_RD = 0
SHUT_WR = 1
SHUT_RDWR = 2
MSG_DONTWAIT = 0x40

# select.poll / ioctl constants (MicroPython stream protocol)
_POLLIN = const(1)
_POLLOUT = const(4)
_POLLERR = const(8)
_POLLHUP = const(16)
_MP_STREAM_POLL = const(3)
_MP_STREAM_CLOSE = const(4)

try:
    timeout = TimeoutError  # CPython: socket.timeout is TimeoutError (an OSError)
except NameError:  # MicroPython
    class timeout(OSError):  # noqa: N801 - the module attribute CPython code expects
        pass


class gaierror(OSError):  # noqa: N801
    pass


def set_stack(stack):
    """Make ``stack`` the one new sockets and getaddrinfo use (tcpip.start does
    this): ``tcpip.stack.set_current``, the one registry of the current stack."""
    from tcpip.stack import set_current
    set_current(stack)


def get_stack():
    """The current stack (``tcpip.stack.current()``); OSError when there is none."""
    from tcpip.stack import current
    s = current()
    if s is None:
        raise OSError(ENOTCONN, "no network stack: call tcpip.start() or build a Stack first")
    return s


def _idle(stack, ms):
    """Sleep up to ms, waking early when the NIC has a frame (its fileno, if any)."""
    p = getattr(stack, "_socket_idle_poller", None)
    if p is None:
        p = False
        fileno = getattr(stack.nic, "fileno", None)
        if fileno is not None and _select is not None:
            try:
                p = _select.poll()
                p.register(fileno(), _select.POLLIN)
            except (OSError, TypeError, ValueError, AttributeError):
                p = False
        stack._socket_idle_poller = p
    if ms <= 0:
        return
    if p:
        p.poll(ms)
    else:
        stack.idle(ms)


def _wait(stack, ready, obj, timeout_ms, what):
    """Poll the stack until ready(obj) is true; ``timeout`` (ETIMEDOUT) when the
    timeout passes, OSError(EAGAIN) at once for a non-blocking socket.  The
    predicates below are module functions, so waiting creates no closure."""
    if ready(obj):
        return
    if timeout_ms == 0:
        if _poll_once(stack, ready, obj):
            return
        raise OSError(EAGAIN, "%s would block" % what)
    start = ticks_ms()
    while True:
        now = ticks_ms()
        wait = stack.poll(now)
        if ready(obj):
            return
        if timeout_ms is not None:
            left = timeout_ms - ticks_diff(ticks_ms(), start)
            if left <= 0:
                raise timeout(ETIMEDOUT, "%s timed out" % what)
            if wait > left:
                wait = left
        _idle(stack, wait if wait < 10 else 10)


def _poll_once(stack, ready, obj):
    """One stack poll, then ready(obj): what a non-blocking call does before it
    reports EAGAIN.  Nothing else may be polling the stack (MicroPython unix,
    CPython, CircuitPython: no background timer), and an application that only
    ever makes non-blocking calls must still see the frames that arrived.
    Inside a poll already in progress (a board's background poller) Stack.poll
    returns at once instead of running twice."""
    stack.poll(_now(stack))
    return ready(obj)


def _now(stack):
    """The time to poll with: ticks_ms, or the stack's own ``clock_ms()`` when
    whoever drives it keeps another clock (a simulation, a test on virtual time)."""
    clock = getattr(stack, "clock_ms", None)
    return ticks_ms() if clock is None else clock()


def _heap_locked():
    """True inside a MicroPython GC finaliser, where the heap is locked: a TLS
    socket that was dropped without close() closes its stream from there."""
    if _CPYTHON:
        return False
    try:
        bytearray(1)
    except MemoryError:
        return True
    return False


def _udp_ready(ep):
    return ep.datagrams > 0 or ep.error


def _tcp_settled(c):
    """The handshake is over: established, failed or closed."""
    return c.is_established() or c.error or c.state == 0


def _tcp_sendable(c):
    # writable() raises for a failed, shut or closed connection: ask about those first
    return c.error or c.fin_queued or c.state == 0 or c.writable() > 0


def _tx_room(c):
    """Writable for select.poll: a third of the TX ring free (free >= half of
    what is queued), as Linux's sk_stream_is_writeable -- a writer that waits
    for POLLOUT gets room for a worthwhile write, and one that sends "while
    writable" stops once the ring is mostly full, not only when it is full."""
    free = c.writable()
    return free > 0 and free * 2 >= c.unsent()


def _tcp_receivable(c):
    """recv() will not block: data, the peer's FIN, an error, or closed."""
    return c.readable() or c.fin_rcvd or c.error or c.state == 0


def _acceptable(sock):
    """True when accept() on the listening sock has an established connection to give."""
    listener = sock._listener
    for c in sock.stack.tcp.pool:
        if c.listener is listener and c.is_established():
            return True
    return False


def _raise_udp_error(ep):
    # An ICMP error about an earlier datagram of this connected socket is
    # reported once, like Linux (ECONNREFUSED after port unreachable).
    e = ep.take_error()
    if e:
        raise OSError(e, "%s (ICMP from %s:%d)" % (
            "connection refused" if e == ECONNREFUSED else "host unreachable", ntoa(ep.rip), ep.rport))


def _resolve(host, stack):
    if isinstance(host, int):
        return host
    if host == "" or host == "0.0.0.0":
        return 0
    if host == "<broadcast>":
        return 0xFFFFFFFF
    try:
        return aton(host)
    except ValueError:
        pass
    if host == "localhost":
        return stack.iface.ip
    dns = stack.dns
    start = ticks_ms()
    try:
        dns.start(host, start)
    except ValueError:
        raise gaierror(-2, "Name or service not known: %r" % (host,))
    while True:
        ip = dns.result(host, ticks_ms())  # OSError(-2) for NXDOMAIN, (-3) when no server answered
        if ip is not None:
            return ip
        if dns.pending_name != host or ticks_diff(ticks_ms(), start) > 60000:
            raise gaierror(-3, "Temporary failure in name resolution: %s" % host)
        w = stack.poll(ticks_ms())
        if dns.pending_name == host:  # no answer yet: sleep until a frame or the next timer
            _idle(stack, w if w < 5 else 5)


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0, stack=None):
    """[(AF_INET, type, proto, '', (ip_str, port))]; IP literals need no DNS.
    Failures raise OSError(-2) (name not known) or OSError(-3) (no answer)."""
    st = stack or get_stack()
    st.busy += 1  # the stack lock (tcpip.stack)
    try:
        ip = _resolve(host, st)
    except gaierror:
        raise
    except OSError as e:
        raise gaierror(e.args[0], e.args[1] if len(e.args) > 1 else str(e))
    finally:
        st.busy -= 1
    if isinstance(port, str):
        port = int(port)
    t = type or SOCK_STREAM
    p = proto or (IPPROTO_TCP if t == SOCK_STREAM else IPPROTO_UDP)
    return [(AF_INET, t, p, "", (ntoa(ip), port))]


def inet_aton(s):
    v = aton(s)
    return bytes(((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255))


def inet_ntoa(b):
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


class socket(_Base):  # noqa: N801 - the name every socket API uses
    """A TCP (SOCK_STREAM) or UDP (SOCK_DGRAM) socket on a tcpip Stack.

    A UDP socket holds its endpoint in ``_ep``; a TCP socket its connection
    in ``_conn`` (None until connect or accept), or its ``_listener``."""

    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0, stack=None, _conn=None):
        if af != AF_INET:
            raise OSError(EOPNOTSUPP, "only AF_INET is supported")
        if type not in (SOCK_STREAM, SOCK_DGRAM):
            raise OSError(EOPNOTSUPP, "socket type %r is not supported" % (type,))
        self.stack = stack or get_stack()
        self.type = type
        self.family = af
        self.proto = proto
        self._timeout_ms = None  # blocking
        self._ep = None
        self._conn = _conn
        self._closed = False
        self._reuse = False
        if type == SOCK_DGRAM:
            st = self.stack
            st.busy += 1  # the stack lock (tcpip.stack)
            try:
                self._ep = st.udp.open()
            finally:
                st.busy -= 1
            return
        self._listener = None
        self._port = _conn.lport if _conn is not None else 0
        self._nodelay = False
        self._keepalive = False
        self._rd_shut = False

    # -- common

    def settimeout(self, value):
        """None: block; 0: non-blocking; seconds (float) otherwise."""
        if value is None:
            self._timeout_ms = None
            return
        if value < 0:
            raise ValueError("timeout value out of range")
        ms = int(value * 1000)
        self._timeout_ms = 1 if value > 0 and ms == 0 else ms

    def gettimeout(self):
        return None if self._timeout_ms is None else self._timeout_ms / 1000

    def setblocking(self, flag):
        self._timeout_ms = None if flag else 0

    def fileno(self):
        return -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_open(self):
        if self._closed:
            raise OSError(EBADF, "socket is closed")

    def _need_conn(self):
        c = self._conn
        if c is None:
            raise OSError(ENOTCONN, "socket is not connected")
        return c

    def _need_peer(self):
        # a UDP socket's connect() address
        if not self._ep.rip:
            raise OSError(ENOTCONN, "socket is not connected")

    def setsockopt(self, level, opt, value):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            on = bool(value) if not isinstance(value, (bytes, bytearray)) else any(value)
            tcp = self.type == SOCK_STREAM
            c = self._conn
            if level == SOL_SOCKET and opt == SO_BROADCAST:
                if not tcp:
                    self._ep.broadcast = on
            elif level == SOL_SOCKET and opt == SO_REUSEADDR:
                self._reuse = on
            elif tcp and level == IPPROTO_TCP and opt == TCP_NODELAY:
                self._nodelay = on
                if c is not None:
                    c.set_nodelay(on)
            elif tcp and level == SOL_SOCKET and opt == SO_KEEPALIVE:
                self._keepalive = on
                if c is not None:
                    c.set_keepalive(on)
            else:
                raise OSError(EINVAL, "option %r/%r not supported on this socket" % (level, opt))
        finally:
            st.busy -= 1

    def bind(self, address):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            host, port = address
            ip = _resolve(host, self.stack) if host else 0
            if self._ep is not None:
                self._ep.bind(port, ip)
                return
            if self._port:
                raise OSError(EINVAL, "socket is already bound to port %d" % self._port)
            if ip and ip != self.stack.iface.ip:
                raise OSError(99, "cannot bind to %s: not this interface's address" % ntoa(ip))
            self._port = port
        finally:
            st.busy -= 1

    def connect(self, address):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            host, port = address
            ip = _resolve(host, self.stack)
            if self._ep is not None:
                self._ep.connect(ip, port)
                return
            c = self._conn
            if c is not None:
                if self._timeout_ms == 0:
                    _poll_once(self.stack, _tcp_settled, c)  # a non-blocking connect's progress
                if c.error:
                    raise OSError(c.error, "connect failed")
                if c.is_established():
                    raise OSError(EISCONN, "socket is already connected")
                if self._timeout_ms == 0:
                    raise OSError(EALREADY, "connect already in progress")
            else:
                c = self.stack.tcp.open(ip, port, self._port)
                self._conn = c
                self._port = c.lport
                if self._nodelay:
                    c.set_nodelay(True)
                if self._keepalive:
                    c.set_keepalive(True)
                if self._timeout_ms == 0:
                    raise OSError(EINPROGRESS, "connect in progress")
            try:
                _wait(self.stack, _tcp_settled, c, self._timeout_ms, "connect")
            except OSError:
                c.abort()
                self._conn = None
                raise
            if c.error or not c.is_established():
                e = c.error or 111
                c.close()
                self._conn = None
                raise OSError(e, "connect to %s:%d failed" % (ntoa(ip), port))
        finally:
            st.busy -= 1

    def close(self):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            if self._closed:
                return
            self._closed = True
            if self._conn is not None and _heap_locked():
                # a finaliser (the heap is locked): nothing may allocate or poll
                # here, so the next poll closes the connection (FIN or RST)
                self._conn.close_later()
                self._conn = None
                return
            if self._ep is not None:
                self._ep.close()
                self._ep = None
                return
            if self._listener is not None:
                self.stack.tcp.unlisten(self._listener)
                self._listener = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self.stack.poll(ticks_ms())
        finally:
            st.busy -= 1

    # -- UDP

    def sendto(self, data, address):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            if self._ep is None:
                return self.send(data)
            host, port = address
            ip = _resolve(host, self.stack)
            _raise_udp_error(self._ep)
            return self._ep.sendto(data, ip, port, ticks_ms())
        finally:
            st.busy -= 1

    def recvfrom_into(self, buf, nbytes=0):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            if self._ep is None:
                n = self.recv_into(buf, nbytes)
                return n, self.getpeername()
            ep = self._ep
            _wait(self.stack, _udp_ready, ep, self._timeout_ms, "recvfrom")
            if not ep.datagrams:
                _raise_udp_error(ep)
            n, ip, port = ep.recvfrom_into(buf, nbytes)
            return n, (ntoa(ip), port)
        finally:
            st.busy -= 1

    def recvfrom(self, bufsize):
        buf = bytearray(bufsize)
        n, addr = self.recvfrom_into(buf)
        return bytes(buf[:n]), addr

    # -- both

    def send(self, data):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            if self._ep is not None:
                self._need_peer()
                _raise_udp_error(self._ep)
                return self._ep.sendto(data, 0, 0, ticks_ms())
            return self._tcp_send(data)
        finally:
            st.busy -= 1

    def sendall(self, data):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            if self._ep is not None:
                self.send(data)
                return None
            mv = memoryview(data)
            sent = 0
            while sent < len(mv):
                sent += self._tcp_send(mv[sent:])
            return None
        finally:
            st.busy -= 1

    def recv_into(self, buf, nbytes=0):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            if self._ep is not None:
                return self.recvfrom_into(buf, nbytes)[0]
            return self._tcp_recv_into(buf, nbytes)
        finally:
            st.busy -= 1

    def recv(self, bufsize):
        buf = bytearray(bufsize)
        n = self.recv_into(buf)
        return bytes(buf[:n])

    def getsockname(self):
        if self._ep is not None:
            return (ntoa(self._ep.lip or self.stack.iface.ip), self._ep.lport)
        return (ntoa(self.stack.iface.ip), self._port)

    def getpeername(self):
        if self._ep is not None:
            self._need_peer()
            return (ntoa(self._ep.rip), self._ep.rport)
        return self._need_conn().remote()

    # -- MicroPython stream protocol

    def read(self, n=-1):
        """Stream read (MicroPython): n bytes, fewer only at end of data or
        when the socket's timeout passes after some bytes came (the timeout
        error only when none did); all until end of data when n < 0.  A
        non-blocking socket returns what is there, or None when nothing is."""
        if n is None or n < 0:
            out = b""
            while True:
                try:
                    d = self.read(1460)
                except OSError as e:
                    if out and e.args[0] == ETIMEDOUT:
                        return out
                    raise
                if d is None:
                    return out if out else None
                if not d:
                    return out
                out += d
        buf = bytearray(n)
        k = self.readinto(buf)
        if k is None:
            return None
        return bytes(buf) if k == n else bytes(buf[:k])

    def readinto(self, buf, nbytes=0):
        """Stream readinto: fill buf (or its first nbytes), fewer only at end of
        data or when the timeout passes after some bytes came (nothing read:
        the timeout error); a non-blocking socket returns what is there, or None."""
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            want = nbytes if 0 < nbytes < len(buf) else len(buf)
            if self._ep is not None:
                try:
                    return self.recv_into(buf, want)
                except OSError as e:
                    if e.args[0] == EAGAIN:
                        return None
                    raise
            mv = memoryview(buf)
            got = 0
            while got < want:
                try:
                    k = self._tcp_recv_into(mv[got:want], 0)
                except OSError as e:
                    if e.args[0] == EAGAIN:
                        return got if got else None
                    if got and e.args[0] == ETIMEDOUT:
                        return got  # a short read: the bytes that came before the timeout
                    raise
                if k == 0:
                    break
                got += k
                if self._timeout_ms == 0:
                    # non-blocking: take what is there without waiting
                    c = self._conn
                    if c is None or not c.readable():
                        break
            return got
        finally:
            st.busy -= 1

    def readline(self):
        """Stream readline: bytes up to and including b"\\n" (or to end of data).
        When the timeout passes it returns the partial line, and raises the
        timeout only when nothing came; a non-blocking socket returns the
        partial line, or None.  (MicroPython's own sockets raise ETIMEDOUT
        there and drop the partial line, and the bytes of a readinto or read
        cut short by the timeout: the unix port does.)"""
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            if self._ep is not None:
                return self.recv(1472)
            c = self._need_conn()
            out = b""
            polled = False
            while True:
                i = c.rx.find(10)
                if i >= 0:
                    buf = bytearray(i + 1)
                    c.recv_into(buf, 0, i + 1)
                    return out + bytes(buf)
                if c.rx.count:
                    buf = bytearray(c.rx.count)
                    c.recv_into(buf)
                    out += bytes(buf)
                    continue
                if c.fin_rcvd or c.state == 0:
                    return out
                if c.error:
                    if out:
                        return out
                    c.recv_into(bytearray(1))  # raises the connection's error
                    return out
                if self._timeout_ms == 0:
                    # non-blocking (MicroPython streams): one poll, then the partial line, or None
                    if polled or not _poll_once(self.stack, _tcp_receivable, c):
                        return out if out else None
                    polled = True
                    continue
                try:
                    _wait(self.stack, _tcp_receivable, c, self._timeout_ms, "readline")
                except OSError:
                    if out:
                        return out  # a partial line rather than losing the bytes
                    raise
        finally:
            st.busy -= 1

    def write(self, buf, n=None):
        """Stream write: all of buf (or its first n bytes) on a blocking socket,
        returns the count; with a timeout, what was queued when it passed;
        non-blocking: what fits now, or None when nothing does."""
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            mv = memoryview(buf)
            if n is not None:
                mv = mv[:n]
            if self._ep is not None:
                return self.send(mv)
            total = len(mv)
            done = 0
            while done < total:
                try:
                    k = self._tcp_send(mv[done:])
                except OSError as e:
                    if e.args[0] == EAGAIN:
                        return done if done else None
                    if done and e.args[0] == ETIMEDOUT:
                        return done
                    raise
                done += k
                if self._timeout_ms is not None and self._timeout_ms > 0:
                    break  # _tcp_send queued all it could before the timeout
                if self._timeout_ms == 0:
                    c = self._conn
                    if c is None or c.error or c.fin_queued or c.state == 0 or c.writable() <= 0:
                        break  # the ring is full, or the next write reports the error
            return done
        finally:
            st.busy -= 1

    def ioctl(self, req, arg):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            if req == _MP_STREAM_POLL:
                self.stack.poll(_now(self.stack))
                return self._poll_flags() & (arg | _POLLERR | _POLLHUP)
            if req == _MP_STREAM_CLOSE:
                self.close()
                return 0
            return -1  # no file descriptor: select.poll then asks MP_STREAM_POLL
        finally:
            st.busy -= 1

    def _poll_flags(self):
        if self._closed:
            return _POLLHUP
        if self._ep is not None:
            ep = self._ep
            return (_POLLIN if ep.datagrams else 0) | (_POLLERR if ep.error else 0) | _POLLOUT
        if self._listener is not None:
            return _POLLIN if _acceptable(self) else 0
        c = self._conn
        if c is None:
            return 0
        f = 0
        if c.readable() or c.fin_rcvd:
            f |= _POLLIN
        if c.is_established() and not c.fin_queued and _tx_room(c):
            f |= _POLLOUT
        if c.error:
            f |= _POLLERR | _POLLIN
        if c.state == 0 or (c.fin_rcvd and c.fin_queued):
            f |= _POLLHUP
        return f

    # -- TCP

    def listen(self, backlog=None):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            if self.type != SOCK_STREAM:
                raise OSError(EOPNOTSUPP, "listen() needs a SOCK_STREAM socket")
            if not self._port:
                raise OSError(EINVAL, "bind() a port before listen()")
            self._listener = self.stack.tcp.listen(self._port, backlog)
        finally:
            st.busy -= 1

    def accept(self):
        """(socket, (ip, port)) for the next established connection."""
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            if self._listener is None:
                raise OSError(EINVAL, "accept() needs a listening socket")
            _wait(self.stack, _acceptable, self, self._timeout_ms, "accept")
            c = self.stack.tcp.accept(self._listener)
            s = socket(AF_INET, SOCK_STREAM, 0, self.stack, _conn=c)
            if self._nodelay:
                c.set_nodelay(True)
            return s, c.remote()
        finally:
            st.busy -= 1

    def shutdown(self, how=SHUT_RDWR):
        st = self.stack
        st.busy += 1  # the stack lock (tcpip.stack)
        try:
            self._check_open()
            c = self._need_conn()
            if how in (SHUT_RD, SHUT_RDWR):
                self._rd_shut = True
            if how in (SHUT_WR, SHUT_RDWR):
                c.shutdown()
                self.stack.poll(ticks_ms())
        finally:
            st.busy -= 1

    def _tcp_send(self, data):
        """send() on TCP.  Blocking: returns once all of data is queued, as
        Linux's blocking send does (a peer that reads whole blocks gets them);
        with a timeout: what was queued when it passed, the timeout error only
        when nothing was; non-blocking: what fits now, EAGAIN when nothing does."""
        c = self._need_conn()
        n = len(data)
        if n == 0:
            return 0
        if c.error:
            raise OSError(c.error, "send failed")
        t = self._timeout_ms
        if t == 0:
            _wait(self.stack, _tcp_sendable, c, 0, "send")
            return c.send(data)
        start = ticks_ms()
        sent = 0
        left = t
        while True:
            try:
                _wait(self.stack, _tcp_sendable, c, left, "send")
                sent += c.send(data, sent)
            except OSError:
                if sent:
                    return sent  # the error (or the timeout) waits for the next call
                raise
            if sent >= n:
                return sent
            if t is not None:
                left = t - ticks_diff(ticks_ms(), start)
                if left <= 0:
                    return sent

    def _tcp_recv_into(self, buf, nbytes):
        c = self._need_conn()
        if self._rd_shut:
            return 0
        n = nbytes if 0 < nbytes < len(buf) else len(buf)
        if n == 0:
            return 0
        k = c.recv_into(buf, 0, n)
        if k >= 0:
            return k
        _wait(self.stack, _tcp_receivable, c, self._timeout_ms, "recv")
        k = c.recv_into(buf, 0, n)
        return k if k > 0 else 0


class SocketPool:
    """CircuitPython's socketpool.SocketPool on a tcpip Stack (for adafruit_requests,
    adafruit_minimqtt, adafruit_ntp and friends, unchanged)::

        pool = tcpip.SocketPool(net)                 # net from tcpip.start(), or a Stack
        requests = adafruit_requests.Session(pool)
        mqtt = MQTT.MQTT(broker="192.0.2.1", socket_pool=pool, is_ssl=False)
        ntp = adafruit_ntp.NTP(pool, server="pool.ntp.org")

    A socket timeout raises ``pool.timeout`` (an OSError with errno ETIMEDOUT),
    a failed lookup ``pool.gaierror``.  TLS (``is_ssl=True``, https://) needs
    an SSL context passed in: the runtime's ``ssl.create_default_context()``
    on CircuitPython, ``tcpip.tls.create_default_context()`` on CPython and
    the MicroPython unix port.  ``adafruit_connection_manager``'s
    ``get_radio_ssl_context(radio)`` has none for tcpip: it knows its radios
    by class name (Radio, ESP_SPIcontrol, WIZNET5K, CPythonNetwork) and
    raises ValueError for others."""

    AF_INET = AF_INET
    SOCK_STREAM = SOCK_STREAM
    SOCK_DGRAM = SOCK_DGRAM
    SOL_SOCKET = SOL_SOCKET
    SO_REUSEADDR = SO_REUSEADDR
    SO_BROADCAST = SO_BROADCAST
    SO_KEEPALIVE = SO_KEEPALIVE
    IPPROTO_IP = IPPROTO_IP
    IPPROTO_TCP = IPPROTO_TCP
    IPPROTO_UDP = IPPROTO_UDP
    TCP_NODELAY = TCP_NODELAY
    EAI_NONAME = -2
    timeout = timeout
    gaierror = gaierror

    def __init__(self, stack=None):
        """stack: a Stack, or what tcpip.start() returned (anything with .stack);
        default: the current stack."""
        if stack is None:
            stack = get_stack()
        self.stack = getattr(stack, "stack", stack)

    def socket(self, family=AF_INET, type=SOCK_STREAM, proto=0):
        return socket(family, type, proto, stack=self.stack)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        return getaddrinfo(host, port, family, type, proto, flags, stack=self.stack)
