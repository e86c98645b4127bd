"""asyncio on tcpip sockets, for CPython, MicroPython and CircuitPython.

    import asyncio
    from tcpip import aio

    async def handle(reader, writer):
        line = await reader.readline()
        writer.write(line)
        await writer.drain()
        await writer.aclose()

    async def main():
        srv = await aio.start_server(handle, "0.0.0.0", 7)
        reader, writer = await aio.open_connection("192.0.2.1", 7)
        asyncio.create_task(aio.poll_task())       # timers run while nothing waits
        ...

Two ways the stack gets driven:

- MicroPython: a tcpip socket is an ``io.IOBase`` with ``ioctl``, so the
  runtime's own ``asyncio.Stream`` works on it: ``select.poll`` asks the
  socket's ioctl whether it is ready, and each such question runs
  ``Stack.poll``.  ``open_connection`` / ``start_server`` here return native
  ``asyncio.Stream`` objects.  MicroPython's own ``asyncio.open_connection``
  and ``asyncio.start_server`` work too when a module named ``socket`` that
  re-exports ``tcpip.socket`` comes first on the path (that is how microdot
  runs unchanged; see host_tests/helpers/shims/socket.py).
- CPython (and CircuitPython): the event loop cannot wait on a tcpip socket
  (it has no file descriptor), so ``Stream`` here is a polled stream: each
  awaiting method runs ``Stack.poll`` and sleeps a few milliseconds until the
  socket is ready.  Same method names as asyncio's StreamReader/StreamWriter
  (read, readinto, readexactly, readline, write, drain, awrite, close,
  wait_closed, aclose, get_extra_info).

``poll_task()`` keeps timers (retransmissions, ARP, DHCP) running while no
coroutine is waiting on a socket; start it once with ``asyncio.create_task``.
"""
import asyncio
import sys

from tcpip.compat import ticks_ms, EAGAIN, EINPROGRESS
from tcpip.socket import (getaddrinfo, get_stack, socket as _socket, AF_INET, SOCK_STREAM,
                          SOL_SOCKET, SO_REUSEADDR, _acceptable, _tcp_settled, _tcp_receivable,
                          _tcp_sendable)

_NATIVE = sys.implementation.name == "micropython" and hasattr(asyncio, "Stream")
_MAX_SLEEP_MS = 5


async def _sleep_ms(ms, max_ms):
    """Sleep ms, at most max_ms; ms <= 0 only yields to other tasks."""
    ms = 0 if ms < 0 else (max_ms if ms > max_ms else ms)
    if hasattr(asyncio, "sleep_ms"):
        await asyncio.sleep_ms(ms)
    else:
        await asyncio.sleep(ms / 1000)


async def _until(stack, ready, obj):
    """Poll the stack until ready(obj) is true (yielding to other tasks between polls)."""
    while True:
        w = stack.poll(ticks_ms())
        if ready(obj):
            return
        await _sleep_ms(w, _MAX_SLEEP_MS)


def _readable(sock):
    c = sock._conn
    return c is None or _tcp_receivable(c)


def _writable(sock):
    c = sock._conn
    return c is None or _tcp_sendable(c)


def _closed_or_acceptable(sock):
    return sock._closed or _acceptable(sock)


async def poll_task(stack=None, max_sleep_ms=10):
    """Run forever: poll the stack, sleep until its next timer (at most max_sleep_ms)."""
    st = stack or get_stack()
    while True:
        await _sleep_ms(st.poll(ticks_ms()), max_sleep_ms)


