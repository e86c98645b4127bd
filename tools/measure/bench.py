"""tcpip benchmarks: ``make bench`` (root; writes bench/results.json and prints a table).

    .venv/bin/python tools/measure/bench.py [--quick] [--runtimes cpython,micropython]
                                    [--mb 20] [--seconds 20] [--out bench/results.json]

For each runtime the stack runs as a virtual board (tools/vboard/vboard.py, services
echo/discard/chargen) in its own namespace ``bench-PID-...``; the Linux kernel in
that namespace is the peer at 192.0.2.1.  Measured, each test bounded in bytes
*and* seconds:

- bulk kernel -> stack (discard, port 9) and stack -> kernel (chargen, port 19,
  every byte checked against the RFC 864 pattern): ``--mb`` MB or ``--seconds``;
- echo (port 7): 5 MB sent and read back concurrently, every byte compared;
- 200 sequential connects to port 9: connect() latency and the whole
  connect-shutdown-FIN cycle, median and p90;
- ping RTT (100 at 10 ms intervals, 56-byte payload);
- time to the first byte of the status page (tools/vboard/httpstatus.py, port 80):
  200 requests, one connection each, from 1 and from 4 concurrent clients,
  median and p99;
- for each data test: wall MB/s and CPU seconds of the stack process per MB,
  from /proc/PID/stat (utime + stime), steadier than wall time on a shared host.

In the same run: the ceiling, the same bulk tests kernel to kernel over a veth
pair between two namespaces (Python socket programs at both ends); the two
stacks in one process on an in-memory wire (tools/measure/memreport.py: CPU per MB with
no syscalls); the W5500 emulator (tools/emu/w5500_emu.py) moving a bulk transfer,
counting SPI bytes per payload byte; the MicroPython memory report; and
HTTPS next to plain HTTP through the stack against nginx in a namespace
(tools/measure/tlsbench_app.py: TLS handshake ms, GET MB/s with and without TLS).

Then the board section (tools/measure/bench_board.py): tcpip on stock MicroPython and
MicroPython's own lwIP side by side on the emulated W5500-EVB-Pico, every
figure on simulated time against a peer stepped on the board's clock, and a
verified TLS transfer next to plain TCP on the W5500_EVB_PICO image; written
to bench/board.json (``--board-runtimes``; ``--board-runtimes ''`` leaves it
out, as ``--quick`` does; one line and no file when the firmware images or
rp2040js are missing).

``--quick`` runs everything small (seconds), for ``make test``.  Needs root,
/dev/net/tun and ``ip``; namespaces are deleted on every exit path.  Only
192.0.2.0/24 (TEST-NET-1) is used.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)
sys.path.insert(0, os.path.join(ROOT, "lib"))

STACK_IP = "192.0.2.2"
KERNEL_IP = "192.0.2.1"
CEIL_A_IP = "192.0.2.11"
CEIL_B_IP = "192.0.2.12"
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MB = 1000000

# Every figure the report has; the quick test checks each one is present.
FIGURES = (
    "rx_mb_per_s", "rx_cpu_s_per_mb", "tx_mb_per_s", "tx_cpu_s_per_mb",
    "echo_mb_per_s", "echo_cpu_s_per_mb", "connect_ms_median", "connect_ms_p90",
    "cycle_ms_median", "cycle_ms_p90", "ping_rtt_ms_avg", "ping_rtt_ms_max",
    "udp_echo_ms_median", "udp_echo_ms_p90",
    "http_ttfb_ms_median_c1", "http_ttfb_ms_p99_c1", "http_ttfb_ms_median_c4", "http_ttfb_ms_p99_c4",
)


def _log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------- kernel side
# These run inside a namespace (``bench.py client MODE ...``) and print one
# JSON line.


def _pattern(n):
    return bytes(i % 251 for i in range(n + 251))


def client_discard(ip, port, nbytes, seconds):
    chunk = 65536
    pat = _pattern(chunk)
    s = socket.create_connection((ip, port), timeout=10)
    s.settimeout(max(1.0, seconds))
    t0 = time.monotonic()
    deadline = t0 + seconds
    sent = 0
    mv = memoryview(pat)
    while sent < nbytes and time.monotonic() < deadline:
        o = sent % 251
        n = min(chunk, nbytes - sent)
        sent += s.send(mv[o:o + n])
    s.shutdown(socket.SHUT_WR)
    # The discard server closes after reading up to our FIN: its FIN means
    # every byte was taken by the application.
    fin = False
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            fin = True
            break
    t1 = time.monotonic()
    s.close()
    return {"bytes": sent, "seconds": t1 - t0, "ok": fin, "check": "server FIN after all bytes"}


def client_chargen(ip, port, nbytes, seconds):
    import services
    pat = bytes(services.chargen_pattern())
    plen = len(pat)
    pat3 = pat * 3
    s = socket.create_connection((ip, port), timeout=10)
    s.settimeout(5)
    t0 = time.monotonic()
    deadline = t0 + seconds
    got = 0
    bad = 0
    buf = bytearray(65536)
    while got < nbytes and time.monotonic() < deadline:
        n = s.recv_into(buf)
        if not n:
            break
        o = got % plen
        # compare in pieces of at most 2 pattern lengths
        i = 0
        while i < n:
            k = min(n - i, 2 * plen)
            if buf[i:i + k] != pat3[o:o + k]:
                bad += 1
            o = (o + k) % plen
            i += k
        got += n
    t1 = time.monotonic()
    s.close()
    return {"bytes": got, "seconds": t1 - t0, "ok": bad == 0 and got > 0,
            "check": "RFC 864 pattern, every byte"}


def client_echo(ip, port, nbytes, seconds):
    chunk = 16384
    pat = _pattern(chunk)
    s = socket.create_connection((ip, port), timeout=10)
    s.settimeout(5)
    t0 = time.monotonic()
    deadline = t0 + seconds
    state = {"sent": 0}

    def sender():
        mv = memoryview(pat)
        try:
            while state["sent"] < nbytes and time.monotonic() < deadline:
                o = state["sent"] % 251
                n = min(chunk, nbytes - state["sent"])
                state["sent"] += s.send(mv[o:o + n])
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got = 0
    bad = 0
    buf = bytearray(65536)
    while time.monotonic() < deadline + 5:
        try:
            n = s.recv_into(buf)
        except socket.timeout:
            break
        if not n:
            break
        o = got % 251
        if buf[:n] != _pattern_cache(n)[o:o + n]:
            bad += 1
        got += n
    t1 = time.monotonic()
    th.join(5)
    s.close()
    return {"bytes": got, "sent": state["sent"], "seconds": t1 - t0,
            "ok": bad == 0 and got == state["sent"] and got > 0, "check": "every byte echoed"}


_pcache = {}


def _pattern_cache(n):
    p = _pcache.get("p")
    if p is None or len(p) < n + 251:
        p = _pcache["p"] = _pattern(max(n, 65536))
    return p


def client_connects(ip, port, count, seconds):
    conn = []
    cycle = []
    fails = 0
    deadline = time.monotonic() + seconds
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        try:
            s = socket.create_connection((ip, port), timeout=3)
        except OSError:
            fails += 1
            continue
        t1 = time.perf_counter()
        try:
            s.settimeout(3)
            s.shutdown(socket.SHUT_WR)
            while s.recv(4096):
                pass
            t2 = time.perf_counter()
            conn.append((t1 - t0) * 1000)
            cycle.append((t2 - t0) * 1000)
        except OSError:
            fails += 1
        finally:
            s.close()
    return {"connects": len(conn), "fails": fails, "connect_ms": conn, "cycle_ms": cycle,
            "ok": fails == 0 and len(conn) > 0}


def client_udpecho(ip, port, count, seconds):
    """count sequential 64-byte datagrams to the UDP echo port, one in flight;
    RTT per answered datagram, payload checked, 1 s timeout each."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    rtts = []
    lost = 0
    bad = 0
    deadline = time.monotonic() + seconds
    for i in range(count):
        if time.monotonic() > deadline:
            break
        msg = b"%08d" % i + bytes(56)
        t0 = time.perf_counter()
        s.sendto(msg, (ip, port))
        while True:
            try:
                d, _ = s.recvfrom(2048)
            except socket.timeout:
                lost += 1
                break
            if d[:8] == msg[:8]:
                rtts.append((time.perf_counter() - t0) * 1000)
                if d != msg:
                    bad += 1
                break  # else a late answer to an earlier one: keep waiting
    s.close()
    return {"rtt_ms": rtts, "lost": lost, "bad": bad, "ok": bad == 0 and len(rtts) > 0}


