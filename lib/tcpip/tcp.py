"""TCP (RFC 9293): a fixed pool of control blocks, the state machine, timers.

Everything is allocated when the Stack is built: ``cfg.tcp_sockets`` control
blocks (``Connection``), each with an RX and a TX ring (their bytes in one
pool-wide buffer ``tcp.buf``, their state in the block's field array, see
``tcpip.ring``), and ``cfg.tcp_listeners`` listen slots.  Nothing grows
afterwards::

    tcp = stack.tcp
    c = tcp.open("192.0.2.1", 7)          # active open (SYN goes out now)
    c.send(b"hello")                      # -> bytes accepted into the TX ring
    n = c.recv_into(buf)                  # >0 bytes, 0 end of data, -1 nothing yet
    c.close()

    l = tcp.listen(7)                     # passive open (backlog: the pool size)
    c = tcp.accept(l)                     # an established connection or None

Connection API (what the socket layer uses; errors are OSError(errno, text)):

    tcp.open(ip, port, local_port=0) -> Connection   ENOMEM (pool full), EADDRINUSE,
                                                       EHOSTUNREACH (no route), EINVAL;
                                                       c.error EHOSTUNREACH once ARP for
                                                       the next hop gave up
    tcp.listen(port, backlog=None) -> Listener       EADDRINUSE, ENOMEM (no listen slot)
    tcp.accept(listener) -> Connection or None       oldest established first
    tcp.pending(listener) / tcp.unlisten(listener) / tcp.free_blocks() / tcp.netstat()
    c.send(buf, off=0, n=-1) -> bytes accepted       0 when the TX ring is full; EPIPE
                                                       after shutdown; the error once failed
    c.writable() -> free TX ring bytes                 raises as send() would (never 0 for
                                                       a failed or shut connection)
    c.recv_into(buf, off=0, n=-1) -> n | 0 | -1      0 = end of data, -1 = nothing yet;
                                                       ECONNRESET / ETIMEDOUT / ECONNREFUSED
    c.shutdown()  c.close()  c.abort()
    c.state / c.state_name() / c.error / c.is_established() / c.readable() /
    c.unsent() / c.at_eof() / c.local() / c.remote()
    c.set_nodelay(on)  c.set_keepalive(on)             TCP_NODELAY, SO_KEEPALIVE

Sender: several segments in flight within min(peer window, cwnd), Nagle
(off with ``c.nodelay = True``), sender SWS avoidance, go-back-N after a
retransmission timeout, NewReno fast retransmit/recovery, persist probes.
Receiver: window = free RX ring space with receiver SWS avoidance, out-of-order
segments kept in the ring (``ring.write_at``) and an out-of-order FIN's place
with them (it counts once the gap before it fills), delayed ACKs.  The ACK owed for
every second full segment or for a nearly shut window goes at the start of
the next ``Stack.poll`` (which returns 0 then), unless the application's read
(its window update) or outgoing data carries it first: one frame per window
instead of an ACK and then a window update (Linux waits for the read the
same way).  Out-of-order data and filled gaps are still ACKed at once.
A read sends a window update only while the window last advertised is at
most half the ring (a read that empties the ring too: no frame per segment
read), once the right edge can move by min(half the ring, MSS) (Linux
tcp_cleanup_rbuf): at once when the read empties the ring, else at the
next poll, so reads in a row cost one frame between them.

Choices (documented here, decided by the RFCs where they allow):
- Listen queues (numbers and reasons: ``tcpip.config``): a listener keeps at
  most ``cfg.tcp_syn_backlog`` half-open blocks (the SYN queue) and
  ``backlog`` established connections waiting for ``accept`` (default: the
  pool size, so the accept queue never turns a client away while a block is
  free).
- SYN flood defence (RFC 4987 3.6, SYN cookies, as Linux does it): a SYN for
  a listener whose SYN queue or backlog is full, or that finds no free
  control block, is answered with a stateless SYN,ACK whose ISN is a cookie
  (keyed SHA-256 of the addresses, ports, the client's ISN, a 64 s time slot
  and an MSS index; ``tcp_syncookies_sent``).  The client's ACK that returns
  a valid cookie (two slots, up to ~128 s) becomes an established connection
  waiting for accept (``tcp_syncookies_ok``), taking a free block, else the
  oldest TIME-WAIT block nobody holds, else the oldest half-open block of any
  listener (``tcp_syn_evictions``): a verified client beats an unverified
  SYN.  Bursts of legitimate clients larger than the SYN queue thus connect
  at once, and a flood of spoofed SYNs holds at most the SYN queue.  A bad or
  stale cookie gets a RST like any stray ACK.  A valid cookie ACK that finds
  no block at all is dropped (``drop_tcp_no_block``) while some block is
  about to be freed (our FIN waits for its ACK, or a client that already
  closed waits for accept), so the client's retransmission gets in; else it
  gets a RST (``tcp_syncookies_refused``): the client sees ECONNRESET within
  a round trip instead of sending into silence for a minute.  When the
  accept queue is full while blocks are free (the application is behind),
  SYNs and cookie ACKs are dropped silently (``drop_tcp_backlog``, as Linux
  does) and the client's retransmission tries again.  A cookie connection
  knows only the MSS (from a table of four) and the window (options beyond
  MSS are not offered anyway).  An active open with no block left raises
  OSError(ENOMEM).
- Data in a SYN is not accepted (the peer resends it after the handshake).
- No window scaling, SACK or timestamps are offered (rings are small).
- ``close()`` with unread data, or data arriving after ``close()``, resets the
  connection (RFC 9293 3.10.4, RFC 2525 2.17).
- Header prediction (BSD, lwIP): ``Tcp.input`` takes in-order data, pure
  ACKs of new data and pure window updates on an ESTABLISHED connection in
  a few steps ahead of the general RFC 9293 3.10.7.4 path, with the same
  outcome (where viper compiles it, a pure ACK or window update is taken
  from the frame whole by ``Tcp.ack_input``, loaded on the first bulk send
  or by ``stack.tcp.load_ack()``); ``tcp_predicted`` counts them
  and ``stack.tcp.hdrpred = False`` sends every segment the general way.
- A closed connection left in FIN-WAIT-2 is freed after ``tcp_fin_wait2_ms``.
- A Connection object is recycled once closed and freed: do not use it after
  ``close()`` / ``abort()``.
"""
# Where the RFCs are implemented, in file order (RFC 9293 unless named):
#   _sdiff, _rel, _abs32      3.4 sequence numbers modulo 2**32 (kept relative: see the fields)
#   _cc_init                  RFC 5681 3.1 initial window
#   _cc_on_ack                RFC 5681 3.1 slow start, congestion avoidance; RFC 6582 3.2 full
#                             and partial ACKs in fast recovery
#   _cc_on_rto                RFC 5681 3.1 (4), (5) after a timeout; RFC 6582 4 (recover)
#   Connection.recv_into      3.8.6.2.2 window update once the read opened it enough
#   Connection.close          3.10.4 CLOSE; RFC 2525 2.17 reset when unread data is lost
#   Tcp._init_send            3.4.1, RFC 6528 unpredictable ISN
#   Tcp._set_peer_mss         3.7.1 MSS option (536 when absent)
#   Tcp._shutdown, _close     3.10.4 FIN after the queued data; RFC 2525 2.17
#   Tcp._window_grew, _emit   3.8.6.2.2 receiver SWS avoidance (_emit: the window advertised)
#   Tcp._challenge_ack        RFC 5961 7 challenge ACK rate limit
#   Tcp._output               3.7.4 Nagle (Minshall's variant), 3.8.6.2.1 sender SWS avoidance,
#                             3.8.6.1 persist timer for a zero window; RFC 6298 timing (Karn)
#   Tcp.input                 3.10.7 dispatch, header prediction (3.10.7.4's common case);
#                             RFC 1122 4.2.3.10 no broadcast or multicast;
#                             RFC 1122 4.2.2.13, RFC 6191 a new SYN reopens TIME-WAIT;
#                             3.10.7.2 LISTEN drops what is not a SYN
#   Tcp._reply_rst_closed     3.10.7.1 CLOSED: RST unless the segment is one
#   Tcp._listen_input         3.10.7.2 LISTEN; RFC 4987 3.6 SYN cookie when the queue is full
#   Tcp._cookie, _send_cookie,
#     _cookie_input           RFC 4987 3.6 SYN cookies
#   Tcp._syn_sent_input       3.10.7.3 SYN-SENT (figure 8: simultaneous open)
#   Tcp._sync_input           3.10.7.4 the other states, in its order of checks: RST bit first
#                             (RFC 5961 3.2; RFC 1337 in TIME-WAIT), SYN bit (RFC 5961 4.2),
#                             sequence number (four cases), ACK field (_ack_input), segment
#                             text (RFC 5681 4.2, RFC 1122 4.2.3.2 delayed ACK), FIN
#   Tcp._reanchor             3.4 (relative sequence numbers stay small ints)
#   Tcp._ack_input            3.10.7.4 fifth check, the ACK field; RFC 5961 5.2 ACK too old
#   Tcp._update_window        3.10.7.4 send window from the newest segment (SND.WL1, SND.WL2)
#   Tcp._rtt_sample,
#     _rto_update             RFC 6298 2 SRTT, RTTVAR, RTO; Karn's algorithm
#   Tcp._rto_after_syn_loss   RFC 6298 5.7
#   Tcp._ack_new              3.10.7.4 our FIN acknowledged; RFC 6298 5.2, 5.3 timer
#   Tcp._cc_on_dupack         RFC 5681 3.2 fast retransmit and recovery, RFC 6582 NewReno
#   Tcp._retransmit_one       RFC 5681 3.2, RFC 6582 3.2: resend one segment at snd_una
#   Tcp._probe                3.8.6.1 zero-window probe
#   Tcp.icmp_error            RFC 1122 4.2.3.9, RFC 5927 4.1 ICMP errors for a connection
#   Tcp._scan_timers          RFC 1122 4.2.3.6 keepalive; RFC 1122 4.2.3.2 delayed ACK timer
#   Tcp._timer_fired          RFC 6298 5.4-5.7 retransmission timeout (go-back-N); 3.8.6.1
#                             persist probes, RFC 1122 4.2.2.17
# Not implemented: RFC 7323 (window scaling, timestamps) and RFC 2018 SACK (rings are
# small); the urgent pointer (3.10.7.4 sixth check) is ignored.
from struct import pack_into
from tcpip.compat import (const, ticks_add, ticks_diff, random32, urandom, uint32_slots,
                          ENOMEM, EADDRINUSE, ENOTCONN, EPIPE, ECONNREFUSED, ECONNRESET,
                          ETIMEDOUT, EINVAL, EHOSTUNREACH)
from tcpip import compat as _compat
from tcpip import ring as _ring
from tcpip.ring import Ring, read_into as _ring_read_into, write as _ring_write, \
    write_at as _ring_write_at, peek_into as _ring_peek_into, discard as _ring_discard
from tcpip.wire.bytes import copy as _copy, copy_viper as _copy_viper
from tcpip.iface import IP_PAYLOAD_OFF, M_TCP_HDR as _M_TCP_HDR, M_TCP_ACK as _M_TCP_ACK, \
    M_OURS as _M_OURS
from tcpip.wire import tcp as wire
from tcpip.wire.tcp import FIN, SYN, RST, PSH, ACK, HDR_FMT as _TCP_HDR_FMT
from tcpip.wire.checksum import sum16 as _sum16
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

_MASK = const(0xFFFFFFFF)  # cold paths only: a heap int on a 32-bit port
_EPHEMERAL_LO = const(49152)
_DEFAULT_MSS = const(536)  # RFC 9293 3.7.1: when the peer sends no MSS option
_FAR_MS = const(1000000)
_COOKIE_MSS = (536, 1220, 1440, 1460)  # SYN cookie MSS table (2-bit index)
_RTO_AFTER_SYN_LOSS_MS = const(3000)  # RFC 6298 5.7

