"""TLS on tcpip sockets with the runtime's own TLS engine (no cryptography here).

MicroPython's ``ssl``/``tls`` wraps a tcpip socket directly (the socket is a
stream), after ``connect``::

    import tls
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)        # verifies by default
    ctx.load_verify_locations(cadata=ca_der)
    s = tcpip.socket(); s.connect(addr)
    s = ctx.wrap_socket(s, server_hostname="files.test")

This module gives the shape CircuitPython libraries use -- wrap first, then
``connect`` (adafruit_connection_manager, adafruit_minimqtt) -- on CPython and
on the MicroPython unix port::

    from tcpip import tls
    ctx = tls.create_default_context(cadata=ca_pem)  # or cafile=...
    requests = adafruit_requests.Session(tcpip.SocketPool(net), ctx)
    mqtt = MQTT.MQTT(broker=..., socket_pool=pool, ssl_context=ctx, is_ssl=True)

On CPython ``SSLContext`` is ``ssl.SSLContext`` whose ``wrap_socket`` also
takes a tcpip socket: the records go through ``ssl.SSLObject`` and two
``MemoryBIO``; the socket's timeout bounds every read, and the whole
handshake.  A handshake that fails (certificate, host name, timeout, the
peer gone) raises ``ssl.SSLError`` / ``OSError`` and closes the TCP
connection, so its control block is freed.  A peer that closes in the middle
of a record raises ``ssl.SSLEOFError``, never a short read.
On a CircuitPython board the runtime's ``ssl.create_default_context()`` does
all this itself.  Host runtimes only: not part of a board's file set.
"""
import sys

from tcpip.compat import ticks_ms, ticks_diff, EAGAIN, ETIMEDOUT

_CPYTHON = sys.implementation.name == "cpython"

if _CPYTHON:
    import ssl as _ssl
    from ssl import (PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, CERT_NONE,  # noqa: F401
                     CERT_OPTIONAL, CERT_REQUIRED, SSLError, SSLEOFError,
                     SSLCertVerificationError, Purpose)
    _Base = _ssl.SSLContext
else:
    import ssl as _ssl  # MicroPython: micropython-lib's ssl over the built-in tls
    PROTOCOL_TLS_CLIENT = _ssl.PROTOCOL_TLS_CLIENT
    PROTOCOL_TLS_SERVER = _ssl.PROTOCOL_TLS_SERVER
    CERT_NONE = _ssl.CERT_NONE
    CERT_REQUIRED = _ssl.CERT_REQUIRED
    _Base = _ssl.SSLContext

# Raw bytes read from TCP per call; a TLS record is at most 16 KB + 256.
_RAW_BYTES = 8192
# What a record adds to its plaintext at most: header, explicit IV or nonce,
# MAC or tag, padding (RFC 5246 6.2.3, RFC 8446 5.2).
_RECORD_OVERHEAD = 96


_CUT = "the peer closed the connection in the middle of a TLS record"


class _Records:
    """Follows the record framing of the bytes read from TCP (RFC 8446 5.1,
    RFC 5246 6.2.1: a 5-byte header whose last two bytes are the length), so
    that a close at a record boundary can be told from one inside a record."""

    def __init__(self):
        self.hdr_seen = 0
        self.len_hi = 0
        self.left = 0

    def cut(self):
        return self.hdr_seen or self.left

    def track(self, mv, n):
        i = 0
        while i < n:
            left = self.left
            if left:
                step = n - i if n - i < left else left
                self.left = left - step
                i += step
                continue
            h = self.hdr_seen
            if h == 3:
                self.len_hi = mv[i]
            if h == 4:
                self.left = (self.len_hi << 8) | mv[i]
                self.hdr_seen = 0
            else:
                self.hdr_seen = h + 1
            i += 1


def _is_tcpip(sock):
    return hasattr(sock, "_conn") and hasattr(sock, "stack")


