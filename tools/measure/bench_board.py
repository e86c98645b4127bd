"""The board section of ``make bench``: tcpip and MicroPython's lwIP side by side
on the emulated W5500-EVB-Pico, every figure on simulated time.

    .venv/bin/python tools/measure/bench_board.py [--runtimes rp2040-micropython,rp2040-lwip]
        [--kbytes 300] [--out bench/board.json] [--quick]

Each runtime boots in rp2040js (tools/emu/rp2040_board.py) with the W5500 model on
SPI0 and serves discard (RFC 863) and chargen (RFC 864) from a loop on the
board; the peer connects to them and measures:

- ``in_kBps`` / ``out_kBps``: payload bytes (1 kB = 1000 B) per simulated
  second into the board (the peer sends ``--kbytes`` to discard; every byte
  must be acknowledged and the board's TCP counters must show them) and out
  of it (the peer reads ``--kbytes`` from chargen and checks them against the
  RFC 864 pattern), steady: timed from the moment a fifth of the transfer has
  been acknowledged (in) or received (out) to the last byte; ``in_kBps_whole``
  / ``out_kBps_whole`` from the connection's establishment (slow start and, on
  lwIP, data refused before accept() and resent after the peer's 200 ms RTO);
- ``connect_ms``: SYN sent to ESTABLISHED at the peer (first connection);
- ``ping_ms``: ICMP echo, 56 bytes of payload, from the request reaching the
  chip to the reply leaving it (the board's own turnaround; median of 10);
- ``cycles_per_byte_in`` / ``_out``: emulated CPU cycles (125 MHz) over the
  steady part per payload byte; ``spi_bytes_per_byte_in`` / ``_out``: bytes
  clocked on SPI0 per payload byte over the same part;
- ``frames_board_in`` / ``_out``, ``frames_peer_in`` / ``_out``: TCP frames
  each end sent from the establishment to the end of the transfer (data and
  ACKs alike, counted at the peer: its ``in_tcp`` and ``tcp_segs_out``), so
  the board's frames per data segment into it is
  ``frames_board_in / frames_peer_in``;
- ``heap_free_serving``: ``gc.mem_free()`` after ``gc.collect()`` with the
  services up; for tcpip (its services loop as tools/emu/rp2040_board.py's, with
  the background poller's timer and INTn handler off) also ``heap_free_repl``, ``heap_free_import`` (after
  ``import tcpip``) and ``heap_free_started`` (after ``netboot.start()``), an
  empty ``stack.poll()`` (``poll_empty_us``), one ``nic.send()`` of a
  1514-byte frame (``nic_send_1514_us``) against the SPI write of the same
  bytes (``spi_write_1514_us``) and their wire time at the programmed clock
  (``spi_wire_1514_us``), and the board heap allocated while serving
  (``alloc_serving_bytes``: with ``gc`` disabled, over the whole session,
  connection set-ups and idle polls included; host_tests/test_bench_board.py
  shows it does not grow with the number of segments).

Also recorded: ``board_retransmits`` and the drop counters of both ends
(``board_stats``, ``peer_stats``; a clean run drops nothing that matters), the
simulated and wall seconds.

The peer (the same for every runtime): tcpip itself under CPython in this
process, a ``Stack`` on an in-memory wire whose other end is the W5500 model,
polled with the board's simulated milliseconds at every sync of the emulator
(every ``SYNC_US`` of simulated time, so it answers within 0.1 ms). While it
runs the board's clock is stopped, so it costs the board no time; it has 32 KB
rings each way, immediate ACKs (``tcp_delack_ms`` 0), 64 frames per poll, and
writes 16 KB at a time (full-size segments), so the board's own receive
window and send rate are what limit a transfer.

The figures are an optimistic bound for a real board: rp2040js executes flash
with zero wait states (no XIP cache misses). ``tools/measure/board_bench.py`` run on a
real board calibrates them.

``rp2040-micropython-tls``: the board set on the W5500_EVB_PICO image (the
Pico's has no ``ssl``), MicroPython's ssl over a tcpip socket to the same peer
serving TLS (tcpip.tls, a certificate from a throwaway CA made with openssl):
``handshake_ms`` (verified), ``https_kBps`` (``--kbytes`` read over TLS, SHA-256
checked) next to ``plain_kBps`` (the same bytes in plain TCP on the same
image), and the heap before, with the session open and after
(``tls_session_bytes``).

Writes ``{"rp2040-micropython": {...}, "rp2040-lwip": {...}, "ratio_to_lwip":
{runtime: {figure: ratio}}, "peer": "..."}``.  A runtime whose firmware is
missing is skipped with one line (``skipped``: the reason).  ``--quick``
moves 30 kB each way (``make test`` checks that every figure is reported).

``rp2040-circuitpython``: stock CircuitPython 10.2.1 (Feather RP2040 +
Ethernet FeatherWing, SPI at the 8 MHz ``BusioSPI`` asks for), the board set
as .mpy on CIRCUITPY; code.py's loop is stopped and the stack brought up again
in the raw REPL, where the services loop runs (no background timer there);
``heap_free_started`` and ``heap_free_serving`` as for tcpip, ``nic_resyncs``
from the driver.

A runtime is one entry of ``BENCHES``: ``{name: (fn(nbytes, wall_s) -> figures
dict, firmware images it needs)}``, using ``SimPeer`` and ``_measure`` as
``bench_lwip`` does.
"""
import hashlib
import json
import os
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)
sys.path.insert(0, os.path.join(ROOT, "lib"))

