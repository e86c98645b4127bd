"""The virtual board: run the tcpip stack on this PC as if it were a board (CPython, root).

    .venv/bin/python tools/vboard/vboard.py --netns NAME --runtime cpython|micropython|rp2040-micropython|rp2040-circuitpython|rp2040-lwip \\
        [--duration S] [--serve LIST] [--ip 192.0.2.2 --peer-ip 192.0.2.1 --prefix 24] \\
        [--nic tap|packet|w5500] [--dhcp] [--run SCRIPT]

Makes network namespace NAME where the Linux kernel is the board's peer
(PEER_IP/PREFIX), starts the stack inside it under the chosen runtime
(tools/vboard/vboard_run.py), prints exactly one line ``ready IP`` on stdout once the
stack answers a ping from the namespace, and runs until ``--duration`` seconds
pass or SIGINT/SIGTERM arrives.  Then it stops the stack (SIGINT: the stack
prints its counters), removes the namespace and prints the stack's stats as one
line ``{"stats": {...}}`` on stdout.  Progress and errors go to stderr.

While it runs, anyone can talk to the board from the namespace::

    ip netns exec NAME ping 192.0.2.2

The wire: ``--nic tap`` (default under CPython) is a TAP device ``tap0``;
``--nic packet`` (default under MicroPython, whose unix port cannot attach a
TAP) is a veth pair whose board end ``vb`` the stack opens as a raw packet
socket.  Either way the kernel's interface in the namespace has PEER_IP.
``--nic w5500`` runs the board path on that wire (TAP under CPython, veth
under MicroPython): firmware/netboot.py brings the stack up with
boards/emulated_w5500.py, the tcpip.nic.w5500 driver talks SPI to the
register-level W5500 of tools/emu/w5500_emu.py, and the chip's Ethernet side is
the wire; the stats line then also has the driver's ``nic_*`` counters
(``nic_spi_bytes``, ...) and the chip's ``chip_*`` counters.

``--runtime rp2040-micropython`` runs the board's real firmware: stock
MicroPython v1.28.0 for the Pico on an emulated RP2040 (tools/emu/rp2040_board.py,
rp2040js), with what ``make flash BOARD=w5500_evb_pico`` copies on its
filesystem and the emulated W5500 on SPI0, wired to the veth; main.py brings
the stack up and the background Timer + INTn poller keeps it answering while
the REPL idles (``--serve`` runs the services in a poll loop on the board
instead).  ``--firmware W5500_EVB_PICO`` runs the same files on MicroPython's
W5500-EVB-Pico image instead, which has ``ssl``/``tls`` (mbedTLS; RPI_PICO has
none), so a ``--run`` script can use TLS; its own ``network.WIZNET5K`` stays
unused.  Firmware comes from FIRMWARE_DIR (README, "Firmware for the emulated
board"); the
emulator runs at about 0.1-0.2x real time, so the ready and stop waits are longer.
``--runtime rp2040-circuitpython`` runs stock CircuitPython 10.2.1 for the
Adafruit Feather RP2040 with the Ethernet FeatherWing's wiring (SCK GP18, MOSI
GP19, MISO GP20, CS GP10; RSTn and INTn not wired), its CIRCUITPY drive holding
what ``make flash BOARD=feather_rp2040_ethernet_featherwing`` copies (the board
set as .mpy) and firmware/code.py.  code.py brings the stack up at boot; as
CircuitPython has no background timer, vboard then stops it (Ctrl-C, a key, as
on a real board), brings the stack up again in the raw REPL and polls it there
(with ``--serve``'s services) until stopped.  CircuitPython's heap is small
with the code loaded from .mpy (about 27 KB free after start with --dhcp,
34 KB static; 13 KB while serving echo and http): echo,chargen fits, but
``--dhcp --serve echo,discard,chargen,http`` does not (chargen's 9 KB
pattern), which ends with one line naming the MemoryError and exit 1.
``--run SCRIPT`` runs SCRIPT on the board after ready with ``net`` bound to
the running interface (on the rp2040 runtimes over the raw REPL, as ``mpremote
run`` does; on cpython and micropython in the stack's process, where
``tcpip.socket`` uses that stack and nothing polls it but the script's own
socket calls); its output goes to stdout, a traceback to stderr, and vboard
exits with its status (0, 1 when it raised, or its ``sys.exit`` code), after
the stats line.  Not together with ``--serve``.

``--serve`` takes echo, discard, chargen (tools/vboard/services.py) and http: a status
page (interface, netstat, stats) on port 80, served by tools/vboard/httpstatus.py on
tcpip's socket API -- ``ip netns exec NAME curl http://192.0.2.2/``; and https:
the same page over TLS on port 443 (the runtime's TLS engine through
tcpip.tls; ``--tls-cert``/``--tls-key`` name the certificate and key) --
``ip netns exec NAME curl --cacert ca.pem https://192.0.2.2/``.

``--dhcp`` runs dnsmasq (Debian ``dnsmasq-base``) in the namespace as DHCP and
DNS server (lease for --mac pinned to --ip, 2-minute leases, router and DNS
192.0.2.1, the name ``vboard.test`` for the board) and the stack configures
itself by DHCP; ``ready IP`` then names the leased address.

Exit status: 0 after a clean run, 1 when the stack failed to start, answer or
stop, 2 for a usage problem (unknown service, not root, no /dev/net/tun).
"""

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)