def client_http_ttfb(ip, port, count, seconds, concurrency=1, path="/"):
    """count GET requests (HTTP/1.0, one per connection) from ``concurrency``
    threads; per request the time from sending it to the first response byte
    and to the end of the response, in ms (10 s timeout each)."""
    req = ("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, ip)).encode()
    ttfb = []
    total = []
    fails = [0]
    lock = threading.Lock()
    left = [count]
    deadline = time.monotonic() + seconds

    def one():
        s = socket.create_connection((ip, port), timeout=10)
        try:
            t0 = time.perf_counter()
            s.sendall(req)
            first = s.recv(65536)
            t1 = time.perf_counter()
            got = len(first)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += len(d)
            t2 = time.perf_counter()
        finally:
            s.close()
        if not first.startswith(b"HTTP/1.0 200"):
            raise OSError("bad response %r" % first[:40])
        return (t1 - t0) * 1000, (t2 - t0) * 1000

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                a, b = one()
            except OSError:
                with lock:
                    fails[0] += 1
                continue
            with lock:
                ttfb.append(a)
                total.append(b)
    ts = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"ttfb_ms": ttfb, "total_ms": total, "fails": fails[0], "concurrency": concurrency,
            "ok": fails[0] == 0 and len(ttfb) > 0}


def _round(x):
    return None if x is None else round(x, 3)


