"""TCP (RFC 9293): a fixed pool of control blocks, the state machine, timers.

Everything is allocated when the Stack is built: ``cfg.tcp_sockets`` control
blocks (``Connection``), each with an RX and a TX ``Ring``, and
``cfg.tcp_listeners`` listen slots.  Nothing grows afterwards::

    tcp = stack.tcp
    c = tcp.open("192.0.2.1", 7)          # active open (SYN goes out now)
    c.send(b"hello")                      # -> bytes accepted into the TX ring
    n = c.recv_into(buf)                  # >0 bytes, 0 end of data, -1 nothing yet
    c.close()

    l = tcp.listen(7, backlog=2)          # passive open
    c = tcp.accept(l)                     # an established connection or None

Connection API (what the socket layer uses; errors are OSError(errno, text)):

    tcp.open(ip, port, local_port=0) -> Connection   ENOMEM (pool full), EADDRINUSE,
                                                       EHOSTUNREACH (no route), EINVAL
    tcp.listen(port, backlog=None) -> Listener       EADDRINUSE, ENOMEM (no listen slot)
    tcp.accept(listener) -> Connection or None       oldest established first
    tcp.pending(listener) / tcp.unlisten(listener) / tcp.free_blocks() / tcp.netstat()
    c.send(buf, off=0, n=-1) -> bytes accepted       0 when the TX ring is full; EPIPE
                                                       after shutdown; the error once failed
    c.recv_into(buf, off=0, n=-1) -> n | 0 | -1      0 = end of data, -1 = nothing yet;
                                                       ECONNRESET / ETIMEDOUT / ECONNREFUSED
    c.shutdown()  c.close()  c.abort()
    c.state / c.state_name() / c.error / c.is_established() / c.readable() /
    c.writable() / c.unsent() / c.at_eof() / c.local() / c.remote()
    c.set_nodelay(on)  c.set_keepalive(on)             TCP_NODELAY, SO_KEEPALIVE

Sender: several segments in flight within min(peer window, cwnd), Nagle
(off with ``c.nodelay = True``), sender SWS avoidance, go-back-N after a
retransmission timeout, NewReno fast retransmit/recovery, persist probes.
Receiver: window = free RX ring space with receiver SWS avoidance, out-of-order
segments kept in the ring (``Ring.write_at``), delayed ACKs.

Choices (documented here, decided by the RFCs where they allow):
- SYN flood defence (RFC 4987 3.6, SYN cookies, as Linux does it): a SYN for
  a listener whose backlog holds half-open connections, or that finds no free
  control block, is answered with a stateless SYN,ACK whose ISN is a cookie
  (keyed SHA-256 of the addresses, ports, the client's ISN, a 64 s time slot
  and an MSS index; ``tcp_syncookies_sent``).  The client's ACK that returns
  a valid cookie (two slots, up to ~128 s) becomes an established connection
  waiting for accept (``tcp_syncookies_ok``), taking a free block, else the
  oldest TIME-WAIT block nobody holds, else the oldest half-open block of any
  listener (``tcp_syn_evictions``): a verified client beats an unverified
  SYN.  Bursts of legitimate clients larger than the backlog thus connect at
  once instead of failing, and a flood of spoofed SYNs fills at most the
  backlog.  A bad or stale cookie gets a RST like any stray ACK.  When the
  backlog is full of established, not yet accepted connections, SYNs and
  cookie ACKs are dropped silently (``drop_tcp_backlog``, as Linux does) and
  the client's retransmission tries again.  A cookie connection knows only
  the MSS (from a table of four) and the window (options beyond MSS are not
  offered anyway).  An active open with no block left raises OSError(ENOMEM).
- Data in a SYN is not accepted (the peer resends it after the handshake).
- No window scaling, SACK or timestamps are offered (rings are small).
- ``close()`` with unread data, or data arriving after ``close()``, resets the
  connection (RFC 9293 3.10.4, RFC 2525 2.17).
- A closed connection left in FIN-WAIT-2 is freed after ``tcp_fin_wait2_ms``.
- A Connection object is recycled once closed and freed: do not use it after
  ``close()`` / ``abort()``.
"""
from struct import pack_into
from tcpip.compat import (const, ticks_add, ticks_diff, random32, urandom,
                          ENOMEM, EADDRINUSE, ENOTCONN, EPIPE, ECONNREFUSED, ECONNRESET,
                          ETIMEDOUT, EINVAL, EHOSTUNREACH)
from tcpip.ring import Ring
from tcpip.iface import IP_PAYLOAD_OFF
from tcpip.wire import tcp as wire
from tcpip.wire.tcp import FIN, SYN, RST, PSH, ACK
from tcpip.wire.ipv4 import aton, ntoa

try:
    from hashlib import sha256 as _sha256
except ImportError:  # a port without hashlib: keyed FNV-1a (weaker, still unguessable)
    _sha256 = None

# States (RFC 9293 3.3.2)
CLOSED = const(0)
LISTEN = const(1)
SYN_SENT = const(2)
SYN_RECEIVED = const(3)
ESTABLISHED = const(4)
FIN_WAIT_1 = const(5)
FIN_WAIT_2 = const(6)
CLOSE_WAIT = const(7)
CLOSING = const(8)
LAST_ACK = const(9)
TIME_WAIT = const(10)

STATE_NAMES = ("CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
               "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT")

# What the one per-connection timer is doing
_T_OFF = const(0)
_T_RTX = const(1)  # retransmission (SYN, data, FIN)
_T_PERSIST = const(2)  # zero-window probe / SWS override
_T_TIME_WAIT = const(3)  # 2 * MSL
_T_FIN_WAIT_2 = const(4)  # orphaned FIN-WAIT-2 give-up

_MASK = const(0xFFFFFFFF)
_EPHEMERAL_LO = const(49152)
_DEFAULT_MSS = const(536)  # RFC 9293 3.7.1: when the peer sends no MSS option
_FAR_MS = const(1000000)
_COOKIE_MSS = (536, 1220, 1440, 1460)  # SYN cookie MSS table (2-bit index)

STAT_KEYS = (
    "tcp_active_opens", "tcp_passive_opens", "tcp_established", "tcp_resets_rx",
    "tcp_rst_tx", "tcp_challenge_acks", "tcp_rto_timeouts", "tcp_retransmits",
    "tcp_fast_retransmits", "tcp_persist_probes", "tcp_keepalive_probes",
    "tcp_timeouts", "tcp_ooo_segments", "tcp_time_wait_reused", "tcp_segs_out", "tcp_syn_evictions",
    "tcp_syncookies_sent", "tcp_syncookies_ok",
    "drop_tcp_short", "drop_tcp_hlen", "drop_tcp_checksum", "drop_tcp_options",
    "drop_tcp_no_socket", "drop_tcp_backlog", "drop_tcp_no_block", "drop_tcp_broadcast",
)


def _sdiff(a, b):
    """a - b in sequence space (RFC 9293 3.4: modulo 2**32), as a signed int."""
    d = (a - b) & _MASK
    if d & 0x80000000:
        return d - 0x100000000
    return d


class Listener:
    """A passive-open slot: the local port and how many unaccepted connections it may hold."""

    def __init__(self):
        self.port = 0
        self.backlog = 0
        self.in_use = False


