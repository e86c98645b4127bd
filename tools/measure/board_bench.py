"""Measure tcpip on a real board (RP2040 + W5500, MicroPython): the numbers the
emulated-board figures (docs/performance.md, "On the board") are calibrated with.

On the PC, with the board flashed (``make flash BOARD=...``)::

    mpremote cp tools/measure/memreport.py tools/vboard/services.py tools/common/nullnic.py : + run tools/measure/board_bench.py

It prints one line per measurement and a final JSON line:

- ``spi_tx_us_per_1514``: wall time of ``nic.send()`` for a full-size frame
  (SPI write of the frame into the W5500's TX buffer, pointer update, SEND
  command, wait for SEND_OK): the SPI floor of sending one segment.  The frames
  go to a locally administered MAC nobody has (``02:00:00:00:00:00``); 200 of
  them, about 300 KB, once.
- ``spi_empty_poll_us``: ``nic.recv_into()`` when nothing waits (the cost of a
  poll with no traffic: one register read over SPI).
- ``pair_us_per_segment``: two stacks on an in-memory wire in this CPU
  (tools/measure/memreport.py), microseconds of interpreter per data segment for the
  sender and the receiver together, no SPI (``pair_bytes_per_segment``: the
  payload such a segment carried on average); and their heap allocation per
  segment (0 expected).  This is the interpreter's cost of the stack code, not
  a throughput: it counts both ends, the in-memory wire's copies, the
  application's pattern check and the polls of rounds that sent nothing, and
  it has no SPI receive, no NIC polling and no background timer.  Adding it
  to the SPI time never predicted the service (it gave 0.073 MB/s where the
  service moved 0.135 MB/s), so no projection is made: the throughput is what
  the serving part below measures.
- ``stack_default_bytes``: heap taken by ``Stack(Config())`` on this board.

Each part lets go of its stacks before the next one starts (memreport.release),
so the two in-memory stacks and their wire never share the heap with the real
one.

Then, unless ``SERVE_S = 0`` below, it serves discard (port 9) and chargen
(port 19) for ``SERVE_S`` seconds with the stack on the real NIC, so the real
throughput can be measured from a PC on the same LAN::

    python tools/measure/bench.py client discard BOARD_IP 5000000 20     # PC -> board
    python tools/measure/bench.py client chargen BOARD_IP 5000000 20     # board -> PC
"""
import gc
import sys

from tcpip.compat import ticks_ms, ticks_diff, const

try:
    from time import ticks_us, ticks_diff as _us_diff
except ImportError:  # CPython: only the in-memory part makes sense there
    import time as _t

    def ticks_us():
        return int(_t.perf_counter() * 1000000)

    def _us_diff(a, b):
        return a - b

TX_FRAMES = const(200)
PAIR_SEGMENTS = const(300)
# SlotWire frames each way: the 2 KB rings keep at most two data segments and
# their ACKs in flight, and 32 slots (97 KB) would not fit beside the code on a
# Pico loading .mpy into RAM.  Drops would show as pair_wire_drops.
PAIR_SLOTS = const(4)
SERVE_S = 60


def _say(k, v):
    print("%-24s %s" % (k, v))


def spi_figures(nic):
    out = {}
    f = bytearray(1514)
    f[0] = 0x02  # 02:00:00:00:00:00, locally administered, nobody's
    f[6:12] = nic.mac
    f[12] = 0x88  # IEEE 802 local experimental ethertype 0x88B5
    f[13] = 0xB5
    mv = memoryview(f)
    nic.send(mv)  # warm up
    t0 = ticks_us()
    for _ in range(TX_FRAMES):
        nic.send(mv)
    out["spi_tx_us_per_1514"] = _us_diff(ticks_us(), t0) / TX_FRAMES
    buf = bytearray(1518)
    t0 = ticks_us()
    n = 0
    for _ in range(100):
        n += nic.recv_into(buf)
    out["spi_empty_poll_us"] = _us_diff(ticks_us(), t0) / 100
    if hasattr(nic, "stats"):
        st = nic.stats()
        if "spi_bytes" in st:
            out["nic_spi_bytes"] = st["spi_bytes"]
    return out