def _pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    i = min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))
    return xs[i]


def kernel_serve(ip, seconds):
    """Discard (9) and chargen (19) servers on the kernel, for the ceiling."""
    import services
    pat = bytes(services.chargen_pattern())
    pat2 = memoryview(pat * 20)
    plen = len(pat)

    def discard(c):
        with c:
            while c.recv(262144):
                pass

    def chargen(c):
        o = 0
        with c:
            try:
                while True:
                    o = (o + c.send(pat2[o:o + 65536])) % plen
            except OSError:
                pass

    def listen(port, fn):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((ip, port))
        ls.listen(4)
        ls.settimeout(seconds)

        def loop():
            while True:
                try:
                    c, _ = ls.accept()
                except OSError:
                    return
                threading.Thread(target=fn, args=(c,), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()

    def udpecho():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((ip, 7))
        u.settimeout(seconds)
        while True:
            try:
                d, a = u.recvfrom(2048)
            except OSError:
                return
            u.sendto(d, a)

    listen(9, discard)
    listen(19, chargen)
    threading.Thread(target=udpecho, daemon=True).start()
    print("ready", flush=True)
    time.sleep(seconds)


# --------------------------------------------------------------- helpers


def cpu_s(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def ns_run_json(ns, argv, timeout):
    """Run ``bench.py argv`` in namespace ns; its last JSON line."""
    cmd = ["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__)] + argv
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(argv), p.returncode,
                                                         (p.stderr or p.stdout)[-2000:]))
    return json.loads(lines[-1])


def measured(pid, fn):
    """Run fn(); returns (its result, CPU seconds pid spent meanwhile)."""
    c0 = cpu_s(pid) if pid else None
    r = fn()
    c1 = cpu_s(pid) if pid else None
    return r, (c1 - c0 if c0 is not None and c1 is not None else None)


class Board:
    """tools/vboard/vboard.py in namespace ``name`` with the TCP services; ``pid`` is
    the stack process (vboard's child), whose CPU time we read."""

    def __init__(self, name, runtime, nic=None, heapsize=None):
        self.name = name
        argv = [sys.executable, os.path.join(ROOT, "tools", "vboard", "vboard.py"), "--netns", name,
                "--runtime", runtime, "--serve", "echo,discard,chargen,udpecho,http"]
        if nic:
            argv += ["--nic", nic]
        if heapsize and runtime == "micropython":
            argv += ["--heapsize", heapsize]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self.pid = None
        self.stats = None
        line = self._readline(45)
        if not line.startswith("ready"):
            err = self._stop()
            raise RuntimeError("vboard did not become ready (%r): %s" % (line, err[-2000:]))
        for _ in range(50):
            kids = children(self.proc.pid)
            if kids:
                self.pid = kids[0]
                break
            time.sleep(0.05)

    def _readline(self, timeout):
        import select
        end = time.monotonic() + timeout
        buf = ""
        fd = self.proc.stdout
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            if r:
                line = fd.readline()
                if not line:
                    return ""
                return line.strip()
        return buf

    def _stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=10)
        for line in (out or "").splitlines():
            if line.startswith('{"stats"'):
                self.stats = json.loads(line)["stats"]
        return err or ""

    def close(self):
        self._stop()
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def run_suite(ns, pid, ip, size):
    """The data and latency tests against ip (a stack or the ceiling kernel)."""
    res = {}
    t = size["seconds"]
    r, cpu = measured(pid, lambda: ns_run_json(ns, ["client", "discard", ip, str(size["bulk"]),
                                                    str(t)], t + 60))
    res.update(_rate("rx", r, cpu))
    r, cpu = measured(pid, lambda: ns_run_json(ns, ["client", "chargen", ip, str(size["bulk"]),
                                                    str(t)], t + 60))
    res.update(_rate("tx", r, cpu))
    if size.get("echo"):
        r, cpu = measured(pid, lambda: ns_run_json(ns, ["client", "echo", ip, str(size["echo"]),
                                                        str(t)], t + 60))
        res.update(_rate("echo", r, cpu))
    if size.get("connects"):
        r = ns_run_json(ns, ["client", "connects", ip, str(size["connects"]), str(t)], t + 60)
        res["connects"] = r["connects"]
        res["connect_fails"] = r["fails"]
        res["connect_ms_median"] = _pct(r["connect_ms"], 50)
        res["connect_ms_p90"] = _pct(r["connect_ms"], 90)
        res["cycle_ms_median"] = _pct(r["cycle_ms"], 50)
        res["cycle_ms_p90"] = _pct(r["cycle_ms"], 90)
    if size.get("udp"):
        r = ns_run_json(ns, ["client", "udpecho", ip, str(size["udp"]), str(t)], t + 60)
        res["udp_echo_count"] = len(r["rtt_ms"])
        res["udp_echo_lost"] = r["lost"]
        res["udp_echo_ok"] = r["ok"]
        res["udp_echo_ms_median"] = _round(_pct(r["rtt_ms"], 50))
        res["udp_echo_ms_p90"] = _round(_pct(r["rtt_ms"], 90))
    if size.get("pings"):
        p = subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", str(size["pings"]),
                            "-i", "0.01", "-W", "1", ip], capture_output=True, text=True,
                           timeout=size["pings"] * 0.01 + 30)
        res.update(_ping(p.stdout))
    return res