class Connection:
    """One TCP control block with its RX and TX rings (see the module docstring)."""

    def __init__(self, tcp, index, rx_bytes, tx_bytes, ooo_ranges):
        self.tcp = tcp
        self.index = index
        self.rx = Ring(rx_bytes, ooo_ranges)
        self.tx = Ring(tx_bytes, 0)
        self.in_use = False
        self._reset_fields()

    def _reset_fields(self):
        self.state = CLOSED
        self.user = False  # the application holds this block (open/accept .. close)
        self.listener = None  # the Listener of a not yet accepted passive connection
        self.born = 0  # allocation order (accept oldest first)
        self.error = 0  # errno once the connection failed
        self.lport = 0
        self.rip = 0
        self.rport = 0
        # send sequence space (RFC 9293 3.3.1)
        self.iss = 0
        self.snd_una = 0
        self.snd_nxt = 0
        self.snd_max = 0  # highest sequence number sent + 1 (go-back-N rewinds snd_nxt)
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.max_sndwnd = 0
        self.snd_mss = _DEFAULT_MSS
        self.snd_sml = 0  # end of the last small segment sent (Nagle, Minshall)
        self.fin_queued = False  # write side shut down: FIN after the TX ring data
        # receive sequence space
        self.irs = 0
        self.rcv_nxt = 0
        self.rcv_adv = 0  # right edge of the window last advertised
        self.fin_rcvd = False
        # RTT / RTO (RFC 6298), in ms; srtt scaled by 8, rttvar by 4
        self.srtt8 = 0
        self.rttvar4 = 0
        self.rto_ms = self.tcp.cfg.tcp_rto_initial_ms
        self.rtt_on = False
        self.rtt_seq = 0
        self.rtt_ms = 0
        self.retries = 0
        self.tmr = _T_OFF
        self.tmr_at = 0
        # delayed ACK (RFC 1122 4.2.3.2, RFC 9293 3.8.6.3)
        self.ack_now = False
        self.delack_on = False
        self.delack_at = 0
        self.ack_segs = 0
        # congestion control (RFC 5681, RFC 6582)
        self.cwnd = 0
        self.ssthresh = 65535
        self.dupacks = 0
        self.recover = 0
        self.in_recovery = False
        # options
        self.nodelay = False
        self.keepalive = False
        self.ka_at = 0
        self.ka_probes = 0
        self.probes = 0  # window probes the peer did not answer

    # -- queries

    def state_name(self):
        return STATE_NAMES[self.state]

    def is_established(self):
        """True once the handshake completed and until the connection is gone."""
        s = self.state
        return s >= ESTABLISHED

    def is_synchronized(self):
        return self.state >= SYN_RECEIVED

    def readable(self):
        """Bytes waiting in the RX ring."""
        return self.rx.count

    def writable(self):
        """Bytes the TX ring can accept now (0 after shutdown or when failed)."""
        if self.fin_queued or self.error or self.state == CLOSED:
            return 0
        return self.tx.size - self.tx.count

    def unsent(self):
        """Bytes in the TX ring not yet acknowledged by the peer."""
        return self.tx.count

    def at_eof(self):
        """True when the peer closed its side and every byte has been read."""
        return self.fin_rcvd and self.rx.count == 0

    def local(self):
        return (ntoa(self.tcp.iface.ip), self.lport)

    def remote(self):
        return (ntoa(self.rip), self.rport)

    def __repr__(self):
        return "<Connection %d %s %d -> %s:%d>" % (self.index, STATE_NAMES[self.state],
                                                   self.lport, ntoa(self.rip), self.rport)

    # -- options (the socket layer's TCP_NODELAY and SO_KEEPALIVE)

    def set_nodelay(self, on):
        """TCP_NODELAY: True turns Nagle's algorithm off (small writes go at once)."""
        self.nodelay = bool(on)
        if self.nodelay and self.state >= ESTABLISHED:
            self.tcp._output(self, self.tcp.now_ms)

    def set_keepalive(self, on):
        """SO_KEEPALIVE: probe an idle connection (cfg.tcp_keepalive_*; off by default)."""
        self.keepalive = bool(on)
        self.ka_probes = 0
        self.ka_at = ticks_add(self.tcp.now_ms, self.tcp.cfg.tcp_keepalive_idle_ms)

    # -- data

    def _check_usable(self):
        if self.error:
            raise OSError(self.error, "connection failed: %s" % _errname(self.error))
        if not self.in_use or not self.user:
            raise OSError(ENOTCONN, "connection is closed")

    def send(self, data, off=0, n=-1):
        """Queue bytes from data[off:off+n] into the TX ring; returns bytes accepted
        (0 when the ring is full).  Segments go out at once when the window allows."""
        self._check_usable()
        if self.fin_queued:
            raise OSError(EPIPE, "send after shutdown of the write side")
        if self.state == CLOSED or self.state == LISTEN:
            raise OSError(ENOTCONN, "not connected")
        if n < 0:
            n = len(data) - off
        k = self.tx.write(data, off, n)
        if k and self.state >= ESTABLISHED:
            self.tcp._output(self, self.tcp.now_ms)
        return k

    def recv_into(self, buf, off=0, n=-1):
        """Move received bytes into buf[off:]; returns the count, 0 at end of data
        (peer sent FIN and everything was read), -1 when nothing is there yet."""
        rx = self.rx
        if n < 0:
            n = len(buf) - off
        k = rx.read_into(buf, off, n) if rx.count else 0
        if k:
            tcp = self.tcp
            # RFC 9293 3.8.6.2.2: tell the peer once the window opened by a
            # worthwhile amount (receiver SWS avoidance decides inside).
            if self.state >= ESTABLISHED and not self.fin_rcvd and tcp._window_grew(self):
                self.ack_now = True
                tcp._output(self, tcp.now_ms)
            return k
        if self.fin_rcvd:
            return 0
        if self.error:
            raise OSError(self.error, "connection failed: %s" % _errname(self.error))
        if not self.in_use or not self.user:
            raise OSError(ENOTCONN, "connection is closed")
        if self.state == CLOSED:
            return 0
        return -1

    def shutdown(self):
        """Shut the write side: a FIN follows the queued data; reading goes on."""
        self._check_usable()
        self.tcp._shutdown(self)

    def close(self):
        """Done with the connection: FIN after queued data (RST when unread data
        is left, RFC 9293 3.10.4); the block is freed after the close completes."""
        self.tcp._close(self)

    def abort(self):
        """Reset the connection now (RST to the peer) and free the block."""
        self.tcp._abort(self, True)


def _errname(e):
    if e == ECONNREFUSED:
        return "connection refused"
    if e == ECONNRESET:
        return "connection reset by peer"
    if e == ETIMEDOUT:
        return "connection timed out"
    if e == EHOSTUNREACH:
        return "host unreachable"
    return "errno %d" % e


