"""TCP against the Linux kernel, under CPython (TAP) and MicroPython (AF_PACKET on a veth).

Each test makes its own namespace (names start with ``tcpt``), runs the stack
there (host_tests/helpers/tcp_board.py) and the kernel's side
(host_tests/helpers/tcp_kernel_peer.py), and removes everything in a finally.
Needs root and /dev/net/tun; skipped with the reason otherwise.
"""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
import toolpath  # noqa: E402
toolpath.add(ROOT)
sys.path.insert(0, os.path.join(ROOT, "lib"))

import netharness  # noqa: E402
import netns  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
BOARD = os.path.join(HERE, "helpers", "tcp_board.py")
KPEER = os.path.join(HERE, "helpers", "tcp_kernel_peer.py")
BULK = 20 * 1000 * 1000
RUNTIMES = ["cpython", "micropython"]
_n = [0]


def _skip(runtime):
    why = netns.preflight(need_tun=(runtime == "cpython"))
    if why:
        return why
    if runtime == "micropython" and not os.path.exists(MICROPYTHON):
        return "micropython not installed in .venv"
    return None


def _measure(name, data):
    os.makedirs(os.path.join(ROOT, ".build"), exist_ok=True)
    with open(os.path.join(ROOT, ".build", "tcp_measurements.jsonl"), "a") as f:
        f.write(json.dumps(dict(data, name=name, when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
                + "\n")
    print("MEASURE %s %s" % (name, json.dumps(data)))


class Lines:
    """stdout of a child, line by line, through a thread (never blocks the test)."""

    def __init__(self, proc):
        self.proc = proc
        self.q = queue.Queue()
        self.all = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))
        self.q.put(None)

    def wait_for(self, pred, timeout_s):
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.all.append(line)
            if pred(line):
                return line