def http_ttfb(ns, ip, size):
    """Time to first byte of the status page at 1 and 4 concurrent clients."""
    res = {}
    t = size["seconds"]
    for conc in (1, 4):
        r = ns_run_json(ns, ["client", "httpttfb", ip, str(size["http"]), str(t), str(conc)], t + 60)
        sfx = "_c%d" % conc
        res["http_requests" + sfx] = len(r["ttfb_ms"])
        res["http_fails" + sfx] = r["fails"]
        res["http_ttfb_ms_median" + sfx] = _round(_pct(r["ttfb_ms"], 50))
        res["http_ttfb_ms_p99" + sfx] = _round(_pct(r["ttfb_ms"], 99))
    return res


def _rate(tag, r, cpu):
    mb = r["bytes"] / MB
    out = {tag + "_bytes": r["bytes"], tag + "_ok": bool(r["ok"]), tag + "_check": r.get("check"),
           tag + "_seconds": round(r["seconds"], 3),
           tag + "_mb_per_s": round(mb / r["seconds"], 3) if r["seconds"] > 0 else None}
    if cpu is not None and mb > 0:
        out[tag + "_cpu_s"] = round(cpu, 3)
        out[tag + "_cpu_s_per_mb"] = round(cpu / mb, 4)
    return out


def _ping(text):
    import re
    out = {"ping_rtt_ms_avg": None, "ping_rtt_ms_max": None, "ping_loss_pct": None}
    m = re.search(r"([\d.]+)% packet loss", text)
    if m:
        out["ping_loss_pct"] = float(m.group(1))
    m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", text)
    if m:
        out["ping_rtt_ms_min"] = float(m.group(1))
        out["ping_rtt_ms_avg"] = float(m.group(2))
        out["ping_rtt_ms_max"] = float(m.group(3))
    return out


