"""Where the time goes on the emulated board: driver and stack costs in simulated time (CPython, host).

    FIRMWARE_DIR=... .venv/bin/python tools/measure/boardprof.py [--label before] \\
        [--out bench/board_profile.json] [--kbytes 60] [--pings 20] [--no-tcp] [--profile] \\
        [--split-app | --split-input] [--ping-profile]

Boots stock MicroPython (RPI_PICO) on the emulated RP2040 of tools/emu/rp2040_board.py
with the W5500 board set on its filesystem (``firmware/main.py`` brings the stack up as
a user's board does), and measures, in the board's simulated time (rp2040js at 125 MHz,
SPI at the rate the firmware programmed; exactly repeatable from run to run):

- ``micro``: run on the board over the raw REPL, background poller stopped, timed with
  ``time.ticks_us()`` (on the rp2 port ``ticks_cpu()`` is the same microsecond timer,
  there is no cycle counter; loops of N calls, the empty loop subtracted):
  one ``nic.send()`` of a 1514-byte frame against the SPI wire time of the bytes that
  send moves (``spi_bytes * 8 / f_SCK``) and against one bare ``spi.write()`` of the
  frame; an empty ``nic.recv_into()``; an empty ``stack.poll()``; the driver's SPI
  transactions and bytes per send and per empty receive; heap bytes allocated per call.
- ``ping``: the RTT of 56-byte ICMP echoes (request reaching the chip to reply leaving
  it) with the board idle at the REPL and its background poller (timer + INTn) on,
  as ``main.py`` leaves it.
- ``tcp``: KB/s into the board (the peer sends to ``discard``, port 9) and out of it
  (the peer reads ``chargen``, port 19), the board in bench_board's serve loop
  (``SERVE_LOOP``: poll, the services, ``Stack.idle`` until the next frame or
  deadline), stopped by Ctrl-C once the transfer is done.  The peer is a second
  tcpip stack in this process, stepped on the board's simulated clock at every
  emulator sync (``SYNC_US``), so it answers at once in simulated time: the
  figure is the board's, not the peer's.
  Default board config (2,920-byte TCP rings), services from tools/vboard/services.py.
- ``profile`` (with ``--profile``): the same transfers again with timing marks on the
  board: a few boundary functions are wrapped so that ``ticks_us`` at entry and exit
  charges the time since the last mark to the group that was running (exclusive time:
  a nested group's time is not counted in its caller's).  Per full-size data segment
  (microseconds, cycles = us x 125, calls): ``driver`` (MacrawNIC.recv_into / send /
  pending, SPI included), ``input`` (Stack._input: Ethernet/IP parse, TCP input and
  the segments it sends, minus the driver), ``timers`` (Stack._timers and what they
  send), ``acks`` (Tcp.send_soon_acks), ``app`` (the service's reads and writes of its
  connection, ring copies included), ``poll`` (the rest of Stack.poll), ``idle`` (the
  serve loop itself and Stack.idle's waits).  The profile covers the transfer's
  connection from its accept to its close: the wait for the peer before it (once
  seen as a large "idle" group) and the loop's turns after it are left out.
  A mark costs ``wrap_overhead_us`` (measured, reported; figures are raw): use
  them to rank, not to add up to the uninstrumented total.  The finer split
  asked for (frame parse / TCP input / TCP output / ring copies) needs marks
  inside tcp.py and iface.py; wrapping those functions from the outside once
  left the board spinning in Tcp._sync_input (not understood yet).  With
  ``--split-app`` the ``app`` group is cut at the send path's entry points
  (SPLIT_PLAN: ``ip`` Interface.send_ip_h, ``emit`` Tcp._emit, ``output``
  Tcp._output, ``send`` Connection.send/writable, ``recv`` Connection.recv_into,
  each exclusive; ``app`` is then the service's own loop); these wrap cleanly
  (transfers complete, no internal errors), at a few more marks' overhead.
- ``ping_profile`` (with ``--ping-profile``): the pings again with marks on the
  background poller's path (PING_PLAN: ``rx`` MacrawNIC.recv_into, ``tx`` its send,
  ``input`` Stack._input minus the rest, ``echo`` Interface._echo_request, ``timers``,
  ``poll`` Stack.poll, ``background`` netboot.Background._poll, ``idle`` outside every
  mark: the REPL, and MicroPython getting from the INTn edge to the handler).  Each
  mark stores (``ticks_us``, group) in an array (TIMELINE); the board's ``ticks_us``
  is the simulated clock's, so the host cuts the timeline at each request's arrival
  and reply's departure: ``rtt_us_by_group`` of the ping of median RTT, with the
  calls in it.  A mark costs ``wrap_overhead_us`` (reported; figures are raw, and the
  instrumented RTT is longer than the plain one).

With ``--split-input`` the ``input`` group and the reads are cut at the receive
path instead (INPUT_PLAN: ``eth`` Interface.input and _ip_input, ``ipparse``,
``segparse`` the TCP parse with its checksum, ``window``, ``acklater``, ``recv``
Connection.recv_into, ``grew`` Tcp._window_grew; ``input`` is then Stack._input
and Tcp.input's own code).

Results go to ``--out`` under ``--label`` (other labels in the file are kept), so a
"before" and an "after" run sit side by side; the JSON is also printed.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)
sys.path.insert(0, os.path.join(ROOT, "lib"))

import rp2040_board as rb  # noqa: E402  (tools/emu/rp2040_board.py)

# the same board, peer addresses, emulator sync period (how often, simulated,
# the emulator hands frames to and from the peer) and ping frame as the bench
from bench_board import BOARD_IP, PEER_IP, BOARD_MAC, PEER_MAC, SYNC_US, echo_request  # noqa: E402
from bench_board import SERVE_LOOP, interrupt_until  # noqa: E402  (the serve loop and its stop too)
CPU_HZ = 125000000

SETTINGS = {"dhcp": False, "dhcp_timeout_ms": 1000, "ip": BOARD_IP, "prefix": 24,
            "gateway": PEER_IP, "dns": [], "mac": "02:00:00:00:00:02", "poll_ms": 10}

# --------------------------------------------------------------- on the board
MICRO = r"""
import gc, json, time
from tcpip.compat import ticks_ms
_nic = net.nic
_st = net.stack
net.background.stop()
if _nic.spi._int is not None:
    _nic.spi._int.irq(handler=None)