# A Connection keeps its numbers, flags (0/1) and ring indices in one
# array('I') ``w`` (compat.uint32_slots: a list on CPython) instead of ~60
# instance attributes and two Ring objects: every attribute costs a slot in
# the object's map (16 bytes on 64-bit MicroPython), the array 4 bytes.  The
# hot paths take ``w = c.w`` once and index it with these constants; FIELDS
# names them in order.  Nothing stored here may be negative or reach 2**32
# (MicroPython would wrap it silently).
#
# Small integers only (a 32-bit MicroPython port keeps ints of 2**30 and more
# on the heap, and every operation on one allocates): sequence numbers are
# kept *relative* to an anchor per direction, each anchor an absolute 32-bit
# value held as two 16-bit halves -- sa_hi/sa_lo for what we send, ra_hi/ra_lo
# for what we receive.  The anchors start 64 KB below the ISS and the IRS, so
# those are _ISS and _IRS (2**16) in relative terms, and a segment a little
# older than the SYN still compares as older.  snd_una, snd_nxt, snd_max,
# snd_wl2, recover, snd_sml and rtt_seq count from the send anchor; rcv_nxt,
# rcv_adv and snd_wl1 from the receive anchor; sequence arithmetic is plain
# integer arithmetic.  An incoming seq or ack becomes relative in _rel
# (halves in, a small int out; _FAR when it is not within 2**30 above the
# anchor, which no acceptable segment is); _emit turns relative values back
# into halves for the header.  When a side has moved 2**29 its anchor
# advances by 2**28 (_reanchor), so relative values stay below 2**30 for the
# life of the connection.  The remote address is kept as halves too.
# ``c.snd_una``, ``c.iss``, ``c.rip`` ... read absolute values by name (cold:
# they allocate on a 32-bit port).
# BEGIN LAYOUT tcp.fields (generated by tools/codegen/gen_layouts.py: edit its tables, then run it)
_IN_USE = const(0)  # the block is allocated (_alloc, _free)
_STATE = const(1)
_USER = const(2)  # the application holds this block (open/accept .. close)
_LISTENER = const(3)  # Listener.id of a not yet accepted passive connection
_BORN = const(4)  # allocation order (accept oldest first)
_ERROR = const(5)  # errno once the connection failed
_LPORT = const(6)
_RIP_HI = const(7)  # remote address, 16-bit halves
_RIP_LO = const(8)
_RPORT = const(9)
# send sequence space (RFC 9293 3.3.1), relative to the send anchor
_SA_HI = const(10)  # the send anchor, 16-bit halves
_SA_LO = const(11)
_SND_UNA = const(12)
_SND_NXT = const(13)
_SND_MAX = const(14)  # highest sequence number sent + 1 (go-back-N rewinds snd_nxt)
_SND_WND = const(15)
_SND_WL1 = const(16)  # seq of the segment that last updated the window
_SND_WL2 = const(17)  # ack of the segment that last updated the window
_MAX_SNDWND = const(18)  # largest window the peer offered (sender SWS avoidance)
_SND_MSS = const(19)
_SND_SML = const(20)  # end of the last small segment sent (Nagle, Minshall)
# receive sequence space, relative to the receive anchor
_RA_HI = const(21)  # the receive anchor, 16-bit halves
_RA_LO = const(22)
_RCV_NXT = const(23)
_RCV_ADV = const(24)  # right edge of the window last advertised
# RTT / RTO (RFC 6298), in ms; srtt scaled by 8, rttvar by 4
_SRTT8 = const(25)
_RTTVAR4 = const(26)
_RTO_MS = const(27)
_RTT_SEQ = const(28)  # the segment being timed (_F_RTT_ON)
_RTT_MS = const(29)  # when the timed segment was sent
_RETRIES = const(30)  # timeouts in a row (retransmissions, window probes) without progress
_TMR = const(31)  # what the one timer is doing (_T_)
_TMR_AT = const(32)  # when it fires
# delayed ACK (RFC 1122 4.2.3.2, RFC 9293 3.8.6.3)
_DELACK_AT = const(33)
_ACK_SEGS = const(34)  # full segments received since our last ACK
# congestion control (RFC 5681, RFC 6582)
_CWND = const(35)
_SSTHRESH = const(36)
_DUPACKS = const(37)
_RECOVER = const(38)  # snd_max when fast recovery or the last RTO began (RFC 6582)
# options
_FLAGS = const(39)  # the _F_ bits
_KA_AT = const(40)  # next keepalive probe
_KA_PROBES = const(41)  # keepalive probes not answered
_PROBES = const(42)  # window probes the peer did not answer
_FIN_SEQ = const(43)  # where an out-of-order FIN sits (_F_FIN_AHEAD)
# the two rings (tcpip.ring's layout each): TX, then RX, whose out-of-order
# range slots (cfg.tcp_ooo_ranges pairs) end the array
_TX_BASE = const(44)
_TX_SIZE = const(45)
_TX_HEAD = const(46)
_TX_COUNT = const(47)
_TX_NRANGES = const(48)
_RX_BASE = const(49)
_RX_SIZE = const(50)
_RX_HEAD = const(51)
_RX_COUNT = const(52)
_RX_NRANGES = const(53)
_TX = const(44)  # where the TX ring's state starts
_RX = const(49)  # where the RX ring's state starts
_NFIELDS = const(54)  # named fields; the RX ring's out-of-order ranges follow
FIELDS = (
    "in_use", "state", "user", "listener", "born", "error", "lport", "rip_hi", "rip_lo", "rport",
    "sa_hi", "sa_lo", "snd_una", "snd_nxt", "snd_max", "snd_wnd", "snd_wl1", "snd_wl2",
    "max_sndwnd", "snd_mss", "snd_sml", "ra_hi", "ra_lo", "rcv_nxt", "rcv_adv", "srtt8", "rttvar4",
    "rto_ms", "rtt_seq", "rtt_ms", "retries", "tmr", "tmr_at", "delack_at", "ack_segs", "cwnd",
    "ssthresh", "dupacks", "recover", "flags", "ka_at", "ka_probes", "probes", "fin_seq",
    "tx_base", "tx_size", "tx_head", "tx_count", "tx_nranges", "rx_base", "rx_size", "rx_head",
    "rx_count", "rx_nranges",
)
# bits of w[_FLAGS] (lwIP keeps its pcb flags the same way)
_F_FIN_QUEUED = const(1)  # write side shut down: FIN after the TX ring data
_F_FIN_RCVD = const(2)  # the peer's FIN arrived (in order)
_F_RTT_ON = const(4)  # a segment is being timed (RFC 6298): rtt_seq, rtt_ms
_F_ACK_NOW = const(8)  # an ACK is owed now
_F_DELACK_ON = const(16)  # a delayed ACK is due at delack_at
_F_IN_RECOVERY = const(32)  # NewReno fast recovery (RFC 6582) until recover is acked
_F_NODELAY = const(64)  # TCP_NODELAY: Nagle off
_F_KEEPALIVE = const(128)  # SO_KEEPALIVE
_F_ACK_SOON = const(256)  # an ACK is owed at the next poll (Tcp.send_soon_acks)
_F_WL_SET = const(512)  # snd_wl1/snd_wl2 hold a segment's numbers (any value, 0 included)
_F_FIN_AHEAD = const(1024)  # the peer's FIN came out of order: it ends the sequence space at fin_seq
_F_CLOSE_LATER = const(2048)  # close() from a finaliser: the next timer scan closes
FLAG_NAMES = (
    "fin_queued", "fin_rcvd", "rtt_on", "ack_now", "delack_on", "in_recovery", "nodelay",
    "keepalive", "ack_soon", "wl_set", "fin_ahead", "close_later",
)
_SND_SEQS = (_SND_UNA, _SND_NXT, _SND_MAX, _SND_WL2, _SND_SML, _RTT_SEQ, _RECOVER)
_SND_NAMES = ("snd_una", "snd_nxt", "snd_max", "snd_wl2", "snd_sml", "rtt_seq", "recover")
_RCV_SEQS = (_SND_WL1, _RCV_NXT, _RCV_ADV, _FIN_SEQ)
_RCV_NAMES = ("snd_wl1", "rcv_nxt", "rcv_adv", "fin_seq")
# END LAYOUT tcp.fields


# BEGIN LAYOUT tcp.counters (generated by tools/codegen/gen_layouts.py from TCP_COUNTERS)
STAT_KEYS = (
    "tcp_active_opens", "tcp_passive_opens", "tcp_established", "tcp_resets_rx",
    "tcp_rst_tx", "tcp_challenge_acks", "tcp_rto_timeouts", "tcp_retransmits",
    "tcp_fast_retransmits", "tcp_persist_probes", "tcp_keepalive_probes",
    "tcp_timeouts", "tcp_ooo_segments", "tcp_time_wait_reused", "tcp_segs_out", "tcp_syn_evictions",
    "tcp_syncookies_sent", "tcp_syncookies_ok", "tcp_syncookies_refused", "tcp_predicted",
    "drop_tcp_short", "drop_tcp_hlen", "drop_tcp_checksum", "drop_tcp_options",
    "drop_tcp_no_socket", "drop_tcp_backlog", "drop_tcp_no_block", "drop_tcp_broadcast",
)
# positions in the layer's counter array (same order)
_C_TCP_ACTIVE_OPENS = const(0)
_C_TCP_PASSIVE_OPENS = const(1)
_C_TCP_ESTABLISHED = const(2)
_C_TCP_RESETS_RX = const(3)
_C_TCP_RST_TX = const(4)
_C_TCP_CHALLENGE_ACKS = const(5)
_C_TCP_RTO_TIMEOUTS = const(6)
_C_TCP_RETRANSMITS = const(7)
_C_TCP_FAST_RETRANSMITS = const(8)
_C_TCP_PERSIST_PROBES = const(9)
_C_TCP_KEEPALIVE_PROBES = const(10)
_C_TCP_TIMEOUTS = const(11)
_C_TCP_OOO_SEGMENTS = const(12)
_C_TCP_TIME_WAIT_REUSED = const(13)
_C_TCP_SEGS_OUT = const(14)
_C_TCP_SYN_EVICTIONS = const(15)
_C_TCP_SYNCOOKIES_SENT = const(16)
_C_TCP_SYNCOOKIES_OK = const(17)
_C_TCP_SYNCOOKIES_REFUSED = const(18)
_C_TCP_PREDICTED = const(19)
_C_DROP_TCP_SHORT = const(20)
_C_DROP_TCP_HLEN = const(21)
_C_DROP_TCP_CHECKSUM = const(22)
_C_DROP_TCP_OPTIONS = const(23)
_C_DROP_TCP_NO_SOCKET = const(24)
_C_DROP_TCP_BACKLOG = const(25)
_C_DROP_TCP_NO_BLOCK = const(26)
_C_DROP_TCP_BROADCAST = const(27)
# END LAYOUT tcp.counters


def _load_native(name, fn, mc):
    """A viper function of tcpip/wire/native_emit.py (its text ``name``, the
    function ``fn``: Tcp._emit's native half EMIT, Tcp.ack_input's ACK)
    where there is viper code (machine code in a MicroPython board set, the
    module ``mc`` of tcpip/wire: native_emit_mc.mpy, native_ack_mc.mpy; the
    text compiled here on a unix port) and its field indices are FIELDS'
    (else None: the portable code)."""
    if _copy_viper is None:
        return None  # no viper here (CPython, CircuitPython): not even its text is loaded
    try:
        # A collection first: the loader's (or the compiler's) garbage then
        # comes after the heap's live blocks instead of between them, and
        # the machine code lands low.  Without it the board's heap was left
        # cut into pieces too small for an mbedTLS session after TLS
        # sessions came and went (host_tests/test_rp2040_tls.py: ENOMEM in
        # wrap_socket at 63 KB free, when EMIT was compiled on the board).
        import gc
        gc.collect()
        from tcpip.wire.viper import load  # (dropped again by load)
        code = load((fn, "LAYOUT"), (name,), "native_emit", mc, ("LAYOUT",))
        if code is None:
            return None
        for i, field in code[1]:
            if FIELDS[i] != field:
                return None
        return code[0]
    except Exception:
        return None


_emit_native = _load_native("EMIT", "emit", "native_emit_mc")
# Tcp.ack_input's ACK is loaded on first use, not here: by the first bulk
# send (Connection.send leaving more than a segment queued), where pure ACKs
# come in a stream; until then the general way takes them.  Its machine code
# (5 KB on the board) stays off the heap of an application that never sends
# in bulk (host_tests/test_rp2040_tls.py: an mbedTLS session needs ~27 KB).
_ack_native = None
_ack_todo = _copy_viper is not None  # (until the first try; no viper: nothing to load)


def _sdiff(a, b):
    """a - b in sequence space (RFC 9293 3.4: modulo 2**32), as a signed int
    (absolute 32-bit values: cold paths only)."""
    d = (a - b) & _MASK
    if d & 0x80000000:
        return d - 0x100000000
    return d


_ISS = const(0x10000)  # where the ISS and the IRS sit relative to their anchors:
_IRS = const(0x10000)  # 64 KB up, so a segment a little older than the SYN still counts as older
_FAR = const(0x3FFFFFFF)  # _rel's answer for a value nowhere near the anchor
_REANCHOR_AT = const(0x20000000)  # 2**29: move the anchor ...
_REANCHOR_BY = const(0x10000000)  # ... by 2**28


def _rel(hi, lo, a_hi, a_lo):
    """The 32-bit value (hi, lo) minus the anchor (a_hi, a_lo), modulo 2**32,
    when that is below 2**30; else _FAR.  Small ints throughout."""
    lo -= a_lo
    hi -= a_hi
    if lo < 0:
        lo += 0x10000
        hi -= 1
    hi &= 0xFFFF
    if hi >= 0x4000:
        return _FAR
    return (hi << 16) | lo


def _abs32(w, a, v):
    """Relative value v of the side anchored at w[a], w[a + 1] as a 32-bit int (cold)."""
    return (((w[a] << 16) | w[a + 1]) + v) & _MASK


# -- congestion control (RFC 5681, NewReno fast recovery RFC 6582), in bytes:
# its four decision points.  _cc_init, _cc_on_ack and _cc_on_rto only change
# w; Tcp._cc_on_dupack also sends (the fast retransmit).  _output sends at most
# min(snd_wnd, cwnd) beyond snd_una.

def _cc_init(w):
    """The initial window (RFC 5681 3.1, at most 4380 bytes), sized down for a
    small TX ring, once the peer's MSS is known."""
    mss = w[_SND_MSS]
    iw = 4 * mss
    if iw > 4380:
        iw = 4380 if 4380 > 2 * mss else 2 * mss
    size = w[_TX_SIZE]
    if iw > size:
        iw = size if size > mss else mss
    w[_CWND] = iw
    w[_SSTHRESH] = 65535


def _cc_on_ack(w, acked):
    """An ACK of new data (acked bytes; snd_una already moved): slow start or
    congestion avoidance (RFC 5681 3.1), or NewReno's end of recovery or
    partial ACK (RFC 6582 3.2).  True for a partial ACK: the caller resends
    the next hole."""
    mss = w[_SND_MSS]
    # a local cwnd: the deflation may dip below zero for a moment, which w cannot hold
    cwnd = w[_CWND]
    partial = False
    if w[_FLAGS] & _F_IN_RECOVERY:
        if w[_SND_UNA] >= w[_RECOVER]:
            # full ACK: deflate to min(ssthresh, flight + mss)
            flight = w[_SND_MAX] - w[_SND_UNA]
            cwnd = w[_SSTHRESH] if w[_SSTHRESH] < flight + mss else flight + mss
            w[_FLAGS] &= ~_F_IN_RECOVERY
        else:
            # partial ACK: deflate by what was acked, add back an MSS
            partial = True
            cwnd -= acked
            if acked >= mss:
                cwnd += mss
            if cwnd < mss:
                cwnd = mss
    elif cwnd < w[_SSTHRESH]:
        cwnd += acked if acked < mss else mss
    else:
        flight = mss * mss // cwnd
        cwnd += flight if flight > 0 else 1
    if cwnd > 0x40000:
        cwnd = 0x40000
    w[_CWND] = cwnd
    w[_DUPACKS] = 0
    return partial


def _cc_loss_ssthresh(w):
    """RFC 5681 (4): half the flight size, at least two segments."""
    half = (w[_SND_MAX] - w[_SND_UNA]) >> 1
    mss2 = 2 * w[_SND_MSS]
    return half if half > mss2 else mss2


def _cc_on_rto(w):
    """A retransmission timeout (RFC 5681 3.1, (4) and (5)): ssthresh from the
    flight, a loss window of one segment, recovery over (RFC 6582 4: recover
    moves to snd_max)."""
    w[_SSTHRESH] = _cc_loss_ssthresh(w)
    w[_CWND] = w[_SND_MSS]  # loss window
    w[_DUPACKS] = 0
    w[_FLAGS] &= ~_F_IN_RECOVERY
    w[_RECOVER] = w[_SND_MAX]