class SSLContext(_Base):
    """The runtime's SSLContext; ``wrap_socket`` also accepts a tcpip socket
    that is not connected yet (TLS starts when ``connect`` returns).  A client
    context verifies the server's certificate by default, as CPython's does."""

    if not _CPYTHON:
        def __init__(self, protocol, *args):
            super().__init__(protocol, *args)
            if protocol == PROTOCOL_TLS_CLIENT:
                self.verify_mode = CERT_REQUIRED

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True,
                    suppress_ragged_eofs=True, server_hostname=None, session=None):
        if not _is_tcpip(sock):
            if _CPYTHON:
                return super().wrap_socket(sock, server_side, do_handshake_on_connect,
                                           suppress_ragged_eofs, server_hostname, session)
            return super().wrap_socket(sock, server_side=server_side,
                                       do_handshake_on_connect=do_handshake_on_connect,
                                       server_hostname=server_hostname)
        if _CPYTHON:
            return SSLSocket(self, sock, server_side, server_hostname, do_handshake_on_connect,
                             suppress_ragged_eofs)
        if sock._conn is None and not server_side:
            return _ConnectFirst(self, sock, server_hostname)
        return _mp_wrap(self, sock, server_side, server_hostname, do_handshake_on_connect)


def create_default_context(purpose=None, cafile=None, capath=None, cadata=None):
    """A client context that verifies the server's certificate and host name.
    CA certificates: cafile (path) or cadata (PEM text or DER bytes); without
    them, CPython loads the system's CAs (MicroPython has none: pass cadata)."""
    server = _CPYTHON and purpose == Purpose.CLIENT_AUTH
    ctx = SSLContext(PROTOCOL_TLS_SERVER if server else PROTOCOL_TLS_CLIENT)
    if not _CPYTHON:
        if cafile is not None:
            with open(cafile, "rb") as f:
                cadata = f.read()
        if cadata is not None:
            ctx.load_verify_locations(cadata=_der(cadata))
        return ctx
    if cafile or capath or cadata:
        ctx.load_verify_locations(cafile, capath, cadata)
    elif not server:
        ctx.load_default_certs(Purpose.SERVER_AUTH)
    return ctx


def server_context(certfile, keyfile):
    """A server context with the certificate and key in these files (PEM or DER)."""
    ctx = SSLContext(PROTOCOL_TLS_SERVER)
    if _CPYTHON:
        ctx.load_cert_chain(certfile, keyfile)
        return ctx
    with open(certfile, "rb") as f:
        cert = _der(f.read())
    with open(keyfile, "rb") as f:
        key = _der(f.read())
    ctx.load_cert_chain(cert, key)
    return ctx


# ---------------------------------------------------------------- MicroPython

def _der(data):
    """The first PEM block (certificate or key) as DER: MicroPython's mbedTLS
    takes DER, or PEM with a trailing NUL.  DER bytes as they are."""
    if isinstance(data, str):
        data = data.encode()
    begin = data.find(b"-----BEGIN ")
    if begin < 0:
        return data
    import binascii
    start = data.find(b"\n", begin) + 1
    body = data[start:data.find(b"-----END ", start)]
    return binascii.a2b_base64(body.replace(b"\r", b"").replace(b"\n", b""))


def _mp_wrap(ctx, sock, server_side, server_hostname, do_handshake):
    """The runtime's wrap, over a _RecordGuard; a handshake that fails closes
    the TCP connection."""
    try:
        return _Base.wrap_socket(ctx, _RecordGuard(sock), server_side=server_side,
                                 do_handshake_on_connect=do_handshake,
                                 server_hostname=server_hostname)
    except Exception:
        sock.close()
        raise


if not _CPYTHON:
    import io as _io

    class _RecordGuard(_io.IOBase):
        """The stream MicroPython's TLS engine reads: the tcpip socket, except
        that the end of data inside a record raises OSError(ECONNRESET)
        instead of reaching the application as a short, silent end of stream
        (mbedTLS on MicroPython reports that end as a plain end of stream)."""

        def __init__(self, sock):
            self.sock = sock
            self.records = _Records()

        def readinto(self, buf):
            n = self.sock.readinto(buf)
            if n:
                self.records.track(buf, n)
            elif n == 0 and self.records.cut():
                raise OSError(_ECONNRESET, _CUT)
            return n

        def write(self, buf):
            return self.sock.write(buf)

        def ioctl(self, req, arg):
            return self.sock.ioctl(req, arg)

        def setblocking(self, flag):
            self.sock.setblocking(flag)

        def settimeout(self, value):
            self.sock.settimeout(value)

        def close(self):
            self.sock.close()

    _ECONNRESET = 104


