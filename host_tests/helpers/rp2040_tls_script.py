# Runs ON the emulated W5500-EVB-Pico (MicroPython W5500_EVB_PICO image, which has
# ssl; tools/vboard/vboard.py --firmware W5500_EVB_PICO --run), with tcpip from main.py up.
# host_tests/test_rp2040_tls.py replaces the five settings below and checks the
# one JSON line this prints.  nginx serves https://files.test (192.0.2.1:443)
# with a certificate of a throwaway CA; CA_DER verifies it, OTHER_DER does not.
import binascii, gc, hashlib, json, machine, time
import ssl
import tcpip
import tcpip.socket as socket

CA_DER = b""
OTHER_DER = b""
BLOB_SHA = ""
MAX_SESSIONS = 4
NOW = (2000, 1, 1, 5, 0, 0, 0, 0)
net = globals()["net"]  # main.py's interface, in the REPL's globals
TIMEOUT_S = 10
# mbedTLS checks the certificate's validity dates: a board needs the time
# (ntptime, an RTC); here it is the host's.
machine.RTC().datetime(NOW)
SERVER = ("192.0.2.1", 443)
out = {}


def free():
    gc.collect()
    return gc.mem_free()


def connect(port=443):
    for attempt in range(60):  # nginx starts next to the board: retry until it listens
        s = socket.socket()
        s.settimeout(TIMEOUT_S)
        try:
            s.connect((SERVER[0], port))
            return s
        except OSError:
            s.close()
            time.sleep(1)
    raise OSError("no server on %d" % port)


def context(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca)
    return ctx


BUF = bytearray(512)


def get(stream, path):
    """HTTP/1.1 GET on an open stream (kept alive), the body hashed as it
    arrives in 512-byte pieces (a board has no room for it whole):
    (status line, body length, SHA-256 hex, body when short)."""
    stream.write(b"GET " + path + b" HTTP/1.1\r\nHost: files.test\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        b = stream.read(1)
        if not b:
            raise OSError("connection closed in the headers")
        head += b
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    h = hashlib.sha256()
    got = 0
    first = b""
    mv = memoryview(BUF)
    while got < length:
        n = stream.readinto(mv[:min(len(BUF), length - got)])
        if not n:
            raise OSError("connection closed after %d of %d bytes" % (got, length))
        h.update(mv[:n])
        if got < 64:
            first += bytes(mv[:min(n, 64 - got)])
        got += n
    return head.split(b"\r\n")[0].decode(), got, binascii.hexlify(h.digest()).decode(), first


def rows():
    return [list(r) for r in tcpip.netstat(quiet=True)]


def settle():
    """netstat once the sockets we closed are done closing (our FIN waits
    for its ACK a moment; TIME-WAIT then lasts 2 x MSL): at most 3 s."""
    t = time.ticks_ms()
    while [r for r in rows() if r[3] != "TIME-WAIT"] and time.ticks_diff(time.ticks_ms(), t) < 3000:
        time.sleep_ms(20)
    return rows()


# The rp2 build has no sys.exc_info, so the stack cannot keep what its
# internal_errors counter caught: catch it here, around the stack's own guards.
caught = []
_st = net.stack


def _guard(f):
    def g(*a):
        try:
            return f(*a)
        except Exception as e:
            caught.append(e)
            raise
    return g


_st.iface.input = _guard(_st.iface.input)
for _t in _st.transports:
    _t.timers = _guard(_t.timers)
rows()  # loads tcpip.repl now, so its code is not counted below
out["free_before"] = free()

# A CA that did not sign the server's certificate: a clear error within the
# socket's timeout, and once the caller closes the socket its control block is
# freed (MicroPython's own wrap leaves closing to the caller).
s = connect()
t = time.ticks_ms()
try:
    context(OTHER_DER).wrap_socket(s, server_hostname="files.test")
    out["wrong_ca"] = "accepted"
except Exception as e:
    out["wrong_ca"] = "%s: %s" % (type(e).__name__, str(e).strip())
out["wrong_ca_ms"] = time.ticks_diff(time.ticks_ms(), t)
s.close()
out["rows_after_wrong_ca"] = settle()
out["free_after_wrong_ca"] = free()

# Verified sessions, one after another, each kept open: how many fit next to
# the stack.  The first one fetches a page and a 16 KB file (SHA-256 checked).
ctx = context(CA_DER)
sessions = []
out["handshake_ms"] = []
out["free_open"] = []
out["stopped_by"] = None
for i in range(MAX_SESSIONS):
    s = None
    try:
        s = connect()
        t = time.ticks_ms()
        w = ctx.wrap_socket(s, server_hostname="files.test")
        out["handshake_ms"].append(time.ticks_diff(time.ticks_ms(), t))
    except (MemoryError, OSError) as e:
        out["stopped_by"] = "%s: %s" % (type(e).__name__, e)
        if s is not None:
            s.close()
        break
    sessions.append(w)
    out["free_open"].append(free())
    if i == 0:
        status, n, sha, first = get(w, b"/small.txt")
        out["small"] = [status, first.decode()]
        t = time.ticks_ms()
        status, n, sha, first = get(w, b"/blob.bin")
        out["blob_ms"] = time.ticks_diff(time.ticks_ms(), t)
        out["blob"] = [status, n, sha == BLOB_SHA]
        out["free_after_get"] = free()
out["rows_open"] = len(rows())
for w in sessions:
    w.close()
sessions = w = s = None
out["free_after"] = free()
# One more session, opened and closed: the heap comes back to the same figure
# (what the first session left behind is mbedTLS's one-time state).
s = connect()
w = ctx.wrap_socket(s, server_hostname="files.test")
out["again"] = get(w, b"/small.txt")[:2]
w.close()
w = s = None
out["free_again"] = free()
# Plain HTTP on the same server for comparison (port 80, same 16 KB file).
s = connect(80)
t = time.ticks_ms()
status, n, sha, first = get(s, b"/blob.bin")
out["http_blob_ms"] = time.ticks_diff(time.ticks_ms(), t)
out["http_blob"] = [status, n, sha == BLOB_SHA]
s.close()
out["rows_end"] = settle()
if caught:  # what the stack's internal_errors counter counted
    import io, sys
    f = io.StringIO()
    sys.print_exception(caught[0], f)
    out["stack_errors"] = [f.getvalue()] + [repr(e) for e in caught[1:]]
out["background"] = [net.background.polls, net.background.deferred]
print("TLSRESULT " + json.dumps(out))