import netns  # noqa: E402  (tools/vboard/netns.py)

READY_TIMEOUT_S = 15.0  # stack process start plus first answered ping
STOP_TIMEOUT_S = 5.0
# Stock firmware on an emulated RP2040 (tools/emu/rp2040_board.py), wire over veth.
# The emulator runs at about 0.1-0.2x real time: boot, DHCP and stop take longer.
RP2040_RUNTIMES = ("rp2040-micropython", "rp2040-circuitpython", "rp2040-lwip")
RP2040_READY_TIMEOUT_S = 150.0
RP2040_STOP_TIMEOUT_S = 60.0


def known_services():
    """Names --serve accepts: the keys (or items) of ``SERVICES`` in
    tools/vboard/services.py when that file exists, else none."""
    try:
        import services  # tools/vboard/services.py, arrives with TCP
    except ImportError:
        return ("http", "https")
    return tuple(sorted(tuple(getattr(services, "SERVICES", ())) + ("http", "https")))


def micropython_path():
    p = os.path.join(ROOT, ".venv", "bin", "micropython")
    if os.path.exists(p):
        return p
    for d in os.environ.get("PATH", "").split(":"):
        q = os.path.join(d, "micropython")
        if d and os.path.isfile(q) and os.access(q, os.X_OK):
            return q
    return None


def _log(msg):
    print("vboard: " + msg, file=sys.stderr, flush=True)


def _fail(code, msg):
    _log(msg)
    return code


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="vboard.py",
        description="Run the tcpip stack as a virtual board in a network namespace.")
    ap.add_argument("--netns", required=True, help="namespace to create (must not exist)")
    ap.add_argument("--runtime", required=True, choices=("cpython", "micropython") + RP2040_RUNTIMES)
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds to run after ready (default: until SIGINT/SIGTERM)")
    ap.add_argument("--serve", default="", help="comma-separated services to start")
    ap.add_argument("--ip", default=netns.STACK_IP, help="the stack's address (192.0.2.2)")
    ap.add_argument("--peer-ip", default=netns.KERNEL_IP, help="the kernel's address (192.0.2.1)")
    ap.add_argument("--prefix", type=int, default=netns.PREFIX)
    ap.add_argument("--nic", choices=("tap", "packet", "w5500"), default=None,
                    help="tap (CPython default), packet over veth (MicroPython default), or "
                    "w5500: the firmware and W5500 driver on an emulated chip wired to "
                    "tap (CPython) or veth (MicroPython)")
    ap.add_argument("--mac", default="02:00:00:00:00:02", help="the stack's MAC address")
    ap.add_argument("--heapsize", default=None,
                    help="MicroPython heap for the stack process, e.g. 256k (micropython -X heapsize=)")
    ap.add_argument("--dhcp", action="store_true",
                    help="run dnsmasq in the namespace; the stack configures itself by DHCP")
    ap.add_argument("--tls-cert", default=None,
                    help="--serve https: the server certificate file (PEM or DER)")
    ap.add_argument("--tls-key", default=None, help="--serve https: its private key file (PEM or DER)")
    ap.add_argument("--run", default=None, metavar="SCRIPT",
                    help="after ready, run SCRIPT on the board with `net` bound to the running "
                    "interface (rp2040 runtimes: over the raw REPL), print its output and exit "
                    "with its status")
    ap.add_argument("--firmware", choices=("RPI_PICO", "W5500_EVB_PICO"), default="RPI_PICO",
                    help="rp2040-micropython: the stock image the stack runs on; W5500_EVB_PICO "
                    "(whose network.WIZNET5K stays unused) has ssl/tls (mbedTLS), RPI_PICO has not")
    ap.add_argument("--stack", default=None, help=argparse.SUPPRESS)  # tests: module with Stack
    return ap.parse_args(argv)