def pair_figures():
    import memreport
    out = {}
    r = memreport.alloc_per_segment(segments=PAIR_SEGMENTS, warmup=50, batch=50, slots=PAIR_SLOTS)
    out["pair_alloc_per_segment_send"] = r["alloc_per_segment_send"]
    out["pair_alloc_per_segment_recv"] = r["alloc_per_segment_recv"]
    w, a, b = memreport.make_pair(slots=PAIR_SLOTS)
    bulk = memreport.Bulk(a, b)
    for _ in range(20):
        bulk.step(False)
    s0 = a.counters.get("tcp_segs_out")
    g0 = bulk.got
    rounds = 0
    t0 = ticks_us()
    while a.counters.get("tcp_segs_out") - s0 < PAIR_SEGMENTS and rounds < PAIR_SEGMENTS * 20:
        bulk.step(False)
        rounds += 1
    us = _us_diff(ticks_us(), t0)
    segs = a.counters.get("tcp_segs_out") - s0
    out["pair_us_per_segment"] = us / segs if segs else None
    out["pair_bytes_per_segment"] = (bulk.got - g0) / segs if segs else None
    out["pair_payload_ok"] = bulk.bad == 0 and bulk.got > g0
    out["pair_wire_drops"] = w.a.outq.dropped + w.b.outq.dropped + r["wire_drops"]
    del w, bulk
    memreport.release(a, b)
    return out


def _scrub(depth, a=0, b=0, c=0, d=0, e=0, f=0, g=0, h=0):
    # Nested calls whose frames (locals zeroed) cover the C stack the pair's
    # deep calls used.  MicroPython's collector scans the C stack
    # conservatively, and a later call as deep (services.start building its
    # 10 KB chargen buffer) can leave stale words from those calls in its
    # frames' unused slots: on the emulated Pico one of the pair's 34 KB
    # stacks stayed alive through them, and the 10 KB found no block (seen
    # with the viper copy and EMIT loaded as machine code, whose frames
    # spill more of their locals; any small change in the calls moves it).
    if depth:
        _scrub(depth - 1)
    return a


def stack_bytes():
    from tcpip.config import Config
    from tcpip.stack import Stack
    import tcpip.stack
    import memreport

    from nullnic import NullNIC
    nic = NullNIC()
    nic.sent = 0  # the NIC's own bytes are not the stack's
    tcpip.stack.set_current(None)
    gc.collect()
    m0 = memreport.mem_alloc()
    s = Stack(Config(), nic)
    gc.collect()
    n = memreport.mem_alloc() - m0 if m0 >= 0 else None  # None: CPython cannot tell
    memreport.release(s)
    del s
    gc.collect()
    return n


def serve(net, seconds):
    import services
    svc = services.start(net.stack, ["discard", "chargen", "echo"])
    print("serving discard/chargen/echo on %s for %d s" % (net.ifconfig()[0], seconds))
    t0 = ticks_ms()
    while ticks_diff(ticks_ms(), t0) < seconds * 1000:
        net.stack.poll(ticks_ms())
        svc.run()
    svc.stop()


def main():
    out = {"runtime": sys.implementation.name, "platform": sys.platform}
    try:
        import machine
        out["cpu_hz"] = machine.freq()
    except (ImportError, AttributeError):
        pass
    out["stack_default_bytes"] = stack_bytes()
    _say("stack_default_bytes", out["stack_default_bytes"])
    for k, v in pair_figures().items():
        out[k] = v
        _say(k, v)
    _scrub(12)
    net = None
    try:
        import netboot
        net = netboot.start(background=False)
    except ImportError:
        print("no firmware/netboot.py here: SPI figures skipped (run on a flashed board)")
    if net is not None:
        for k, v in spi_figures(net.nic).items():
            out[k] = v
            _say(k, v)
    try:
        import json
        print(json.dumps(out))
    except ImportError:
        print(out)
    if net is not None and SERVE_S:
        serve(net, SERVE_S)


if __name__ == "__main__":  # also under mpremote run; tests import the parts
    main()