import rp2040_board as RB  # noqa: E402
import services  # noqa: E402
from tcpip.config import Config  # noqa: E402
from tcpip.nic.link import Link  # noqa: E402
from tcpip.stack import Stack  # noqa: E402
from tcpip import tcp as _tcp  # noqa: E402  (the peer's control block fields)

BOARD_IP = "192.0.2.2"
PEER_IP = "192.0.2.1"
BOARD_MAC = b"\x02\x00\x00\x00\x00\x02"
PEER_MAC = b"\x02\x00\x00\x00\x00\x01"
SYNC_US = 100
# Steady part of a transfer: from the moment a fifth of it has moved to the end
# (the start pays for slow start and, on lwIP, for data that arrives before
# accept(): MicroPython's lwIP refuses it and the peer resends after its RTO).
STEADY_FROM_DIV = 5
RUNTIMES = ("rp2040-micropython", "rp2040-circuitpython", "rp2040-lwip", "rp2040-micropython-tls")
PEER_DOC = ("tcpip under CPython in the host process, stepped on the board's simulated clock "
            "(sync every %d us), 32 KB rings, immediate ACKs, 16 KB writes" % SYNC_US)
# Figures each runtime must report (make test checks them with --quick).
FIGURES = ("in_kBps", "out_kBps", "ping_ms", "connect_ms", "cycles_per_byte_in", "cycles_per_byte_out",
           "spi_bytes_per_byte_in", "spi_bytes_per_byte_out", "heap_free_serving")
TCPIP_FIGURES = ("heap_free_repl", "heap_free_import", "heap_free_started", "poll_empty_us",
                 "nic_send_1514_us", "spi_write_1514_us", "spi_wire_1514_us", "alloc_serving_bytes")
TLS_FIGURES = ("handshake_ms", "https_kBps", "plain_kBps", "heap_free_before", "heap_free_tls_open",
               "heap_free_after", "tls_session_bytes")
RATIO_OF = ("in_kBps", "out_kBps", "ping_ms", "connect_ms", "cycles_per_byte_in", "cycles_per_byte_out",
            "spi_bytes_per_byte_in", "spi_bytes_per_byte_out", "heap_free_serving")


class BenchError(Exception):
    pass


def _log(msg):
    print("bench_board: " + msg, file=sys.stderr, flush=True)


def _csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def echo_request(ident, seq, size=56):
    """An Ethernet frame: ICMP echo request (RFC 792) from the peer to the board."""
    data = bytes(i & 0xFF for i in range(size))
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    icmp = icmp[:2] + struct.pack("!H", _csum(icmp)) + icmp[4:]
    src = bytes(int(x) for x in PEER_IP.split("."))
    dst = bytes(int(x) for x in BOARD_IP.split("."))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return BOARD_MAC + PEER_MAC + b"\x08\x00" + ip + icmp


def chargen_digest(n):
    pat = bytes(services.chargen_pattern())
    h = hashlib.sha256()
    while n > 0:
        k = min(n, len(pat))
        h.update(pat[:k])
        n -= k
    return h.hexdigest()