def bench_stack(runtime, size, tag, nic=None, heapsize=None):
    name = "bench-%d-%s" % (os.getpid(), tag)
    b = Board(name, runtime, nic, heapsize)
    try:
        res = run_suite(name, b.pid, STACK_IP, size)
        if size.get("http"):
            res.update(http_ttfb(name, STACK_IP, size))
        res["stack_pid_found"] = b.pid is not None
        if heapsize and runtime == "micropython":
            res["mp_heapsize"] = heapsize
    finally:
        b.close()
    if b.stats:
        res["stack_tcp_retransmits"] = b.stats.get("tcp_retransmits")
        res["stack_internal_errors"] = b.stats.get("internal_errors", 0)
        spi = b.stats.get("nic_spi_bytes")
        moved = sum(res.get(k + "_bytes", 0) or 0 for k in ("rx", "tx", "echo"))
        if spi is not None and moved:
            res["spi_bytes_per_payload_byte"] = round(spi / moved, 3)
    return res


def bench_ceiling(size):
    """Kernel to kernel over a veth pair between two namespaces."""
    a = "bench-%d-ka" % os.getpid()
    b = "bench-%d-kb" % os.getpid()
    srv = None
    try:
        for n in (a, b):
            subprocess.run(["ip", "netns", "add", n], check=True, capture_output=True)
            subprocess.run(["ip", "-n", n, "link", "set", "lo", "up"], check=True, capture_output=True)
        subprocess.run(["ip", "-n", a, "link", "add", "ka", "type", "veth", "peer", "name", "kb",
                        "netns", b], check=True, capture_output=True)
        for n, ifn, ip in ((a, "ka", CEIL_A_IP), (b, "kb", CEIL_B_IP)):
            subprocess.run(["ip", "-n", n, "addr", "add", ip + "/24", "dev", ifn], check=True,
                           capture_output=True)
            subprocess.run(["ip", "-n", n, "link", "set", ifn, "up"], check=True, capture_output=True)
        dur = size["seconds"] * 3 + 30
        srv = subprocess.Popen(["ip", "netns", "exec", b, sys.executable, os.path.abspath(__file__),
                                "kserve", CEIL_B_IP, str(dur)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        if srv.stdout.readline().strip() != "ready":
            raise RuntimeError("kernel server did not start")
        sz = {"bulk": size["bulk"], "seconds": size["seconds"]}
        res = run_suite(a, srv.pid, CEIL_B_IP, sz)
        return res
    finally:
        if srv is not None and srv.poll() is None:
            srv.kill()
            srv.wait(10)
        for n in (a, b):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def bench_pair(runtime, nbytes):
    """Two stacks in one process on an in-memory wire (no syscalls): CPU per MB."""
    code = ("import memreport, json; r = memreport.pair_rate(%d, 60000); "
            "print(json.dumps(r))" % nbytes)
    env = dict(os.environ)
    path = toolpath.env_path(ROOT)
    if runtime == "micropython":
        cmd = [MICROPYTHON, "-X", "heapsize=4M", "-c", code]
        env["MICROPYPATH"] = path + ":.frozen"
    else:
        cmd = [sys.executable, "-c", code]
        env["PYTHONPATH"] = path
    t0 = os.times()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    t1 = os.times()
    line = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not line:
        raise RuntimeError("pair bench failed: " + p.stdout + p.stderr)
    r = json.loads(line[-1])
    cpu = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
    mb = r["pair_bytes"] / MB
    return {"pair_mb_per_s": round(r["pair_mb_per_s"], 3), "pair_ok": r["pair_ok"],
            "pair_cpu_s_per_mb": round(cpu / mb, 4) if mb else None,
            "pair_note": "two stacks, one process, process CPU incl. start-up"}


def bench_w5500(nbytes):
    """A stack on the emulated W5500 (driver + chip) sends and receives nbytes
    to/from a plain stack over an in-memory wire: SPI bytes per payload byte."""
    import memreport
    from w5500_emu import EmulatedBoardNIC
    from tcpip.config import Config
    from tcpip.stack import Stack
    out = {}
    for direction in ("tx", "rx"):
        w = memreport.SlotWire(64)
        nic = EmulatedBoardNIC(w.a, memreport.MAC_A)
        a = Stack(Config(mac=memreport.MAC_A, ip=memreport.IP_A, prefix=24,
                         gateway=memreport.IP_B), nic)
        b = Stack(Config(mac=memreport.MAC_B, ip=memreport.IP_B, prefix=24,
                         gateway=memreport.IP_A), w.b)
        bulk = memreport.Bulk(a, b) if direction == "tx" else _reverse_bulk(memreport, a, b)
        spi0 = nic.chip.spi_bytes
        f0 = nic.chip.tx_frames + nic.chip.rx_frames
        got0 = bulk.got
        t0 = time.monotonic()
        while bulk.got - got0 < nbytes and time.monotonic() - t0 < 60:
            bulk.step(False)
            nic.chip.pump(16)
        moved = bulk.got - got0
        spi = nic.chip.spi_bytes - spi0
        frames = nic.chip.tx_frames + nic.chip.rx_frames - f0
        out["w5500_%s_spi_bytes_per_payload_byte" % direction] = round(spi / moved, 4) if moved else None
        out["w5500_%s_spi_bytes_per_frame" % direction] = round(spi / frames, 1) if frames else None
        out["w5500_%s_ok" % direction] = bulk.bad == 0 and moved > 0
    import w5500_emu
    per = w5500_emu.bench(0.2)  # the driver alone, one frame each way
    for k in ("rx_spi_bytes_1514", "tx_spi_bytes_1514", "rx_spi_bytes_60", "tx_spi_bytes_60"):
        out["w5500_frame_" + k] = per.get(k)
    return out


def _reverse_bulk(memreport, a, b):
    # the plain stack b sends, the stack on the chip (a) receives
    return memreport.Bulk(b, a, port=5002, dst_ip=memreport.IP_A)


def bench_memory():
    p = subprocess.run([sys.executable, os.path.join(HERE, "memreport.py"), "--json",
                        "--segments", "300", "--no-rate"], capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, PYTHONPATH=toolpath.env_path(ROOT)))
    line = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not line:
        raise RuntimeError("memreport failed: " + p.stdout + p.stderr)
    r = json.loads(line[-1])
    keep = ("mpy_total_bytes", "mpy_board_bytes", "mpy_board_bytes_O3", "mpy_largest", "mp_stack_default_bytes", "mp_tcp_socket_bytes",
            "mp_tcp_block_overhead_bytes", "mp_alloc_per_segment_send", "mp_alloc_per_segment_recv",
            "mp_checksum_impl", "mp_heap_after_imports_bytes")
    return {k: r.get(k) for k in keep}


def bench_tls(runtime, nbytes, handshakes):
    """HTTPS through the stack next to plain HTTP, against nginx in a namespace
    (tools/measure/tlsbench_app.py; certificates from tools/common/tlsfixtures.py)."""
    import shutil
    import tempfile
    import netns
    import tlsfixtures
    if not (shutil.which("nginx") or netns._which("nginx")) or not tlsfixtures.available():
        return {"tls_skipped": "nginx or openssl missing (make setup installs them)"}
    d = tempfile.mkdtemp(prefix="bench-tls-")
    nic = "tap" if runtime == "cpython" else "packet"
    ns = netns.Namespace("bench-%d-tls%s" % (os.getpid(), runtime[:2]),
                         mode="tap" if nic == "tap" else "veth")
    nginx = None
    try:
        certs = tlsfixtures.make(d)
        conf, www = tlsfixtures.nginx_conf(d, certs, http_port=80)
        with open(os.path.join(www, "blob.bin"), "wb") as f:
            f.write(os.urandom(nbytes))
        ns.create()
        nginx = subprocess.Popen(ns.argv(["nginx", "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")]),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL)
        for _ in range(100):
            if ":443 " in ns.run(["ss", "-tln"], timeout=5).stdout:
                break
            time.sleep(0.1)
        env = dict(os.environ)
        path = toolpath.env_path(ROOT)
        env["PYTHONPATH"] = path
        env["MICROPYPATH"] = path + ":.frozen"
        exe = [sys.executable] if runtime == "cpython" else [MICROPYTHON]
        ifname = ns.board_if
        p = subprocess.run(ns.argv(exe + [os.path.join(HERE, "tlsbench_app.py"), nic, ifname, certs["ca"],
                                          str(nbytes), str(handshakes)]),
                           capture_output=True, text=True, timeout=300, env=env)
        for line in p.stdout.splitlines():
            if line.startswith("{"):
                return json.loads(line)
        return {"tls_error": (p.stdout + p.stderr)[-500:]}
    finally:
        if nginx is not None:
            nginx.terminate()
            try:
                nginx.wait(5)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait(5)
        ns.destroy()
        shutil.rmtree(d, ignore_errors=True)