class _ConnectFirst:
    """MicroPython: a tcpip socket wrapped before connect (the CircuitPython
    order); ``connect`` connects, then hands the socket to the runtime's TLS."""

    def __init__(self, ctx, sock, server_hostname):
        self._ctx = ctx
        self._raw = sock
        self._tls = None
        self._host = server_hostname

    def connect(self, address):
        self._raw.connect(address)
        host = self._host if self._host is not None else address[0]
        self._tls = _mp_wrap(self._ctx, self._raw, False, host, True)

    def settimeout(self, value):
        self._raw.settimeout(value)

    def setsockopt(self, *args):
        self._raw.setsockopt(*args)

    def _need(self):
        if self._tls is None:
            raise OSError(107, "TLS socket is not connected")
        return self._tls

    def send(self, data):
        return self._need().write(data)

    def sendall(self, data):
        self._need().write(data)

    def write(self, data):
        return self._need().write(data)

    def recv_into(self, buf, nbytes=0):
        n = self._need().readinto(memoryview(buf)[:nbytes] if nbytes else buf)
        if n is None:
            raise OSError(EAGAIN, "recv would block")
        return n

    def recv(self, n):
        d = self._need().read(n)
        if d is None:
            raise OSError(EAGAIN, "recv would block")
        return d

    def read(self, n=-1):
        return self._need().read(n)

    def readinto(self, buf):
        return self._need().readinto(buf)

    def readline(self):
        return self._need().readline()

    def close(self):
        try:
            if self._tls is not None:
                self._tls.close()
        finally:
            self._raw.close()  # after a TLS error the runtime may not pass the close on


# ---------------------------------------------------------------- CPython