_us = time.ticks_us
_d = time.ticks_diff
_N = %(n)d
def _empty(n):
    t = _us()
    for _ in range(n):
        pass
    return _d(_us(), t)
def _run(fn, arg):
    gc.collect()
    m0 = gc.mem_free()
    t0 = _nic.spi_transactions
    b0 = _nic.spi_bytes
    t = _us()
    for _ in range(_N):
        fn(arg)
    dt = _d(_us(), t) - _empty(_N)
    return {"us": dt / _N, "spi_txns": (_nic.spi_transactions - t0) / _N,
            "spi_bytes": (_nic.spi_bytes - b0) / _N, "alloc_bytes": (m0 - gc.mem_free()) / _N}
_f = bytearray(1514)
_f[0] = 2  # 02:00:00:00:00:00: nobody's
_f[6:12] = _nic.mac
_f[12] = 0x88
_f[13] = 0xB5
_mv = memoryview(_f)
_r = {}
_r["send_1514"] = _run(_nic.send, _mv)
_r["send_60"] = _run(_nic.send, _mv[:60])
_spi = _nic.spi._spi
_r["spi_write_1514"] = _run(_spi.write, _mv)
_r["recv_empty"] = _run(_nic.recv_into, _st.iface.rx)
_r["poll_empty"] = _run(_st.poll, ticks_ms())
_r["spi_repr"] = repr(_spi)
import netboot
net.background = netboot.Background(net, net.settings["poll_ms"])
gc.collect()
_r["mem_free"] = gc.mem_free()
print(json.dumps(_r))
"""

# bench_board's serve loop (SERVE_LOOP), stopped by Ctrl-C once the transfer is
# done.  A Ctrl-C that lands inside poll's idle shortcut leaves the re-entry
# guard set: cleared after the loop, so the background poller works again.
SERVE = r"""
import gc, time, services
from tcpip.compat import ticks_ms
_st = net.stack
_nic = net.nic
try:
    _svc
except NameError:
    _svc = services.start(_st, ["discard", "chargen"])
net.background.stop()
if _nic.spi._int is not None:
    _nic.spi._int.irq(handler=None)