class Stream:
    """A polled asyncio stream (reader and writer in one) over a tcpip TCP socket."""

    def __init__(self, sock, extra=None):
        sock.setblocking(False)
        self.s = sock
        self.stack = sock.stack
        self.e = extra or {}
        self.out_buf = b""

    def get_extra_info(self, name, default=None):
        if name == "peername" and name not in self.e:
            try:
                return self.s.getpeername()
            except OSError:
                return default
        return self.e.get(name, default)

    async def read(self, n=-1):
        """Up to n bytes (b"" at end of data); n < 0: everything until end of data."""
        if n is None or n < 0:
            out = b""
            while True:
                d = await self.read(1460)
                if not d:
                    return out
                out += d
        while True:
            d = self.s.read(n)
            if d is not None:
                return d
            await _until(self.stack, _readable, self.s)

    async def readinto(self, buf):
        while True:
            k = self.s.readinto(buf)
            if k is not None:
                return k
            await _until(self.stack, _readable, self.s)

    async def readexactly(self, n):
        out = b""
        while len(out) < n:
            d = await self.read(n - len(out))
            if not d:
                raise EOFError("stream ended after %d of %d bytes" % (len(out), n))
            out += d
        return out

    async def readline(self):
        out = b""
        while True:
            try:
                d = self.s.readline()
            except OSError as e:
                if e.args[0] != EAGAIN:
                    raise
                d = None
            if d:
                out += d
                if out.endswith(b"\n"):
                    return out
            elif d is not None:
                return out  # end of data
            await _until(self.stack, _readable, self.s)

    def write(self, buf):
        self.out_buf += bytes(buf)

    async def drain(self):
        mv = memoryview(self.out_buf)
        off = 0
        s = self.s
        while off < len(mv):
            k = s.write(mv[off:])
            if k:
                off += k
            else:
                await _until(self.stack, _writable, s)
        self.out_buf = b""

    async def awrite(self, buf, off=0, sz=-1):
        if off or sz != -1:
            buf = memoryview(buf)[off:off + sz if sz >= 0 else len(buf)]
        self.write(buf)
        await self.drain()

    def close(self):
        """Close now: what write() buffered and drain() did not send yet goes
        into the TX ring as far as it fits, then the FIN follows the data."""
        if self.out_buf:
            try:
                self.s.write(self.out_buf)
            except OSError:
                pass
            self.out_buf = b""
        self.s.close()

    async def wait_closed(self):
        pass

    async def aclose(self):
        await self.drain()
        self.close()
        await self.wait_closed()


def _wrap(sock, extra=None):
    if _NATIVE:
        sock.setblocking(False)
        return asyncio.Stream(sock, extra or {})
    return Stream(sock, extra)


async def open_connection(host, port, stack=None):
    """(reader, writer) for a TCP connection to host:port (one object twice, as
    MicroPython's asyncio does)."""
    st = stack or get_stack()
    ai = getaddrinfo(host, port, 0, SOCK_STREAM, stack=st)[0]
    s = _socket(AF_INET, SOCK_STREAM, 0, stack=st)
    s.setblocking(False)
    try:
        s.connect(ai[-1])
    except OSError as e:
        if e.args[0] != EINPROGRESS:
            s.close()
            raise
    c = s._conn
    await _until(st, _tcp_settled, c)
    if not c.is_established():
        s.close()
        raise OSError(c.error or 111, "connect to %s:%d failed" % (ai[-1][0], port))
    w = _wrap(s, {"peername": ai[-1]})
    return w, w


class Server:
    """What start_server returns: ``close()``, ``await wait_closed()``."""

    def __init__(self, sock, cb, stack):
        self.s = sock
        self.cb = cb
        self.stack = stack
        self.task = None
        self.served = 0

    async def _serve(self):
        s = self.s
        try:
            while True:
                await _until(self.stack, _closed_or_acceptable, s)
                if s._closed:
                    return
                try:
                    s2, addr = s.accept()
                except OSError as e:
                    if e.args[0] == EAGAIN:
                        continue
                    raise
                self.served += 1
                w = _wrap(s2, {"peername": addr})
                asyncio.create_task(self.cb(w, w))
        finally:
            s.close()

    def close(self):
        if self.task is not None:
            self.task.cancel()
            self.task = None
        self.s.close()

    async def wait_closed(self):
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self.wait_closed()


async def start_server(cb, host, port, backlog=5, stack=None):
    """Listen on port and run ``cb(reader, writer)`` as a task per connection."""
    st = stack or get_stack()
    s = _socket(AF_INET, SOCK_STREAM, 0, stack=st)
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(backlog)
    s.setblocking(False)
    srv = Server(s, cb, st)
    srv.task = asyncio.create_task(srv._serve())
    return srv