class Child:
    """The stack process and a thread that collects its stdout lines."""

    def __init__(self, argv, env, stop_timeout=STOP_TIMEOUT_S):
        self.stop_timeout = stop_timeout
        # Own session: a Ctrl-C on the terminal reaches vboard only, and vboard
        # decides when the stack stops (so its stats are always collected).
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True, bufsize=1, start_new_session=True)
        self.lines = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return ""

    def stop(self):
        """SIGINT, then collect the stats line; SIGKILL when it will not stop."""
        stats = None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline:
            line = self.next_line(0.1)
            if line is None:
                break
            if line.startswith('{"stats"'):
                stats = line
            elif line:
                _log("stack: " + line)
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _log("stack did not stop on SIGINT; killing pid %d" % self.proc.pid)
                self.proc.kill()
                self.proc.wait(timeout=5)
        return stats


def main(argv):
    a = parse_args(argv)
    wanted = [s.strip() for s in a.serve.split(",") if s.strip()]
    known = known_services()
    for s in wanted:
        if s not in known:
            return _fail(2, "unknown service %r for --serve (known: %s)"
                         % (s, ", ".join(known) if known else "none yet; services come with TCP"))
    if "https" in wanted and not (a.tls_cert and a.tls_key):
        return _fail(2, "--serve https needs --tls-cert FILE and --tls-key FILE (e.g. made with "
                     "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                     "-subj /CN=192.0.2.2 -keyout key.pem -out cert.pem)")
    rp2040 = a.runtime in RP2040_RUNTIMES
    if a.run and wanted:
        return _fail(2, "--run and --serve together are not supported")
    if a.run and not os.path.isfile(a.run):
        return _fail(2, "--run: no such script %r" % a.run)
    if a.firmware != "RPI_PICO" and a.runtime != "rp2040-micropython":
        return _fail(2, "--firmware chooses the image of the rp2040-micropython runtime")
    nic = a.nic or ("tap" if a.runtime == "cpython" else "packet")
    if rp2040 and nic != "packet":
        return _fail(2, "the %s runtime's W5500 is wired to a veth (--nic packet)" % a.runtime)
    if a.runtime == "micropython" and nic == "tap":
        return _fail(2, "the MicroPython unix port cannot attach a TAP (no ioctl); use --nic packet")
    # The emulated W5500's wire: the runtime's default wire.
    wire = nic if nic != "w5500" else ("tap" if a.runtime == "cpython" else "packet")
    why = netns.preflight(need_tun=(wire == "tap"))
    if why:
        return _fail(2, why)
    if rp2040:
        import rp2040_board  # tools/emu/rp2040_board.py
        try:
            why = rp2040_board.missing_prerequisite(images=(
                rp2040_board.LWIP_UF2 if a.runtime == "rp2040-lwip" else
                rp2040_board.CIRCUITPYTHON_UF2 if a.runtime == "rp2040-circuitpython" else
                rp2040_board.LWIP_UF2 if a.firmware == "W5500_EVB_PICO" else
                rp2040_board.MICROPYTHON_UF2,))
        except rp2040_board.BoardError as e:  # an image of another build
            return _fail(1, str(e))
        if why:
            return _fail(2, why)
        runtime = [sys.executable]
    elif a.runtime == "micropython":
        exe = micropython_path()
        if not exe:
            return _fail(2, "micropython not found (run make setup)")
        runtime = [exe]
        if a.heapsize:
            runtime += ["-X", "heapsize=" + a.heapsize]
    else:
        runtime = [sys.executable]
    if a.dhcp and not netns._which("dnsmasq"):
        return _fail(2, "--dhcp needs dnsmasq (apt-get install dnsmasq-base, or make setup)")
    if netns.exists(a.netns):
        return _fail(2, "namespace %r already exists; pick another --netns or run: ip netns del %s"
                     % (a.netns, a.netns))

    stop = threading.Event()

    def on_signal(signum, frame):
        # Not stop.set() here: the handler runs in the main thread, which may
        # hold the Event's lock inside stop.wait() right then -- set() would
        # wait for it forever.  A helper thread waits for the lock instead.
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    ns = netns.Namespace(a.netns, mode="tap" if wire == "tap" else "veth",
                         kernel_ip=a.peer_ip, prefix=a.prefix)
    child = None
    dnsmasq = None
    code = 0
    stats = None
    try:
        ns.create()
        if a.dhcp:
            dnsmasq = start_dnsmasq(ns, a)
        path = [os.path.join(ROOT, "lib")] + toolpath.dirs(ROOT)
        if a.stack:
            path += [os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "host_tests", "helpers")]
        env = dict(os.environ)
        env["PYTHONPATH"] = ":".join(path)
        env["MICROPYPATH"] = ":".join(path + [".frozen"])
        if nic == "w5500" and a.runtime == "micropython" and not a.heapsize:
            runtime = runtime + ["-X", "heapsize=4M"]  # stack + emulated chip's 32 KB of RAM
        args = ["--nic", nic, "--wire", wire, "--if", ns.board_if, "--ip", a.ip, "--prefix", str(a.prefix),
                "--gateway", a.peer_ip, "--mac", a.mac]
        if wanted:
            args += ["--serve", ",".join(wanted)]
        if a.stack:
            args += ["--stack", a.stack]
        if a.tls_cert and a.tls_key:
            args += ["--tls-cert", os.path.abspath(a.tls_cert), "--tls-key", os.path.abspath(a.tls_key)]
        if a.dhcp:
            args += ["--dhcp", "1"]
        if a.run:
            args += ["--run", os.path.abspath(a.run)]
        if rp2040:
            if os.environ.get("PYTHONPATH"):
                env["PYTHONPATH"] += ":" + os.environ["PYTHONPATH"]
            args = ["--vboard", "--if", ns.board_if, "--ip", a.ip, "--prefix", str(a.prefix),
                    "--gateway", a.peer_ip, "--mac", a.mac]
            if wanted:
                args += ["--serve", ",".join(wanted)]
            if a.dhcp:
                args += ["--dhcp"]
            if a.run:
                args += ["--run", os.path.abspath(a.run)]
            if a.runtime == "rp2040-lwip":
                args += ["--lwip"]
            if a.runtime == "rp2040-circuitpython":
                args += ["--circuitpython"]
            if a.firmware != "RPI_PICO":
                args += ["--firmware", a.firmware]
            child = Child(ns.argv(runtime + [os.path.join(ROOT, "tools", "emu", "rp2040_board.py")] + args), env,
                          stop_timeout=RP2040_STOP_TIMEOUT_S)
        else:
            child = Child(ns.argv(runtime + [os.path.join(HERE, "vboard_run.py")] + args), env)
        code = wait_ready(a, ns, child, stop, RP2040_READY_TIMEOUT_S if rp2040 else READY_TIMEOUT_S)
        if code == 0:
            print("ready %s" % a.ip, flush=True)
            if a.run:
                code = run_on_board(child, stop, rp2040)
                stop.set()
            end = None if a.duration is None else time.monotonic() + a.duration
            while not stop.is_set():
                if child.proc.poll() is not None:
                    code = _fail(1, "the stack process exited (status %s) while running"
                                 % child.proc.returncode)
                    break
                if end is not None and time.monotonic() >= end:
                    break
                stop.wait(0.2)
    except netns.NetnsError as e:
        code = _fail(1, str(e))
    finally:
        if child is not None:
            stats = child.stop()
        if dnsmasq is not None:
            stop_process(dnsmasq)
        try:
            ns.destroy()
        except netns.NetnsError as e:
            code = _fail(1, "could not remove namespace: %s" % e)
    if stats:
        print(stats, flush=True)
    elif child is not None and code == 0:
        _log("the stack printed no stats")
        code = code or 1
    return code