gc.collect()
print("serving", gc.mem_free())
""" + SERVE_LOOP + r"""
_st._in_poll = False
print("served")
import netboot
net.background = netboot.Background(net, net.settings["poll_ms"])
"""

# Timing marks for the profile: wrappers that charge the time since the last
# mark to the group that was running (exclusive time per group).
PROFILE = r"""
import time, sys
_us = time.ticks_us
_d = time.ticks_diff
_G = %(groups)r
_acc = [0] * len(_G)
_calls = [0] * len(_G)
_stk = []
_cur = [len(_G) - 1, _us()]  # group running now, and since when
def _enter(g):
    t = _us()
    c = _cur[0]
    _acc[c] += _d(t, _cur[1])
    _stk.append(c)
    _calls[g] += 1
    _cur[0] = g
    _cur[1] = t
def _leave():
    t = _us()
    c = _cur[0]
    _acc[c] += _d(t, _cur[1])
    _cur[0] = _stk.pop()
    _cur[1] = t
def _wrap(f, g, nargs):
    # one wrapper per arity: no argument tuple to allocate per call
    if nargs == 1:
        def w(s):
            _enter(g)
            r = f(s)
            _leave()
            return r
    elif nargs == 2:
        def w(s, a):
            _enter(g)
            r = f(s, a)
            _leave()
            return r
    elif nargs == 3:
        def w(s, a, b):
            _enter(g)
            r = f(s, a, b)
            _leave()
            return r
    elif nargs == 4:  # (Tcp._output's force and Connection.send's n: optional)
        def w(s, a, b=0, c=-1):
            _enter(g)
            r = f(s, a, b, c) if c != -1 else f(s, a, b)
            _leave()
            return r
    elif nargs == 5:
        def w(s, a, b, c, d):
            _enter(g)
            r = f(s, a, b, c, d)
            _leave()
            return r
    else:
        def w(s, a, b, c, d, e):
            _enter(g)
            r = f(s, a, b, c, d, e)
            _leave()
            return r
    return w
def _noop(x):
    return x
_wn = _wrap(_noop, len(_G) - 1, 1)
_t = _us()
for _i in range(200):
    _noop(_i)
_t1 = _d(_us(), _t)
_t = _us()
for _i in range(200):
    _wn(_i)
_wrap_overhead = (_d(_us(), _t) - _t1) / 200
_stk.clear()
_cur[0] = len(_G) - 1
import tcpip.nic.macraw, tcpip.tcp, tcpip.stack, tcpip.iface, services, netboot
import tcpip.wire.ipv4, tcpip.wire.tcp
_M = {"nic": tcpip.nic.macraw.MacrawNIC, "stack": tcpip.stack.Stack, "tcp": tcpip.tcp.Tcp,
      "services": services.Services, "conn": tcpip.tcp.Connection, "iface": tcpip.iface.Interface,
      "background": netboot.Background, "ipv4": tcpip.wire.ipv4.IPv4, "seg": tcpip.wire.tcp.Tcp}
for _name, _targets in %(plan)r:
    for _t, _nargs in _targets:
        _k, _fn = _t.split(".")
        setattr(_M[_k], _fn, _wrap(getattr(_M[_k], _fn), _G.index(_name), _nargs))
# The profile runs from the accept of the transfer's connection to its
# close (the wait for the peer before and the loop's last turns after would
# otherwise land in "idle"): the accumulators are zeroed when Tcp.accept
# returns a connection and copied (_snap) when that connection is closed.
_snap = []
_armed = [False]
_conn = [None]  # the connection profiled (a stale one of an earlier run may close first)
def _prof_zero():
    for _i in range(len(_acc)):
        _acc[_i] = 0
        _calls[_i] = 0
    _cur[1] = _us()  # (the group stack stays: accept runs inside marks)
def _prof_reset():
    _prof_zero()
    _stk.clear()
    _cur[0] = len(_G) - 1
    _snap.clear()
    _armed[0] = True
    _conn[0] = None
def _prof_freeze():
    t = _us()
    _acc[_cur[0]] += _d(t, _cur[1])
    _cur[1] = t
    _snap[:] = [list(_acc), list(_calls)]
def _accept(f):
    def w(s, l):
        c = f(s, l)
        if c is not None and _armed[0]:
            _armed[0] = False
            _conn[0] = c
            _prof_zero()
        return c
    return w
def _close(f):
    def w(s):
        if s is _conn[0] and not _snap:
            _conn[0] = None
            _prof_freeze()
        return f(s)
    return w
tcpip.tcp.Tcp.accept = _accept(tcpip.tcp.Tcp.accept)
tcpip.tcp.Connection.close = _close(tcpip.tcp.Connection.close)
def _prof_dump():
    import json
    if not _snap:
        _prof_freeze()
    print(json.dumps({"us": dict(zip(_G, _snap[0])), "calls": dict(zip(_G, _snap[1])),
                      "wrap_overhead_us": _wrap_overhead}))