class SimPeer:
    """tcpip on an in-memory wire to the W5500 model, stepped by Board.on_sync."""

    def __init__(self):
        self.link = Link(queue_frames=1024, mac_a=PEER_MAC, mac_b=BOARD_MAC)
        cfg = Config(mac=PEER_MAC, ip=PEER_IP, prefix=24, tcp_sockets=2, tcp_rx_bytes=32768,
                     tcp_tx_bytes=32768, tcp_delack_ms=0, rx_frames_per_poll=64)
        self.stack = Stack(cfg, self.link.a)
        self.wire = self.link.b  # the chip's end
        self.board = None
        self.lock = threading.Lock()
        self.job = None  # dict the sync thread fills in
        self.closing = []  # clients of earlier jobs, run until their connections close
        self.done = threading.Event()
        self.pings = []  # frames to inject at the next sync
        self.error = None

    def attach(self, board):
        self.board = board
        board.on_sync = self.step

    def step(self, sim_ns):
        try:
            self._step(sim_ns)
        except Exception as e:  # report in the main thread, never kill the board's thread
            self.error = "%s: %s" % (type(e).__name__, e)
            self.done.set()

    def _step(self, sim_ns):
        ms = int(sim_ns // 1000000)
        self.link.now_ms = ms
        with self.lock:
            while self.pings:
                self.link._carry(self.link.a, self.pings.pop(0))
            j = self.job
        self.stack.poll(ms)
        for c in self.closing:
            c.run()
        if self.closing and self.closing[0].done:
            self.closing.pop(0)
        if j is None or j.get("end_ns") is not None:
            return
        b = self.board
        c = j["client"]
        if c is None:
            c = j["client"] = services.Client(self.stack, j["kind"], BOARD_IP, nbytes=j["nbytes"], chunk=16384)
            j["open_ns"] = sim_ns
        w = c.conn.w
        if j.get("est_ns") is None and c.conn.is_established():
            j["est_ns"] = sim_ns
            j["cycles_e"], j["spi_e"] = b.cycles, b.spi_bytes
            j["st_e"] = self.stack.stats()
        c.run()
        if j["kind"] == "discard":  # bytes the board acknowledged (the FIN may still wait)
            unacked = w[_tcp._SND_MAX] - w[_tcp._SND_UNA]
            moved = c.sent - c.conn.unsent()  # the TX ring holds what is not acknowledged
            done = c.sent >= j["nbytes"] and unacked <= 1
        else:
            moved = c.received
            done = c.done or c.received >= j["nbytes"]
        if j.get("steady_ns") is None and moved * STEADY_FROM_DIV >= j["nbytes"]:
            j["steady_ns"], j["steady_bytes"] = sim_ns, moved
            j["cycles_s"], j["spi_s"] = b.cycles, b.spi_bytes
        if done:
            j["end_bytes"] = moved
            if not c.done:
                self.closing.append(c)
            j["end_ns"] = sim_ns
            j["cycles1"], j["spi1"] = b.cycles, b.spi_bytes
            j["st1"] = self.stack.stats()
            self.done.set()
        self.stack.poll(ms)

    def transfer(self, kind, nbytes, wall_s):
        """Run one services.Client to the board; its figures (dict)."""
        self.done.clear()
        with self.lock:
            self.job = {"kind": kind, "nbytes": nbytes, "client": None}
        if not self.done.wait(wall_s) or self.error:
            j = self.job
            c = j["client"]
            raise BenchError("%s of %d B did not finish in %.0f s wall (%s; sent %s received %s)"
                             % (kind, nbytes, wall_s, self.error or "timeout",
                                c and c.sent, c and c.received))
        j = self.job
        c = j["client"]
        if c.error:
            raise BenchError("%s: connection failed (errno %d)" % (kind, c.error))
        if kind == "chargen":
            ok = c.received >= nbytes
            # every byte read (it may be a little more than asked) against RFC 864's pattern
            if c.digest("in") != chargen_digest(c.received):
                raise BenchError("chargen: payload differs from the RFC 864 pattern")
        else:
            ok = c.sent == nbytes
        if not ok:
            raise BenchError("%s: %d of %d bytes" % (kind, c.sent if kind == "discard" else c.received, nbytes))
        sim_s = (j["end_ns"] - j["est_ns"]) / 1e9
        steady_s = (j["end_ns"] - j["steady_ns"]) / 1e9
        n = j["end_bytes"] - j["steady_bytes"]
        steady = steady_s > 0 and n > 0
        if not steady:  # too short to have one (--quick on lwIP): the whole transfer
            steady_s, n = sim_s, nbytes
            j["cycles_s"], j["spi_s"] = j["cycles_e"], j["spi_e"]
        # the frames each end sent between the handshake and the end (TCP
        # segments, data and ACKs alike), counted at the peer
        st0, st1 = j["st_e"], j["st1"]
        frames_board = st1["in_tcp"] - st0["in_tcp"]
        frames_peer = st1["tcp_segs_out"] - st0["tcp_segs_out"]
        return {"frames_board": frames_board, "frames_peer": frames_peer,
                "steady": steady, "kBps": round(n / 1000.0 / steady_s, 1), "kBps_whole": round(nbytes / 1000.0 / sim_s, 1),
                "connect_ms": round((j["est_ns"] - j["open_ns"]) / 1e6, 3),
                "cycles_per_byte": round((j["cycles1"] - j["cycles_s"]) / n, 1),
                "spi_bytes_per_byte": round((j["spi1"] - j["spi_s"]) / n, 3),
                "sim_s": round(sim_s, 4), "payload_checked": kind == "chargen"}

    def ping(self, count, wall_s):
        b = self.board
        b.wire.rtts_ns = []
        end = time.monotonic() + wall_s
        for seq in range(count):
            t0 = b.sim_ns
            with self.lock:
                self.pings.append(echo_request(0x4242, seq))
            while len(b.wire.rtts_ns) <= seq and time.monotonic() < end and b.sim_ns - t0 < 1e9:
                time.sleep(0.005)
            t1 = b.sim_ns
            while b.sim_ns - t1 < 5e6 and time.monotonic() < end:  # 5 ms apart
                time.sleep(0.005)
        r = sorted(b.wire.rtts_ns)
        if len(r) < count:
            raise BenchError("ping: %d of %d echo replies" % (len(r), count))
        return round(r[len(r) // 2] / 1e6, 3)


# tcpip: heap figures, micro-figures, then the services loop (gc disabled so
# the heap it allocates while serving is counted, never collected away).
TCPIP_PROBE = """
import gc, json, time, machine
gc.collect()
_f0 = gc.mem_free()
import tcpip
gc.collect()
_f1 = gc.mem_free()
import netboot
net = netboot.start()
gc.collect()
_f2 = gc.mem_free()
net.background.stop()
# Background.stop() ends the timer only: the INTn edge would still schedule
# polls behind this loop (and allocate for them)
net.nic.spi.irq(None)
import tcpip_board
from tcpip.compat import ticks_ms
_st = net.stack
_st.poll(ticks_ms())
_t = time.ticks_us()
for _i in range(100):
    _st.poll(ticks_ms())
_poll = time.ticks_diff(time.ticks_us(), _t) / 100
_fr = bytearray(1514)
_fr[0:6] = b'\\x02\\x00\\x00\\x00\\x00\\x00'
_fr[6:12] = b'\\x02\\x00\\x00\\x00\\x00\\x02'
_fr[12] = 0x88; _fr[13] = 0xb5
_t = time.ticks_us()
for _i in range(20):
    net.nic.send(_fr)
_send = time.ticks_diff(time.ticks_us(), _t) / 20
_spi = machine.SPI(0, tcpip_board.BAUDRATE, sck=machine.Pin(18), mosi=machine.Pin(19), miso=machine.Pin(16))
_t = time.ticks_us(); _spi.write(_fr); _sw = time.ticks_diff(time.ticks_us(), _t)
_baud = int(str(_spi).split('baudrate=')[1].split(',')[0])
print(json.dumps({'heap_free_repl': _f0, 'heap_free_import': _f1, 'heap_free_started': _f2,
                  'poll_empty_us': _poll, 'nic_send_1514_us': _send, 'spi_write_1514_us': _sw,
                  'spi_wire_1514_us': 1514 * 8 * 1000000 / _baud, 'spi_baud': _baud}))
"""

# The serve loop until Ctrl-C: poll, the services, and Stack.idle until the
# next frame or deadline (tools/measure/boardprof.py runs the same loop).
SERVE_LOOP = """
try:
    while True:
        _w = _st.poll(ticks_ms())
        _svc.run()
        if _w > 0:
            _st.idle(_w)
except KeyboardInterrupt:
    pass
"""

TCPIP_SERVE = """
import gc, time, json
import services
from tcpip.compat import ticks_ms
_st = net.stack
_svc = services.start(_st, ['discard', 'chargen'])
gc.collect()
print('serving', gc.mem_free())
gc.disable()
_a0 = gc.mem_alloc()
""" + SERVE_LOOP + """
_a1 = gc.mem_alloc()
gc.enable()
_svc.stop()
services._started.remove(_svc)
from tcpip.iface import M_TCP_ACK
print('bench-stats ' + json.dumps({'alloc_serving_bytes': _a1 - _a0, 'stack': _st.stats(),
                                   'ack_taker': _st.iface.memo[M_TCP_ACK] is not None,
                                   'bounce': getattr(net.nic, '_bounce', None) is not None}))
"""


def _wait_serving(b, wall_s):
    line = b.wait_for(b"serving", wall_s) + b.wait_for(b"\n", 30)
    return int(line.split()[-1])


def _measure(b, peer, nbytes, wall_s, res):
    d = peer.transfer("discard", nbytes, wall_s)
    res.update(in_kBps=d["kBps"], in_kBps_whole=d["kBps_whole"], in_steady=d["steady"], connect_ms=d["connect_ms"], cycles_per_byte_in=d["cycles_per_byte"],
               spi_bytes_per_byte_in=d["spi_bytes_per_byte"], in_sim_s=d["sim_s"],
               frames_board_in=d["frames_board"], frames_peer_in=d["frames_peer"])
    o = peer.transfer("chargen", nbytes, wall_s)
    if not o["payload_checked"]:
        raise BenchError("chargen: payload not checked")
    res.update(out_kBps=o["kBps"], out_kBps_whole=o["kBps_whole"], out_steady=o["steady"], connect_ms_2=o["connect_ms"], cycles_per_byte_out=o["cycles_per_byte"],
               spi_bytes_per_byte_out=o["spi_bytes_per_byte"], out_sim_s=o["sim_s"], payload_checked=True,
               frames_board_out=o["frames_board"], frames_peer_out=o["frames_peer"])
    res["ping_ms"] = peer.ping(10, wall_s)


def tcpip_board(peer):
    """A rp2040-micropython board (stock RPI_PICO, the board set as .mpy on
    LittleFS, services.mpy, no main.py) on ``peer``'s wire; not started."""
    settings = {"dhcp": False, "ip": BOARD_IP, "prefix": 24, "gateway": PEER_IP, "dns": [],
                "mac": "02:00:00:00:00:02", "poll_ms": 10}
    workdir = os.path.join(ROOT, ".build", "rp2040")
    os.makedirs(workdir, exist_ok=True)
    extra = {"/services.mpy": RB.mpy_of(os.path.join(ROOT, "tools", "vboard", "services.py"), workdir)}
    b = RB.micropython_board(settings, wire=peer.wire, realtime=False, extra_files=extra, no_main=True)
    b.sync_us = SYNC_US
    peer.attach(b)
    return b


def _serve_start(b):
    b.write(b"\r\x03\x03\x01")
    b.wait_for(b"raw REPL; CTRL-B to exit\r\n>", 30)
    b.write(TCPIP_SERVE.encode() + b"\x04")
    b.wait_for(b"OK", 30)
    return _wait_serving(b, 60)


def interrupt_until(b, marker):
    """Ctrl-C until the serve loop prints ``marker``: a Ctrl-C can land in a
    scheduled callback (the INTn handler) instead of the loop (5 tries)."""
    for attempt in range(5):
        b.write(b"\x03")
        try:
            b.wait_for(marker, 5)
            return
        except RB.BoardError:
            if attempt == 4:
                raise


def _serve_stop(b):
    interrupt_until(b, b"bench-stats ")
    st = json.loads(b.wait_for(b"\n", 30))
    b.wait_for(b"\x04>", 30)
    b.write(b"\x02")
    b.wait_for(b">>> ", 30)
    return st


def serve_session(b, peer, kind, nbytes, wall_s=120):
    """tcpip's services loop (after TCPIP_PROBE) for one transfer; its
    bench-stats (alloc_serving_bytes, stack)."""
    _serve_start(b)
    peer.transfer(kind, nbytes, wall_s)
    return _serve_stop(b)


def bench_tcpip(nbytes, wall_s):
    """rp2040-micropython: stock RPI_PICO, the board set as .mpy on LittleFS."""
    peer = SimPeer()
    b = tcpip_board(peer)
    res = {"firmware": RB.MICROPYTHON_UF2, "peer": PEER_DOC}
    try:
        b.start()
        b.wait_for(b">>> ", wall_s=60)
        out = b.exec(TCPIP_PROBE, wall_s=120)
        res.update(json.loads(out.strip().splitlines()[-1]))
        for k in ("poll_empty_us", "nic_send_1514_us", "spi_wire_1514_us"):
            res[k] = round(res[k], 1)
        res["nic_send_vs_wire"] = round(res["nic_send_1514_us"] / res["spi_wire_1514_us"], 2)
        res["heap_free_serving"] = _serve_start(b)
        _measure(b, peer, nbytes, wall_s, res)
        st = _serve_stop(b)
        res["alloc_serving_bytes"] = st["alloc_serving_bytes"]
        # loaded on first use: the ACK taker by the first bulk send, the
        # driver's bounce buffer after a few split transfers
        res["ack_taker_loaded"] = st.get("ack_taker")
        res["bounce_made"] = st.get("bounce")
        s = st["stack"]
        # segments the board sent and the peer sent it (the board counts no segments in)
        res["data_segments"] = s["tcp_segs_out"] + peer.stack.stats()["tcp_segs_out"]
        res["board_retransmits"] = s["tcp_retransmits"]
        res["peer_stats"] = {k: v for k, v in peer.stack.stats().items()
                             if v and ("drop_tcp" in k or "ooo" in k or "retrans" in k or "rto" in k)}
        res["board_stats"] = {k: v for k, v in s.items() if v and ("drop" in k or "ooo" in k or "retrans" in k or "rto" in k)}
        res["sim_s_total"] = round(b.sim_ns / 1e9, 3)
        res["wall_s"] = b.figures()["wall_s"]
        return res
    finally:
        b.close()


def bench_lwip(nbytes, wall_s):
    """rp2040-lwip: stock W5500_EVB_PICO (network.WIZNET5K), tools/emu/rp2040/lwip_main.py."""
    peer = SimPeer()
    settings = {"dhcp": False, "ip": BOARD_IP, "prefix": 24, "gateway": PEER_IP,
                "mac": "02:00:00:00:00:02", "serve": ["discard", "chargen"]}
    b = RB.lwip_board(settings, wire=peer.wire, realtime=False)
    b.sync_us = SYNC_US
    peer.attach(b)
    res = {"firmware": RB.LWIP_UF2, "peer": PEER_DOC}
    try:
        b.start()
        b.wait_for(b"lwip: up ", wall_s=60)
        res["heap_free_serving"] = _wait_serving(b, 60)
        _measure(b, peer, nbytes, wall_s, res)
        b.write(b"\x03")
        b.wait_for(b"lwip-stats ", 30)
        st = json.loads(b.wait_for(b"\n", 30))
        res["peer_stats"] = {k: v for k, v in peer.stack.stats().items()
                             if v and ("drop_tcp" in k or "ooo" in k or "retrans" in k or "rto" in k)}
        if st.get("rx_bytes") != nbytes:  # (chargen's end, a RST, counts as an error there)
            raise BenchError("lwIP discard counted %s of %d bytes" % (st.get("rx_bytes"), nbytes))
        res["sim_s_total"] = round(b.sim_ns / 1e9, 3)
        res["wall_s"] = b.figures()["wall_s"]
        return res
    finally:
        b.close()


# CircuitPython: the services loop in the raw REPL (CircuitPython has no
# background timer; code.py's loop is stopped and the stack brought up again
# there, as vboard does).  gc stays enabled: CircuitPython's heap while serving
# is a few KB, so counting what the loop allocates would end it.
CP_SERVE = """
import gc, json
import services
from tcpip.compat import ticks_ms, sleep_ms
_st = net.stack
_svc = services.start(_st, ['discard', 'chargen'])
gc.collect()
print('serving', gc.mem_free())
try:
    while True:
        _w = _st.poll(ticks_ms())
        _svc.run()
        if _w > 0:
            sleep_ms(1)
except KeyboardInterrupt:
    pass
_svc.stop()
gc.collect()
print('bench-stats ' + json.dumps({'heap_free_after': gc.mem_free(), 'nic': _st.nic.stats()}))
for names, values in _st.counters.groups:
    for i in range(len(names)):
        print('bench-counter ' + names[i] + ' ' + str(values[i]))
print('bench-end')
"""


def bench_circuitpython(nbytes, wall_s):
    """rp2040-circuitpython: stock CircuitPython 10.2.1 (Feather RP2040 +
    Ethernet FeatherWing), the board set as .mpy on CIRCUITPY."""
    peer = SimPeer()
    settings = {"dhcp": False, "ip": BOARD_IP, "prefix": 24, "gateway": PEER_IP, "dns": [],
                "mac": "02:00:00:00:00:02", "poll_ms": 10}
    workdir = os.path.join(ROOT, ".build", "rp2040")
    os.makedirs(workdir, exist_ok=True)
    fsimage = RB._fsimage()
    extra = {"/services.mpy": fsimage.circuitpython_mpy(
        RB.mpy_of(os.path.join(ROOT, "tools", "vboard", "services.py"), workdir))}
    b = RB.circuitpython_board(settings, wire=peer.wire, realtime=False, extra_files=extra)
    b.sync_us = SYNC_US
    peer.attach(b)
    res = {"firmware": RB.CIRCUITPYTHON_UF2, "peer": PEER_DOC}
    try:
        b.start()
        RB.circuitpython_repl(b, 120)
        b.write(b"\r\x03\x03\x01")
        b.wait_for(b"raw REPL; CTRL-B to exit\r\n>", 30)
        out, err = RB._cp_raw(b, RB.CP_START + RB.INFO, wall_s=120)
        if err:
            raise BenchError("the stack did not start in the REPL: %s" % err.strip()[-300:])
        res["heap_free_started"] = json.loads(out.strip().splitlines()[-1])["mem_free_started"]
        b.write(CP_SERVE.encode() + b"\x04")
        b.wait_for(b"OK", 30)
        line = b.wait_for(b"\n", 60)
        if b"serving" not in line:
            try:
                line += b.wait_for(b"\x04>", 30)  # the rest of the traceback
            except RB.BoardError:
                pass
            raise BenchError("the services did not start: %s" % " | ".join(
                ln.strip() for ln in line.decode(errors="replace").replace("\x04", "\n").splitlines()
                if ln.strip() not in ("", ">"))[-300:])
        res["heap_free_serving"] = int(line.split()[-1])
        _measure(b, peer, nbytes, wall_s, res)
        b.write(b"\x03")
        b.wait_for(b"bench-stats ", 30)
        st = json.loads(b.wait_for(b"\n", 30))
        counters = {}
        for ln in b.wait_for(b"bench-end", 60).decode(errors="replace").splitlines():
            if ln.startswith("bench-counter "):
                k, v = ln.split()[1:3]
                counters[k] = int(v)
        res["heap_free_after"] = st["heap_free_after"]
        res["nic_resyncs"] = st["nic"]["resyncs"]
        res["board_retransmits"] = counters.get("tcp_retransmits")
        res["board_stats"] = {k: v for k, v in counters.items()
                              if v and ("drop" in k or "ooo" in k or "retrans" in k or "rto" in k or "error" in k)}
        res["peer_stats"] = {k: v for k, v in peer.stack.stats().items()
                             if v and ("drop_tcp" in k or "ooo" in k or "retrans" in k or "rto" in k)}
        res["sim_s_total"] = round(b.sim_ns / 1e9, 3)
        res["wall_s"] = b.figures()["wall_s"]
        return res
    finally:
        b.close()


# TLS: tcpip on the W5500_EVB_PICO image (RPI_PICO has no ssl), MicroPython's
# own ssl over a tcpip socket; the peer serves TLS (CPython's ssl through
# tcpip.tls, non-blocking) and, for comparison, the same bytes in plain TCP.
TLS_PATTERN = bytes(range(256)) * 64  # what the peer sends, again and again
TLS_CLIENT = """
import binascii, gc, hashlib, json, machine, time, ssl
import tcpip.socket as socket
machine.RTC().datetime(%(now)r)  # mbedTLS checks the certificate's dates
import netboot
net = netboot.start(background=False)  # the socket's waits poll the stack
def _get(port, ctx):
    gc.collect()
    f0 = gc.mem_free()
    s = socket.socket()
    s.settimeout(30)
    s.connect((%(ip)r, port))
    t = time.ticks_us()
    w = ctx.wrap_socket(s, server_hostname='files.test') if ctx else s
    hs = time.ticks_diff(time.ticks_us(), t)
    gc.collect()
    f1 = gc.mem_free()
    h = hashlib.sha256()
    buf = bytearray(1024)
    mv = memoryview(buf)
    n = 0
    t = time.ticks_us()
    while n < %(n)d:  # a slice (garbage) only for the last, short read
        k = w.readinto(buf if %(n)d - n >= 1024 else mv[:%(n)d - n])
        if not k:
            break
        h.update(buf if k == 1024 else mv[:k])
        n += k
    us = time.ticks_diff(time.ticks_us(), t)
    w.close()
    gc.collect()
    return {'handshake_us': hs, 'read_us': us, 'bytes': n, 'sha': binascii.hexlify(h.digest()).decode(),
            'free_before': f0, 'free_open': f1, 'free_after': gc.mem_free()}
_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_ctx.verify_mode = ssl.CERT_REQUIRED
_ctx.load_verify_locations(cadata=%(ca)r)
_r = {'tls': _get(443, _ctx)}
_r['plain'] = _get(80, None)
print(json.dumps(_r))
"""


class _PeerSender:
    """The peer's side of the TLS figures: accepts one connection on ``port``
    (non-blocking tcpip sockets on the peer's stack), with ``ctx`` does the
    TLS handshake as the server, then sends ``nbytes`` of TLS_PATTERN.  Run
    from SimPeer's step (as one of its ``closing`` clients); the board closes."""

    def __init__(self, stack, port, nbytes, ctx=None):
        import tcpip.socket as S

        self.ls = S.socket(stack=stack)
        self.ls.settimeout(0)
        self.ls.bind(("0.0.0.0", port))
        self.ls.listen(1)
        self.ctx = ctx
        self.nbytes = nbytes
        self.conn = None
        self.shaken = ctx is None
        self.sent = 0
        self.done = False
        self.pat = memoryview(TLS_PATTERN * 2)

    def run(self):
        import errno

        if self.done:
            return
        try:
            if self.conn is None:
                c, _ = self.ls.accept()
                c.settimeout(0)
                self.conn = self.ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False) \
                    if self.ctx else c
            if not self.shaken:
                self.conn.do_handshake()
                self.shaken = True
            while self.sent < self.nbytes:
                off = self.sent % len(TLS_PATTERN)
                self.sent += self.conn.send(self.pat[off:off + min(8192, self.nbytes - self.sent)])
            self.done = True  # no close() here: it polls on the wall clock; the board closes
        except OSError as e:
            if not e.args or e.args[0] != errno.EAGAIN:
                raise


def tlsfixtures_available():
    import tlsfixtures

    return tlsfixtures.available()


def bench_tls(nbytes, wall_s):
    """rp2040-micropython-tls: the board set on stock W5500_EVB_PICO (it has
    ssl), a verified TLS GET of nbytes from the peer next to the same bytes
    in plain TCP; handshake and throughput on simulated time, heap."""
    import shutil
    import tempfile

    import tlsfixtures
    from tcpip import tls

    if not tlsfixtures.available():
        raise BenchError("openssl missing (certificates are made at run time)")
    peer = SimPeer()
    # The socket API's calls poll the stack on ``clock_ms`` when it has one:
    # the board's simulated milliseconds, as SimPeer's own polls.
    peer.stack.clock_ms = lambda: peer.link.now_ms
    d = tempfile.mkdtemp(prefix="bench-tls-")
    settings = {"dhcp": False, "ip": BOARD_IP, "prefix": 24, "gateway": PEER_IP, "dns": [],
                "mac": "02:00:00:00:00:02", "poll_ms": 10}
    b = None
    res = {"firmware": RB.LWIP_UF2, "peer": PEER_DOC + "; TLS through tcpip.tls (CPython's ssl), EC P-256"}
    try:
        certs = tlsfixtures.make(d, ip=PEER_IP)
        with open(certs["ca_der"], "rb") as f:
            ca = f.read()
        ctx = tls.server_context(certs["cert"], certs["key"])
        peer.closing.append(_PeerSender(peer.stack, 443, nbytes, ctx))
        peer.closing.append(_PeerSender(peer.stack, 80, nbytes))
        b = RB.micropython_board(settings, wire=peer.wire, realtime=False, no_main=True,
                                 uf2=RB.firmware_path(RB.LWIP_UF2))
        b.sync_us = SYNC_US
        peer.attach(b)
        b.start()
        b.wait_for(b">>> ", wall_s=60)
        t = time.gmtime()
        out = b.exec(TLS_CLIENT % {"now": (t.tm_year, t.tm_mon, t.tm_mday, t.tm_wday, t.tm_hour, t.tm_min,
                                            t.tm_sec, 0), "ip": PEER_IP, "n": nbytes, "ca": ca}, wall_s=wall_s)
        if peer.error:
            raise BenchError("peer: " + peer.error)
        try:
            r = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise BenchError("the board's TLS client failed: " + out.strip()[-600:])
        want = hashlib.sha256((TLS_PATTERN * (nbytes // len(TLS_PATTERN) + 1))[:nbytes]).hexdigest()
        for k in ("tls", "plain"):
            if r[k]["bytes"] != nbytes or r[k]["sha"] != want:
                raise BenchError("%s: %d of %d bytes, payload %s" % (k, r[k]["bytes"], nbytes,
                                 "ok" if r[k]["sha"] == want else "differs"))
        t, p = r["tls"], r["plain"]
        res.update(handshake_ms=round(t["handshake_us"] / 1000.0, 1),
                   https_kBps=round(nbytes / 1000.0 / (t["read_us"] / 1e6), 1),
                   plain_kBps=round(nbytes / 1000.0 / (p["read_us"] / 1e6), 1),
                   heap_free_before=t["free_before"], heap_free_tls_open=t["free_open"],
                   heap_free_after=t["free_after"], tls_session_bytes=t["free_before"] - t["free_open"],
                   payload_checked=True, sim_s_total=round(b.sim_ns / 1e9, 3), wall_s=b.figures()["wall_s"])
        res["peer_stats"] = {k: v for k, v in peer.stack.stats().items()
                             if v and ("drop_tcp" in k or "ooo" in k or "retrans" in k or "rto" in k)}
        res["chip_rx_overflow_drops"] = b.chip.stats().get("rx_overflow_drops")
        return res
    finally:
        if b is not None:
            b.close()
        shutil.rmtree(d, ignore_errors=True)


BENCHES = {"rp2040-micropython": (bench_tcpip, (RB.MICROPYTHON_UF2,)),
           "rp2040-circuitpython": (bench_circuitpython, (RB.CIRCUITPYTHON_UF2,)),
           "rp2040-lwip": (bench_lwip, (RB.LWIP_UF2,)),
           "rp2040-micropython-tls": (bench_tls, (RB.LWIP_UF2,))}


def ratios(out):
    """tcpip's figures over lwIP's (> 1 is faster for kBps, slower for the rest)."""
    ref = out.get("rp2040-lwip")
    r = {}
    if not isinstance(ref, dict) or "skipped" in ref:
        return r
    for name, res in out.items():
        if name == "rp2040-lwip" or not isinstance(res, dict) or "skipped" in res:
            continue
        r[name] = {k: round(res[k] / ref[k], 3) for k in RATIO_OF
                   if isinstance(res.get(k), (int, float)) and ref.get(k)}
    return r


def run(runtimes, kbytes, wall_s=300.0, log_skips=True):
    """Measure each runtime; {runtime: figures or {"skipped"/"error": why}, ...}."""
    out = {}
    for rt in runtimes:
        if rt not in BENCHES:
            out[rt] = {"skipped": "no board bench for this runtime here"}
            if log_skips:
                _log("%s: skipped (no board bench for this runtime here)" % rt)
            continue
        fn, images = BENCHES[rt]
        try:
            why = RB.missing_prerequisite(images=images)
        except RB.BoardError as e:
            why = str(e)
        if why:
            out[rt] = {"skipped": why}
            if log_skips:
                _log("%s: skipped (%s)" % (rt, why))
            continue
        t = time.monotonic()
        try:
            out[rt] = fn(kbytes * 1000, wall_s)
        except (BenchError, RB.BoardError) as e:
            out[rt] = {"error": str(e)}
            _log("%s: %s" % (rt, e))
            continue
        if "https_kBps" in out[rt]:
            _log("%s: handshake %s ms, TLS %s kB/s, plain TCP %s kB/s (%.0f s wall)"
                 % (rt, out[rt]["handshake_ms"], out[rt]["https_kBps"], out[rt]["plain_kBps"],
                    time.monotonic() - t))
            continue
        _log("%s: in %s kB/s, out %s kB/s, ping %s ms, connect %s ms (%.0f s wall)"
             % (rt, out[rt].get("in_kBps"), out[rt].get("out_kBps"), out[rt].get("ping_ms"),
                out[rt].get("connect_ms"), time.monotonic() - t))
    out["ratio_to_lwip"] = ratios(out)
    out["peer"] = PEER_DOC
    out["kbytes_each_way"] = kbytes
    return out


TABLE_ROWS = (("into the board, kB/s", "in_kBps"), ("out of the board, kB/s", "out_kBps"),
              ("ping RTT (56 B), ms", "ping_ms"), ("connect, ms", "connect_ms"),
              ("CPU cycles per payload byte, in", "cycles_per_byte_in"),
              ("CPU cycles per payload byte, out", "cycles_per_byte_out"),
              ("SPI bytes per payload byte, in", "spi_bytes_per_byte_in"),
              ("SPI bytes per payload byte, out", "spi_bytes_per_byte_out"),
              ("heap free while serving, B", "heap_free_serving"))


def table(out):
    """The board section as a Markdown table: each measured runtime, then its ratio to lwIP."""
    cols = [rt for rt in RUNTIMES if isinstance(out.get(rt), dict) and "in_kBps" in out[rt]]
    rat = out.get("ratio_to_lwip", {})
    rcols = [rt for rt in cols if rt in rat]
    head = "| | " + " | ".join(cols) + "".join(" | %s/lwIP" % rt.split("-", 1)[1] for rt in rcols) + " |"
    lines = [head, "|---" * (1 + len(cols) + len(rcols)) + "|"]
    for label, k in TABLE_ROWS:
        cells = [str(out[rt].get(k, "")) for rt in cols] + [str(rat[rt].get(k, "")) for rt in rcols]
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return "\n".join(lines)


def missing(out):
    """Figures a measured runtime failed to report (names), for the quick check."""
    bad = []
    for rt, res in out.items():
        if rt in ("ratio_to_lwip", "peer", "kbytes_each_way") or "skipped" in res:
            continue
        if "error" in res:
            bad.append("%s: %s" % (rt, res["error"]))
            continue
        want = TLS_FIGURES if rt == "rp2040-micropython-tls" else \
            FIGURES + (TCPIP_FIGURES if rt == "rp2040-micropython" else ())
        bad += ["%s.%s" % (rt, k) for k in want if not isinstance(res.get(k), (int, float))]
    return bad


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(prog="bench_board.py", description=__doc__.split("\n")[0])
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--kbytes", type=int, default=300, help="kB each way (1 kB = 1000 B)")
    ap.add_argument("--quick", action="store_true", help="30 kB each way, no file unless --out")
    ap.add_argument("--out", default=None, help="JSON file (default bench/board.json; none with --quick)")
    a = ap.parse_args(argv)
    kbytes = 30 if a.quick else a.kbytes
    out = run([r.strip() for r in a.runtimes.split(",") if r.strip()], kbytes)
    path = a.out or (None if a.quick else os.path.join(ROOT, "bench", "board.json"))
    if path:
        with open(path, "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
            f.write("\n")
    print(json.dumps(out, sort_keys=True))
    bad = missing(out)
    if bad:
        _log("missing figures: " + ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