def preflight():
    import netns
    return netns.preflight(need_tun=True)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the bench runs")
    ap.add_argument("--runtimes", default="cpython,micropython")
    ap.add_argument("--mb", type=float, default=20.0, help="bulk size per direction (MB)")
    ap.add_argument("--seconds", type=float, default=20.0, help="time limit per test")
    ap.add_argument("--nics", default="native,w5500",
                    help="native (tap on CPython, packet on MicroPython) and/or w5500 (emulated chip)")
    ap.add_argument("--mp-heap", default="512k",
                    help="micropython -X heapsize for the stack process (the host "
                    "packet NIC allocates per frame; a board-sized heap keeps the allocator's "
                    "search short)")
    ap.add_argument("--out", default=None, help="JSON output (default bench/results.json; "
                    "--quick: .build/bench-quick.json)")
    ap.add_argument("--board-runtimes", default=None,
                    help="the board section's runtimes (tools/measure/bench_board.py; default all, "
                    "none with --quick: host_tests/test_bench_board.py checks it); '' skips it")
    ap.add_argument("--board-kbytes", type=int, default=300, help="board section: kB each way")
    a = ap.parse_args(argv)
    why = preflight()
    if why:
        _log("cannot run: " + why)
        return 2
    if a.quick:
        size = {"bulk": 1 * MB, "echo": 200000, "connects": 10, "pings": 10, "udp": 10, "http": 10,
                "seconds": 5.0}
        pair_bytes = 300000
        w5500_bytes = 100000
        tls_bytes, tls_handshakes = 200000, 3
    else:
        size = {"bulk": int(a.mb * MB), "echo": 5 * MB, "connects": 200, "pings": 100, "udp": 200,
                "http": 200, "seconds": a.seconds}
        pair_bytes = 5 * MB
        w5500_bytes = 1 * MB
        tls_bytes, tls_handshakes = 5 * MB, 10
    out_path = a.out or os.path.join(ROOT, ".build/bench-quick.json" if a.quick else "bench/results.json")
    res = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": a.quick,
           "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
           "size": size, "stack": {}}
    nics = [x for x in a.nics.split(",") if x]
    for rt in [x for x in a.runtimes.split(",") if x]:
        if rt == "micropython" and not os.path.exists(MICROPYTHON):
            _log("micropython missing: skipped")
            continue
        if "native" in nics:
            nic = "tap" if rt == "cpython" else "packet"
            _log("%s on %s ..." % (rt, nic))
            r = bench_stack(rt, size, rt[:2], nic, a.mp_heap)
            r.update(bench_pair(rt, pair_bytes))
            res["stack"]["%s/%s" % (rt, nic)] = r
        if "w5500" in nics:
            _log("%s on the emulated W5500 ..." % rt)
            # the emulator models every SPI byte in Python: bulk only, smaller
            wsize = {"bulk": min(size["bulk"], w5500_bytes * 4), "seconds": size["seconds"]}
            r = bench_stack(rt, wsize, rt[:2] + "w", "w5500", "4M")
            res["stack"]["%s/w5500-emu" % rt] = r
    _log("ceiling: kernel to kernel over veth ...")
    res["ceiling"] = bench_ceiling(size)
    _log("W5500 emulator ...")
    res["w5500"] = bench_w5500(w5500_bytes)
    _log("memory (MicroPython) ...")
    res["memory"] = bench_memory()
    res["tls"] = {}
    for rt in [x for x in a.runtimes.split(",") if x]:
        if rt == "micropython" and not os.path.exists(MICROPYTHON):
            continue
        _log("%s: HTTPS next to HTTP (nginx) ..." % rt)
        res["tls"][rt] = bench_tls(rt, tls_bytes, tls_handshakes)
    ceil = res["ceiling"]
    for key, r in res["stack"].items():
        for tag in ("rx", "tx"):
            s = r.get(tag + "_mb_per_s")
            c = ceil.get(tag + "_mb_per_s")
            r[tag + "_ceiling_ratio"] = round(s / c, 4) if s and c else None
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    print(table(res))
    _log("wrote " + out_path)
    if a.board_runtimes is None:
        a.board_runtimes = "" if a.quick else "rp2040-micropython,rp2040-circuitpython,rp2040-lwip,rp2040-micropython-tls"
    board_runtimes = [x for x in a.board_runtimes.split(",") if x]
    if board_runtimes:
        bench_board_section(board_runtimes, 30 if a.quick else a.board_kbytes,
                            os.path.join(ROOT, ".build/board-quick.json" if a.quick else "bench/board.json"))
    return 0