"""

# The ping profile's marks: a timeline, lighter than PROFILE's exclusive
# accounting (no call of its own per mark): each wrapped call stores
# (ticks_us, group) at entry and (ticks_us, -1) at exit in a preallocated
# ring of the last %(n)d marks since _tl_reset(); the host rebuilds who ran when.
TIMELINE = r"""
import time, array
_us = time.ticks_us
_TLN = %(n)d
_tl = array.array("i", [0] * (2 * _TLN))
_tli = [0]
def _twrap(f, g, nargs):
    if nargs == 1:
        def w(s):
            i = _tli[0]
            _tl[2 * (i %% _TLN)] = _us()
            _tl[2 * (i %% _TLN) + 1] = g
            _tli[0] = i + 1
            r = f(s)
            i = _tli[0]
            _tl[2 * (i %% _TLN)] = _us()
            _tl[2 * (i %% _TLN) + 1] = -1
            _tli[0] = i + 1
            return r
    elif nargs == 2:
        def w(s, a):
            i = _tli[0]
            _tl[2 * (i %% _TLN)] = _us()
            _tl[2 * (i %% _TLN) + 1] = g
            _tli[0] = i + 1
            r = f(s, a)
            i = _tli[0]
            _tl[2 * (i %% _TLN)] = _us()
            _tl[2 * (i %% _TLN) + 1] = -1
            _tli[0] = i + 1
            return r
    else:
        def w(s, a, b):
            i = _tli[0]
            _tl[2 * (i %% _TLN)] = _us()
            _tl[2 * (i %% _TLN) + 1] = g
            _tli[0] = i + 1
            r = f(s, a, b)
            i = _tli[0]
            _tl[2 * (i %% _TLN)] = _us()
            _tl[2 * (i %% _TLN) + 1] = -1
            _tli[0] = i + 1
            return r
    return w
def _noop(x):
    return x
_wn = _twrap(_noop, 0, 1)
_t = _us()
for _i in range(200):
    _noop(_i)
_t1 = time.ticks_diff(_us(), _t)
_t = _us()
for _i in range(200):
    _wn(_i)
_wrap_overhead = (time.ticks_diff(_us(), _t) - _t1) / 200
import tcpip.nic.macraw, tcpip.stack, tcpip.iface, netboot
_M = {"nic": tcpip.nic.macraw.MacrawNIC, "stack": tcpip.stack.Stack,
      "iface": tcpip.iface.Interface, "background": netboot.Background}
_G = %(groups)r
for _name, _targets in %(plan)r:
    for _t, _nargs in _targets:
        _k, _fn = _t.split(".")
        setattr(_M[_k], _fn, _twrap(getattr(_M[_k], _fn), _G.index(_name), _nargs))
def _tl_reset():
    _tli[0] = 0
def _tl_dump():
    import json
    i = _tli[0]
    if i <= _TLN:
        m = list(_tl[:2 * i])
    else:  # the ring went round: the last _TLN marks, oldest first
        k = 2 * (i %% _TLN)
        m = list(_tl[k:]) + list(_tl[:k])
    print(json.dumps({"wrap_overhead_us": _wrap_overhead, "marks": m}))