class Net:
    """A namespace, the stack process in it, and helpers for the kernel's side."""

    def __init__(self, runtime):
        _n[0] += 1
        self.runtime = runtime
        self.name = "tcpt%d-%d" % (os.getpid() % 100000, _n[0])
        self.mode = "tap" if runtime == "cpython" else "veth"
        self.ns = netns.Namespace(self.name, mode=self.mode).create()
        self.board = None
        self.board_lines = None
        self.kids = []

    def env(self):
        env = dict(os.environ)
        path = toolpath.env_path(ROOT)
        env["PYTHONPATH"] = path
        env["MICROPYPATH"] = path + ":.frozen"
        return env

    def start_board(self, *args):
        exe = [sys.executable] if self.runtime == "cpython" else [MICROPYTHON]
        nic = ["--nic", "tap", "--if", "tap0"] if self.mode == "tap" else ["--nic", "packet", "--if", "vb"]
        self.board = subprocess.Popen(self.ns.argv(exe + [BOARD] + nic + list(args)), env=self.env(),
                                      stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.board_lines = Lines(self.board)
        assert self.board_lines.wait_for(lambda l: l == "ready", 30), "stack did not start: %r" % (
            self.board_lines.all,)
        # the stack answers ARP and ping once polling
        for _ in range(50):
            if self.ns.run(["ping", "-c", "1", "-W", "1", netns.STACK_IP]).returncode == 0:
                return
        raise AssertionError("stack does not answer ping")

    def kernel(self, *args, timeout=300):
        p = self.ns.run([sys.executable, KPEER] + [str(a) for a in args], timeout=timeout)
        assert p.returncode == 0, "kernel side %r failed: %s" % (args, p.stderr[-3000:])
        return json.loads(p.stdout.strip().splitlines()[-1])

    def kernel_bg(self, *args):
        p = subprocess.Popen(self.ns.argv([sys.executable, KPEER] + [str(a) for a in args]),
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.kids.append(p)
        return p, Lines(p)

    def board_result(self, key, timeout_s=300):
        line = self.board_lines.wait_for(lambda l: l.startswith('{"%s"' % key), timeout_s)
        assert line, "no %s line from the stack: %r" % (key, self.board_lines.all[-5:])
        return json.loads(line)[key]

    def stop_board(self):
        """SIGINT the stack; its stats dict."""
        if self.board.poll() is None:
            os.kill(self.board.pid, signal.SIGINT)
        return self.board_result("stats", 30)

    def close(self):
        for p in self.kids + ([self.board] if self.board else []):
            if p.poll() is None:
                p.kill()
                p.wait(10)
        self.ns.destroy()


@pytest.fixture(params=RUNTIMES)
def net(request):
    why = _skip(request.param)
    if why:
        pytest.skip(why)
    n = Net(request.param)
    try:
        yield n
    finally:
        n.close()


def test_kernel_client_echo_20mb_each_way_sha256(net):
    net.start_board("--serve", "echo,discard,chargen")
    r = net.kernel("echo", BULK, timeout=600)
    assert r["received"] == BULK and r["sha_received"] == r["sha_sent"]
    st = net.stop_board()
    assert st["tcp_free_blocks"] == st["tcp_pool"]
    _measure("tcp_echo_kernel_client_%s" % net.runtime, {"MB_per_s_each_way": BULK / 1e6 / r["seconds"]})


def test_kernel_reads_chargen_20mb_stack_to_kernel(net):
    net.start_board("--serve", "echo,discard,chargen")
    r = net.kernel("chargen", BULK, timeout=600)
    assert r["received"] == BULK
    assert r["sha"] == netharness.chargen_sha(BULK)
    assert r["first"].startswith(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n!")
    _measure("tcp_server_to_kernel_%s" % net.runtime, {"MB_per_s": BULK / 1e6 / r["seconds"]})
    st = net.stop_board()
    assert st["tcp_free_blocks"] == st["tcp_pool"]


def test_kernel_writes_discard_20mb_kernel_to_stack(net):
    net.start_board("--serve", "echo,discard,chargen")
    r = net.kernel("discard", BULK, timeout=600)
    assert r["sent"] == BULK and r["after"] == 0  # our FIN came after everything was read
    _measure("tcp_kernel_to_server_%s" % net.runtime, {"MB_per_s": BULK / 1e6 / r["seconds"]})
    st = net.stop_board()
    assert st["tcp_free_blocks"] == st["tcp_pool"]


def test_stack_client_sends_20mb_and_closes_first(net):
    kp, kl = net.kernel_bg("sink", 5555)
    assert kl.wait_for(lambda l: "listening" in l, 30)
    net.start_board("--client", "discard:5555:%d" % BULK)
    c = net.board_result("client", 600)
    assert c["error"] == 0 and c["sent"] == BULK
    res = kl.wait_for(lambda l: '"sink"' in l, 120)
    assert res, kl.all
    k = json.loads(res)
    assert k["bytes"] == BULK and k["sha"] == c["sha_out"]
    st = net.board_result("stats", 60)
    assert st["tcp_free_blocks"] == st["tcp_pool"]  # TIME-WAIT ran out, block back
    _measure("tcp_client_to_kernel_%s" % net.runtime, {"MB_per_s": BULK / 1e6 / (c["ms"] / 1000.0)})


def test_stack_client_receives_20mb_kernel_closes_first(net):
    kp, kl = net.kernel_bg("source", 5556, BULK)
    assert kl.wait_for(lambda l: "listening" in l, 30)
    net.start_board("--client", "recv:5556:0")
    c = net.board_result("client", 600)
    assert c["error"] == 0 and c["received"] == BULK
    res = kl.wait_for(lambda l: '"source"' in l, 120)
    assert res, kl.all
    k = json.loads(res)
    assert k["sha"] == c["sha_in"] and k["after"] == 0
    st = net.board_result("stats", 60)
    assert st["tcp_free_blocks"] == st["tcp_pool"]
    _measure("tcp_kernel_to_client_%s" % net.runtime, {"MB_per_s": BULK / 1e6 / (c["ms"] / 1000.0)})


def test_kernel_rst_resets_stack_connection(net):
    net.start_board("--serve", "chargen")
    r = net.kernel("rst")
    assert r["received"] > 0
    time.sleep(0.5)
    st = net.stop_board()
    assert st["tcp_resets_rx"] >= 1
    assert st["tcp_free_blocks"] == st["tcp_pool"]


def test_200_connections_in_a_row_do_not_leak(net):
    net.start_board("--serve", "echo")
    r = net.kernel("many", 200, timeout=300)
    assert r["ok"] == 200
    time.sleep(0.5)
    st = net.stop_board()
    assert st["served"] == 200 and st["tcp_passive_opens"] == 200
    assert st["tcp_free_blocks"] == st["tcp_pool"]
    assert st.get("internal_errors", 0) == 0


def test_200_sequential_connects_and_a_burst_of_16_never_stall(net):
    # default config (4 blocks): no connect() over 0.5 s (a dropped SYN costs
    # the client 1 s), every client served or refused at once (RST)
    net.start_board("--serve", "echo")
    seq = net.kernel("seqconn", 200, timeout=120)
    time.sleep(1.5)  # a client whose FIN waited for a block retransmits it
    burst = net.kernel("burst", 16, 0, timeout=120)
    st = net.stop_board()
    assert seq["errors"] == {} and seq["stalls"] == 0, seq
    assert set(burst["outcomes"]) <= {"served", "reset", "refused"} and burst["stalls"] == 0, burst
    assert burst["outcomes"].get("served", 0) >= 4, burst
    assert st["served"] == 200 + burst["outcomes"]["served"], st
    assert st["tcp_free_blocks"] == st["tcp_pool"]
    _measure("tcp_backlog_%s" % net.runtime, {
        "seq200_stalls": seq["stalls"], "seq200_max_s": seq["max_s"], "burst16_stalls": burst["stalls"],
        "burst16_max_s": burst["max_s"], "burst16_served": burst["outcomes"]["served"]})


def test_100_clients_beyond_the_pool_get_a_clear_answer_quickly(net):
    # 100 clients connect at once and keep their connections: 4 blocks serve
    # 4 of them; every other one is reset (ECONNRESET) within 0.5 s
    net.start_board("--serve", "echo")
    r = net.kernel("burst", 100, 1, timeout=180)
    st = net.stop_board()
    assert set(r["outcomes"]) <= {"served", "reset", "refused"}, r
    assert r["outcomes"].get("served", 0) >= 4 and r["max_s"] < 0.5, r
    assert st["tcp_syncookies_refused"] >= r["outcomes"].get("reset", 0), st
    _measure("tcp_syncookie_refusal_%s" % net.runtime, {"clients": 100, "max_s_to_answer": r["max_s"],
                                                        "outcomes": r["outcomes"]})


def test_echo_survives_8_clients_that_reset_then_serves_a_fresh_one(net):
    # each client ends with SO_LINGER 0 (RST) while the echo server waits for
    # more: the server must free the block (the pool has 4), not hold it
    net.start_board("--serve", "echo")
    r = net.kernel("resets", 8, timeout=120)
    assert r["ok"] == 9, r
    time.sleep(0.5)
    st = net.stop_board()
    assert st["served"] == 9 and st["tcp_resets_rx"] >= 8
    assert st["tcp_free_blocks"] == st["tcp_pool"]


def test_connect_to_a_silent_on_link_address_is_ehostunreach_like_linux(net):
    # nobody answers ARP for 192.0.2.77: Linux in the namespace says
    # EHOSTUNREACH after its 3 neighbour probes; the stack must say the same,
    # bounded by its ARP retries (3 x 1 s), not by the SYN retries (63 s)
    silent = "192.0.2.77"
    k = net.kernel("unreach", silent, 7, timeout=120)
    net.start_board("--client", "echo:7:100", "--peer", silent)
    c = net.board_result("client", 60)
    assert k["errno"] == 113 and c["error"] == 113, (k, c)  # EHOSTUNREACH
    assert 2500 < c["ms"] < 4500, c
    _measure("tcp_connect_unreachable_%s" % net.runtime, {"stack_ms": c["ms"], "linux_ms": k["seconds"] * 1000})


def test_ss_shows_the_mss_we_advertised(net):
    # an RX ring big enough that Linux does not bound its MSS to half our window
    net.start_board("--serve", "echo", "--mtu", "1400", "--rx", "8192")
    kp, kl = net.kernel_bg("hold", 7, 4)
    assert kl.wait_for(lambda l: "connected" in l, 30)
    p = net.ns.run(["ss", "-tin", "dst", netns.STACK_IP])
    assert "mss:1360" in p.stdout, p.stdout  # MTU 1400 - 40
    kp.wait(30)


def test_capture_of_kernel_session_passes_tshark(net, tmp_path):
    if not netns._which("tshark") or not netns._which("tcpdump"):
        pytest.skip("tshark/tcpdump missing")
    net.start_board("--serve", "echo,discard,chargen")
    cap = str(tmp_path / "session.pcap")
    td = subprocess.Popen(net.ns.argv(["tcpdump", "-U", "-s", "0", "-i", net.ns.kernel_if, "-w", cap, "tcp"]),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    net.kids.append(td)
    time.sleep(1.0)
    r = net.kernel("echo", 300000)
    assert r["sha_received"] == r["sha_sent"]
    net.kernel("chargen", 100000)
    net.kernel("discard", 100000)
    time.sleep(0.5)
    td.send_signal(signal.SIGINT)
    td.wait(10)
    p = subprocess.run(["tshark", "-r", cap, "-q", "-z", "expert", "-o", "tcp.check_checksum:TRUE",
                        "-o", "ip.check_checksum:TRUE"], capture_output=True, text=True, timeout=120)
    out = p.stdout
    assert p.returncode == 0, p.stderr
    assert "Malformed" not in out and "malformed" not in out, out
    assert "hecksum" not in out, out  # no bad IP/TCP checksum
    n = subprocess.run(["tshark", "-r", cap, "-Y", "ip.src==192.0.2.2 && tcp", "-T", "fields", "-e", "frame.number"],
                       capture_output=True, text=True, timeout=120).stdout.split()
    assert len(n) > 100  # our segments are in the capture


def _tcpext(net, name):
    """A TcpExt counter of the kernel in the namespace (/proc/net/netstat)."""
    lines = net.ns.run(["cat", "/proc/net/netstat"], check=True).stdout.splitlines()
    for keys, vals in zip(lines[::2], lines[1::2]):
        if keys.startswith("TcpExt:"):
            return int(dict(zip(keys.split()[1:], vals.split()[1:]))[name])
    raise AssertionError("no TcpExt line")


@pytest.mark.parametrize("pace", ["slow", "fast"])
def test_kernel_writes_to_a_slow_and_a_fast_reader_without_window_probes(net, pace):
    # The kernel fills the stack's receive window; the stack reads at a set
    # pace (slow: 1 KB every 5 ms, the window shuts again and again; fast:
    # everything at every poll).  A read must reopen the window by a window
    # update (RFC 9293 3.8.6.2.2): the kernel never has to probe a zero
    # window (TcpExt TCPWinProbe stays 0), and the stack sends at most about
    # one frame per data segment (fast: ACKs every second segment, window
    # updates only when the advertised window fell to half the ring).
    n = 300 * 1000 if pace == "slow" else 3 * 1000 * 1000
    net.start_board("--rx", "8192", "--reader", "1000:5" if pace == "slow" else "0:0")
    probes0 = _tcpext(net, "TCPWinProbe")
    r = net.kernel("discard", n, timeout=300)
    assert r["sent"] == n and r["after"] == 0
    got = net.board_result("reader", 60)
    assert got["received"] == n and got["sha"] == r["sha"]
    assert _tcpext(net, "TCPWinProbe") - probes0 == 0
    st = net.stop_board()
    assert st["tcp_persist_probes"] == 0 and st["tcp_rto_timeouts"] == 0
    segs = (n + 1459) // 1460
    _measure("tcp_kernel_to_%s_reader_%s" % (pace, net.runtime),
             {"MB_per_s": n / 1e6 / r["seconds"], "frames_per_segment": st["tcp_segs_out"] / segs})
    if pace == "fast":
        assert st["tcp_segs_out"] <= segs * 3 // 4, (st["tcp_segs_out"], segs)