class Tcp:
    """The TCP layer of one Stack: pool of Connections, listeners, input, timers."""

    def __init__(self, cfg, iface, stats):
        self.cfg = cfg
        self.iface = iface
        self.stats = stats
        for k in STAT_KEYS:
            stats[k] = 0
        self.mss = cfg.mtu - 40  # RFC 9293 3.7.1: MTU minus IP and TCP headers
        self.pool = [Connection(self, i, cfg.tcp_rx_bytes, cfg.tcp_tx_bytes, cfg.tcp_ooo_ranges)
                     for i in range(cfg.tcp_sockets)]
        self.listeners = [Listener() for _ in range(cfg.tcp_listeners)]
        self.seg = wire.Tcp()
        self.isn = random32  # ISN source (tests replace it to start near 2**32)
        self.now_ms = 0
        self.births = 0
        self.next_port = _EPHEMERAL_LO + (random32() % (65536 - _EPHEMERAL_LO))
        self.challenge_tokens = cfg.tcp_challenge_acks_per_s
        self.challenge_refill_ms = 0
        self.cookie_buf = bytearray(32)  # 16-byte secret key + the hashed fields
        self.cookie_buf[:16] = urandom(16)
        iface.tcp_input = self.input
        if iface.icmp_error_input is None:
            iface.icmp_error_input = self.icmp_error

    # ------------------------------------------------------------------ API

    def open(self, remote_ip, remote_port, local_port=0):
        """Active open: allocate a block and send SYN.  Returns the Connection
        (state SYN-SENT; poll until ``is_established()`` or an error)."""
        rip = aton(remote_ip)
        if not (0 < remote_port < 65536):
            raise OSError(EINVAL, "bad remote port %r" % (remote_port,))
        if not self.iface.ip or not self.iface.next_hop(rip):
            raise OSError(EHOSTUNREACH, "no route to %s (no address or gateway yet)" % ntoa(rip))
        if local_port:
            for c in self.pool:
                if c.in_use and c.lport == local_port and c.rip == rip and c.rport == remote_port:
                    raise OSError(EADDRINUSE, "connection %d -> %s:%d exists"
                                  % (local_port, ntoa(rip), remote_port))
        else:
            local_port = self._ephemeral_port()
        c = self._alloc(self.now_ms)
        if c is None:
            raise OSError(ENOMEM, "no free TCP control block (tcp_sockets=%d)" % len(self.pool))
        c.user = True
        c.lport = local_port
        c.rip = rip
        c.rport = remote_port
        self._init_send(c)
        c.state = SYN_SENT
        self.stats["tcp_active_opens"] += 1
        self._output(c, self.now_ms)
        return c

    def listen(self, port, backlog=None):
        """Passive open on a local port; returns a Listener for ``accept``."""
        if not (0 < port < 65536):
            raise OSError(EINVAL, "bad port %r" % (port,))
        for l in self.listeners:
            if l.in_use and l.port == port:
                raise OSError(EADDRINUSE, "port %d is already listening" % port)
        for l in self.listeners:
            if not l.in_use:
                l.in_use = True
                l.port = port
                l.backlog = self.cfg.tcp_backlog if backlog is None else max(1, backlog)
                return l
        raise OSError(ENOMEM, "no free listen slot (tcp_listeners=%d)" % len(self.listeners))

    def accept(self, listener):
        """The oldest established connection waiting on listener, or None."""
        best = None
        for c in self.pool:
            if c.listener is listener and c.state >= ESTABLISHED and (best is None or c.born < best.born):
                best = c
        if best is not None:
            best.listener = None
            best.user = True
        return best

    def pending(self, listener):
        """Connections (handshaking or established) waiting for accept."""
        n = 0
        for c in self.pool:
            if c.listener is listener:
                n += 1
        return n

    def unlisten(self, listener):
        """Stop listening; connections not yet accepted are reset."""
        for c in self.pool:
            if c.listener is listener:
                self._abort(c, True)
        listener.in_use = False
        listener.port = 0

    def free_blocks(self):
        """Control blocks not in use (TIME-WAIT blocks nobody holds count as used)."""
        n = 0
        for c in self.pool:
            if not c.in_use:
                n += 1
        return n

    def connections(self):
        """(local port, remote ip, remote port, state name) per block in use (REPL; allocates)."""
        return [(c.lport, ntoa(c.rip), c.rport, STATE_NAMES[c.state]) for c in self.pool if c.in_use]

    def netstat(self):
        """Print the connection table the way netstat does (the seed's socket view)."""
        me = ntoa(self.iface.ip)
        print("Proto  Local Address          Foreign Address        State")
        for l in self.listeners:
            if l.in_use:
                print("tcp    %-22s %-22s %s" % ("%s:%d" % (me, l.port), "0.0.0.0:*", "LISTEN"))
        for c in self.pool:
            if c.in_use:
                print("tcp    %-22s %-22s %s" % ("%s:%d" % (me, c.lport),
                                                 "%s:%d" % (ntoa(c.rip), c.rport), STATE_NAMES[c.state]))

    # ------------------------------------------------------------ internals

    def _ephemeral_port(self):
        for _ in range(65536 - _EPHEMERAL_LO):
            p = self.next_port
            self.next_port = p + 1 if p < 65535 else _EPHEMERAL_LO
            busy = False
            for c in self.pool:
                if c.in_use and c.lport == p:
                    busy = True
                    break
            if not busy:
                for l in self.listeners:
                    if l.in_use and l.port == p:
                        busy = True
                        break
            if not busy:
                return p
        raise OSError(EADDRINUSE, "no ephemeral port left")

    def _alloc(self, now_ms):
        victim = None
        for c in self.pool:
            if not c.in_use:
                victim = c
                break
        if victim is None:
            # lwIP: when the pool is exhausted, reuse the oldest TIME-WAIT block
            # nobody holds (its deadline is the earliest).
            for c in self.pool:
                if c.state == TIME_WAIT and not c.user and c.listener is None and (
                        victim is None or ticks_diff(c.tmr_at, victim.tmr_at) < 0):
                    victim = c
            if victim is None:
                return None
            self.stats["tcp_time_wait_reused"] += 1
        victim._reset_fields()
        victim.rx.clear()
        victim.tx.clear()
        victim.in_use = True
        self.births += 1
        victim.born = self.births
        return victim

    def _free(self, c):
        c.in_use = False
        c.user = False
        c.listener = None
        c.state = CLOSED
        c.tmr = _T_OFF
        c.delack_on = False
        c.rx.clear()
        c.tx.clear()

    def _init_send(self, c):
        # RFC 9293 3.4.1 / RFC 6528: an unpredictable ISN per connection
        c.iss = self.isn() & _MASK
        c.snd_una = c.iss
        c.snd_nxt = c.iss
        c.snd_max = c.iss
        c.recover = c.iss
        c.snd_sml = c.iss
        c.snd_mss = _DEFAULT_MSS if _DEFAULT_MSS < self.mss else self.mss
        c.rto_ms = self.cfg.tcp_rto_initial_ms

    def _set_peer_mss(self, c, mss):
        # RFC 9293 3.7.1: 536 when absent; never more than our own MSS
        if mss <= 0:
            mss = _DEFAULT_MSS
        if mss > self.mss:
            mss = self.mss
        if mss < 64:
            mss = 64
        c.snd_mss = mss
        # RFC 5681 3.1 initial window, sized down for a small TX ring
        iw = 4 * mss
        if iw > 4380:
            iw = 4380 if 4380 > 2 * mss else 2 * mss
        if iw > c.tx.size:
            iw = c.tx.size if c.tx.size > mss else mss
        c.cwnd = iw
        c.ssthresh = 65535

    def _shutdown(self, c):
        if c.fin_queued:
            return
        s = c.state
        if s == SYN_SENT:
            # nothing sent yet that the peer knows of: just forget it
            c.fin_queued = True
            return
        c.fin_queued = True
        # RFC 9293 3.10.4: queue the FIN after the data; the state changes now
        if s == ESTABLISHED or s == SYN_RECEIVED:
            c.state = FIN_WAIT_1
        elif s == CLOSE_WAIT:
            c.state = LAST_ACK
        else:
            return
        self._output(c, self.now_ms)

    def _close(self, c):
        if not c.in_use:
            return
        c.user = False
        s = c.state
        if s == CLOSED or s == SYN_SENT:
            self._free(c)
            return
        if c.rx.count:
            # RFC 9293 3.10.4 / RFC 2525 2.17: unread data is lost; tell the peer
            self._abort(c, True)
            return
        if c.error:
            self._free(c)
            return
        self._shutdown(c)
        if c.state == FIN_WAIT_2:
            self._arm(c, _T_FIN_WAIT_2, self.cfg.tcp_fin_wait2_ms, self.now_ms)

    def _abort(self, c, send_rst):
        if not c.in_use:
            return
        if send_rst and c.state >= SYN_RECEIVED and c.state != TIME_WAIT:
            self._send_rst(c.rip, c.lport, c.rport, c.snd_max, 0, RST, self.now_ms)
        self._free(c)

    def _fail(self, c, err):
        """The connection is gone (RST, timeout): the holder sees err, others free it."""
        if c.user:
            c.error = err
            c.state = CLOSED
            c.tmr = _T_OFF
            c.delack_on = False
            c.tx.clear()
        else:
            self._free(c)

    def _to_closed(self, c):
        if c.user:
            c.state = CLOSED
            c.tmr = _T_OFF
            c.delack_on = False
        else:
            self._free(c)

    def _arm(self, c, kind, ms, now_ms):
        c.tmr = kind
        c.tmr_at = ticks_add(now_ms, ms)

    def _window_grew(self, c):
        free = c.rx.size - c.rx.count
        if free > 65535:
            free = 65535
        grow = _sdiff(c.rcv_nxt + free, c.rcv_adv)
        thresh = c.rx.size >> 1
        if thresh > self.mss:
            thresh = self.mss
        return grow >= thresh

    def _rcv_window(self, c):
        # RFC 9293 3.8.6.2.2: keep the advertised right edge until it can move
        # by min(half the buffer, one MSS); never shrink it (3.8.6).
        free = c.rx.size - c.rx.count
        if free > 65535:
            free = 65535
        adv = _sdiff(c.rcv_adv, c.rcv_nxt)
        if adv < 0:
            adv = 0
        if adv > free:
            adv = free
        thresh = c.rx.size >> 1
        if thresh > self.mss:
            thresh = self.mss
        if free - adv < thresh:
            return adv
        return free

    # ------------------------------------------------------------ emit

    def _emit(self, c, seq, flags, n, now_ms):
        """Build one segment of c in iface.tx and send it; n data bytes from the
        TX ring at seq (seq - snd_una bytes past its head)."""
        iface = self.iface
        tx = iface.tx
        o = IP_PAYLOAD_OFF
        hlen = 24 if flags & SYN else 20
        if flags & ACK:
            wnd = self._rcv_window(c)
            c.rcv_adv = (c.rcv_nxt + wnd) & _MASK
            c.ack_now = False
            c.delack_on = False
            c.ack_segs = 0
            ack = c.rcv_nxt
        else:
            wnd = self._rcv_window(c)
            ack = 0
        wire.emit(tx, o, c.lport, c.rport, seq, ack, flags, wnd, hlen)
        if flags & SYN:
            wire.opt_mss(tx, o + 20, self.mss)  # RFC 9293 3.7.1
        if n:
            off = _sdiff(seq, c.snd_una)
            if c.state <= SYN_RECEIVED:
                off -= 1  # the SYN is not acknowledged yet
            c.tx.peek_into(tx, o + hlen, n, off)
        wire.finish(tx, o, hlen + n, iface.ip, c.rip)
        self.stats["tcp_segs_out"] += 1
        iface.send_ip(c.rip, 6, hlen + n, now_ms)

    def _send_rst(self, dst, sport, dport, seq, ack, flags, now_ms):
        iface = self.iface
        tx = iface.tx
        o = IP_PAYLOAD_OFF
        wire.emit(tx, o, sport, dport, seq, ack, flags, 0)
        wire.finish(tx, o, 20, iface.ip, dst)
        self.stats["tcp_rst_tx"] += 1
        iface.send_ip(dst, 6, 20, now_ms)

    def _challenge_ack(self, c, now_ms):
        # RFC 5961 7: rate-limit challenge ACKs
        if ticks_diff(now_ms, self.challenge_refill_ms) >= 1000:
            self.challenge_refill_ms = now_ms
            self.challenge_tokens = self.cfg.tcp_challenge_acks_per_s
        if self.challenge_tokens <= 0:
            return
        self.challenge_tokens -= 1
        self.stats["tcp_challenge_acks"] += 1
        self._emit(c, c.snd_max, ACK, 0, now_ms)

    def _output(self, c, now_ms, force=False):
        """Send what the state, windows, Nagle and SWS avoidance allow, then a
        pure ACK if one is still owed."""
        s = c.state
        if s == SYN_SENT or s == SYN_RECEIVED:
            if c.snd_nxt == c.iss:
                flags = SYN if s == SYN_SENT else SYN | ACK
                self._emit(c, c.iss, flags, 0, now_ms)
                c.snd_nxt = (c.iss + 1) & _MASK
                c.snd_max = c.snd_nxt
                if c.tmr != _T_RTX:
                    self._arm(c, _T_RTX, c.rto_ms, now_ms)
                if c.retries == 0 and not c.rtt_on:
                    c.rtt_on = True
                    c.rtt_seq = c.snd_nxt
                    c.rtt_ms = now_ms
            elif c.ack_now and s == SYN_RECEIVED:
                # a retransmitted SYN: our SYN-ACK was lost (RFC 9293 3.10.7.4)
                self._emit(c, c.iss, SYN | ACK, 0, now_ms)
            c.ack_now = False
            return
        if s == CLOSED or s == LISTEN:
            return
        sent = False
        if s == ESTABLISHED or s == CLOSE_WAIT or s == FIN_WAIT_1 or s == CLOSING or s == LAST_ACK:
            tx_count = c.tx.count
            data_end = (c.snd_una + tx_count) & _MASK
            mss = c.snd_mss
            fin_queued = c.fin_queued and s != CLOSE_WAIT and s != ESTABLISHED
            while True:
                in_flight = _sdiff(c.snd_nxt, c.snd_una)
                unsent = _sdiff(data_end, c.snd_nxt)
                if unsent < 0:
                    break  # FIN already sent
                wnd = c.snd_wnd if c.snd_wnd < c.cwnd else c.cwnd
                usable = wnd - in_flight
                n = unsent
                if n > mss:
                    n = mss
                if n > usable:
                    n = usable if usable > 0 else 0
                fin = fin_queued and n == unsent
                if n == 0 and not fin:
                    break
                if n < mss and not force:
                    if n < unsent:
                        # RFC 9293 3.8.6.2.1: sender SWS avoidance; the persist
                        # timer overrides when nothing is in flight
                        if n < (c.max_sndwnd >> 1) or n == 0:
                            break
                    elif in_flight > 0 and not c.nodelay and not fin and _sdiff(c.snd_sml, c.snd_una) > 0:
                        # RFC 9293 3.7.4 Nagle, Minshall's variant (as Linux): hold a
                        # small segment only while an earlier small one is unacked
                        break
                flags = ACK
                if n and n == unsent:
                    flags |= PSH  # last segment of what the application wrote
                if fin:
                    flags |= FIN
                new = _sdiff(c.snd_nxt, c.snd_max) >= 0
                if not new:
                    self.stats["tcp_retransmits"] += 1
                self._emit(c, c.snd_nxt, flags, n, now_ms)
                if new and not c.rtt_on:
                    c.rtt_on = True  # RFC 6298 / Karn: time one new segment
                    c.rtt_seq = (c.snd_nxt + n) & _MASK
                    c.rtt_ms = now_ms
                if n < mss:
                    c.snd_sml = (c.snd_nxt + n) & _MASK
                c.snd_nxt = (c.snd_nxt + n + (1 if fin else 0)) & _MASK
                if _sdiff(c.snd_nxt, c.snd_max) > 0:
                    c.snd_max = c.snd_nxt
                sent = True
                force = False
                if c.tmr != _T_RTX:
                    self._arm(c, _T_RTX, c.rto_ms, now_ms)
                if fin:
                    break
            if not sent and c.tmr == _T_OFF and _sdiff(data_end, c.snd_nxt) > 0 and c.snd_max == c.snd_una:
                # RFC 9293 3.8.6.1: data waits for a window: probe it
                c.retries = 0
                self._arm(c, _T_PERSIST, c.rto_ms, now_ms)
        if not sent and c.ack_now:
            # BSD: a pure ACK carries snd_max, never a rewound snd_nxt the peer
            # has already passed (it would find the ACK out of window)
            self._emit(c, c.snd_max, ACK, 0, now_ms)

    # ------------------------------------------------------------ input

    def input(self, iface, ip, now_ms):
        """iface.tcp_input hook: one received segment; None when taken, else a drop reason."""
        self.now_ms = now_ms
        seg = self.seg
        buf = iface.rx
        why = seg.parse(buf, ip.payload_off, ip.payload_end, ip.src, ip.dst)
        if why:
            return why
        if ip.dst != iface.ip:
            return "tcp_broadcast"  # RFC 9293 3.9.2.1 / RFC 1122 4.2.3.10
        flags = seg.flags
        src = ip.src
        sport = seg.sport
        dport = seg.dport
        c = None
        for k in self.pool:
            if k.in_use and k.lport == dport and k.rport == sport and k.rip == src and k.state != CLOSED:
                c = k
                break
        dlen = seg.payload_end - seg.payload_off
        if c is not None and c.state == TIME_WAIT and flags & SYN and not flags & (ACK | RST) \
                and not c.user and _sdiff(seg.seq, c.rcv_nxt) > 0 and self._listener_for(dport):
            # RFC 1122 4.2.2.13 / RFC 6191: a new SYN may reopen a TIME-WAIT pair
            self.stats["tcp_time_wait_reused"] += 1
            self._free(c)
            c = None
        if c is None:
            l = self._listener_for(dport)
            if l is not None and flags & ACK and not flags & (RST | SYN):
                why = self._cookie_input(l, ip, seg, buf, dlen, now_ms)
                if why is not False:
                    return why
            if l is None or flags & (RST | ACK):
                self._reply_rst_closed(src, seg, dlen, now_ms)
                return "tcp_no_socket"
            if not flags & SYN:
                return "tcp_no_socket"  # RFC 9293 3.10.7.2: drop anything else
            return self._listen_input(l, ip, seg, now_ms)
        if c.state == SYN_SENT:
            self._syn_sent_input(c, seg, now_ms)
        else:
            self._sync_input(c, seg, buf, dlen, now_ms)
        return None

    def _listener_for(self, port):
        for l in self.listeners:
            if l.in_use and l.port == port:
                return l
        return None

    def _reply_rst_closed(self, src, seg, dlen, now_ms):
        # RFC 9293 3.10.7.1: a segment for no connection gets a RST unless it is one
        flags = seg.flags
        if flags & RST:
            return
        if flags & ACK:
            self._send_rst(src, seg.dport, seg.sport, seg.ack, 0, RST, now_ms)
        else:
            n = dlen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
            self._send_rst(src, seg.dport, seg.sport, 0, (seg.seq + n) & _MASK, RST | ACK, now_ms)

    def _evict_half_open(self, l):
        """Free the oldest SYN-RECEIVED block of listener l (any listener when
        l is None) silently; True when one was freed."""
        victim = None
        for c in self.pool:
            if c.in_use and c.state == SYN_RECEIVED and c.listener is not None and \
                    (l is None or c.listener is l) and (victim is None or c.born < victim.born):
                victim = c
        if victim is None:
            return False
        self.stats["tcp_syn_evictions"] += 1
        self._free(victim)
        return True

    def _waiting(self, l):
        """(half-open, established) connections of listener l not yet accepted."""
        half = 0
        est = 0
        for c in self.pool:
            if c.listener is l:
                if c.state == SYN_RECEIVED:
                    half += 1
                else:
                    est += 1
        return half, est

    def _listen_input(self, l, ip, seg, now_ms):
        # RFC 9293 3.10.7.2 (SYN for a listener, no RST/ACK: checked by the caller)
        half, est = self._waiting(l)
        if est >= l.backlog:
            return "tcp_backlog"  # accept queue full: the client's retry gets in
        c = self._alloc(now_ms) if half + est < l.backlog else None
        if c is None:
            # backlog or pool full: a stateless SYN cookie (RFC 4987 3.6)
            self._send_cookie(ip.src, seg, now_ms)
            return None
        c.listener = l
        c.lport = seg.dport
        c.rip = ip.src
        c.rport = seg.sport
        self._init_send(c)
        self._set_peer_mss(c, seg.mss)
        c.irs = seg.seq
        c.rcv_nxt = (seg.seq + 1) & _MASK
        c.rcv_adv = c.rcv_nxt
        c.snd_wnd = seg.window
        c.max_sndwnd = seg.window
        c.snd_wl1 = seg.seq
        c.snd_wl2 = 0
        c.state = SYN_RECEIVED
        c.ka_at = ticks_add(now_ms, self.cfg.tcp_keepalive_idle_ms)
        self.stats["tcp_passive_opens"] += 1
        self._output(c, now_ms)
        return None

    # -- SYN cookies: ISN = slot(8) | hash(22) | MSS index(2)

    def _cookie(self, rip, lport, rport, irs, slot, midx):
        b = self.cookie_buf
        pack_into(">IIII", b, 16, rip, (lport << 16) | rport, irs, (slot << 8) | midx)
        if _sha256 is not None:
            d = _sha256(b).digest()
            h = (d[0] << 16) | (d[1] << 8) | d[2]
        else:
            h = 0x811C9DC5
            for x in b:
                h = ((h ^ x) * 0x01000193) & _MASK
            h ^= h >> 11
        return (slot << 24) | (h & 0xFFFFFC) | midx

    def _send_cookie(self, src, seg, now_ms):
        mss = seg.mss if seg.mss > 0 else _DEFAULT_MSS
        midx = 3
        while midx and _COOKIE_MSS[midx] > mss:
            midx -= 1
        iss = self._cookie(src, seg.dport, seg.sport, seg.seq, (now_ms >> 16) & 0xFF, midx)
        wnd = self.cfg.tcp_rx_bytes
        if wnd > 65535:
            wnd = 65535
        iface = self.iface
        tx = iface.tx
        o = IP_PAYLOAD_OFF
        wire.emit(tx, o, seg.dport, seg.sport, iss, (seg.seq + 1) & _MASK, SYN | ACK, wnd, 24)
        wire.opt_mss(tx, o + 20, self.mss)
        wire.finish(tx, o, 24, iface.ip, src)
        self.stats["tcp_syncookies_sent"] += 1
        self.stats["tcp_segs_out"] += 1
        iface.send_ip(src, 6, 24, now_ms)

    def _cookie_input(self, l, ip, seg, buf, dlen, now_ms):
        """An ACK for listener l with no connection: False when it does not
        carry a valid cookie, else None (taken) or a drop reason."""
        ck = (seg.ack - 1) & _MASK
        slot = ck >> 24
        if ((now_ms >> 16) - slot) & 0xFF > 1:
            return False  # older than two 64 s slots
        irs = (seg.seq - 1) & _MASK
        midx = ck & 3
        if self._cookie(ip.src, seg.dport, seg.sport, irs, slot, midx) != ck:
            return False
        half, est = self._waiting(l)
        if est >= l.backlog:
            return "tcp_backlog"  # dropped: the client's retransmission retries
        c = self._alloc(now_ms)
        if c is None and self._evict_half_open(None):
            c = self._alloc(now_ms)  # a verified client beats an unverified SYN
        if c is None:
            return "tcp_no_block"
        c.listener = l
        c.lport = seg.dport
        c.rip = ip.src
        c.rport = seg.sport
        self._init_send(c)
        c.iss = ck
        c.snd_una = ck
        c.snd_nxt = (ck + 1) & _MASK  # our SYN,ACK went out (statelessly)
        c.snd_max = c.snd_nxt
        c.recover = ck
        c.snd_sml = ck
        self._set_peer_mss(c, _COOKIE_MSS[midx])
        c.irs = irs
        c.rcv_nxt = seg.seq
        wnd = c.rx.size if c.rx.size < 65535 else 65535
        c.rcv_adv = (seg.seq + wnd) & _MASK
        c.snd_wnd = seg.window
        c.max_sndwnd = seg.window
        c.snd_wl1 = irs
        c.snd_wl2 = 0
        c.state = SYN_RECEIVED
        c.ka_at = ticks_add(now_ms, self.cfg.tcp_keepalive_idle_ms)
        self.stats["tcp_passive_opens"] += 1
        self.stats["tcp_syncookies_ok"] += 1
        self._sync_input(c, seg, buf, dlen, now_ms)
        return None

    def _syn_sent_input(self, c, seg, now_ms):
        # RFC 9293 3.10.7.3
        flags = seg.flags
        if flags & ACK:
            if _sdiff(seg.ack, c.iss) <= 0 or _sdiff(seg.ack, c.snd_max) > 0:
                if not flags & RST:
                    self._send_rst(c.rip, c.lport, c.rport, seg.ack, 0, RST, now_ms)
                return
        if flags & RST:
            if flags & ACK:
                self.stats["tcp_resets_rx"] += 1
                self._fail(c, ECONNREFUSED)
            return
        if not flags & SYN:
            return
        c.irs = seg.seq
        c.rcv_nxt = (seg.seq + 1) & _MASK
        c.rcv_adv = c.rcv_nxt
        self._set_peer_mss(c, seg.mss)
        c.ka_at = ticks_add(now_ms, self.cfg.tcp_keepalive_idle_ms)
        if flags & ACK:
            c.snd_una = seg.ack
            self._rtt_sample(c, seg.ack, now_ms)
            c.retries = 0
            c.tmr = _T_OFF
            c.state = ESTABLISHED
            self.stats["tcp_established"] += 1
            self._update_window(c, seg.seq, seg.ack, seg.window)
            if c.fin_queued:
                c.state = FIN_WAIT_1
            c.ack_now = True
            self._output(c, now_ms)
        else:
            # RFC 9293 3.10.7.3 / figure 8: simultaneous open
            c.state = SYN_RECEIVED
            c.snd_wnd = seg.window
            c.max_sndwnd = seg.window
            c.snd_wl1 = seg.seq
            c.snd_nxt = c.iss  # SYN,ACK with our original ISN
            self._output(c, now_ms)

    def _sync_input(self, c, seg, buf, dlen, now_ms):
        """RFC 9293 3.10.7.4: SYN-RECEIVED and every synchronized state."""
        flags = seg.flags
        seq = seg.seq
        rx = c.rx
        wnd = rx.size - rx.count
        if wnd > 65535:
            wnd = 65535
        rel = _sdiff(seq, c.rcv_nxt)
        # first: RST (RFC 5961 3.2: exact match resets, in-window gets a challenge ACK)
        if flags & RST:
            if c.state == TIME_WAIT:
                return  # RFC 1337: no TIME-WAIT assassination; the 2 MSL wait runs out
            if rel == 0:
                self.stats["tcp_resets_rx"] += 1
                if c.state == SYN_RECEIVED and c.listener is not None:
                    self._free(c)  # passive: back to listening, nobody knew it
                elif c.state == SYN_RECEIVED:
                    self._fail(c, ECONNREFUSED)
                elif c.state == CLOSING or c.state == LAST_ACK:
                    self._to_closed(c)
                else:
                    self._fail(c, ECONNRESET)
            elif 0 < rel < (wnd if wnd > 0 else 1):
                self._challenge_ack(c, now_ms)
            return
        if flags & SYN:
            if c.state == SYN_RECEIVED and seq == c.irs:
                if flags & ACK:
                    # RFC 9293 figure 8 (simultaneous open): the SYN is old news,
                    # the ACK completes the handshake
                    flags &= ~SYN
                    seq = (seq + 1) & _MASK
                    rel += 1
                else:
                    c.ack_now = True  # our SYN,ACK went missing: send it again
                    self._output(c, now_ms)
                    return
            elif c.state == SYN_RECEIVED:
                c.ack_now = True
                self._output(c, now_ms)
                return
            else:
                # RFC 5961 4.2: any SYN in a synchronized state gets a challenge
                # ACK (a retransmitted SYN,ACK thus gets the ACK it wants)
                self._challenge_ack(c, now_ms)
                return
        fin = 1 if flags & FIN else 0
        seglen = dlen + fin
        data_off = seg.payload_off
        # second: is the segment acceptable (RFC 9293 3.10.7.4, four cases)?
        if seglen == 0:
            ok = rel == 0 if wnd == 0 else (0 <= rel < wnd)
        elif wnd == 0:
            # "special allowance": process the ACK of a segment at rcv_nxt
            ok = rel == 0
            dlen = 0
            fin = 0
            c.ack_now = True  # a window probe: tell the peer the window again
        else:
            ok = rel < wnd and rel + seglen > 0
        if not ok:
            if fin and c.state == TIME_WAIT:
                # RFC 9293 3.10.7.4: a retransmitted FIN restarts the 2 MSL wait
                self._enter_time_wait(c, now_ms)
            c.ack_now = True
            self._output(c, now_ms)
            return
        if rel < 0:
            # trim what we already have (retransmission overlapping new data)
            skip = -rel
            if skip > dlen:
                skip = dlen
            data_off += skip
            dlen -= skip
            rel += skip
        if rel + dlen > wnd:
            dlen = wnd - rel
            if dlen < 0:
                dlen = 0
            fin = 0
        # fifth: the ACK field
        if not flags & ACK:
            return
        if not self._ack_input(c, seg, now_ms, seglen):
            return
        if not c.in_use:
            return
        s = c.state
        c.ka_at = ticks_add(now_ms, self.cfg.tcp_keepalive_idle_ms)
        c.ka_probes = 0
        c.probes = 0
        # seventh: segment text
        if dlen and (s == ESTABLISHED or s == FIN_WAIT_1 or s == FIN_WAIT_2):
            if not c.user and c.listener is None:
                # RFC 2525 2.17: data for a closed (orphaned) connection
                self._abort(c, True)
                return
            if rel == 0:
                before = rx.count
                rx.write(buf, data_off, dlen)
                filled = rx.count - before
                c.rcv_nxt = (c.rcv_nxt + filled) & _MASK
                if filled > dlen or rx.nranges:
                    c.ack_now = True  # RFC 5681 4.2: ACK at once when a gap fills
                elif rx.size - rx.count < self.mss:
                    c.ack_now = True  # the window is nearly shut: the peer waits for us
                elif dlen >= c.snd_mss or dlen >= self.mss:
                    c.ack_segs += 1
                    if c.ack_segs >= 2:
                        c.ack_now = True  # RFC 1122 4.2.3.2: every second full segment
                if not c.ack_now and not c.delack_on:
                    c.delack_on = True
                    c.delack_at = ticks_add(now_ms, self.cfg.tcp_delack_ms)
            else:
                # out of order: keep it in the ring, send a duplicate ACK at once
                rx.write_at(rel, buf, data_off, dlen)
                self.stats["tcp_ooo_segments"] += 1
                c.ack_now = True
                fin = 0
        elif dlen and s != CLOSED:
            c.ack_now = True
        # eighth: FIN (only in order)
        if fin and _sdiff(seq + (seg.payload_end - seg.payload_off), c.rcv_nxt) == 0 and not c.fin_rcvd:
            c.rcv_nxt = (c.rcv_nxt + 1) & _MASK
            c.fin_rcvd = True
            c.ack_now = True
            if s == SYN_RECEIVED or s == ESTABLISHED:
                c.state = CLOSE_WAIT
            elif s == FIN_WAIT_1:
                c.state = CLOSING
            elif s == FIN_WAIT_2:
                self._enter_time_wait(c, now_ms)
        elif fin and s == TIME_WAIT:
            # RFC 9293 3.10.7.4: a retransmitted FIN restarts the 2 MSL wait
            c.ack_now = True
            self._enter_time_wait(c, now_ms)
        elif fin and c.fin_rcvd:
            c.ack_now = True
        self._output(c, now_ms)

    def _ack_input(self, c, seg, now_ms, seglen):
        """RFC 9293 3.10.7.4 fifth step; False when the segment is dropped."""
        ack = seg.ack
        if c.state == SYN_RECEIVED:
            if _sdiff(ack, c.snd_una) > 0 and _sdiff(ack, c.snd_max) <= 0:
                c.snd_una = (c.snd_una + 1) & _MASK  # the SYN
                self._rtt_sample(c, ack, now_ms)
                c.retries = 0
                c.tmr = _T_OFF
                c.state = FIN_WAIT_1 if c.fin_queued else ESTABLISHED
                self.stats["tcp_established"] += 1
                c.snd_wnd = seg.window
                c.max_sndwnd = seg.window
                c.snd_wl1 = seg.seq
                c.snd_wl2 = ack
                if ack == c.snd_una:
                    return True
            else:
                self._send_rst(c.rip, c.lport, c.rport, ack, 0, RST, now_ms)
                return False
        una_rel = _sdiff(ack, c.snd_una)
        max_rel = _sdiff(c.snd_max, c.snd_una)
        if una_rel > max_rel:
            # RFC 9293: an ACK for something not yet sent: ACK and drop
            c.ack_now = True
            self._output(c, now_ms)
            return False
        mw = c.max_sndwnd if c.max_sndwnd > 0 else 1
        if una_rel < -mw:
            # RFC 5961 5.2: too old to be plausible
            c.ack_now = True
            self._output(c, now_ms)
            return False
        if una_rel > 0:
            self._ack_new(c, ack, una_rel, now_ms)
            if not c.in_use or c.state == CLOSED:
                return False
        elif una_rel == 0 and seglen == 0 and seg.window == c.snd_wnd and c.snd_max != c.snd_una \
                and c.tmr == _T_RTX:
            self._dupack(c, now_ms)
        self._update_window(c, seg.seq, ack, seg.window)
        return True

    def _update_window(self, c, seq, ack, window):
        # RFC 9293 3.10.7.4: update the send window from the newest segment only
        d1 = _sdiff(seq, c.snd_wl1)
        if d1 > 0 or (d1 == 0 and _sdiff(ack, c.snd_wl2) >= 0) or c.snd_wl2 == 0:
            opened = c.snd_wnd == 0 and window > 0
            c.snd_wnd = window
            c.snd_wl1 = seq
            c.snd_wl2 = ack
            if window > c.max_sndwnd:
                c.max_sndwnd = window
            if opened and c.tmr == _T_PERSIST:
                c.tmr = _T_OFF
                c.snd_nxt = c.snd_una  # a refused probe byte goes again with the rest

    def _rtt_sample(self, c, ack, now_ms):
        # RFC 6298 2 with Karn's algorithm (only segments sent once are timed)
        if not c.rtt_on or _sdiff(ack, c.rtt_seq) < 0:
            return
        c.rtt_on = False
        r = ticks_diff(now_ms, c.rtt_ms)
        if r < 0:
            return
        if c.srtt8 == 0:
            c.srtt8 = (r << 3) or 1
            c.rttvar4 = r << 1
        else:
            delta = r - (c.srtt8 >> 3)
            c.srtt8 += delta
            if c.srtt8 <= 0:
                c.srtt8 = 1
            if delta < 0:
                delta = -delta
            c.rttvar4 += delta - (c.rttvar4 >> 2)
        var = c.rttvar4 if c.rttvar4 > 1 else 1
        rto = (c.srtt8 >> 3) + var
        cfg = self.cfg
        if rto < cfg.tcp_rto_min_ms:
            rto = cfg.tcp_rto_min_ms
        if rto > cfg.tcp_rto_max_ms:
            rto = cfg.tcp_rto_max_ms
        c.rto_ms = rto

    def _ack_new(self, c, ack, acked, now_ms):
        tx = c.tx
        data = acked if acked <= tx.count else tx.count
        tx.discard(data)
        fin_acked = acked > data
        c.snd_una = ack
        if _sdiff(c.snd_nxt, ack) < 0:
            c.snd_nxt = ack
        if _sdiff(c.snd_max, ack) < 0:
            c.snd_max = ack
        self._rtt_sample(c, ack, now_ms)
        c.retries = 0
        mss = c.snd_mss
        # RFC 5681 3.1 / RFC 6582 3.2
        if c.in_recovery:
            if _sdiff(ack, c.recover) >= 0:
                flight = _sdiff(c.snd_max, c.snd_una)
                c.cwnd = c.ssthresh if c.ssthresh < flight + mss else flight + mss
                c.in_recovery = False
            else:
                # partial ACK: resend the next hole, deflate by what was acked
                self._retransmit_one(c, now_ms)
                c.cwnd -= acked
                if acked >= mss:
                    c.cwnd += mss
                if c.cwnd < mss:
                    c.cwnd = mss
        elif c.cwnd < c.ssthresh:
            c.cwnd += acked if acked < mss else mss
        else:
            inc = mss * mss // c.cwnd
            c.cwnd += inc if inc > 0 else 1
        if c.cwnd > 0x40000:
            c.cwnd = 0x40000
        c.dupacks = 0
        if c.snd_max == c.snd_una:
            if c.tmr == _T_RTX:
                c.tmr = _T_OFF
        elif c.tmr == _T_RTX or c.tmr == _T_OFF or c.tmr == _T_PERSIST:
            self._arm(c, _T_RTX, c.rto_ms, now_ms)  # RFC 6298 5.3
        if fin_acked:
            s = c.state
            if s == FIN_WAIT_1:
                c.state = FIN_WAIT_2
                if not c.user:
                    self._arm(c, _T_FIN_WAIT_2, self.cfg.tcp_fin_wait2_ms, now_ms)
            elif s == CLOSING:
                self._enter_time_wait(c, now_ms)
            elif s == LAST_ACK:
                self._to_closed(c)

    def _dupack(self, c, now_ms):
        # RFC 5681 3.2 with RFC 6582 (NewReno)
        c.dupacks += 1
        mss = c.snd_mss
        if c.dupacks == 3 and not c.in_recovery and _sdiff(c.snd_una, c.recover) > 0:
            flight = _sdiff(c.snd_max, c.snd_una)
            half = flight >> 1
            c.ssthresh = half if half > 2 * mss else 2 * mss
            c.recover = c.snd_max
            c.in_recovery = True
            self.stats["tcp_fast_retransmits"] += 1
            self._retransmit_one(c, now_ms)
            c.cwnd = c.ssthresh + 3 * mss
        elif c.in_recovery:
            c.cwnd += mss
            self._output(c, now_ms)

    def _retransmit_one(self, c, now_ms):
        # one segment at snd_una, only bytes sent before; snd_nxt stays
        n = _sdiff(c.snd_max, c.snd_una)
        if n > c.tx.count:
            n = c.tx.count
        if n > c.snd_mss:
            n = c.snd_mss
        flags = ACK
        fin = c.fin_queued and c.state != ESTABLISHED and c.state != CLOSE_WAIT \
            and n == c.tx.count and c.snd_max == ((c.snd_una + n + 1) & _MASK)
        if fin:
            flags |= FIN
        if n == 0 and not fin:
            return
        c.rtt_on = False  # Karn
        self.stats["tcp_retransmits"] += 1
        self._emit(c, c.snd_una, flags, n, now_ms)
        self._arm(c, _T_RTX, c.rto_ms, now_ms)

    def _probe(self, c, now_ms):
        if c.snd_wnd == 0 and c.tx.count:
            # one byte beyond the window; it counts as sent (snd_max) so the
            # ACK that takes it is valid, but the persist timer, not the
            # retransmission timer, looks after it (never gives up)
            if c.snd_nxt == c.snd_una:
                self._emit(c, c.snd_nxt, ACK, 1, now_ms)
                c.snd_nxt = (c.snd_nxt + 1) & _MASK
                if _sdiff(c.snd_nxt, c.snd_max) > 0:
                    c.snd_max = c.snd_nxt
            else:
                self._emit(c, c.snd_una, ACK, 1, now_ms)
        else:
            self._output(c, now_ms, True)

    def _enter_time_wait(self, c, now_ms):
        c.state = TIME_WAIT
        c.delack_on = False
        self._arm(c, _T_TIME_WAIT, 2 * self.cfg.tcp_msl_ms, now_ms)

    def icmp_error(self, type_, code, buf, inner_off, end):
        """iface.icmp_error_input hook: RFC 1122 4.2.3.9 -- port or protocol
        unreachable aborts a connection still in SYN-SENT; the rest are soft."""
        if type_ != 3 or code not in (2, 3) or end - inner_off < 28:
            return
        ihl = (buf[inner_off] & 15) * 4
        if buf[inner_off + 9] != 6 or end - inner_off < ihl + 8:
            return
        t = inner_off + ihl
        sport = (buf[t] << 8) | buf[t + 1]
        dport = (buf[t + 2] << 8) | buf[t + 3]
        dst = (buf[inner_off + 16] << 24) | (buf[inner_off + 17] << 16) | (buf[inner_off + 18] << 8) \
            | buf[inner_off + 19]
        for c in self.pool:
            if c.in_use and c.state == SYN_SENT and c.lport == sport and c.rport == dport and c.rip == dst:
                self._fail(c, ECONNREFUSED)

    # ------------------------------------------------------------ timers

    def timers(self, now_ms):
        """Run due timers of every block; returns ms until the next deadline."""
        self.now_ms = now_ms
        wait = _FAR_MS
        cfg = self.cfg
        for c in self.pool:
            if not c.in_use:
                continue
            if c.tmr != _T_OFF:
                due = ticks_diff(c.tmr_at, now_ms)
                if due <= 0:
                    self._timer_fired(c, now_ms)
                    if not c.in_use:
                        continue
                    due = ticks_diff(c.tmr_at, now_ms) if c.tmr != _T_OFF else _FAR_MS
                if due < wait:
                    wait = due
            if c.delack_on:
                due = ticks_diff(c.delack_at, now_ms)
                if due <= 0:
                    c.ack_now = True
                    self._output(c, now_ms)
                else:
                    if due < wait:
                        wait = due
            if c.keepalive and (c.state == ESTABLISHED or c.state == CLOSE_WAIT):
                due = ticks_diff(c.ka_at, now_ms)
                if due <= 0:
                    if c.snd_max == c.snd_una:
                        if c.ka_probes >= cfg.tcp_keepalive_count:
                            self.stats["tcp_timeouts"] += 1
                            self._send_rst(c.rip, c.lport, c.rport, c.snd_max, 0, RST, now_ms)
                            self._fail(c, ETIMEDOUT)
                            continue
                        # RFC 1122 4.2.3.6: a probe with a sequence number the peer has seen
                        c.ka_probes += 1
                        self.stats["tcp_keepalive_probes"] += 1
                        self._emit(c, (c.snd_una - 1) & _MASK, ACK, 0, now_ms)
                    c.ka_at = ticks_add(now_ms, cfg.tcp_keepalive_interval_ms)
                    due = cfg.tcp_keepalive_interval_ms
                if due < wait:
                    wait = due
        return wait

    def _timer_fired(self, c, now_ms):
        kind = c.tmr
        c.tmr = _T_OFF
        cfg = self.cfg
        if kind == _T_TIME_WAIT or kind == _T_FIN_WAIT_2:
            self._to_closed(c)
            return
        if kind == _T_PERSIST:
            # RFC 9293 3.8.6.1: probe the zero window (or override SWS) and back
            # off; keep probing while the peer answers (RFC 1122 4.2.2.17), give
            # up like a retransmission when it stays silent
            if c.probes >= cfg.tcp_retries:
                self.stats["tcp_timeouts"] += 1
                self._send_rst(c.rip, c.lport, c.rport, c.snd_max, 0, RST, now_ms)
                self._fail(c, ETIMEDOUT)
                return
            c.probes += 1
            self.stats["tcp_persist_probes"] += 1
            self._probe(c, now_ms)
            if c.tmr == _T_OFF and c.tx.count:
                c.retries += 1
                shift = c.retries if c.retries < 10 else 10
                ms = c.rto_ms << shift
                if ms > cfg.tcp_rto_max_ms:
                    ms = cfg.tcp_rto_max_ms
                self._arm(c, _T_PERSIST, ms, now_ms)
            return
        # retransmission timeout (RFC 6298 5.4-5.7)
        s = c.state
        limit = cfg.tcp_syn_retries if s <= SYN_RECEIVED else cfg.tcp_retries
        if c.retries >= limit:
            self.stats["tcp_timeouts"] += 1
            if s >= SYN_RECEIVED:
                self._send_rst(c.rip, c.lport, c.rport, c.snd_max, 0, RST, now_ms)
            self._fail(c, ETIMEDOUT)
            return
        c.retries += 1
        self.stats["tcp_rto_timeouts"] += 1
        c.rto_ms = c.rto_ms * 2 if c.rto_ms * 2 < cfg.tcp_rto_max_ms else cfg.tcp_rto_max_ms
        c.rtt_on = False  # Karn: no sample from a retransmitted segment
        if s <= SYN_RECEIVED:
            c.snd_nxt = c.iss
            self.stats["tcp_retransmits"] += 1
            self._output(c, now_ms)
            self._arm(c, _T_RTX, c.rto_ms, now_ms)
            return
        mss = c.snd_mss
        flight = _sdiff(c.snd_max, c.snd_una)
        half = flight >> 1
        c.ssthresh = half if half > 2 * mss else 2 * mss  # RFC 5681 (4)
        c.cwnd = mss  # loss window
        c.dupacks = 0
        c.in_recovery = False
        c.recover = c.snd_max
        c.snd_nxt = c.snd_una  # go back N: resend from the first unacknowledged byte
        if c.snd_wnd == 0 and c.tx.count:
            # the peer shut its window: probe it instead of counting towards give-up
            c.retries = 0
            self._probe(c, now_ms)
            self._arm(c, _T_PERSIST, c.rto_ms, now_ms)
            return
        self._output(c, now_ms, True)
        self._arm(c, _T_RTX, c.rto_ms, now_ms)