def _rto_update(w, r, cfg):
    """SRTT, RTTVAR and RTO from a round-trip time of r ms (RFC 6298 2.2, 2.3;
    the RTO kept within cfg's bounds).  Its own function with few locals: a
    MicroPython frame of at most 11 words stays off the heap."""
    if w[_SRTT8] == 0:
        w[_SRTT8] = (r << 3) or 1
        w[_RTTVAR4] = r << 1
    else:
        r -= w[_SRTT8] >> 3  # r now: the error of the estimate
        w[_SRTT8] += r
        if w[_SRTT8] <= 0:
            w[_SRTT8] = 1
        if r < 0:
            r = -r
        w[_RTTVAR4] += r - (w[_RTTVAR4] >> 2)
    r = (w[_SRTT8] >> 3) + (w[_RTTVAR4] if w[_RTTVAR4] > 1 else 1)  # r now: the RTO
    if r < cfg.tcp_rto_min_ms:
        r = cfg.tcp_rto_min_ms
    if r > cfg.tcp_rto_max_ms:
        r = cfg.tcp_rto_max_ms
    w[_RTO_MS] = r


class Listener:
    """A passive-open slot: the local port and how many unaccepted connections it may hold."""

    def __init__(self, index):
        self.id = index + 1  # what a Connection holds in w[_LISTENER] (0: none)
        self.port = 0
        self.backlog = 0
        self.in_use = False