def run_on_board(child, stop, rp2040=True):
    """--run: relay the script's output and return its exit status (1 when the
    stack process went away).  An rp2040 board process runs it on SIGUSR1 and
    marks its output lines ``run: ``; vboard_run.py runs it at once after
    ``ready``, and what it prints until ``run-status`` is the script's."""
    if rp2040:
        os.kill(child.proc.pid, signal.SIGUSR1)
    while not stop.is_set():
        line = child.next_line(0.2)
        if line is None:
            return _fail(1, "the stack process exited while the script ran")
        if line.startswith("run: "):
            print(line[5:], flush=True)
        elif not rp2040 and not line.startswith(("run-err: ", "run-status ")):
            print(line, flush=True)
        elif line.startswith("run-err: "):
            print(line[9:], file=sys.stderr, flush=True)
        elif line.startswith("run-status "):
            return int(line.split()[1])
        elif line:
            _log("stack: " + line)
    return _fail(1, "stopped while the script ran")


def start_dnsmasq(ns, a):
    """dnsmasq in the namespace: DHCP (lease for a.mac pinned to a.ip) and DNS."""
    argv = ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--interface=" + ns.kernel_if,
            "--bind-interfaces", "--except-interface=lo", "--listen-address=" + a.peer_ip,
            "--dhcp-range=%s,%s,2m" % (_host(a.peer_ip, 50), _host(a.peer_ip, 99)),
            "--dhcp-host=%s,%s" % (a.mac, a.ip), "--dhcp-option=3," + a.peer_ip,
            "--dhcp-option=6," + a.peer_ip, "--no-resolv", "--no-hosts", "--local=/test/",
            "--host-record=vboard.test," + a.ip, "--dhcp-leasefile=/dev/null"]
    p = subprocess.Popen(ns.argv(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    time.sleep(0.2)
    if p.poll() is not None:
        raise netns.NetnsError("dnsmasq exited at once (status %s)" % p.returncode)
    return p


def _host(ip, last):
    return ".".join(ip.split(".")[:3] + [str(last)])


def stop_process(p):
    """SIGTERM our child by PID, SIGKILL if it lingers."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def wait_ready(a, ns, child, stop, timeout_s=READY_TIMEOUT_S):
    """0 once the stack process said ``ready`` and answered a ping, else 1."""
    deadline = time.monotonic() + timeout_s
    while True:
        if stop.is_set():
            return _fail(1, "stopped before the stack was ready")
        line = child.next_line(0.2)
        if line is None:
            return _fail(1, "the stack process exited before ready (status %s)" % child.proc.wait())
        if line == "ready":
            break
        if line.startswith("bound "):
            a.ip = line.split()[1]  # the leased address (--dhcp)
            _log("DHCP lease: %s" % a.ip)
            continue
        if line:
            _log("stack: " + line)
        if time.monotonic() > deadline:
            return _fail(1, "the stack process did not start within %.0f s" % timeout_s)
    while time.monotonic() < deadline and not stop.is_set():
        p = ns.run(["ping", "-c", "1", "-W", "1", a.ip], timeout=5)
        if p.returncode == 0:
            return 0
        if child.proc.poll() is not None:
            return _fail(1, "the stack process exited (status %s)" % child.proc.returncode)
    return _fail(1, "the stack did not answer ping at %s within %.0f s" % (a.ip, timeout_s))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