"""

GROUPS = ("driver", "input", "timers", "acks", "app", "poll", "idle")
# (group, [(Class.method, arguments including self)]): boundaries only -- the
# stack's inner functions are left alone (fewer marks, less distortion).
PLAN = [
    ("driver", [("nic.recv_into", 2), ("nic.send", 2), ("nic.pending", 1)]),
    ("input", [("stack._input", 2)]),
    ("timers", [("stack._timers", 2)]),
    ("acks", [("tcp.send_soon_acks", 2)]),
    ("app", [("services.run", 1)]),
    ("poll", [("stack.poll", 2)]),
]
# --split-app: the "app" group cut at the stack's entry points below it
# (exclusive time each): ``ip`` Interface.send_ip_h (IP and Ethernet headers,
# the driver excluded), ``emit`` Tcp._emit (TCP header, ring copy into the
# frame, checksum), ``output`` Tcp._output (what to send), ``send``
# Connection.send and writable (checks, copy into the TX ring), ``recv``
# Connection.recv_into; ``app`` is then the service's own code (and
# Tcp.accept).  More marks, more overhead: compare with a --split-app run.
SPLIT_GROUPS = ("driver", "input", "timers", "acks", "ip", "emit", "output", "send", "recv",
                "app", "poll", "idle")
SPLIT_PLAN = PLAN[:4] + [
    ("ip", [("iface.send_ip_h", 6)]),
    ("emit", [("tcp._emit", 6)]),
    ("output", [("tcp._output", 4)]),
    ("send", [("conn.send", 4), ("conn.writable", 1)]),
    ("recv", [("conn.recv_into", 2)]),
] + PLAN[4:]
# --split-input: the "input" group (and the app's reads) cut at the receive
# path's functions (exclusive time each): ``eth`` Interface.input and
# _ip_input (Ethernet demux, the IP checks), ``ipparse`` IPv4.parse (header
# checksum included), ``segparse`` the TCP header parse with the segment's
# checksum (wire.tcp.Tcp.parse_sum), ``window`` Tcp._update_window,
# ``acklater`` Tcp._ack_later, ``grew`` Tcp._window_grew (a read's window
# update decision), ``recv`` Connection.recv_into (ring read); ``input`` is
# then Stack._input and Tcp.input's own code (lookup, header prediction, the
# ring write).
INPUT_GROUPS = ("driver", "input", "eth", "ipparse", "segparse", "window", "acklater",
                "timers", "acks", "recv", "grew", "app", "poll", "idle")
INPUT_PLAN = PLAN[:4] + [
    ("eth", [("iface.input", 3), ("iface._ip_input", 4)]),
    ("ipparse", [("ipv4.parse", 4)]),
    ("segparse", [("seg.parse_sum", 5)]),
    ("window", [("tcp._update_window", 5)]),
    ("acklater", [("tcp._ack_later", 4)]),
    ("recv", [("conn.recv_into", 2)]),
    ("grew", [("tcp._window_grew", 2)]),
] + PLAN[4:]

# The ping profile: the background poller's path from the INTn edge to the
# reply.  ``idle`` is everything outside these marks: the REPL waiting, and
# MicroPython getting from the INTn edge to the scheduled handler.
PING_GROUPS = ("rx", "tx", "input", "echo", "timers", "poll", "background", "idle")
PING_PLAN = [
    ("rx", [("nic.recv_into", 2)]),
    ("tx", [("nic.send", 2)]),
    ("input", [("stack._input", 2)]),
    ("echo", [("iface._echo_request", 3)]),
    ("timers", [("stack._timers", 2)]),
    ("poll", [("stack.poll", 2)]),
    ("background", [("background._poll", 1)]),
]


# ---------------------------------------------------------------- the peer
class _PeerNIC:
    def __init__(self, peer):
        self.peer = peer
        self.mac = PEER_MAC

    def recv_into(self, buf):
        q = self.peer.from_board
        if not q:
            return 0
        f = q.pop(0)
        buf[:len(f)] = f
        return len(f)

    def send(self, frame):
        self.peer.to_board.append(bytes(frame))

    def link_up(self):
        return True


class SimPeer:
    """The board's Ethernet wire and its far end, on the board's simulated clock:
    a CPython tcpip Stack (PEER_IP, 16 KB rings) and a pinger.  The chip model
    pulls frames with ``recv_into`` at every emulator sync; that is when the
    peer runs, with ``now`` = the board's simulated milliseconds."""

    def __init__(self):
        from tcpip.config import Config
        from tcpip.stack import Stack

        self.board = None
        self.to_board = []
        self.from_board = []
        cfg = Config(mac=PEER_MAC, ip=PEER_IP, prefix=24, gateway=BOARD_IP,
                     tcp_rx_bytes=16384, tcp_tx_bytes=16384)
        self.stack = Stack(cfg, _PeerNIC(self))
        self.clients = []
        self._at = -1.0
        self.pings_left = 0
        self.ping_seq = 0
        self.ping_wait_ns = None  # when the outstanding request went out
        self.ping_next_ns = 0.0
        self.ping_gap_ns = 10e6
        self.ping_in_ns = []  # when each request reached the chip
        self.ping_out_ns = []  # when each reply left it

    def fileno(self):  # (only used by a realtime board)
        return None

    def _step(self, now_ns):
        now_ms = int(now_ns // 1000000)
        for _ in range(20):
            w = self.stack.poll(now_ms)
            for c in self.clients:
                c.run()
            if w != 0 and not self.from_board:
                break
        if self.pings_left and self.ping_wait_ns is None and now_ns >= self.ping_next_ns:
            self.ping_seq += 1
            self.pings_left -= 1
            self.ping_wait_ns = now_ns
            self.to_board.append(echo_request(0x4242, self.ping_seq))
        elif self.ping_wait_ns is not None and now_ns - self.ping_wait_ns > 200e6:
            self.ping_wait_ns = None  # lost: go on
            self.ping_next_ns = now_ns

    def recv_into(self, buf):
        now = self.board.sim_ns
        if now != self._at:
            self._at = now
            self._step(now)
        if not self.to_board:
            return 0
        f = self.to_board.pop(0)
        buf[:len(f)] = f
        if len(f) >= 42 and f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 8:
            self.ping_in_ns.append(now)
        return len(f)

    def send(self, mv):
        f = bytes(mv)
        if len(f) >= 42 and f[12:14] == b"\x08\x00" and f[23] == 1 and f[34] == 0:
            self.ping_out_ns.append(self.board.sim_ns)
            self.ping_wait_ns = None
            self.ping_next_ns = self.board.sim_ns + self.ping_gap_ns
            return
        self.from_board.append(f)

    def link_up(self):
        return True


# ---------------------------------------------------------------- measuring
def _log(msg):
    print("boardprof: " + msg, file=sys.stderr, flush=True)


def _wait_sim(b, pred, sim_s, wall_s):
    end_sim = b.sim_ns + sim_s * 1e9
    end_wall = time.monotonic() + wall_s
    while not pred():
        if not b.alive():
            raise rb.BoardError("the emulator stopped: %s" % b.error)
        if b.sim_ns > end_sim or time.monotonic() > end_wall:
            return False
        time.sleep(0.05)
    return True


def measure_ping(b, peer, count):
    wire = b.wire
    del wire.rtts_ns[:]
    peer.pings_left = count + 1  # the first one also resolves ARP: not counted
    _wait_sim(b, lambda: peer.pings_left == 0 and peer.ping_wait_ns is None, count * 0.3 + 1, 300)
    rtts = [r / 1e6 for r in wire.rtts_ns[1:]]
    if not rtts:
        return {"n": 0}
    return {"n": len(rtts), "min_ms": round(min(rtts), 3), "avg_ms": round(sum(rtts) / len(rtts), 3),
            "max_ms": round(max(rtts), 3)}


def _transfer(b, peer, kind, nbytes, wall_s):
    import services

    t0 = b.sim_ns
    cyc0 = b.cycles
    spi0 = b.chip.spi_bytes if hasattr(b.chip, "spi_bytes") else 0
    c = services.Client(peer.stack, kind, BOARD_IP, nbytes=nbytes)
    peer.clients = [c]
    ok = _wait_sim(b, lambda: c.done, 60, wall_s)
    if not ok:
        _log("transfer stalled: peer %s %s" % (peer.stack.tcp.connections(), peer.stack.stats()))
    dt = (b.sim_ns - t0) / 1e9
    peer.clients = []
    moved = c.sent if kind == "discard" else c.received
    spi = (b.chip.spi_bytes if hasattr(b.chip, "spi_bytes") else 0) - spi0
    return {"bytes": moved, "sim_s": round(dt, 4), "done": ok and not c.error, "error": c.error,
            "KBps": round(moved / 1024 / dt, 1) if dt else 0,
            "cycles_per_byte": round((b.cycles - cyc0) / moved, 1) if moved else None,
            "spi_bytes_per_byte": round(spi / moved, 3) if moved else None}


def serve_one(b, peer, kind, nbytes, wall_s):
    """Run the board's serve loop for one transfer of the peer's ``kind`` client."""
    b.write(b"\r\x03\x03\x01")
    b.wait_for(b"raw REPL; CTRL-B to exit\r\n>", 60)
    b.write(SERVE.encode() + b"\x04")
    b.wait_for(b"OK", 60)
    line = b.wait_for(b"serving", 120) + b.wait_for(b"\n", 60)
    t = _transfer(b, peer, kind, nbytes, wall_s)
    t["mem_free_serving"] = int(line.split()[-1])
    interrupt_until(b, b"served")
    out = b.wait_for(b"\x04", 60)
    err = b.wait_for(b"\x04", 60)[:-1]
    b.wait_for(b">", 60)
    b.write(b"\x02")
    b.wait_for(b">>> ", 60)
    if err.strip():
        raise rb.BoardError("serve loop raised: %s" % err.decode(errors="replace"))
    return t


def measure_tcp(b, peer, nbytes, wall_s):
    return {"in": serve_one(b, peer, "discard", nbytes, wall_s),
            "out": serve_one(b, peer, "chargen", nbytes, wall_s)}


def measure_profile(b, peer, nbytes, wall_s, split=False, split_input=False):
    groups, plan = (SPLIT_GROUPS, SPLIT_PLAN) if split else (GROUPS, PLAN)
    if split_input:
        groups, plan = INPUT_GROUPS, INPUT_PLAN
    b.exec(PROFILE % {"groups": groups, "plan": plan}, wall_s=120)
    res = {}
    for kind, name in (("discard", "in"), ("chargen", "out")):
        b.exec("_prof_reset()")
        t = serve_one(b, peer, kind, nbytes, wall_s)
        d = json.loads(b.exec("_prof_dump()").strip().splitlines()[-1])
        d["internal_errors"] = json.loads(b.exec(
            "print(net.stack.stats()['internal_errors'])").strip().splitlines()[-1])
        if d["internal_errors"]:  # name the cause (stack.last_error), not just the count
            d["last_error"] = b.exec("print(repr(net.stack.last_error))").strip().splitlines()[-1]
        segs = max(1, t["bytes"] // 1460)
        d["segments"] = segs
        d["us_per_segment"] = {g: round(v / segs, 1) for g, v in d["us"].items()}
        d["cycles_per_segment"] = {g: int(v * CPU_HZ / 1e6 / segs) for g, v in d["us"].items()}
        d["calls_per_segment"] = {g: round(v / segs, 2) for g, v in d["calls"].items()}
        d["transfer"] = t
        res[name] = d
    return res


def measure_ping_profile(b, peer, count):
    """Pings with timing marks on the board's path from the INTn edge to the
    reply (PING_PLAN): the microseconds per group from each request reaching
    the chip to its reply leaving it, from the board's timeline (its
    ``ticks_us`` is the simulated clock's microseconds), averaged over the
    pings; what no mark covers before the first one is ``idle`` (MicroPython
    getting from the edge to the handler).  Also the totals per ping over the
    whole run (work after the reply included) and the marks' own cost."""
    per_ping = 40  # marks a ping makes, and then some
    b.exec(TIMELINE % {"groups": PING_GROUPS, "plan": PING_PLAN, "n": per_ping * (count + 2)},
           wall_s=120)
    b.exec("_tl_reset()")
    del peer.ping_in_ns[:]
    del peer.ping_out_ns[:]
    r = measure_ping(b, peer, count)
    d = json.loads(b.exec("_tl_dump()").strip().splitlines()[-1])
    tl = d["marks"]
    # (ticks_us, group running from then): the stack of wrapped calls replayed
    idle = len(PING_GROUPS) - 1
    runs = []
    stack = [idle]
    for i in range(0, len(tl), 2):
        if tl[i + 1] >= 0:
            stack.append(tl[i + 1])
        elif len(stack) > 1:
            stack.pop()
        runs.append((tl[i], stack[-1], tl[i + 1]))
    pings = list(zip(peer.ping_in_ns, peer.ping_out_ns))[1:]  # (the first resolves ARP)
    each = []  # per ping: ({group: us}, {group: calls}, rtt us)
    for t_in, t_out in pings:
        a, z = t_in / 1000.0, t_out / 1000.0
        rtt = {g: 0.0 for g in PING_GROUPS}
        calls = {g: 0 for g in PING_GROUPS}
        g = idle
        t = a
        for tm, gm, entered in runs:
            if tm <= a:
                g = gm
                continue
            if tm >= z:
                break
            rtt[PING_GROUPS[g]] += tm - t
            if entered >= 0:
                calls[PING_GROUPS[entered]] += 1
            t = tm
            g = gm
        rtt[PING_GROUPS[g]] += z - t
        each.append((rtt, calls, z - a))
    if not each:
        return {"ping": r, "pings_profiled": 0}
    # the ping of median RTT (a garbage collection lands in some pings: the
    # mean would spread it over every group)
    each.sort(key=lambda e: e[2])
    mid = each[len(each) // 2]
    return {"ping": r, "pings_profiled": len(each), "median_rtt_us": round(mid[2], 1),
            "rtt_us_by_group": {g: round(v, 1) for g, v in mid[0].items()},
            "calls_in_rtt": mid[1], "wrap_overhead_us": d["wrap_overhead_us"]}


def run(args):
    why = rb.missing_prerequisite()
    if why:
        raise rb.BoardError(why)
    peer = SimPeer()
    workdir = os.path.join(ROOT, ".build", "rp2040")
    os.makedirs(workdir, exist_ok=True)
    extra = {"/services.mpy": rb.mpy_of(os.path.join(ROOT, "tools", "vboard", "services.py"), workdir)}
    b = rb.micropython_board(SETTINGS, wire=peer, realtime=False, extra_files=extra)
    b.sync_us = SYNC_US
    peer.board = b
    result = {}
    try:
        b.start()
        boot = b.wait_for(b">>> ", wall_s=180).decode(errors="replace")
        line = [ln for ln in boot.splitlines() if ln.startswith("tcpip:")]
        if not line or "not started" in line[0]:
            raise rb.BoardError("the stack did not start: %s" % boot[-300:])
        _log(line[0].strip())
        micro = json.loads(b.exec(MICRO % {"n": args.n}, wall_s=600).strip().splitlines()[-1])
        hz = _spi_hz(micro.get("spi_repr", ""))
        micro["spi_hz"] = hz
        s = micro["send_1514"]
        micro["send_1514"]["wire_us"] = round(s["spi_bytes"] * 8e6 / hz, 1) if hz else None
        micro["send_1514"]["x_wire"] = round(s["us"] / micro["send_1514"]["wire_us"], 2) if hz else None
        result["micro"] = micro
        _log("micro: %s" % json.dumps(micro))
        if args.pings:
            result["ping"] = measure_ping(b, peer, args.pings)
            _log("ping: %s" % json.dumps(result["ping"]))
        nbytes = args.kbytes * 1024
        if args.tcp:
            result["tcp"] = measure_tcp(b, peer, nbytes, args.wall)
            _log("tcp: %s" % json.dumps(result["tcp"]))
        if args.profile:
            result["profile"] = measure_profile(b, peer, nbytes, args.wall, args.split_app,
                                                 args.split_input)
            for k, v in result["profile"].items():
                _log("profile %s (us/segment): %s" % (k, json.dumps(v["us_per_segment"])))
        if args.ping_profile:  # (last: its marks stay on the board)
            result["ping_profile"] = measure_ping_profile(b, peer, args.pings or 20)
            _log("ping profile: %s" % json.dumps(result["ping_profile"]))
        result["board"] = b.figures()
    finally:
        b.close()
    return result


def _spi_hz(text):
    # MicroPython rp2: SPI(0, baudrate=12000000, ...)
    i = text.find("baudrate=")
    if i < 0:
        return None
    j = i + len("baudrate=")
    k = j
    while k < len(text) and text[k].isdigit():
        k += 1
    return int(text[j:k]) if k > j else None


def main(argv):
    ap = argparse.ArgumentParser(prog="boardprof.py", description=__doc__.split("\n")[0])
    ap.add_argument("--label", default="now")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "board_profile.json"))
    ap.add_argument("--n", type=int, default=50, help="calls per micro measurement")
    ap.add_argument("--pings", type=int, default=20)
    ap.add_argument("--kbytes", type=int, default=60, help="KB each way per TCP transfer")
    ap.add_argument("--wall", type=float, default=900, help="wall seconds allowed per transfer")
    ap.add_argument("--no-tcp", dest="tcp", action="store_false")
    ap.add_argument("--profile", action="store_true",
                    help="also the per-group profile (instrumented transfers; slow)")
    ap.add_argument("--split-app", action="store_true",
                    help="with --profile: split the app group at the stack's send path "
                         "(ip, emit, output, send, recv; see SPLIT_PLAN)")
    ap.add_argument("--split-input", action="store_true",
                    help="with --profile: split the input group (and the reads) at the receive "
                         "path (eth, ipparse, segparse, window, acklater, recv, grew; see INPUT_PLAN)")
    ap.add_argument("--ping-profile", action="store_true",
                    help="also the per-group profile of ping (instrumented pings, after the others)")
    a = ap.parse_args(argv)
    try:
        res = run(a)
    except rb.BoardError as e:
        print("boardprof: %s" % e, file=sys.stderr)
        return 1
    data = {}
    if a.out and os.path.exists(a.out):
        with open(a.out) as f:
            data = json.load(f)
    data[a.label] = res
    if a.out:
        with open(a.out, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
    print(json.dumps({a.label: res}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