def bench_board_section(runtimes, kbytes, path):
    """make bench's board section: tools/measure/bench_board.py on the emulated RP2040."""
    import bench_board

    _log("board: %s, %d kB each way, simulated time ..." % (", ".join(runtimes), kbytes))
    out = bench_board.run(runtimes, kbytes, log_skips=False)
    measured = [rt for rt in runtimes if "skipped" not in out.get(rt, {})]
    if not measured:
        _log("board section skipped: " + out[runtimes[0]]["skipped"])
        return None
    skipped = [rt for rt in runtimes if rt not in measured]
    if skipped:
        _log("board: %s skipped (%s)" % (", ".join(skipped), out[skipped[0]]["skipped"]))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(bench_board.table(out))
    _log("wrote " + path)
    return out


def table(res):
    """The results as a Markdown table (what docs/performance.md shows)."""
    cols = list(res["stack"].keys()) + ["kernel<->kernel (veth)"]
    rows = [("bulk kernel->stack MB/s", "rx_mb_per_s"), ("  CPU s/MB (stack process)", "rx_cpu_s_per_mb"),
            ("bulk stack->kernel MB/s", "tx_mb_per_s"), ("  CPU s/MB (stack process)", "tx_cpu_s_per_mb"),
            ("echo MB/s (each way)", "echo_mb_per_s"), ("  CPU s/MB", "echo_cpu_s_per_mb"),
            ("connect ms median / p90", ("connect_ms_median", "connect_ms_p90")),
            ("connect+close ms median / p90", ("cycle_ms_median", "cycle_ms_p90")),
            ("ping RTT ms avg / max", ("ping_rtt_ms_avg", "ping_rtt_ms_max")),
            ("UDP echo RTT ms median / p90", ("udp_echo_ms_median", "udp_echo_ms_p90")),
            ("HTTP first byte ms median / p99, 1 client", ("http_ttfb_ms_median_c1", "http_ttfb_ms_p99_c1")),
            ("  4 concurrent clients", ("http_ttfb_ms_median_c4", "http_ttfb_ms_p99_c4")),
            ("bulk rx / tx vs ceiling", ("rx_ceiling_ratio", "tx_ceiling_ratio")),
            ("2 stacks in-memory MB/s", "pair_mb_per_s"), ("  CPU s/MB", "pair_cpu_s_per_mb"),
            ("SPI bytes per payload byte", "spi_bytes_per_payload_byte")]
    data = [res["stack"][k] for k in res["stack"]] + [res.get("ceiling", {})]

    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return "%.3g" % v
        return str(v)
    lines = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label, key in rows:
        cells = []
        for d in data:
            if isinstance(key, tuple):
                cells.append(" / ".join(fmt(d.get(k)) for k in key))
            else:
                cells.append(fmt(d.get(key)))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    extra = []
    for k, v in sorted(res.get("w5500", {}).items()):
        extra.append("%s: %s" % (k, fmt(v)))
    for k, v in sorted(res.get("memory", {}).items()):
        extra.append("%s: %s" % (k, fmt(v)))
    for rt, r in sorted(res.get("tls", {}).items()):
        extra.append("tls %s: %s" % (rt, ", ".join("%s %s" % (k, fmt(v)) for k, v in sorted(r.items()))))
    return "\n".join(lines) + "\n\n" + "\n".join(extra)


def _client_main(argv):
    mode, ip, amount, seconds = argv[0], argv[1], int(float(argv[2])), float(argv[3])
    if mode == "httpttfb":  # ... [concurrency]
        conc = int(argv[4]) if len(argv) > 4 else 1
        print(json.dumps(client_http_ttfb(ip, 80, amount, seconds, conc)))
        return 0
    fn = {"discard": (client_discard, 9), "chargen": (client_chargen, 19),
          "echo": (client_echo, 7), "connects": (client_connects, 9),
          "udpecho": (client_udpecho, 7)}[mode]
    r = fn[0](ip, fn[1], amount, seconds)
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        sys.exit(_client_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "kserve":
        kernel_serve(sys.argv[2], float(sys.argv[3]))
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