class SSLSocket:
    """A tcpip socket with TLS (CPython): ``ssl.SSLObject`` over two
    ``MemoryBIO``; the rest (timeouts, options, addresses) is the socket's."""

    def __init__(self, context, sock, server_side=False, server_hostname=None,
                 do_handshake_on_connect=True, suppress_ragged_eofs=True):
        self.context = context
        self._sock = sock
        self._in = _ssl.MemoryBIO()
        self._out = _ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._in, self._out, server_side, server_hostname)
        self._raw = bytearray(_RAW_BYTES)
        self._pending = b""  # encrypted bytes the socket did not take yet (non-blocking)
        self._hs_on_connect = do_handshake_on_connect
        self._ragged_ok = suppress_ragged_eofs
        self._shaken = False
        self._eof = False
        self._records = _Records()
        self.server_side = server_side
        self.server_hostname = server_hostname
        if sock._conn is not None and do_handshake_on_connect:
            self.do_handshake()

    def __getattr__(self, name):  # settimeout, setsockopt, getpeername, ...
        return getattr(self._sock, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self, address):
        self._sock.connect(address)
        if self._hs_on_connect:
            self.do_handshake()

    def do_handshake(self):
        """Complete the handshake within the socket's timeout; on failure the
        TCP connection is closed and the error raised."""
        sock = self._sock
        t_ms = sock._timeout_ms
        start = ticks_ms()
        try:
            while True:
                try:
                    self._obj.do_handshake()
                    self._flush(True)
                    break
                except _ssl.SSLWantReadError:
                    self._flush(True)
                if t_ms:
                    left = t_ms - ticks_diff(ticks_ms(), start)
                    if left <= 0:
                        raise _timeout("TLS handshake timed out")
                    sock._timeout_ms = left
                self._feed()
        except OSError as e:
            if not (t_ms == 0 and e.args and e.args[0] == EAGAIN):
                sock._timeout_ms = t_ms
                sock.close()
            raise
        finally:
            sock._timeout_ms = t_ms
        self._shaken = True

    def _feed(self):
        """Move what TCP has into the TLS engine (waits per the socket's timeout)."""
        if self._eof:
            raise SSLEOFError(8, "the peer closed the connection")
        n = self._sock.recv_into(self._raw)
        if n == 0:
            self._eof = True
            self._in.write_eof()
            if self._records.cut():
                raise SSLEOFError(8, _CUT)
            return
        mv = memoryview(self._raw)[:n]
        self._records.track(mv, n)
        self._in.write(mv)

    def _flush(self, block):
        data = self._pending + self._out.read() if self._pending else self._out.read()
        self._pending = b""
        if not data:
            return
        if block or self._sock._timeout_ms != 0:
            self._sock.sendall(data)
            return
        mv = memoryview(data)
        done = 0
        try:
            while done < len(mv):
                done += self._sock.send(mv[done:])
        except OSError as e:
            if e.args[0] != EAGAIN:
                raise
        self._pending = bytes(mv[done:])

    def _need_handshake(self):
        if not self._shaken:
            if self._sock._conn is None:
                raise OSError(107, "TLS socket is not connected")
            self.do_handshake()

    def recv_into(self, buf, nbytes=0):
        """Decrypted bytes into buf: > 0, or 0 at the end of the stream."""
        self._need_handshake()
        n = nbytes if 0 < nbytes < len(buf) else len(buf)
        if n == 0:
            return 0
        while True:
            try:
                return self._obj.read(n, buf)
            except _ssl.SSLWantReadError:
                pass
            except _ssl.SSLZeroReturnError:
                return 0  # close_notify
            except _ssl.SSLEOFError:
                if self._ragged_ok and not self._records.cut():
                    return 0
                raise
            if self._pending or self._out.pending:
                self._flush(False)
            if self._eof:
                if self._ragged_ok:
                    return 0
                raise SSLEOFError(8, "the peer closed the connection without close_notify")
            self._feed()

    def recv(self, bufsize):
        buf = bytearray(bufsize)
        n = self.recv_into(buf)
        return bytes(buf[:n])

    # Stream methods (MicroPython's names and manners, as on tcpip sockets):
    # a non-blocking socket returns None where recv/send raise EAGAIN.

    def read(self, n=-1):
        """Up to n bytes (all until the end when n < 0); None when none are there
        yet on a non-blocking socket."""
        if n is None or n < 0:
            out = b""
            while True:
                d = _or_none(self.recv, _RAW_BYTES)
                if d is None:
                    return out if out else None
                if not d:
                    return out
                out += d
        return _or_none(self.recv, n)

    def readinto(self, buf, nbytes=0):
        return _or_none(self.recv_into, buf, nbytes)

    def send(self, data):
        """Encrypt and send data (at most 16 KB per call); returns the count."""
        self._need_handshake()
        if self._pending:
            self._flush(False)
            if self._pending:
                raise OSError(EAGAIN, "send would block")
        mv = memoryview(data)
        limit = 16384
        if self._sock._timeout_ms == 0:
            # non-blocking: take only what TCP can send now once encrypted, so
            # that bytes reported as sent are in TCP, not left behind here
            c = self._sock._conn
            room = (c.writable() if c is not None else 0) - _RECORD_OVERHEAD
            if room <= 0 and len(mv):
                raise OSError(EAGAIN, "send would block")
            if room < limit:
                limit = room
        if len(mv) > limit:
            mv = mv[:limit]
        n = self._obj.write(mv)
        self._flush(False)
        return n

    def sendall(self, data):
        mv = memoryview(data)
        done = self.send(mv)  # an empty write still pushes out what is pending
        while done < len(mv):
            done += self.send(mv[done:])

    def write(self, data):
        """All of data on a blocking socket; non-blocking: what was taken, or None."""
        if self._sock._timeout_ms != 0:
            self.sendall(data)
            return len(data)
        return _or_none(self.send, data)

    def readline(self):
        """Bytes up to and including b"\\n" (or to the end); blocking sockets."""
        out = b""
        one = bytearray(1)
        while not out.endswith(b"\n"):
            if not self.recv_into(one):
                break
            out += one
        return out

    def pending(self):
        return self._obj.pending()

    def getpeercert(self, binary_form=False):
        return self._obj.getpeercert(binary_form)

    def cipher(self):
        return self._obj.cipher()

    def version(self):
        return self._obj.version()

    def unwrap(self):
        """Send close_notify and hand back the plain tcpip socket."""
        try:
            self._obj.unwrap()
        except (_ssl.SSLWantReadError, _ssl.SSLError):
            pass
        try:
            self._flush(False)
        except OSError:
            pass
        return self._sock

    def close(self):
        """close_notify when the connection is still good, then close TCP."""
        sock = self._sock
        if self._shaken and not sock._closed and sock._conn is not None and not sock._conn.error:
            self.unwrap()
            if self._pending:  # what TCP could not take yet: a last, short wait
                sock._timeout_ms = 1000
                try:
                    self._flush(True)
                except OSError:
                    pass
        sock.close()


def _or_none(fn, *args):
    try:
        return fn(*args)
    except OSError as e:
        if e.args and e.args[0] == EAGAIN and not isinstance(e, SSLError):
            return None
        raise


def _timeout(text):
    from tcpip.socket import timeout
    return timeout(ETIMEDOUT, text)