class Connection:
    """One TCP control block with its RX and TX rings (see the module docstring)."""

    def __init__(self, tcp, index, rx_bytes, tx_bytes, ooo_ranges):
        # Two attributes only: every number, flag and ring index lives in w
        # (see FIELDS); the ring bytes are this block's part of tcp.buf.
        self.tcp = tcp
        self.w = w = uint32_slots(_NFIELDS + 2 * ooo_ranges)
        base = index * (rx_bytes + tx_bytes)
        _ring.init(w, _RX, base, rx_bytes)
        _ring.init(w, _TX, base + rx_bytes, tx_bytes)
        self._reset_fields()

    @property
    def rx(self):
        """The receive ring as a Ring view (allocates: REPL, tests, readline)."""
        return Ring(0, (len(self.w) - _NFIELDS) >> 1, self.tcp.buf, self.w, _RX)

    @property
    def tx(self):
        """The send ring as a Ring view (allocates)."""
        return Ring(0, 0, self.tcp.buf, self.w, _TX)

    def _reset_fields(self):
        w = self.w
        # BEGIN LAYOUT tcp.reset (generated by tools/codegen/gen_layouts.py from TCP_FIELDS)
        for i in range(_STATE, _FIN_SEQ + 1):  # state .. fin_seq
            w[i] = 0
        w[_STATE] = CLOSED
        w[_SND_MSS] = _DEFAULT_MSS
        w[_RTO_MS] = self.tcp.cfg.tcp_rto_initial_ms
        w[_TMR] = _T_OFF
        w[_SSTHRESH] = 65535
        # END LAYOUT tcp.reset

    # -- fields by name (cold: the API, the socket layer, tests, the REPL)

    def __getattr__(self, name):
        # only called for names that are not attributes: c.snd_una, c.cwnd ...
        # Sequence numbers come back absolute (32-bit), as the RFC names them.
        w = self.w
        if name in _SND_NAMES:
            return _abs32(w, _SA_HI, w[_SND_SEQS[_SND_NAMES.index(name)]])
        if name in _RCV_NAMES:
            return _abs32(w, _RA_HI, w[_RCV_SEQS[_RCV_NAMES.index(name)]])
        if name == "iss":
            return _abs32(w, _SA_HI, _ISS)  # the ISS until the anchor first moved
        if name == "irs":
            return _abs32(w, _RA_HI, _IRS)
        if name in FLAG_NAMES:
            return 1 if w[_FLAGS] & (1 << FLAG_NAMES.index(name)) else 0
        try:
            i = FIELDS.index(name)
        except ValueError:
            raise AttributeError(name)
        return w[i]

    @property
    def state(self):
        return self.w[_STATE]

    @property
    def error(self):
        """errno once the connection failed, else 0."""
        return self.w[_ERROR]

    @property
    def lport(self):
        return self.w[_LPORT]

    @property
    def rip(self):
        return (self.w[_RIP_HI] << 16) | self.w[_RIP_LO]

    @property
    def rport(self):
        return self.w[_RPORT]

    @property
    def fin_rcvd(self):
        return 1 if self.w[_FLAGS] & _F_FIN_RCVD else 0

    @property
    def fin_queued(self):
        return 1 if self.w[_FLAGS] & _F_FIN_QUEUED else 0

    @property
    def listener(self):
        """The Listener of a connection not yet accepted, else None."""
        i = self.w[_LISTENER]
        return self.tcp.listeners[i - 1] if i else None

    @property
    def index(self):
        """Position in the pool (and of the rings in tcp.buf)."""
        return self.w[_RX_BASE] // (self.w[_RX_SIZE] + self.w[_TX_SIZE])

    @property
    def nodelay(self):
        return 1 if self.w[_FLAGS] & _F_NODELAY else 0

    @nodelay.setter
    def nodelay(self, on):
        self._set_flag(_F_NODELAY, on)

    @property
    def keepalive(self):
        return 1 if self.w[_FLAGS] & _F_KEEPALIVE else 0

    def _set_flag(self, bit, on):
        w = self.w
        w[_FLAGS] = (w[_FLAGS] | bit) if on else (w[_FLAGS] & ~bit)

    # -- queries

    def state_name(self):
        return STATE_NAMES[self.w[_STATE]]

    def is_established(self):
        """True once the handshake completed and until the connection is gone."""
        return self.w[_STATE] >= ESTABLISHED

    def is_synchronized(self):
        return self.w[_STATE] >= SYN_RECEIVED

    def readable(self):
        """Bytes waiting in the RX ring."""
        return self.w[_RX_COUNT]

    def writable(self):
        """Bytes the TX ring can accept now (0: full, wait for ACKs).  Raises
        exactly when ``send`` would: the connection's error once it failed
        (ECONNRESET ...), EPIPE after ``shutdown``, ENOTCONN when closed --
        so a loop waiting for room cannot mistake a dead connection for a
        full ring."""
        w = self.w
        if w[_ERROR] or not w[_USER] or not w[_IN_USE] or w[_FLAGS] & _F_FIN_QUEUED \
                or w[_STATE] <= LISTEN:
            self._check_sendable()  # raises (the common case: no call)
        return w[_TX_SIZE] - w[_TX_COUNT]

    def unsent(self):
        """Bytes in the TX ring not yet acknowledged by the peer."""
        return self.w[_TX_COUNT]

    def at_eof(self):
        """True when the peer closed its side and every byte has been read."""
        return bool(self.w[_FLAGS] & _F_FIN_RCVD) and self.w[_RX_COUNT] == 0

    def local(self):
        return (ntoa(self.tcp.iface.ip), self.w[_LPORT])

    def remote(self):
        w = self.w
        return (ntoa(self.rip), w[_RPORT])

    def __repr__(self):
        w = self.w
        return "<Connection %d %s %d -> %s:%d>" % (self.index, STATE_NAMES[w[_STATE]],
                                                   w[_LPORT], ntoa(self.rip), w[_RPORT])

    # -- options (the socket layer's TCP_NODELAY and SO_KEEPALIVE)

    def set_nodelay(self, on):
        """TCP_NODELAY: True turns Nagle's algorithm off (small writes go at once)."""
        w = self.w
        self._set_flag(_F_NODELAY, on)
        if on and w[_STATE] >= ESTABLISHED:
            self.tcp._output(self, self.tcp.now_ms)

    def set_keepalive(self, on):
        """SO_KEEPALIVE: probe an idle connection (cfg.tcp_keepalive_*; off by default)."""
        w = self.w
        self._set_flag(_F_KEEPALIVE, on)
        w[_KA_PROBES] = 0
        w[_KA_AT] = ticks_add(self.tcp.now_ms, self.tcp.cfg.tcp_keepalive_idle_ms)
        self.tcp.next_at = self.tcp.now_ms  # scan at the next poll: a new deadline
        self.tcp.iface.wake_at = None

    # -- data

    def _check_usable(self):
        w = self.w
        if w[_ERROR]:
            raise OSError(w[_ERROR], "connection failed: %s" % _errname(w[_ERROR]))
        if not w[_IN_USE] or not w[_USER]:
            raise OSError(ENOTCONN, "connection is closed")

    def _check_sendable(self):
        self._check_usable()
        if self.w[_FLAGS] & _F_FIN_QUEUED:
            raise OSError(EPIPE, "send after shutdown of the write side")
        if self.w[_STATE] == CLOSED or self.w[_STATE] == LISTEN:
            raise OSError(ENOTCONN, "not connected")

    def send(self, data, off=0, n=-1):
        """Queue bytes from data[off:off+n] into the TX ring; returns bytes accepted
        (0 when the ring is full).  Segments go out at once when the window allows."""
        if self.w[_ERROR] or not self.w[_USER] or not self.w[_IN_USE] \
                or self.w[_FLAGS] & _F_FIN_QUEUED or self.w[_STATE] <= LISTEN:
            self._check_sendable()  # raises (the common case: no call)
        if n < 0 or n > len(data) - off:
            n = len(data) - off
        n = _ring_write(self.tcp.buf, self.w, _TX, data, off, n)
        if _ack_todo and self.w[_TX_COUNT] > self.w[_SND_MSS]:
            self.tcp.load_ack()  # a bulk send: the ACKs will come in a stream
        if n and self.w[_STATE] >= ESTABLISHED:
            self.tcp._output(self, self.tcp.now_ms)
        return n

    def recv_into(self, buf, off=0, n=-1):
        """Move received bytes into buf[off:]; returns the count, 0 at end of data
        (peer sent FIN and everything was read), -1 when nothing is there yet."""
        w = self.w
        if n < 0 or n > len(buf) - off:
            n = len(buf) - off
        if n > w[_RX_COUNT]:
            n = w[_RX_COUNT]
        if n > 0:
            k = w[_RX_HEAD]
            if k + n <= w[_RX_SIZE]:
                # ring.read_into's common case (no wrap) inline: its call, its
                # heap frame and ring.discard's call less per read
                _copy(buf, off, self.tcp.buf, w[_RX_BASE] + k, n)
                k += n
                if k >= w[_RX_SIZE]:
                    k -= w[_RX_SIZE]
                w[_RX_COUNT] -= n
                if not w[_RX_COUNT] and not w[_RX_NRANGES]:
                    k = 0  # (as ring.discard: later writes stay contiguous)
                w[_RX_HEAD] = k
            else:
                _ring_read_into(self.tcp.buf, w, _RX, buf, off, n)
            tcp = self.tcp
            # RFC 9293 3.8.6.2.2: tell the peer once the window opened by a
            # worthwhile amount (Tcp._window_grew decides): at once when
            # this read emptied the ring, else at the next poll, so the reads
            # an application makes in a row send one frame between them.
            if w[_STATE] >= ESTABLISHED and not (w[_FLAGS] & _F_FIN_RCVD) and tcp._window_grew(self):
                if w[_RX_COUNT]:
                    tcp._ack_soon(self)
                    tcp.iface.wake_at = None  # (Stack.poll's idle shortcut would not send it)
                else:
                    w[_FLAGS] |= _F_ACK_NOW
                    tcp._output(self, tcp.now_ms)
            return n
        if w[_FLAGS] & _F_FIN_RCVD:
            return 0
        if w[_ERROR]:
            raise OSError(w[_ERROR], "connection failed: %s" % _errname(w[_ERROR]))
        if not w[_IN_USE] or not w[_USER]:
            raise OSError(ENOTCONN, "connection is closed")
        if w[_STATE] == CLOSED:
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

    def close_later(self):
        """close() at the next poll: only marks the block (no allocation, nothing
        sent), for a finaliser that runs while MicroPython's heap is locked."""
        self.w[_FLAGS] |= _F_CLOSE_LATER
        self.tcp.next_at = self.tcp.now_ms  # timers() scans the pool at the next poll
        self.tcp.iface.wake_at = None

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

    def __init__(self, cfg, iface):
        self.cfg = cfg
        self.iface = iface
        self.ctr = iface.counters.group(STAT_KEYS)  # self.ctr[_C_...]
        self.mss = cfg.mtu - 40  # RFC 9293 3.7.1: MTU minus IP and TCP headers
        # Every ring of the pool in one buffer (block i: RX then TX bytes).
        # The viper copy takes the bytearray; on CPython slices of a
        # memoryview are views (one memcpy per copy).
        buf = bytearray(cfg.tcp_sockets * (cfg.tcp_rx_bytes + cfg.tcp_tx_bytes))
        self.buf = buf if _copy_viper is not None else memoryview(buf)
        self.pool = [Connection(self, i, cfg.tcp_rx_bytes, cfg.tcp_tx_bytes, cfg.tcp_ooo_ranges)
                     for i in range(cfg.tcp_sockets)]
        self.listeners = [Listener(i) for i in range(cfg.tcp_listeners)]
        self.seg = wire.Tcp()
        # Tcp.input's lookup memo: the block the last segment went to (any
        # block to start with, a never-used one without a pool: input checks
        # the whole key before using it)
        self.last = self.pool[0] if self.pool else Connection(self, 0, 0, 0, 0)
        self.isn = random32  # ISN source (tests replace it to start near 2**32)
        # when a side's relative sequence numbers move their anchor, and by
        # how much (a multiple of 2**16); tests make them small
        self.reanchor_at = _REANCHOR_AT
        self.reanchor_by = _REANCHOR_BY
        self.ack_soon = False  # some block has _F_ACK_SOON
        self.hdrpred = True  # the fast path in input (False: every segment the general way)
        self.native_emit = True  # _emit's native code where viper has it (False: the portable)
        self.next_at = 0  # timers() scans the pool when this comes (see timers)
        self.now_ms = 0
        self.births = 0
        self.next_port = _EPHEMERAL_LO + (random32() % (65536 - _EPHEMERAL_LO))
        self.challenge_tokens = cfg.tcp_challenge_acks_per_s
        self.challenge_refill_ms = 0
        self.cookie_buf = bytearray(32)  # 16-byte secret key + the hashed fields
        self.cookie_buf[:16] = urandom(16)
        iface.tcp_input = self.input
        # Interface.input's hook for pure ACKs: installed by load_ack (on the
        # process's first bulk send, or now when that has been)
        if _ack_native is not None:
            self.load_ack()
        iface.arp_done = self.arp_done
        if iface.icmp_error_input is None:
            iface.icmp_error_input = self.icmp_error

    # ------------------------------------------------------------------ API

    def load_ack(self):
        """Take pure ACKs by ``ack_input`` from now on where viper has its
        native part, loaded now if not yet (once per process: Connection.send
        calls this on the first bulk send; stacks made later take it at
        once): True when it does, False (the general way) else."""
        global _ack_native, _ack_todo
        if _ack_todo:
            _ack_todo = False
            _ack_native = _load_native("ACK", "ack", "native_ack_mc")
            # and its loader's garbage collected now: left, it brings the
            # next collection forward into the transfer that loaded it (quick
            # bench out of the board: 318 kB/s steady, 337 with this)
            import gc
            gc.collect()
        if _ack_native is None:
            return False
        self.iface.memo[_M_TCP_ACK] = self.ack_input
        return True

    def open(self, remote_ip, remote_port, local_port=0):
        """Active open: allocate a block and send SYN.  Returns the Connection
        (state SYN-SENT; poll until ``is_established()`` or an error)."""
        rip = aton(remote_ip)
        if not (0 < remote_port < 65536):
            raise OSError(EINVAL, "bad remote port %r" % (remote_port,))
        if not self.iface.ip or not self.iface.next_hop(rip):
            raise OSError(EHOSTUNREACH, "no route to %s (no address or gateway yet)" % ntoa(rip))
        rip_hi = rip >> 16
        rip_lo = rip & 0xFFFF
        if local_port:
            for c in self.pool:
                w = c.w
                if w[_IN_USE] and w[_LPORT] == local_port and w[_RIP_LO] == rip_lo \
                        and w[_RIP_HI] == rip_hi and w[_RPORT] == remote_port:
                    raise OSError(EADDRINUSE, "connection %d -> %s:%d exists"
                                  % (local_port, ntoa(rip), remote_port))
        else:
            local_port = self._ephemeral_port()
        c = self._alloc(self.now_ms)
        if c is None:
            raise OSError(ENOMEM, "no free TCP control block (tcp_sockets=%d)" % len(self.pool))
        w = c.w
        w[_USER] = 1
        w[_LPORT] = local_port
        w[_RIP_HI] = rip_hi
        w[_RIP_LO] = rip_lo
        w[_RPORT] = remote_port
        self._init_send(c)
        w[_STATE] = SYN_SENT
        self.ctr[_C_TCP_ACTIVE_OPENS] += 1
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
                if backlog is None:
                    backlog = self.cfg.tcp_backlog or len(self.pool)
                l.backlog = backlog if backlog > 1 else 1
                return l
        raise OSError(ENOMEM, "no free listen slot (tcp_listeners=%d)" % len(self.listeners))

    def accept(self, listener):
        """The oldest established connection waiting on listener, or None."""
        # (a server's loop asks at every turn and mostly hears None: that
        # answer from an 11-word frame, off the heap; _accept_oldest chooses)
        lid = listener.id
        for c in self.pool:
            if c.w[_LISTENER] == lid and c.w[_STATE] >= ESTABLISHED:
                return self._accept_oldest(lid)
        return None

    def _accept_oldest(self, lid):
        best = None
        born = 0
        for c in self.pool:
            w = c.w
            if w[_LISTENER] == lid and w[_STATE] >= ESTABLISHED and (best is None or w[_BORN] < born):
                best = c
                born = w[_BORN]
        if best is not None:
            w = best.w
            w[_LISTENER] = 0
            w[_USER] = 1
        return best

    def pending(self, listener):
        """Connections (handshaking or established) waiting for accept."""
        lid = listener.id
        n = 0
        for c in self.pool:
            if c.w[_LISTENER] == lid:
                n += 1
        return n

    def unlisten(self, listener):
        """Stop listening; connections not yet accepted are reset."""
        lid = listener.id
        for c in self.pool:
            if c.w[_LISTENER] == lid:
                self._abort(c, True)
        listener.in_use = False
        listener.port = 0

    def free_blocks(self):
        """Control blocks not in use (TIME-WAIT blocks nobody holds count as used)."""
        n = 0
        for c in self.pool:
            if not c.w[_IN_USE]:
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
                if c.w[_IN_USE] and c.w[_LPORT] == p:
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
            if not c.w[_IN_USE]:
                victim = c
                break
        if victim is None:
            # lwIP: when the pool is exhausted, reuse the oldest TIME-WAIT block
            # nobody holds (its deadline is the earliest).
            at = 0
            for c in self.pool:
                w = c.w
                if w[_STATE] == TIME_WAIT and not w[_USER] and not w[_LISTENER] and (
                        victim is None or ticks_diff(w[_TMR_AT], at) < 0):
                    victim = c
                    at = w[_TMR_AT]
            if victim is None:
                return None
            self.ctr[_C_TCP_TIME_WAIT_REUSED] += 1
        victim._reset_fields()
        w = victim.w
        _ring.clear(w, _RX)
        _ring.clear(w, _TX)
        w = victim.w
        w[_IN_USE] = 1
        self.births += 1
        w[_BORN] = self.births
        return victim

    def _free(self, c):
        w = c.w
        w[_IN_USE] = 0
        w[_USER] = 0
        w[_LISTENER] = 0
        w[_STATE] = CLOSED
        w[_TMR] = _T_OFF
        w[_FLAGS] &= ~_F_DELACK_ON
        _ring.clear(w, _RX)
        _ring.clear(w, _TX)

    def _init_send(self, c, iss=-1):
        w = c.w
        # RFC 9293 3.4.1 / RFC 6528: an unpredictable ISN per connection; the
        # send anchor goes 64 KB below it (the ISS is _ISS in relative terms)
        if iss >= 0:
            w[_SA_HI] = iss >> 16  # (the anchor, below)
            w[_SA_LO] = iss & 0xFFFF
        elif self.isn is _compat.random32:
            # (compat's own: a harness that swaps this module's random32 for
            # a seeded one, tools/robust/fuzz.py, keeps its ISNs)
            # the default source in 16-bit halves: random32's value is a
            # heap int on a 32-bit board 3 times in 4 (and so are the steps
            # to the halves), so what a connection's open allocates would
            # vary with it; four random bytes, one object, every time
            iss = urandom(4)
            w[_SA_HI] = (iss[0] << 8) | iss[1]
            w[_SA_LO] = (iss[2] << 8) | iss[3]
        else:
            iss = self.isn() & _MASK  # (a test's ISN source)
            w[_SA_HI] = iss >> 16
            w[_SA_LO] = iss & 0xFFFF
        w[_SA_HI] = (w[_SA_HI] - 1) & 0xFFFF  # the anchor: iss - _ISS (2**16)
        w[_SND_UNA] = _ISS
        w[_SND_NXT] = _ISS
        w[_SND_MAX] = _ISS
        w[_RECOVER] = _ISS
        w[_SND_SML] = _ISS
        w[_SND_MSS] = _DEFAULT_MSS if _DEFAULT_MSS < self.mss else self.mss
        w[_RTO_MS] = self.cfg.tcp_rto_initial_ms

    def _set_peer_mss(self, c, mss):
        w = c.w
        # RFC 9293 3.7.1: 536 when absent; never more than our own MSS
        if mss <= 0:
            mss = _DEFAULT_MSS
        if mss > self.mss:
            mss = self.mss
        if mss < 64:
            mss = 64
        w[_SND_MSS] = mss
        _cc_init(w)

    def _shutdown(self, c):
        w = c.w
        if w[_FLAGS] & _F_FIN_QUEUED:
            return
        s = w[_STATE]
        if s == SYN_SENT:
            # nothing sent yet that the peer knows of: just forget it
            w[_FLAGS] |= _F_FIN_QUEUED
            return
        w[_FLAGS] |= _F_FIN_QUEUED
        # RFC 9293 3.10.4: queue the FIN after the data; the state changes now
        if s == ESTABLISHED or s == SYN_RECEIVED:
            w[_STATE] = FIN_WAIT_1
        elif s == CLOSE_WAIT:
            w[_STATE] = LAST_ACK
        else:
            return
        self._output(c, self.now_ms)

    def _close(self, c):
        w = c.w
        if not w[_IN_USE]:
            return
        w[_USER] = 0
        s = w[_STATE]
        if s == CLOSED or s == SYN_SENT:
            self._free(c)
            return
        if w[_RX_COUNT]:
            # RFC 9293 3.10.4 / RFC 2525 2.17: unread data is lost; tell the peer
            self._abort(c, True)
            return
        if w[_ERROR]:
            self._free(c)
            return
        self._shutdown(c)
        if w[_STATE] == FIN_WAIT_2:
            self._arm(c, _T_FIN_WAIT_2, self.cfg.tcp_fin_wait2_ms, self.now_ms)

    def _abort(self, c, send_rst):
        w = c.w
        if not w[_IN_USE]:
            return
        if send_rst and w[_STATE] >= SYN_RECEIVED and w[_STATE] != TIME_WAIT:
            self._send_rst_to(c, self.now_ms)
        self._free(c)

    def _fail(self, c, err):
        """The connection is gone (RST, timeout): the holder sees err, others free it."""
        w = c.w
        if w[_USER]:
            w[_ERROR] = err
            w[_STATE] = CLOSED
            w[_TMR] = _T_OFF
            w[_FLAGS] &= ~_F_DELACK_ON
            _ring.clear(w, _TX)
        else:
            self._free(c)

    def _to_closed(self, c):
        w = c.w
        if w[_USER]:
            w[_STATE] = CLOSED
            w[_TMR] = _T_OFF
            w[_FLAGS] &= ~_F_DELACK_ON
        else:
            self._free(c)

    # The small per-segment helpers below index c.w without a local ``w``:
    # MicroPython puts a call frame of more than 11 slots (locals + stack) on
    # the heap, which costs far more than a second attribute load.

    def _arm(self, c, kind, ms, now_ms):
        at = ticks_add(now_ms, ms)
        c.w[_TMR] = kind
        c.w[_TMR_AT] = at
        if ticks_diff(at, self.next_at) < 0:
            self.next_at = at  # timers() scans the pool by then
            self.iface.wake_at = None  # and Stack.poll runs them at its next call

    def _window_grew(self, c):
        # After a read: is a window update worth a frame?  Only while the
        # window last advertised is at most half the ring (the peer may be
        # waiting for it; above that it still has room for more than half a
        # ring, which its sender SWS avoidance lets it send, and the next
        # ACK carries the new window), and then once the right edge moves by
        # min(half the ring, one MSS) (RFC 9293 3.8.6.2.2 receiver SWS
        # avoidance; Linux's tcp_cleanup_rbuf asks the same two questions).
        # A read that empties the ring is no exception: a frame per read
        # there would be an ACK per segment, undoing the delayed ACK.
        w = c.w
        free = w[_RX_SIZE] - w[_RX_COUNT]
        if free > 65535:
            free = 65535
        adv = w[_RCV_ADV] - w[_RCV_NXT]
        thresh = w[_RX_SIZE] if w[_RX_SIZE] < 65535 else 65535  # (the most we advertise)
        if adv + adv > thresh:
            return False
        thresh >>= 1
        if thresh > self.mss:
            thresh = self.mss
        return free - adv >= thresh

    # ------------------------------------------------------------ emit

    def _emit(self, c, seq, flags, n, now_ms):
        """Build one segment of c in iface.tx and send it; n data bytes from the
        TX ring at seq (relative, like snd_una: seq - snd_una bytes past its head).
        Every segment of a connection goes out here.  Where viper compiles
        it, one native call (tcpip/wire/native_emit.py's EMIT) does what the
        portable code below does for a segment without SYN; the portable
        code has the window, ring.peek_into's common case and
        wire.finish_sum inline (each a MicroPython call less per segment)."""
        w = c.w
        iface = self.iface
        if _emit_native is not None and self.native_emit and not flags & SYN:
            _emit_native(w, iface.tx, self.buf, seq, flags, n,
                         iface.ip_hi + iface.ip_lo + w[_RIP_HI] + w[_RIP_LO], self.mss,
                         iface.memo[_M_TCP_HDR])
            self.ctr[_C_TCP_SEGS_OUT] += 1
            iface.send_ip_h(w[_RIP_HI], w[_RIP_LO], 0, 20 + n, now_ms)
            return
        tx = iface.tx
        o = IP_PAYLOAD_OFF
        hlen = 24 if flags & SYN else 20
        # RFC 9293 3.8.6.2.2 (receiver SWS avoidance): keep the advertised
        # right edge until it can move by min(half the buffer, one MSS);
        # never shrink it (3.8.6)
        wnd = w[_RX_SIZE] - w[_RX_COUNT]
        if wnd > 65535:
            wnd = 65535
        adv = w[_RCV_ADV] - w[_RCV_NXT]
        if adv < 0:
            adv = 0
        if adv > wnd:
            adv = wnd
        k = w[_RX_SIZE] >> 1
        if k > self.mss:
            k = self.mss
        if wnd - adv < k:
            wnd = adv
        ack_hi = 0
        ack_lo = 0
        if flags & ACK:
            ack = w[_RCV_NXT]
            w[_RCV_ADV] = ack + wnd
            w[_FLAGS] &= ~(_F_ACK_NOW | _F_ACK_SOON | _F_DELACK_ON)
            w[_ACK_SEGS] = 0
            # the absolute ack: receive anchor + rcv_nxt, added in 16-bit halves
            ack_lo = w[_RA_LO] + (ack & 0xFFFF)
            ack_hi = (w[_RA_HI] + (ack >> 16) + (ack_lo >> 16)) & 0xFFFF
            ack_lo &= 0xFFFF
        seq_lo = w[_SA_LO] + (seq & 0xFFFF)
        seq_hi = (w[_SA_HI] + (seq >> 16) + (seq_lo >> 16)) & 0xFFFF
        # wire.emit_h, inlined; the checksum field 0 until summed
        pack_into(_TCP_HDR_FMT, tx, o, w[_LPORT], w[_RPORT], seq_hi, seq_lo & 0xFFFF, ack_hi, ack_lo,
                  (hlen >> 2) << 4, flags, wnd, 0, 0)
        if flags & SYN:
            wire.opt_mss(tx, o + 20, self.mss)  # RFC 9293 3.7.1
        if n:
            k = seq - w[_SND_UNA]  # k now: the data's offset past the ring's head
            if w[_STATE] <= SYN_RECEIVED:
                k -= 1  # the SYN is not acknowledged yet
            pos = w[_TX_HEAD] + k
            if pos >= w[_TX_SIZE]:
                pos -= w[_TX_SIZE]
            if pos + n <= w[_TX_SIZE]:
                _copy(tx, o + hlen, self.buf, w[_TX_BASE] + pos, n)
            else:
                _ring_peek_into(self.buf, w, _TX, tx, o + hlen, n, k)
        # RFC 9293 3.1: the checksum over the pseudo-header and the segment,
        # carries folded back twice (the sum stays below 2**20)
        k = _sum16(tx, o, o + hlen + n) + iface.ip_hi + iface.ip_lo + w[_RIP_HI] + w[_RIP_LO] \
            + 6 + hlen + n
        k = (k & 0xFFFF) + (k >> 16)
        k = ~((k & 0xFFFF) + (k >> 16))
        tx[o + 16] = (k >> 8) & 0xFF
        tx[o + 17] = k & 0xFF
        self.ctr[_C_TCP_SEGS_OUT] += 1
        iface.send_ip_h(w[_RIP_HI], w[_RIP_LO], 6, hlen + n, now_ms)

    def _send_rst_h(self, dst_hi, dst_lo, sport, dport, seq_hi, seq_lo, ack_hi, ack_lo, flags,
                    now_ms):
        """A RST (RST,ACK when flags say so) with seq and ack given as halves."""
        iface = self.iface
        tx = iface.tx
        o = IP_PAYLOAD_OFF
        wire.emit_h(tx, o, sport, dport, seq_hi, seq_lo, ack_hi, ack_lo, flags, 0, 20)
        wire.finish_sum(tx, o, 20, iface.ip_hi + iface.ip_lo + dst_hi + dst_lo)
        self.ctr[_C_TCP_RST_TX] += 1
        iface.send_ip_h(dst_hi, dst_lo, 6, 20, now_ms)

    def _send_rst_to(self, c, now_ms):
        """RST to c's peer at snd_max (abort, give-up)."""
        w = c.w
        seq = _abs32(w, _SA_HI, w[_SND_MAX])  # cold: may be a heap int
        self._send_rst_h(w[_RIP_HI], w[_RIP_LO], w[_LPORT], w[_RPORT], seq >> 16, seq & 0xFFFF,
                         0, 0, RST, now_ms)

    def _challenge_ack(self, c, now_ms):
        w = c.w
        # RFC 5961 7: rate-limit challenge ACKs.  since < 0: the last refill
        # is more than half a ticks period ago (a long quiet spell), not in
        # the future: a new second starts now too.
        since = ticks_diff(now_ms, self.challenge_refill_ms)
        if since >= 1000 or since < 0:
            self.challenge_refill_ms = now_ms
            self.challenge_tokens = self.cfg.tcp_challenge_acks_per_s
        if self.challenge_tokens <= 0:
            return
        self.challenge_tokens -= 1
        self.ctr[_C_TCP_CHALLENGE_ACKS] += 1
        self._emit(c, w[_SND_MAX], ACK, 0, now_ms)

    def _output(self, c, now_ms, force=False):
        """Send what the state, windows, Nagle and SWS avoidance allow, then a
        pure ACK if one is still owed."""
        w = c.w
        s = w[_STATE]
        if s == SYN_SENT or s == SYN_RECEIVED:
            if w[_SND_NXT] == _ISS:  # the SYN is not out yet
                flags = SYN if s == SYN_SENT else SYN | ACK
                self._emit(c, _ISS, flags, 0, now_ms)
                w[_SND_NXT] = _ISS + 1
                w[_SND_MAX] = _ISS + 1
                if w[_TMR] != _T_RTX:
                    self._arm(c, _T_RTX, w[_RTO_MS], now_ms)
                if w[_RETRIES] == 0 and not (w[_FLAGS] & _F_RTT_ON):
                    w[_FLAGS] |= _F_RTT_ON
                    w[_RTT_SEQ] = _ISS + 1
                    w[_RTT_MS] = now_ms
            elif (w[_FLAGS] & _F_ACK_NOW) and s == SYN_RECEIVED:
                # a retransmitted SYN: our SYN-ACK was lost (RFC 9293 3.10.7.4)
                self._emit(c, _ISS, SYN | ACK, 0, now_ms)
            w[_FLAGS] &= ~_F_ACK_NOW
            return
        if s == CLOSED or s == LISTEN:
            return
        sent = False
        if s == ESTABLISHED or s == CLOSE_WAIT or s == FIN_WAIT_1 or s == CLOSING or s == LAST_ACK:
            # snd_una and the windows stay put while this loop sends
            una = w[_SND_UNA]
            data_end = una + w[_TX_COUNT]
            mss = w[_SND_MSS]
            fin_queued = (w[_FLAGS] & _F_FIN_QUEUED) and s != CLOSE_WAIT and s != ESTABLISHED
            wnd = w[_SND_WND]
            if w[_CWND] < wnd:
                wnd = w[_CWND]
            nxt = w[_SND_NXT]
            while True:
                in_flight = nxt - una
                unsent = data_end - nxt
                if unsent < 0:
                    break  # FIN already sent
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
                        if n < (w[_MAX_SNDWND] >> 1) or n == 0:
                            break
                    elif in_flight > 0 and not w[_FLAGS] & _F_NODELAY and not fin and w[_SND_SML] > una:
                        # RFC 9293 3.7.4 Nagle, Minshall's variant (as Linux): hold a
                        # small segment only while an earlier small one is unacked
                        break
                flags = ACK
                if n and n == unsent:
                    flags |= PSH  # last segment of what the application wrote
                if fin:
                    flags |= FIN
                new = nxt >= w[_SND_MAX]
                if not new:
                    self.ctr[_C_TCP_RETRANSMITS] += 1
                if _emit_native is not None and self.native_emit:
                    # _emit's native path inline (a call and a heap frame
                    # less per segment)
                    iface = self.iface
                    _emit_native(w, iface.tx, self.buf, nxt, flags, n,
                                 iface.ip_hi + iface.ip_lo + w[_RIP_HI] + w[_RIP_LO], self.mss,
                                 iface.memo[_M_TCP_HDR])
                    self.ctr[_C_TCP_SEGS_OUT] += 1
                    iface.send_ip_h(w[_RIP_HI], w[_RIP_LO], 0, 20 + n, now_ms)
                else:
                    self._emit(c, nxt, flags, n, now_ms)
                if new and not (w[_FLAGS] & _F_RTT_ON):
                    w[_FLAGS] |= _F_RTT_ON  # RFC 6298 / Karn: time one new segment
                    w[_RTT_SEQ] = nxt + n
                    w[_RTT_MS] = now_ms
                if n < mss:
                    w[_SND_SML] = nxt + n
                nxt += n + (1 if fin else 0)
                w[_SND_NXT] = nxt
                if nxt > w[_SND_MAX]:
                    w[_SND_MAX] = nxt
                sent = True
                force = False
                if w[_TMR] != _T_RTX:
                    self._arm(c, _T_RTX, w[_RTO_MS], now_ms)
                if fin:
                    break
            if not sent and w[_TMR] == _T_OFF and data_end > nxt and w[_SND_MAX] == una:
                # RFC 9293 3.8.6.1: data waits for a window: probe it
                w[_RETRIES] = 0
                self._arm(c, _T_PERSIST, w[_RTO_MS], now_ms)
        if not sent and (w[_FLAGS] & _F_ACK_NOW):
            # BSD: a pure ACK carries snd_max, never a rewound snd_nxt the peer
            # has already passed (it would find the ACK out of window)
            if _emit_native is not None and self.native_emit:
                iface = self.iface  # (as above)
                _emit_native(w, iface.tx, self.buf, w[_SND_MAX], ACK, 0,
                             iface.ip_hi + iface.ip_lo + w[_RIP_HI] + w[_RIP_LO], self.mss,
                             iface.memo[_M_TCP_HDR])
                self.ctr[_C_TCP_SEGS_OUT] += 1
                iface.send_ip_h(w[_RIP_HI], w[_RIP_LO], 0, 20, now_ms)
            else:
                self._emit(c, w[_SND_MAX], ACK, 0, now_ms)

    # ------------------------------------------------------------ input

    def ack_input(self, n, now_ms):
        """Interface.input's hook where viper compiles ``_ack_native``
        (tcpip/wire/native_emit.py's ACK): the frame in iface.rx (n bytes)
        taken whole when it is a pure ACK of new data or a window update
        for the last segment's connection, header prediction's cases (a)
        and (c) below, parsed and checked once instead of by Interface,
        IPv4 and Tcp in turn; True when taken (counted as in_tcp by the
        caller), False to go the general way, nothing read or changed."""
        # (few locals: an 11-word frame stays off the heap)
        w = self.last.w
        n = _ack_native(self.iface.rx, n, w, self.iface.memo[_M_OURS]) if self.hdrpred else 0
        if not n:
            return False
        # what the native code leaves: the clock and the calls (as input's (a), (c))
        self.now_ms = now_ms
        if n & 2:
            self._rtt_sample(self.last, w[_SND_UNA], now_ms)
        if n & 4:  # RFC 6298 5.3: the timer restarts (the native set _T_RTX)
            w[_TMR_AT] = (now_ms + w[_RTO_MS]) & _compat.TICKS_MAX  # (ticks_add)
            if ((w[_TMR_AT] - self.next_at + _compat.TICKS_HALF) & _compat.TICKS_MAX) \
                    < _compat.TICKS_HALF:  # (ticks_diff(tmr_at, next_at) < 0)
                self.next_at = w[_TMR_AT]  # timers() scans the pool by then
                self.iface.wake_at = None
        self.ctr[_C_TCP_PREDICTED] += 1
        w[_KA_AT] = (now_ms + self.cfg.tcp_keepalive_idle_ms) & _compat.TICKS_MAX  # (ticks_add)
        if w[_RCV_NXT] >= self.reanchor_at:
            self._reanchor(self.last, _RCV_SEQS, _RA_HI)
        if w[_SND_UNA] >= self.reanchor_at:
            self._reanchor(self.last, _SND_SEQS, _SA_HI)
        if n & 8:
            self._output(self.last, now_ms)
        return True

    def input(self, iface, ip, now_ms):
        """iface.tcp_input hook: one received segment; None when taken, else a drop reason."""
        self.now_ms = now_ms
        seg = self.seg
        buf = iface.rx
        why = seg.parse_sum(buf, ip.payload_off, ip.payload_end, ip.asum)
        if why:
            return why
        if ip.dst_lo != iface.ip_lo or ip.dst_hi != iface.ip_hi:
            return "tcp_broadcast"  # RFC 9293 3.9.2.1 / RFC 1122 4.2.3.10
        flags = seg.flags
        src_hi = ip.src_hi
        src_lo = ip.src_lo
        sport = seg.sport
        dport = seg.dport
        # The block of the last segment first (a bulk transfer's every
        # segment): the same key compare as the pool search below, so a
        # block freed (in_use 0, CLOSED) or reused by another pair since
        # simply fails it; the search then finds the right one, if any.
        c = self.last
        w = c.w
        if w[_LPORT] != dport or w[_RPORT] != sport or w[_RIP_LO] != src_lo \
                or w[_RIP_HI] != src_hi or not w[_IN_USE] or w[_STATE] == CLOSED:
            c = None
            for k in self.pool:
                w = k.w
                if w[_IN_USE] and w[_LPORT] == dport and w[_RPORT] == sport \
                        and w[_RIP_LO] == src_lo and w[_RIP_HI] == src_hi and w[_STATE] != CLOSED:
                    c = k
                    self.last = k
                    break
        dlen = seg.payload_end - seg.payload_off
        if c is not None and (flags & ~PSH) == ACK and w[_STATE] == ESTABLISHED and self.hdrpred \
                and _rel(seg.seq_hi, seg.seq_lo, w[_RA_HI], w[_RA_LO]) == w[_RCV_NXT]:
            # Header prediction (BSD tcp_input, lwIP tcp_receive): on an
            # ESTABLISHED connection nearly every segment is the next one in
            # order and either a pure ACK of new data or data that ACKs
            # nothing new.  For those the RFC 9293 3.10.7.4 checks of
            # _sync_input all pass and reduce to the steps below, which do
            # what it would do (host_tests/test_tcp_hdrpred.py runs both on
            # the same segments); everything else goes the general way.
            ack = _rel(seg.ack_hi, seg.ack_lo, w[_SA_HI], w[_SA_LO])
            acked = ack - w[_SND_UNA]
            fast = False
            if dlen == 0:
                # (a) a pure ACK of new data, not in fast recovery (where a
                # partial ACK resends): _ack_new's common case.  Our FIN is not
                # sent in ESTABLISHED: all up to snd_max is data in the TX ring.
                # (c) a pure window update: nothing new acked and a window
                # other than snd_wnd, so not a duplicate ACK (RFC 5681 2 (e)):
                # _ack_input only updates the window (a receiver that read
                # its ring sends one after the ACK of each segment).
                fast = (0 < acked and ack <= w[_SND_MAX] and not w[_FLAGS] & _F_IN_RECOVERY) \
                    or (acked == 0 and seg.window != w[_SND_WND])
                if fast and acked:
                    # Every step inline but the RTT sample (one per round
                    # trip): a MicroPython call costs more than its body here.
                    # ring.discard: the acked bytes leave the TX ring
                    n = w[_TX_COUNT]
                    if acked < n:
                        n = acked
                    h = w[_TX_HEAD] + n
                    if h >= w[_TX_SIZE]:
                        h -= w[_TX_SIZE]
                    w[_TX_COUNT] -= n
                    if w[_TX_COUNT] == 0 and w[_TX_NRANGES] == 0:
                        h = 0  # keep later writes contiguous when the ring drains
                    w[_TX_HEAD] = h
                    w[_SND_UNA] = ack
                    if w[_SND_NXT] < ack:
                        w[_SND_NXT] = ack  # after a go-back-N rewind
                    if w[_FLAGS] & _F_RTT_ON and ack >= w[_RTT_SEQ]:
                        self._rtt_sample(c, ack, now_ms)
                    w[_RETRIES] = 0
                    # _cc_on_ack outside recovery: RFC 5681 3.1 slow start or
                    # congestion avoidance
                    mss = w[_SND_MSS]
                    cw = w[_CWND]
                    if cw < w[_SSTHRESH]:
                        cw += acked if acked < mss else mss
                    else:
                        mss = mss * mss // cw  # mss now: the increase
                        cw += mss if mss > 0 else 1
                    w[_CWND] = cw if cw <= 0x40000 else 0x40000
                    w[_DUPACKS] = 0
                    if w[_SND_MAX] == ack:
                        if w[_TMR] == _T_RTX:
                            w[_TMR] = _T_OFF
                    elif w[_TMR] == _T_RTX or w[_TMR] == _T_OFF or w[_TMR] == _T_PERSIST:
                        # RFC 6298 5.3: restart the timer (_arm)
                        h = ticks_add(now_ms, w[_RTO_MS])  # h now: when it fires
                        w[_TMR] = _T_RTX
                        w[_TMR_AT] = h
                        if ticks_diff(h, self.next_at) < 0:
                            self.next_at = h  # timers() scans the pool by then
                            self.iface.wake_at = None
                if fast:
                    # _update_window: RFC 9293 3.10.7.4, the send window from
                    # the newest segment (seq is rcv_nxt here)
                    h = w[_RCV_NXT] - w[_SND_WL1]
                    if h > 0 or (h == 0 and ack >= w[_SND_WL2]) or not (w[_FLAGS] & _F_WL_SET):
                        n = seg.window
                        if w[_SND_WND] == 0 and n > 0 and w[_TMR] == _T_PERSIST:
                            w[_TMR] = _T_OFF  # the window opened
                            w[_SND_NXT] = w[_SND_UNA]  # a refused probe byte goes again
                        w[_SND_WND] = n
                        w[_SND_WL1] = w[_RCV_NXT]
                        w[_SND_WL2] = ack
                        w[_FLAGS] |= _F_WL_SET
                        if n > w[_MAX_SNDWND]:
                            w[_MAX_SNDWND] = n
            else:
                # (b) data that ACKs nothing new, fits the RX ring, fills no gap
                # and has no FIN waiting beyond it.  (An ESTABLISHED block is
                # never orphaned: close() moves it to FIN-WAIT-1 first.)
                fast = acked == 0 and dlen <= w[_RX_SIZE] - w[_RX_COUNT] and not w[_RX_NRANGES] \
                    and not w[_FLAGS] & _F_FIN_AHEAD
                if fast:
                    if seg.window == w[_SND_WND] and w[_RCV_NXT] > w[_SND_WL1] \
                            and w[_FLAGS] & _F_WL_SET:
                        # _update_window's common case inline (a call less):
                        # a newer segment, the same window
                        w[_SND_WL1] = w[_RCV_NXT]
                        w[_SND_WL2] = ack
                    else:
                        self._update_window(c, w[_RCV_NXT], ack, seg.window)
                    # into the RX ring: ring.write's common case (no wrap, no
                    # ranges) inline, a MicroPython heap frame less per segment
                    pos = w[_RX_HEAD] + w[_RX_COUNT]
                    if pos >= w[_RX_SIZE]:
                        pos -= w[_RX_SIZE]
                    if pos + dlen <= w[_RX_SIZE]:
                        _copy(self.buf, w[_RX_BASE] + pos, buf, seg.payload_off, dlen)
                        w[_RX_COUNT] += dlen
                    else:
                        _ring_write(self.buf, w, _RX, buf, seg.payload_off, dlen)
                    w[_RCV_NXT] += dlen
                    # _ack_later inline (a call less per segment): RFC 1122
                    # 4.2.3.2, an ACK for every second full segment, at once
                    # when the window is nearly shut, else after the delay
                    if w[_RX_SIZE] - w[_RX_COUNT] < self.mss:
                        w[_FLAGS] |= _F_ACK_SOON  # (_ack_soon)
                        self.ack_soon = True
                    elif dlen >= w[_SND_MSS] or dlen >= self.mss:
                        w[_ACK_SEGS] += 1
                        if w[_ACK_SEGS] >= 2:
                            w[_FLAGS] |= _F_ACK_SOON
                            self.ack_soon = True
                    if not w[_FLAGS] & (_F_ACK_NOW | _F_ACK_SOON | _F_DELACK_ON):
                        w[_FLAGS] |= _F_DELACK_ON
                        h = (now_ms + self.cfg.tcp_delack_ms) & _compat.TICKS_MAX  # (ticks_add)
                        w[_DELACK_AT] = h
                        if ticks_diff(h, self.next_at) < 0:
                            self.next_at = h
                            self.iface.wake_at = None  # Stack.poll runs the timers
            if fast:
                self.ctr[_C_TCP_PREDICTED] += 1
                w[_KA_AT] = (now_ms + self.cfg.tcp_keepalive_idle_ms) & _compat.TICKS_MAX  # (ticks_add)
                w[_KA_PROBES] = 0
                w[_PROBES] = 0
                if w[_RCV_NXT] >= self.reanchor_at:
                    self._reanchor(c, _RCV_SEQS, _RA_HI)
                if w[_SND_UNA] >= self.reanchor_at:
                    self._reanchor(c, _SND_SEQS, _SA_HI)
                if w[_FLAGS] & _F_ACK_NOW or w[_SND_UNA] + w[_TX_COUNT] > w[_SND_NXT]:
                    # (else _output, ESTABLISHED, would find nothing to send:
                    # no ACK owed now, no data beyond snd_nxt)
                    self._output(c, now_ms)
                return None
        if c is not None and w[_STATE] == TIME_WAIT and flags & SYN and not flags & (ACK | RST) \
                and not w[_USER] and _sdiff(seg.seq, _abs32(w, _RA_HI, w[_RCV_NXT])) > 0 \
                and self._listener_for(dport):
            # RFC 1122 4.2.2.13 / RFC 6191: a new SYN may reopen a TIME-WAIT pair
            self.ctr[_C_TCP_TIME_WAIT_REUSED] += 1
            self._free(c)
            c = None
        if c is None:
            l = self._listener_for(dport)
            if l is not None and flags & ACK and not flags & (RST | SYN):
                why = self._cookie_input(l, ip, seg, buf, dlen, now_ms)
                if why is not False:
                    return why
            if l is None or flags & (RST | ACK):
                self._reply_rst_closed(ip, seg, dlen, now_ms)
                return "tcp_no_socket"
            if not flags & SYN:
                return "tcp_no_socket"  # RFC 9293 3.10.7.2: drop anything else
            return self._listen_input(l, ip, seg, now_ms)
        if w[_STATE] == SYN_SENT:
            self._syn_sent_input(c, seg, now_ms)
        else:
            self._sync_input(c, seg, buf, dlen, now_ms)
        return None

    def _listener_for(self, port):
        for l in self.listeners:
            if l.in_use and l.port == port:
                return l
        return None

    def _reply_rst_closed(self, ip, seg, dlen, now_ms):
        # RFC 9293 3.10.7.1: a segment for no connection gets a RST unless it is one
        flags = seg.flags
        if flags & RST:
            return
        if flags & ACK:
            self._send_rst_h(ip.src_hi, ip.src_lo, seg.dport, seg.sport, seg.ack_hi, seg.ack_lo,
                             0, 0, RST, now_ms)
        else:
            # ack = seq + the segment's length, in halves
            lo = seg.seq_lo + dlen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
            hi = (seg.seq_hi + (lo >> 16)) & 0xFFFF
            self._send_rst_h(ip.src_hi, ip.src_lo, seg.dport, seg.sport, 0, 0, hi, lo & 0xFFFF,
                             RST | ACK, now_ms)

    def _evict_half_open(self, l):
        """Free the oldest SYN-RECEIVED block of listener l (any listener when
        l is None) silently; True when one was freed."""
        victim = None
        born = 0
        for c in self.pool:
            w = c.w
            if w[_IN_USE] and w[_STATE] == SYN_RECEIVED and w[_LISTENER] and \
                    (l is None or w[_LISTENER] == l.id) and (victim is None or w[_BORN] < born):
                victim = c
                born = w[_BORN]
        if victim is None:
            return False
        self.ctr[_C_TCP_SYN_EVICTIONS] += 1
        self._free(victim)
        return True

    def _block_freeing_soon(self):
        """True when a block nobody holds is closing (our FIN waits for its
        ACK), or waits for accept() with the peer already done (CLOSE-WAIT:
        the application takes it, reads the end and closes it)."""
        for c in self.pool:
            w = c.w
            if w[_IN_USE] and not w[_USER]:
                s = w[_STATE]
                if s == FIN_WAIT_1 or s == CLOSING or s == LAST_ACK or (s == CLOSE_WAIT and w[_LISTENER]):
                    return True
        return False

    def _waiting(self, l):
        """(half-open, established) connections of listener l not yet accepted."""
        lid = l.id
        half = 0
        est = 0
        for c in self.pool:
            w = c.w
            if w[_LISTENER] == lid:
                if w[_STATE] == SYN_RECEIVED:
                    half += 1
                else:
                    est += 1
        return half, est

    def _listen_input(self, l, ip, seg, now_ms):
        # RFC 9293 3.10.7.2 (SYN for a listener, no RST/ACK: checked by the caller)
        half, est = self._waiting(l)
        if est >= l.backlog and self.free_blocks():
            return "tcp_backlog"  # the application is behind: the client's retry gets in
        c = None
        if half < self.cfg.tcp_syn_backlog and half + est < l.backlog:
            c = self._alloc(now_ms)
        if c is None:
            # SYN queue, backlog or pool full: a stateless SYN cookie (RFC 4987
            # 3.6); its ACK finds a block (one may free meanwhile) or a RST
            self._send_cookie(ip.src, seg, now_ms)
            return None
        w = c.w
        self._passive(c, l, ip, seg, -1)
        self._set_peer_mss(c, seg.mss)
        w[_RA_HI] = (seg.seq_hi - 1) & 0xFFFF  # the anchor: IRS - _IRS (2**16)
        w[_RA_LO] = seg.seq_lo
        w[_RCV_NXT] = _IRS + 1
        w[_RCV_ADV] = _IRS + 1
        w[_SND_WND] = seg.window
        w[_MAX_SNDWND] = seg.window
        w[_SND_WL1] = _IRS  # not yet from a segment (no _F_WL_SET): the first ACK sets both
        w[_STATE] = SYN_RECEIVED
        w[_KA_AT] = ticks_add(now_ms, self.cfg.tcp_keepalive_idle_ms)
        self.ctr[_C_TCP_PASSIVE_OPENS] += 1
        self._output(c, now_ms)
        return None

    def _passive(self, c, l, ip, seg, iss):
        """A new block for listener l: the peer's address and ports, the send side."""
        w = c.w
        w[_LISTENER] = l.id
        w[_LPORT] = seg.dport
        w[_RIP_HI] = ip.src_hi
        w[_RIP_LO] = ip.src_lo
        w[_RPORT] = seg.sport
        self._init_send(c, iss)

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
        self.ctr[_C_TCP_SYNCOOKIES_SENT] += 1
        self.ctr[_C_TCP_SEGS_OUT] += 1
        iface.send_ip(src, 6, 24, now_ms)

    def _cookie_input(self, l, ip, seg, buf, dlen, now_ms):
        """An ACK for listener l with no connection: False when it does not
        carry a valid cookie, else None (taken) or a drop reason."""
        # The time slot first, from the ACK's high half (small ints): most
        # ACKs that come here are a closed connection's late ones (a peer's
        # ACKs after our close), which fail it, and the 32-bit values below
        # would be heap ints on a 32-bit board (~300 B a segment on mp32)
        h = seg.ack_hi if seg.ack_lo else (seg.ack_hi - 1) & 0xFFFF  # (ack - 1) >> 16
        if ((now_ms >> 16) - (h >> 8)) & 0xFF > 1:
            return False  # older than two 64 s slots (as below)
        ck = (seg.ack - 1) & _MASK
        slot = ck >> 24
        if ((now_ms >> 16) - slot) & 0xFF > 1:
            return False  # older than two 64 s slots
        irs = (seg.seq - 1) & _MASK
        midx = ck & 3
        if self._cookie(ip.src, seg.dport, seg.sport, irs, slot, midx) != ck:
            return False
        half, est = self._waiting(l)
        c = None
        if est < l.backlog:
            c = self._alloc(now_ms)
            if c is None and self._evict_half_open(None):
                c = self._alloc(now_ms)  # a verified client beats an unverified SYN
        elif self.free_blocks():
            return "tcp_backlog"  # the application is behind: the client's retransmission retries
        if c is None:
            if self._block_freeing_soon():
                # a block is about to be freed: the client's retransmission
                # (one RTO, 200 ms or so) finds it
                return "tcp_no_block"
            # every block may stay busy for long: tell the client now
            # (ECONNRESET) rather than let it send into silence until its
            # retries run out
            self.ctr[_C_TCP_SYNCOOKIES_REFUSED] += 1
            self._reply_rst_closed(ip, seg, dlen, now_ms)
            return "tcp_no_block"
        w = c.w
        self._passive(c, l, ip, seg, ck)  # the cookie was our ISS
        w[_SND_NXT] = _ISS + 1  # our SYN,ACK went out (statelessly)
        w[_SND_MAX] = _ISS + 1
        self._set_peer_mss(c, _COOKIE_MSS[midx])
        w[_RA_HI] = ((irs >> 16) - 1) & 0xFFFF
        w[_RA_LO] = irs & 0xFFFF
        w[_RCV_NXT] = _IRS + 1
        wnd = w[_RX_SIZE] if w[_RX_SIZE] < 65535 else 65535
        w[_RCV_ADV] = _IRS + 1 + wnd
        w[_SND_WND] = seg.window
        w[_MAX_SNDWND] = seg.window
        w[_SND_WL1] = _IRS  # not yet from a segment (no _F_WL_SET): the first ACK sets both
        w[_STATE] = SYN_RECEIVED
        w[_KA_AT] = ticks_add(now_ms, self.cfg.tcp_keepalive_idle_ms)
        self.ctr[_C_TCP_PASSIVE_OPENS] += 1
        self.ctr[_C_TCP_SYNCOOKIES_OK] += 1
        self._sync_input(c, seg, buf, dlen, now_ms)
        return None

    def _syn_sent_input(self, c, seg, now_ms):
        w = c.w
        # RFC 9293 3.10.7.3
        flags = seg.flags
        ack = _rel(seg.ack_hi, seg.ack_lo, w[_SA_HI], w[_SA_LO])
        if flags & ACK:
            if ack <= _ISS or ack > w[_SND_MAX]:  # at or before the ISS, or beyond what we sent
                if not flags & RST:
                    self._send_rst_h(w[_RIP_HI], w[_RIP_LO], w[_LPORT], w[_RPORT], seg.ack_hi,
                                     seg.ack_lo, 0, 0, RST, now_ms)
                return
        if flags & RST:
            if flags & ACK:
                self.ctr[_C_TCP_RESETS_RX] += 1
                self._fail(c, ECONNREFUSED)
            return
        if not flags & SYN:
            return
        w[_RA_HI] = (seg.seq_hi - 1) & 0xFFFF  # the anchor: IRS - _IRS (2**16)
        w[_RA_LO] = seg.seq_lo
        w[_RCV_NXT] = _IRS + 1
        w[_RCV_ADV] = _IRS + 1
        self._set_peer_mss(c, seg.mss)
        w[_KA_AT] = ticks_add(now_ms, self.cfg.tcp_keepalive_idle_ms)
        if flags & ACK:
            w[_SND_UNA] = ack
            self._rtt_sample(c, ack, now_ms)
            self._rto_after_syn_loss(c)
            w[_RETRIES] = 0
            w[_TMR] = _T_OFF
            w[_STATE] = ESTABLISHED
            self.ctr[_C_TCP_ESTABLISHED] += 1
            self._update_window(c, _IRS, ack, seg.window)
            if w[_FLAGS] & _F_FIN_QUEUED:
                w[_STATE] = FIN_WAIT_1
            w[_FLAGS] |= _F_ACK_NOW
            self._output(c, now_ms)
        else:
            # RFC 9293 3.10.7.3 / figure 8: simultaneous open
            w[_STATE] = SYN_RECEIVED
            w[_SND_WND] = seg.window
            w[_MAX_SNDWND] = seg.window
            w[_SND_WL1] = _IRS
            w[_SND_NXT] = _ISS  # SYN,ACK with our original ISN
            self._output(c, now_ms)

    def _sync_input(self, c, seg, buf, dlen, now_ms):
        """RFC 9293 3.10.7.4: SYN-RECEIVED and every synchronized state."""
        w = c.w
        flags = seg.flags
        seq = _rel(seg.seq_hi, seg.seq_lo, w[_RA_HI], w[_RA_LO])  # _FAR: out of any window
        wnd = w[_RX_SIZE] - w[_RX_COUNT]
        if wnd > 65535:
            wnd = 65535
        rel = seq - w[_RCV_NXT]
        sseq = seq  # the segment's own seq (window updates), before the SYN is skipped
        # the RST bit, checked first (RFC 5961 3.2: exact match resets, in-window gets a challenge ACK)
        if flags & RST:
            if w[_STATE] == TIME_WAIT:
                return  # RFC 1337: no TIME-WAIT assassination; the 2 MSL wait runs out
            if rel == 0:
                self.ctr[_C_TCP_RESETS_RX] += 1
                if w[_STATE] == SYN_RECEIVED and w[_LISTENER]:
                    self._free(c)  # passive: back to listening, nobody knew it
                elif w[_STATE] == SYN_RECEIVED:
                    self._fail(c, ECONNREFUSED)
                elif w[_STATE] == CLOSING or w[_STATE] == LAST_ACK:
                    self._to_closed(c)
                else:
                    self._fail(c, ECONNRESET)
            elif 0 < rel < (wnd if wnd > 0 else 1):
                self._challenge_ack(c, now_ms)
            return
        if flags & SYN:
            if w[_STATE] == SYN_RECEIVED and seq == _IRS:
                if flags & ACK:
                    # RFC 9293 figure 8 (simultaneous open): the SYN is old news,
                    # the ACK completes the handshake
                    flags &= ~SYN
                    seq += 1
                    rel += 1
                else:
                    w[_FLAGS] |= _F_ACK_NOW  # our SYN,ACK went missing: send it again
                    self._output(c, now_ms)
                    return
            elif w[_STATE] == SYN_RECEIVED:
                w[_FLAGS] |= _F_ACK_NOW
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
        # first check: is the segment acceptable (RFC 9293 3.10.7.4, four cases)?
        if seglen == 0:
            ok = rel == 0 if wnd == 0 else (0 <= rel < wnd)
        elif wnd == 0:
            # "special allowance": process the ACK of a segment at rcv_nxt
            ok = rel == 0
            dlen = 0
            fin = 0
            w[_FLAGS] |= _F_ACK_NOW  # a window probe: tell the peer the window again
        else:
            ok = rel < wnd and rel + seglen > 0
        if not ok:
            if fin and w[_STATE] == TIME_WAIT:
                # RFC 9293 3.10.7.4: a retransmitted FIN restarts the 2 MSL wait
                self._enter_time_wait(c, now_ms)
            w[_FLAGS] |= _F_ACK_NOW
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
        if not self._ack_input(c, seg, sseq, now_ms, seglen):
            return
        if not w[_IN_USE]:
            return
        s = w[_STATE]
        w[_KA_AT] = ticks_add(now_ms, self.cfg.tcp_keepalive_idle_ms)
        w[_KA_PROBES] = 0
        w[_PROBES] = 0
        # seventh: segment text
        if dlen and (s == ESTABLISHED or s == FIN_WAIT_1 or s == FIN_WAIT_2):
            if not w[_USER] and not w[_LISTENER]:
                # RFC 2525 2.17: data for a closed (orphaned) connection
                self._abort(c, True)
                return
            if rel == 0:
                before = w[_RX_COUNT]
                _ring_write(self.buf, w, _RX, buf, data_off, dlen)
                filled = w[_RX_COUNT] - before
                w[_RCV_NXT] += filled
                # An ACK these rules owe goes at the next poll, not at once: by
                # then the application has usually read, and the window
                # update it causes carries the ACK (one frame instead of two;
                # Linux waits for the read the same way, tcp_cleanup_rbuf).
                if filled > dlen or w[_RX_NRANGES]:
                    w[_FLAGS] |= _F_ACK_NOW  # RFC 5681 4.2: ACK at once when a gap fills
                else:
                    self._ack_later(c, dlen, now_ms)
            else:
                # out of order: keep it in the ring, send a duplicate ACK at once
                _ring_write_at(self.buf, w, _RX, rel, buf, data_off, dlen)
                self.ctr[_C_TCP_OOO_SEGMENTS] += 1
                w[_FLAGS] |= _F_ACK_NOW
        elif dlen and s != CLOSED:
            w[_FLAGS] |= _F_ACK_NOW
        # eighth: FIN.  One beyond a hole is held like out-of-order text
        # (RFC 9293 3.10.7.4) and ACKed at once (RFC 5681 4.2: a duplicate
        # ACK); it takes effect when rcv_nxt reaches it.
        if fin and not (w[_FLAGS] & _F_FIN_RCVD):
            rel = seq + (seg.payload_end - seg.payload_off)  # rel now: the FIN's own place
            if rel == w[_RCV_NXT]:
                fin = 2
            elif rel > w[_RCV_NXT] and (s == ESTABLISHED or s == FIN_WAIT_1 or s == FIN_WAIT_2):
                if not dlen:
                    self.ctr[_C_TCP_OOO_SEGMENTS] += 1  # a bare FIN (text was counted above)
                w[_FIN_SEQ] = rel
                w[_FLAGS] |= _F_FIN_AHEAD | _F_ACK_NOW
        if (w[_FLAGS] & _F_FIN_AHEAD) and w[_FIN_SEQ] == w[_RCV_NXT] and fin != 2:
            fin = 2  # the held FIN: the gap before it filled
        if fin == 2 and not (w[_FLAGS] & _F_FIN_RCVD):
            w[_RCV_NXT] += 1
            w[_FLAGS] = (w[_FLAGS] & ~_F_FIN_AHEAD) | _F_FIN_RCVD | _F_ACK_NOW
            if s == SYN_RECEIVED or s == ESTABLISHED:
                w[_STATE] = CLOSE_WAIT
            elif s == FIN_WAIT_1:
                w[_STATE] = CLOSING
            elif s == FIN_WAIT_2:
                self._enter_time_wait(c, now_ms)
        elif fin and s == TIME_WAIT:
            # RFC 9293 3.10.7.4: a retransmitted FIN restarts the 2 MSL wait
            w[_FLAGS] |= _F_ACK_NOW
            self._enter_time_wait(c, now_ms)
        elif fin and (w[_FLAGS] & _F_FIN_RCVD):
            w[_FLAGS] |= _F_ACK_NOW
        # both sides move only here (segment text, FIN, ACKs): keep them small
        if w[_RCV_NXT] >= self.reanchor_at:
            self._reanchor(c, _RCV_SEQS, _RA_HI)
        if w[_SND_UNA] >= self.reanchor_at:
            self._reanchor(c, _SND_SEQS, _SA_HI)
        self._output(c, now_ms)

    def _ack_later(self, c, dlen, now_ms):
        """When the ACK for dlen bytes of in-order data goes (no gap filled)."""
        w = c.w
        if w[_RX_SIZE] - w[_RX_COUNT] < self.mss:
            self._ack_soon(c)  # the window is nearly shut: the peer waits for us
        elif dlen >= w[_SND_MSS] or dlen >= self.mss:
            w[_ACK_SEGS] += 1
            if w[_ACK_SEGS] >= 2:
                self._ack_soon(c)  # RFC 1122 4.2.3.2: every second full segment
        if not w[_FLAGS] & (_F_ACK_NOW | _F_ACK_SOON | _F_DELACK_ON):
            w[_FLAGS] |= _F_DELACK_ON
            w[_DELACK_AT] = ticks_add(now_ms, self.cfg.tcp_delack_ms)
            if ticks_diff(w[_DELACK_AT], self.next_at) < 0:
                self.next_at = w[_DELACK_AT]
                self.iface.wake_at = None  # Stack.poll runs the timers

    def _ack_soon(self, c):
        c.w[_FLAGS] |= _F_ACK_SOON
        self.ack_soon = True

    def send_soon_acks(self, now_ms):
        """Send the ACKs owed since the last poll that nothing has carried yet
        (Stack.poll calls this first; see _sync_input).  No local for c.w: the
        frame stays within 11 words (the loop's iterator takes four)."""
        self.ack_soon = False
        for c in self.pool:
            if c.w[_FLAGS] & _F_ACK_SOON:
                c.w[_FLAGS] = (c.w[_FLAGS] & ~_F_ACK_SOON) | _F_ACK_NOW
                self._output(c, now_ms)

    def _reanchor(self, c, fields, a):
        """Move one side's anchor (w[a], w[a + 1]) reanchor_by (2**28) forward
        and its relative sequence numbers (fields) back: they stay small ints.
        A value left that far behind (an old window update, an old recovery
        point) becomes 0, the oldest there is, and compares the same way."""
        w = c.w
        by = self.reanchor_by
        for f in fields:
            v = w[f] - by
            w[f] = v if v > 0 else 0
        w[a] = (w[a] + (by >> 16)) & 0xFFFF

    def _ack_input(self, c, seg, seq, now_ms, seglen):
        """RFC 9293 3.10.7.4 fifth step (seq: the segment's, relative); False
        when the segment is dropped."""
        w = c.w
        ack = _rel(seg.ack_hi, seg.ack_lo, w[_SA_HI], w[_SA_LO])  # _FAR: never sent
        if w[_STATE] == SYN_RECEIVED:
            if w[_SND_UNA] < ack <= w[_SND_MAX]:
                w[_SND_UNA] += 1  # the SYN
                self._rtt_sample(c, ack, now_ms)
                self._rto_after_syn_loss(c)
                w[_RETRIES] = 0
                w[_TMR] = _T_OFF
                w[_STATE] = FIN_WAIT_1 if (w[_FLAGS] & _F_FIN_QUEUED) else ESTABLISHED
                self.ctr[_C_TCP_ESTABLISHED] += 1
                w[_SND_WND] = seg.window
                w[_MAX_SNDWND] = seg.window
                w[_SND_WL1] = seq
                w[_SND_WL2] = ack
                w[_FLAGS] |= _F_WL_SET
                if ack == w[_SND_UNA]:
                    return True
            else:
                self._send_rst_h(w[_RIP_HI], w[_RIP_LO], w[_LPORT], w[_RPORT], seg.ack_hi,
                                 seg.ack_lo, 0, 0, RST, now_ms)
                return False
        una_rel = ack - w[_SND_UNA]
        max_rel = w[_SND_MAX] - w[_SND_UNA]
        if una_rel > max_rel:
            # RFC 9293: an ACK for something not yet sent: ACK and drop
            w[_FLAGS] |= _F_ACK_NOW
            self._output(c, now_ms)
            return False
        mw = w[_MAX_SNDWND] if w[_MAX_SNDWND] > 0 else 1
        if una_rel < -mw:
            # RFC 5961 5.2: too old to be plausible
            w[_FLAGS] |= _F_ACK_NOW
            self._output(c, now_ms)
            return False
        if una_rel > 0:
            self._ack_new(c, ack, una_rel, now_ms)
            if not w[_IN_USE] or w[_STATE] == CLOSED:
                return False
        elif una_rel == 0 and seglen == 0 and seg.window == w[_SND_WND] and w[_SND_MAX] != w[_SND_UNA] \
                and w[_TMR] == _T_RTX:
            self._cc_on_dupack(c, now_ms)
        self._update_window(c, seq, ack, seg.window)
        return True

    def _update_window(self, c, seq, ack, window):
        w = c.w
        # RFC 9293 3.10.7.4: update the send window from the newest segment only
        d1 = seq - w[_SND_WL1]
        if d1 > 0 or (d1 == 0 and ack >= w[_SND_WL2]) or not (w[_FLAGS] & _F_WL_SET):
            if w[_SND_WND] == 0 and window > 0 and w[_TMR] == _T_PERSIST:
                # the window opened
                w[_TMR] = _T_OFF
                w[_SND_NXT] = w[_SND_UNA]  # a refused probe byte goes again with the rest
            w[_SND_WND] = window
            w[_SND_WL1] = seq
            w[_SND_WL2] = ack
            w[_FLAGS] |= _F_WL_SET
            if window > w[_MAX_SNDWND]:
                w[_MAX_SNDWND] = window

    def _rtt_sample(self, c, ack, now_ms):
        w = c.w
        # RFC 6298 2 with Karn's algorithm (only segments sent once are timed)
        if not (w[_FLAGS] & _F_RTT_ON) or ack < w[_RTT_SEQ]:
            return
        w[_FLAGS] &= ~_F_RTT_ON
        r = ticks_diff(now_ms, w[_RTT_MS])
        if r >= 0:
            _rto_update(w, r, self.cfg)

    def _rto_after_syn_loss(self, c):
        # RFC 6298 5.7: when our SYN (or SYN,ACK) had to be sent again, data
        # starts with an RTO of at least 3 s (no RTT sample came: Karn)
        if c.w[_RETRIES] and c.w[_RTO_MS] < _RTO_AFTER_SYN_LOSS_MS:
            c.w[_RTO_MS] = _RTO_AFTER_SYN_LOSS_MS

    def _ack_new(self, c, ack, acked, now_ms):
        w = c.w
        data = acked if acked <= w[_TX_COUNT] else w[_TX_COUNT]
        _ring_discard(w, _TX, data)
        fin_acked = acked > data
        w[_SND_UNA] = ack
        if w[_SND_NXT] < ack:
            w[_SND_NXT] = ack
        if w[_SND_MAX] < ack:
            w[_SND_MAX] = ack
        self._rtt_sample(c, ack, now_ms)
        w[_RETRIES] = 0
        if _cc_on_ack(w, acked):
            self._retransmit_one(c, now_ms)  # RFC 6582 3.2 (3): a partial ACK: resend the next hole
        if w[_SND_MAX] == w[_SND_UNA]:
            if w[_TMR] == _T_RTX:
                w[_TMR] = _T_OFF
        elif w[_TMR] == _T_RTX or w[_TMR] == _T_OFF or w[_TMR] == _T_PERSIST:
            self._arm(c, _T_RTX, w[_RTO_MS], now_ms)  # RFC 6298 5.3
        if fin_acked:
            s = w[_STATE]
            if s == FIN_WAIT_1:
                w[_STATE] = FIN_WAIT_2
                if not w[_USER]:
                    self._arm(c, _T_FIN_WAIT_2, self.cfg.tcp_fin_wait2_ms, now_ms)
            elif s == CLOSING:
                self._enter_time_wait(c, now_ms)
            elif s == LAST_ACK:
                self._to_closed(c)

    def _cc_on_dupack(self, c, now_ms):
        """Congestion control on a duplicate ACK (RFC 5681 3.2 with RFC 6582
        NewReno): the third starts fast retransmit and recovery, each further
        one inflates the window by an MSS and lets new data go."""
        w = c.w
        w[_DUPACKS] += 1
        mss = w[_SND_MSS]
        if w[_DUPACKS] == 3 and not (w[_FLAGS] & _F_IN_RECOVERY) and w[_SND_UNA] > w[_RECOVER]:
            w[_SSTHRESH] = _cc_loss_ssthresh(w)
            w[_RECOVER] = w[_SND_MAX]
            w[_FLAGS] |= _F_IN_RECOVERY
            self.ctr[_C_TCP_FAST_RETRANSMITS] += 1
            self._retransmit_one(c, now_ms)
            w[_CWND] = w[_SSTHRESH] + 3 * mss
        elif w[_FLAGS] & _F_IN_RECOVERY:
            w[_CWND] += mss
            self._output(c, now_ms)

    def _retransmit_one(self, c, now_ms):
        w = c.w
        # one segment at snd_una, only bytes sent before; snd_nxt stays
        n = w[_SND_MAX] - w[_SND_UNA]
        if n > w[_TX_COUNT]:
            n = w[_TX_COUNT]
        if n > w[_SND_MSS]:
            n = w[_SND_MSS]
        flags = ACK
        fin = (w[_FLAGS] & _F_FIN_QUEUED) and w[_STATE] != ESTABLISHED and w[_STATE] != CLOSE_WAIT \
            and n == w[_TX_COUNT] and w[_SND_MAX] == w[_SND_UNA] + n + 1
        if fin:
            flags |= FIN
        if n == 0 and not fin:
            return
        w[_FLAGS] &= ~_F_RTT_ON  # Karn
        self.ctr[_C_TCP_RETRANSMITS] += 1
        self._emit(c, w[_SND_UNA], flags, n, now_ms)
        self._arm(c, _T_RTX, w[_RTO_MS], now_ms)

    def _probe(self, c, now_ms):
        w = c.w
        if w[_SND_WND] == 0 and w[_TX_COUNT]:
            # one byte beyond the window; it counts as sent (snd_max) so the
            # ACK that takes it is valid, but the persist timer, not the
            # retransmission timer, looks after it (never gives up)
            if w[_SND_NXT] == w[_SND_UNA]:
                self._emit(c, w[_SND_NXT], ACK, 1, now_ms)
                w[_SND_NXT] += 1
                if w[_SND_NXT] > w[_SND_MAX]:
                    w[_SND_MAX] = w[_SND_NXT]
            else:
                self._emit(c, w[_SND_UNA], ACK, 1, now_ms)
        else:
            self._output(c, now_ms, True)

    def _enter_time_wait(self, c, now_ms):
        w = c.w
        w[_STATE] = TIME_WAIT
        w[_FLAGS] &= ~_F_DELACK_ON
        self._arm(c, _T_TIME_WAIT, 2 * self.cfg.tcp_msl_ms, now_ms)

    def arp_done(self, hop, now_ms, resolved):
        """iface.arp_done hook: ARP for hop resolved or gave up."""
        if resolved:
            self.arp_resolved(hop, now_ms)
        else:
            self.arp_failed(hop, now_ms)

    def arp_resolved(self, hop, now_ms):
        """hop's MAC is known now.  Segments do not
        wait in the interface's ARP queue (their bytes stay in the TX ring, a
        SYN is remade from the state), so what waited for hop goes now rather
        than at the next retransmission timeout."""
        iface = self.iface
        for c in self.pool:
            w = c.w
            s = w[_STATE]
            if not w[_IN_USE] or s <= LISTEN or s == TIME_WAIT or w[_SND_MAX] == w[_SND_UNA]:
                continue
            if iface.next_hop((w[_RIP_HI] << 16) | w[_RIP_LO]) != hop:
                continue
            w[_FLAGS] &= ~_F_RTT_ON  # Karn: nothing sent again is timed
            if s <= SYN_RECEIVED:
                w[_SND_NXT] = _ISS  # the SYN (or SYN,ACK) again
                self._output(c, now_ms)
            else:
                w[_SND_NXT] = w[_SND_UNA]
                self._output(c, now_ms, True)

    def arp_failed(self, hop, now_ms):
        """Nobody answered ARP for hop.  A connection
        still in SYN-SENT through hop fails with EHOSTUNREACH now (as Linux
        reports it), after the ARP retries rather than all SYN retries;
        established connections keep retransmitting (the host may come back)."""
        iface = self.iface
        for c in self.pool:
            w = c.w
            if w[_IN_USE] and w[_STATE] == SYN_SENT \
                    and iface.next_hop((w[_RIP_HI] << 16) | w[_RIP_LO]) == hop:
                self._fail(c, EHOSTUNREACH)

    def icmp_error(self, type_, code, buf, inner_off, end):
        """iface.icmp_error_input hook: RFC 1122 4.2.3.9 -- port or protocol
        unreachable aborts a connection still in SYN-SENT; the rest are soft.
        The interface has checked the quoted IP header; RFC 5927 4.1: the
        quoted sequence number must be one we sent and the peer has not
        acknowledged (SND.UNA <= SEG.SEQ < SND.MAX, SND.MAX standing for
        SND.NXT after a go-back-N) before the error counts, else it is dropped."""
        if type_ != 3 or code not in (2, 3) or buf[inner_off + 9] != 6:
            return None
        t = inner_off + (buf[inner_off] & 15) * 4
        sport = (buf[t] << 8) | buf[t + 1]
        dport = (buf[t + 2] << 8) | buf[t + 3]
        dst_hi = (buf[inner_off + 16] << 8) | buf[inner_off + 17]
        dst_lo = (buf[inner_off + 18] << 8) | buf[inner_off + 19]
        for c in self.pool:
            w = c.w
            if w[_IN_USE] and w[_STATE] == SYN_SENT and w[_LPORT] == sport and w[_RPORT] == dport \
                    and w[_RIP_HI] == dst_hi and w[_RIP_LO] == dst_lo:
                seq = _rel((buf[t + 4] << 8) | buf[t + 5], (buf[t + 6] << 8) | buf[t + 7],
                           w[_SA_HI], w[_SA_LO])
                if not (w[_SND_UNA] <= seq < w[_SND_MAX]):
                    return "icmp_quote_seq"
                self._fail(c, ECONNREFUSED)
        return None

    # ------------------------------------------------------------ timers

    def timers(self, now_ms):
        """Run due timers of every block; returns ms until the next deadline.

        Small on purpose (it runs at every poll, and a MicroPython frame over
        11 words is a heap allocation): the pool is scanned only once the
        earliest deadline known, next_at, has come; arming a timer lowers it."""
        self.now_ms = now_ms
        d = ticks_diff(self.next_at, now_ms)
        if d > 0:
            return d
        return self._scan_timers(now_ms)

    def _scan_timers(self, now_ms):
        wait = _FAR_MS
        cfg = self.cfg
        for c in self.pool:
            w = c.w
            if not w[_IN_USE]:
                continue
            if w[_FLAGS] & _F_CLOSE_LATER:
                w[_FLAGS] &= ~_F_CLOSE_LATER
                self._close(c)
                if not w[_IN_USE]:
                    continue
            if w[_TMR] != _T_OFF:
                due = ticks_diff(w[_TMR_AT], now_ms)
                if due <= 0:
                    self._timer_fired(c, now_ms)
                    if not w[_IN_USE]:
                        continue
                    due = ticks_diff(w[_TMR_AT], now_ms) if w[_TMR] != _T_OFF else _FAR_MS
                if due < wait:
                    wait = due
            if w[_FLAGS] & _F_DELACK_ON:
                due = ticks_diff(w[_DELACK_AT], now_ms)
                if due <= 0:
                    w[_FLAGS] |= _F_ACK_NOW
                    self._output(c, now_ms)
                else:
                    if due < wait:
                        wait = due
            if w[_FLAGS] & _F_KEEPALIVE and (w[_STATE] == ESTABLISHED or w[_STATE] == CLOSE_WAIT):
                due = ticks_diff(w[_KA_AT], now_ms)
                if due <= 0:
                    if w[_SND_MAX] == w[_SND_UNA]:
                        if w[_KA_PROBES] >= cfg.tcp_keepalive_count:
                            self.ctr[_C_TCP_TIMEOUTS] += 1
                            self._send_rst_to(c, now_ms)
                            self._fail(c, ETIMEDOUT)
                            continue
                        # RFC 1122 4.2.3.6: a probe with a sequence number the peer has seen
                        w[_KA_PROBES] += 1
                        self.ctr[_C_TCP_KEEPALIVE_PROBES] += 1
                        self._emit(c, w[_SND_UNA] - 1, ACK, 0, now_ms)
                    w[_KA_AT] = ticks_add(now_ms, cfg.tcp_keepalive_interval_ms)
                    due = cfg.tcp_keepalive_interval_ms
                if due < wait:
                    wait = due
        self.next_at = ticks_add(now_ms, wait)
        return wait

    def _timer_fired(self, c, now_ms):
        w = c.w
        kind = w[_TMR]
        w[_TMR] = _T_OFF
        cfg = self.cfg
        if kind == _T_TIME_WAIT or kind == _T_FIN_WAIT_2:
            self._to_closed(c)
            return
        if kind == _T_PERSIST:
            # RFC 9293 3.8.6.1: probe the zero window (or override SWS) and back
            # off; keep probing while the peer answers (RFC 1122 4.2.2.17), give
            # up like a retransmission when it stays silent
            if w[_PROBES] >= cfg.tcp_retries:
                self.ctr[_C_TCP_TIMEOUTS] += 1
                self._send_rst_to(c, now_ms)
                self._fail(c, ETIMEDOUT)
                return
            w[_PROBES] += 1
            self.ctr[_C_TCP_PERSIST_PROBES] += 1
            self._probe(c, now_ms)
            if w[_TMR] == _T_OFF and w[_TX_COUNT]:
                w[_RETRIES] += 1
                shift = w[_RETRIES] if w[_RETRIES] < 10 else 10
                ms = w[_RTO_MS] << shift
                if ms > cfg.tcp_rto_max_ms:
                    ms = cfg.tcp_rto_max_ms
                self._arm(c, _T_PERSIST, ms, now_ms)
            return
        # retransmission timeout (RFC 6298 5.4-5.7)
        s = w[_STATE]
        limit = cfg.tcp_syn_retries if s <= SYN_RECEIVED else cfg.tcp_retries
        if w[_RETRIES] >= limit:
            self.ctr[_C_TCP_TIMEOUTS] += 1
            if s >= SYN_RECEIVED:
                self._send_rst_to(c, now_ms)
            self._fail(c, ETIMEDOUT)
            return
        w[_RETRIES] += 1
        self.ctr[_C_TCP_RTO_TIMEOUTS] += 1
        w[_RTO_MS] = w[_RTO_MS] * 2 if w[_RTO_MS] * 2 < cfg.tcp_rto_max_ms else cfg.tcp_rto_max_ms
        w[_FLAGS] &= ~_F_RTT_ON  # Karn: no sample from a retransmitted segment
        if s <= SYN_RECEIVED:
            w[_SND_NXT] = _ISS  # the SYN goes again
            self.ctr[_C_TCP_RETRANSMITS] += 1
            self._output(c, now_ms)
            self._arm(c, _T_RTX, w[_RTO_MS], now_ms)
            return
        _cc_on_rto(w)
        w[_SND_NXT] = w[_SND_UNA]  # go back N: resend from the first unacknowledged byte
        if w[_SND_WND] == 0 and w[_TX_COUNT]:
            # the peer shut its window: probe it instead of counting towards give-up
            w[_RETRIES] = 0
            self._probe(c, now_ms)
            self._arm(c, _T_PERSIST, w[_RTO_MS], now_ms)
            return
        self._output(c, now_ms, True)
        self._arm(c, _T_RTX, w[_RTO_MS], now_ms)
