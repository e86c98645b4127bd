"""Hostile traffic against the virtual board, and the report table (root).

    .venv/bin/python tools/robust/harden.py [--runtime cpython|micropython|both] [--quick]
                                     [--only nmap-sS,synflood,...] [--markdown FILE]

Starts tools/vboard/vboard.py (echo, discard, chargen, http) in a namespace named
``hard*`` and runs the attacks below from the kernel's side of that namespace,
every one bounded in count and time, every address in 192.0.2.0/24.  After each
attack it checks, from the stack's own status page (GET /json): no internal
error, every received frame counted (rx_frames == in_* + drop_*), the control
block pool not leaking; and that a fresh echo connection works with its bytes
intact.  Prints one table row per attack: attack, count/duration, what the
stack did, nothing lost (yes/no).  Exit 1 when any row says "no".

Attacks (ATTACKS): nmap -sS/-sT/-sU/-sV/-O, a SYN flood from random addresses
and ports of 192.0.2.0/24 (raw frames at full speed) while a legitimate client
keeps connecting, an hping3 SYN flood, RFC 5961 blind attacks on a live kernel
connection, an ARP flood, ping -f, odd IPv4 (fragments, options, lying
lengths, bad sources), and resource exhaustion through the sockets (more
connections than control blocks, a peer that does not read, a peer whose
data the application cannot take).

``harden.py _agent KIND ...`` is the part that runs inside the namespace
(CPython + scapy): the legitimate client, the frame blaster and the blind
attacker; it prints one JSON line.
"""
import argparse
import json
import os
import random
import re
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
PY = os.path.join(ROOT, ".venv", "bin", "python")
if not os.path.exists(PY):
    PY = sys.executable
STACK_IP = "192.0.2.2"
KERNEL_IP = "192.0.2.1"
STACK_MAC = "02:00:00:00:00:02"
SERVICES = "echo,discard,chargen,http"
OPEN_PORTS = {7, 9, 19, 80}


# =============================================================== agent (in the namespace)

def _agent_echo(a):
    """Legitimate client: connect to echo, send, read back, close, repeatedly."""
    t0 = time.monotonic()
    tries = []
    i = 0
    while time.monotonic() - t0 < a.seconds and i < a.count:
        i += 1
        t = time.monotonic()
        ok = False
        err = ""
        try:
            s = socket.create_connection((STACK_IP, 7), timeout=a.timeout)
            s.settimeout(a.timeout)
            msg = ("legit %d " % i).encode() * 8
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                d = s.recv(4096)
                if not d:
                    break
                got += d
            s.close()
            ok = got == msg
            if not ok:
                err = "echo mismatch"
        except OSError as e:
            err = "%s" % (e.__class__.__name__,)
        tries.append([round(t - t0, 2), ok, round(time.monotonic() - t, 3), err])
        time.sleep(a.interval)
    print(json.dumps({"tries": tries}))


def _frames(kind, kmac, count, rnd):
    from scapy.layers.l2 import Ether, ARP
    from scapy.layers.inet import IP, TCP, ICMP, UDP, IPOption_RR, IPOption_Router_Alert
    e = Ether(src=kmac, dst=STACK_MAC)
    out = []
    if kind == "synflood":
        for _ in range(count):
            src = "192.0.2.%d" % rnd.randint(3, 254)
            out.append(bytes(e / IP(src=src, dst=STACK_IP, ttl=64)
                             / TCP(sport=rnd.randint(1024, 65535), dport=7, flags="S",
                                   seq=rnd.getrandbits(32), window=64240, options=[("MSS", 1460)])))
    elif kind == "arpflood":
        for i in range(count):
            ip = "192.0.2.%d" % rnd.randint(3, 254)
            mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(rnd.getrandbits(8) for _ in range(5))
            k = i % 4
            if k == 0:  # who-has us, from everyone (creates entries by design)
                out.append(bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
                                 / ARP(op=1, hwsrc=mac, psrc=ip, pdst=STACK_IP)))
            elif k == 1:  # unsolicited replies to us
                out.append(bytes(Ether(src=mac, dst=STACK_MAC)
                                 / ARP(op=2, hwsrc=mac, psrc=ip, hwdst=STACK_MAC, pdst=STACK_IP)))
            elif k == 2:  # requests for other hosts
                out.append(bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
                                 / ARP(op=1, hwsrc=mac, psrc=ip, pdst="192.0.2.%d" % rnd.randint(3, 254))))
            else:  # gratuitous ARP for other addresses
                out.append(bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
                                 / ARP(op=2, hwsrc=mac, psrc=ip, hwdst="ff:ff:ff:ff:ff:ff", pdst=ip)))
    elif kind == "odd":
        ping = ICMP(type=8, id=0x0dd, seq=1) / (b"o" * 32)
        kinds = [
            e / IP(src=KERNEL_IP, dst=STACK_IP, flags="MF") / ping,  # first fragment
            e / IP(src=KERNEL_IP, dst=STACK_IP, frag=100) / (b"f" * 64),  # later fragment
            e / IP(src=KERNEL_IP, dst=STACK_IP, options=[IPOption_RR()]) / ping,  # record route
            e / IP(src=KERNEL_IP, dst=STACK_IP, options=[IPOption_Router_Alert()]) / ping,
            e / IP(src=KERNEL_IP, dst=STACK_IP, ttl=1) / ping,
            e / IP(src=KERNEL_IP, dst=STACK_IP, len=1400) / ping,  # total length > frame
            e / IP(src="192.0.2.255", dst=STACK_IP) / ping,  # broadcast source
            e / IP(src=KERNEL_IP, dst=STACK_IP, proto=99) / b"unknown",
            e / IP(src=KERNEL_IP, dst=STACK_IP) / UDP(sport=1, dport=4444) / b"closed udp",
            e / IP(src=KERNEL_IP, dst=STACK_IP) / ICMP(type=8) / (b"M" * 1472),  # exactly MTU
        ]
        raw = [bytes(k) for k in kinds]
        bad = bytearray(raw[0])
        bad[14] = 0x44  # IHL 4 (< 5)
        raw.append(bytes(bad))
        bad = bytearray(raw[4])
        bad[14] = 0x65  # version 6 in an IPv4 EtherType
        raw.append(bytes(bad))
        out = [raw[i % len(raw)] for i in range(count)]
    return out


def _agent_blast(a):
    """Send prebuilt frames on the namespace's wire: at most --count, at most --seconds."""
    from scapy.config import conf
    conf.verb = 0
    rnd = random.Random(a.seed)
    with open("/sys/class/net/%s/address" % a.iface) as f:
        kmac = f.read().strip()
    distinct = min(a.count, 4096)
    frames = _frames(a.kind, kmac, distinct, rnd)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    sent = 0
    dropped = 0
    t0 = time.monotonic()
    deadline = t0 + a.seconds
    gap = 1.0 / a.rate if a.rate else 0
    while sent < a.count and time.monotonic() < deadline:
        try:
            s.send(frames[sent % len(frames)])
            sent += 1
        except OSError:  # ENOBUFS: the wire's queue is full
            dropped += 1
            time.sleep(0.0005)
        if gap:
            time.sleep(gap)
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - t0, 2), "enobufs": dropped}))


def _agent_blind(a):
    """RFC 5961 blind attacks on a live kernel connection to echo (port 7)."""
    from scapy.config import conf
    from scapy.layers.l2 import Ether
    from scapy.layers.inet import IP, TCP
    from scapy.sendrecv import AsyncSniffer, sendp
    conf.verb = 0
    with open("/sys/class/net/%s/address" % a.iface) as f:
        kmac = f.read().strip()
    sn = AsyncSniffer(iface=a.iface, filter="tcp port 7", store=True)
    sn.start()
    time.sleep(0.4)
    s = socket.create_connection((STACK_IP, 7), timeout=3)
    s.settimeout(3)
    lport = s.getsockname()[1]
    s.sendall(b"x" * 100)
    got = b""
    while len(got) < 100:
        got += s.recv(4096)
    time.sleep(0.5)  # delayed ACKs settle

    pk = sn.stop()
    k_next = s_next = wnd = None
    for p in pk:
        if TCP not in p or IP not in p:
            continue
        t = p[TCP]
        n = len(bytes(t.payload)) + (1 if t.flags & 0x01 else 0) + (1 if t.flags & 0x02 else 0)
        if p[IP].src == KERNEL_IP and t.sport == lport:
            k_next = (t.seq + n) & 0xFFFFFFFF
        elif p[IP].src == STACK_IP and t.dport == lport:
            s_next = (t.seq + n) & 0xFFFFFFFF
            wnd = t.window
    res = {"k_next": k_next, "s_next": s_next, "wnd": wnd}
    e = Ether(src=kmac, dst=STACK_MAC) / IP(src=KERNEL_IP, dst=STACK_IP)

    def attack(name, flags, seq, ack, data=b""):
        sn2 = AsyncSniffer(iface=a.iface, filter="tcp and src host %s and dst port %d" % (STACK_IP, lport),
                           store=True)
        sn2.start()
        time.sleep(0.3)
        for _ in range(a.count):
            sendp(e / TCP(sport=lport, dport=7, flags=flags, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF,
                          window=64240) / data, iface=a.iface, verbose=False)
            time.sleep(0.02)
        time.sleep(0.4)
        ans = sn2.stop()
        res[name] = [{"flags": str(p[TCP].flags), "seq": p[TCP].seq, "ack": p[TCP].ack} for p in ans
                     if TCP in p]
    attack("rst_out_of_window", "R", k_next + wnd + 1000, 0)
    attack("rst_in_window", "R", k_next + 10, 0)
    attack("syn_in_established", "S", k_next - 12345, 0)
    attack("data_out_of_window", "PA", k_next + wnd + 5000, s_next, b"evil" * 10)
    attack("ack_from_the_future", "A", k_next, s_next + 100000)
    # the connection survives: echo still works, the evil data never comes back
    try:
        s.sendall(b"after attack")
        got = b""
        while len(got) < 12:
            d = s.recv(4096)
            if not d:
                break
            got += d
        res["survived"] = got == b"after attack"
        res["after"] = got.decode(errors="replace")
        s.close()
    except OSError as ex:
        res["survived"] = False
        res["after"] = repr(ex)
    print(json.dumps(res))


def _agent_hold(a):
    """Socket exhaustion from the kernel's side: --count connections to discard at
    once, a chargen reader that stops reading, an echo writer that never reads."""
    res = {}
    conns = []
    ok = 0
    for _ in range(a.count):
        try:
            s = socket.socket()
            s.settimeout(1.5)
            s.connect((STACK_IP, 9))
            conns.append(s)
            ok += 1
        except OSError:
            s.close()
    res["held"] = ok
    for s in conns:
        s.close()
    time.sleep(1.0)
    # peer not reading: chargen fills our receive buffer, the stack's sends get 0 (EAGAIN)
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(3)
    c.connect((STACK_IP, 19))
    time.sleep(a.seconds)
    n = 0
    c.settimeout(2)
    try:
        while n < 200000:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
    except OSError:
        pass
    res["chargen_after_stall"] = n
    c.close()
    # application not taking data: echo cannot send back (we do not read), so it
    # stops reading and its window closes; our writes stall; then we read all back
    e = socket.socket()
    e.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    e.connect((STACK_IP, 7))
    e.setblocking(False)
    pushed = 0
    blob = bytes(range(256)) * 64
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.seconds:
        try:
            # from where the last (maybe partial) send stopped: the stream
            # stays the one pattern the check below expects
            pushed += e.send(blob[pushed % len(blob):])
        except BlockingIOError:
            time.sleep(0.05)
    res["echo_pushed_before_stall"] = pushed
    e.setblocking(True)
    e.settimeout(5)
    back = b""
    want = pushed
    try:
        while len(back) < want:
            d = e.recv(65536)
            if not d:
                break
            back += d
    except OSError:
        pass
    res["echo_back_ok"] = back == (blob * (want // len(blob) + 1))[:want]
    res["echo_back"] = len(back)
    e.close()
    print(json.dumps(res))


def _agent_bridge(a):
    """Frame bridge between two interfaces with impairments (tc netem is not
    available): loss, duplication, reordering (extra delay), corruption of one
    bit past the IPv4 header (so only the transport checksums can catch it)."""
    rnd = random.Random(a.seed)
    socks = []
    for name in (a.iface, a.iface2):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        s.bind((name, 0))
        s.setblocking(False)
        socks.append(s)
    counts = {"frames": 0, "lost": 0, "duplicated": 0, "reordered": 0, "corrupted": 0}
    later = []  # (due, sock index, frame)
    t0 = time.monotonic()
    try:
        _bridge_loop(a, rnd, socks, counts, later, t0)
    except KeyboardInterrupt:  # harden.py stops the bridge with SIGINT
        pass
    print(json.dumps(counts), flush=True)


def _bridge_loop(a, rnd, socks, counts, later, t0):
    import select as sel
    while time.monotonic() - t0 < a.seconds:
        now = time.monotonic()
        keep = []
        for due, i, f in later:
            if due <= now:
                try:
                    socks[i].send(f)
                except OSError:
                    pass
            else:
                keep.append((due, i, f))
        later[:] = keep
        r, _, _ = sel.select(socks, [], [], 0.002)
        for s in r:
            out = socks[1] if s is socks[0] else socks[0]
            oi = 1 if s is socks[0] else 0
            for _ in range(64):
                try:
                    f, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == socket.PACKET_OUTGOING:
                    continue  # our own sends on this interface
                counts["frames"] += 1
                if rnd.random() < a.loss:
                    counts["lost"] += 1
                    continue
                copies = 2 if rnd.random() < a.dup else 1
                if copies == 2:
                    counts["duplicated"] += 1
                for _ in range(copies):
                    g = f
                    if len(g) > 40 and g[12:14] == b"\x08\x00" and rnd.random() < a.corrupt:
                        b = bytearray(g)
                        b[34 + rnd.randrange(len(b) - 34)] ^= 1 << rnd.randrange(8)
                        g = bytes(b)
                        counts["corrupted"] += 1
                    if rnd.random() < a.reorder:
                        counts["reordered"] += 1
                        later.append((time.monotonic() + rnd.uniform(0.005, 0.03), oi, g))
                    else:
                        try:
                            out.send(g)
                        except OSError:
                            counts["lost"] += 1


def _agent_soakclients(a):
    """--count concurrent echo connections, each sending --bytes random bytes and
    checking the SHA-256 of what comes back, plus one chargen reader checking RFC
    864's pattern, repeated until --seconds pass."""
    import hashlib
    from services import chargen_pattern
    pat = bytes(chargen_pattern())
    res = {"echo_ok": 0, "echo_bad": 0, "echo_err": 0, "bytes": 0, "chargen_ok": 0, "chargen_bad": 0}
    lock = threading.Lock()
    t0 = time.monotonic()

    def echo(k):
        rnd = random.Random(k)
        while time.monotonic() - t0 < a.seconds:
            data = bytes(rnd.getrandbits(8) for _ in range(a.bytes))
            try:
                s = socket.create_connection((STACK_IP, 7), timeout=20)
                s.settimeout(20)
                got = []
                n = 0

                def reader():
                    nonlocal n
                    while n < len(data):
                        d = s.recv(65536)
                        if not d:
                            break
                        got.append(d)
                        n += len(d)
                th = threading.Thread(target=reader)
                th.start()
                s.sendall(data)
                th.join(60)
                s.close()
                ok = hashlib.sha256(b"".join(got)).digest() == hashlib.sha256(data).digest()
                with lock:
                    res["echo_ok" if ok else "echo_bad"] += 1
                    res["bytes"] += n
            except OSError:
                with lock:
                    res["echo_err"] += 1
                time.sleep(0.5)

    def chargen():
        while time.monotonic() - t0 < a.seconds:
            try:
                s = socket.create_connection((STACK_IP, 19), timeout=20)
                s.settimeout(20)
                buf = b""
                while len(buf) < 3 * len(pat):
                    d = s.recv(65536)
                    if not d:
                        break
                    buf += d
                s.close()
                ok = buf[:3 * len(pat)] == (pat * 3)
                with lock:
                    res["chargen_ok" if ok else "chargen_bad"] += 1
            except OSError:
                time.sleep(0.5)
    ths = [threading.Thread(target=echo, args=(k,)) for k in range(a.count)] + [threading.Thread(target=chargen)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(a.seconds + 120)
    print(json.dumps(res), flush=True)


def agent_main(argv):
    ap = argparse.ArgumentParser(prog="harden.py _agent")
    ap.add_argument("kind", choices=("echo", "blast", "blind", "hold", "bridge", "soakclients"))
    ap.add_argument("--iface2", default="")
    ap.add_argument("--loss", type=float, default=0.02)
    ap.add_argument("--dup", type=float, default=0.01)
    ap.add_argument("--reorder", type=float, default=0.02)
    ap.add_argument("--corrupt", type=float, default=0.005)
    ap.add_argument("--bytes", type=int, default=100000)
    ap.add_argument("--iface", default="")
    ap.add_argument("--frames", default="synflood")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    if a.kind == "echo":
        _agent_echo(a)
    elif a.kind == "blast":
        a.kind = a.frames
        _agent_blast(a)
    elif a.kind == "blind":
        _agent_blind(a)
    elif a.kind == "bridge":
        _agent_bridge(a)
    elif a.kind == "soakclients":
        _agent_soakclients(a)
    else:
        _agent_hold(a)
    return 0


# =============================================================== controller

class Board:
    """A vboard in namespace hard<pid>-<runtime>-<n> (netharness.VBoard, renamed)."""

    _n = 0

    def __init__(self, runtime):
        sys.path.insert(0, os.path.join(ROOT, "host_tests", "helpers"))
        import netharness
        Board._n += 1
        orig = netharness.ns_name
        netharness.ns_name = lambda tag: "hard%d-%s-%d" % (os.getpid(), tag[:2], Board._n)
        try:
            self.vb = netharness.VBoard(runtime, tag=runtime, extra=["--serve", SERVICES])
        finally:
            netharness.ns_name = orig
        self.runtime = runtime
        self.name = self.vb.name
        self.iface = self.vb.kernel_if

    def run(self, argv, timeout=120):
        return self.vb.run(argv, timeout=timeout)

    def agent(self, kind, timeout=120, **kw):
        argv = [PY, os.path.abspath(__file__), "_agent", kind, "--iface", self.iface]
        for k, v in kw.items():
            argv += ["--" + k, str(v)]
        p = self.run(argv, timeout=timeout)
        for line in reversed(p.stdout.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError("agent %s printed no result: %s %s" % (kind, p.stdout[-500:], p.stderr[-1500:]))

    def agent_bg(self, kind, **kw):
        argv = ["ip", "netns", "exec", self.name, PY, os.path.abspath(__file__), "_agent", kind,
                "--iface", self.iface]
        for k, v in kw.items():
            argv += ["--" + k, str(v)]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def status(self, tries=5):
        """The stack's GET /json (stats and netstat), read through curl in the namespace."""
        last = ""
        for _ in range(tries):
            p = self.run(["curl", "-s", "-m", "4", "http://%s/json" % STACK_IP], timeout=10)
            last = p.stdout
            try:
                return json.loads(p.stdout)
            except ValueError:
                time.sleep(0.5)
        raise RuntimeError("no status page: %r" % last[:200])

    def alive(self):
        return self.vb.proc.poll() is None

    def close(self):
        stats = None
        try:
            stats = self.vb.stop()
        except AssertionError:
            pass
        finally:
            self.vb.close()
        return stats


def accounting_ok(stats):
    """rx_frames == sum(in_*) + sum(drop_*) without the transmit-side drops."""
    tx = ("drop_arp_queue_full", "drop_arp_queue_oversize", "drop_arp_unresolved", "drop_no_route")
    acc = sum(v for k, v in stats.items() if (k.startswith("in_") or k.startswith("drop_"))
              and k not in tx)
    return acc == stats["rx_frames"]


def _delta(a, b):
    return dict((k, b[k] - a.get(k, 0)) for k in b if isinstance(b[k], int) and b[k] != a.get(k, 0))


def _blocks(status):
    """TCP rows of the status page other than LISTEN (the page's own connection included)."""
    rows = status.get("netstat") or status.get("sockets") or []
    return [r for r in rows if "LISTEN" not in " ".join(str(x) for x in r) and str(r[0]).startswith("tcp")]


def legit_check(board):
    r = board.agent("echo", count=1, seconds=10, timeout=3)
    return r["tries"] and r["tries"][0][1]


def _pick(d, *keys):
    return ", ".join("%s %d" % (k, d[k]) for k in keys if d.get(k))


class Row:
    def __init__(self, attack, amount, did, ok, detail=None):
        self.attack = attack
        self.amount = amount
        self.did = did
        self.ok = bool(ok)
        self.detail = detail or {}

    def cells(self):
        return [self.attack, self.amount, self.did, "yes" if self.ok else "no"]


def _nmap(board, flag, ports, extra=()):
    argv = ["nmap", flag, "-n", "-Pn", "-p", ports, "--max-retries", "1", "--host-timeout", "90s",
            "-oG", "-"] + list(extra) + [STACK_IP]
    t = time.monotonic()
    p = board.run(argv, timeout=150)
    secs = time.monotonic() - t
    out = p.stdout
    opened = set(int(m) for m in re.findall(r"(\d+)/open/", out))
    closed_list = set(int(m) for m in re.findall(r"(\d+)/closed/", out))
    m = re.search(r"Ignored State: closed \((\d+)\)", out)
    n_closed = len(closed_list) + (int(m.group(1)) if m else 0)
    m = re.search(r"Ignored State: (\S+) \((\d+)\)", out)
    ignored = (m.group(1), int(m.group(2))) if m else None
    os_guess = re.search(r"OS: ([^\t]+)", out)
    return {"open": sorted(opened), "closed": n_closed, "ignored": ignored, "seconds": round(secs, 1),
            "rc": p.returncode, "os": os_guess.group(1) if os_guess else "", "raw": out[-600:]}


def attack_nmap(board, kind, quick):
    ports = "1-200" if quick else "1-1024"
    before = board.status()["stats"]
    extra = []
    if kind == "-sU":
        ports = "1-100" if quick else "1-300"
        extra = ["--min-rate", "200"]
    elif kind == "-sV":
        ports = "7,80,81" if quick else "7,9,19,80,81"
        extra = ["--version-intensity", "0" if quick else "5"]
    elif kind == "-O" and quick:
        ports = "7,9,19,80,81,443"
    r = _nmap(board, kind, ports, extra)
    after = board.status()["stats"]
    d = _delta(before, after)
    legit = legit_check(board)
    ok = board.alive() and legit and after.get("internal_errors", 0) == 0 and accounting_ok(after)
    if kind in ("-sS", "-sT"):
        ok = ok and OPEN_PORTS <= set(r["open"]) and r["closed"] > 0
        did = "open %s; %d closed (RST, %s)" % (",".join(map(str, r["open"])), r["closed"],
                                                _pick(d, "tcp_rst_tx"))
    elif kind == "-sU":
        ok = ok and d.get("icmp_errors_tx", 0) > 0
        did = "port unreachable for %d of %s closed ports, %d rate-limited (%d/s)" % (
            d.get("icmp_errors_tx", 0), "100" if quick else "300", d.get("icmp_rate_limited", 0), 10)
    elif kind == "-sV":
        ok = ok and 7 in r["open"]
        did = "probed open %s (%d closed); %s" % (",".join(map(str, r["open"])), r["closed"],
                                                  _pick(d, "tcp_rst_tx", "tcp_resets_rx"))
    else:
        did = "answered %s; OS guess: %s" % (_pick(d, "tcp_rst_tx", "icmp_echo_replies_tx", "icmp_errors_tx",
                                                  "drop_tcp_options", "drop_icmp_type") or "-",
                                            (r["os"] or "none")[:40])
    did += "; echo after: %s" % ("ok" if legit else "FAILED")
    return Row("nmap %s" % kind, "ports %s, %.0f s" % (ports, r["seconds"]), did, ok, r)


def attack_synflood(board, quick, tool="scapy"):
    secs = 3 if quick else 10
    count = 40000 if quick else 200000
    before = board.status()["stats"]
    client = board.agent_bg("echo", count=1000, seconds=secs + (5 if quick else 8), interval=0.25, timeout=2)
    time.sleep(0.5)
    t0 = time.monotonic()
    if tool == "hping3":
        # fixed spoofed source inside the test net; hping3 increments the source port
        p = board.run(["timeout", "-s", "INT", str(secs), "hping3", "-q", "-S", "-p", "7", "--flood",
                       "-a", "192.0.2.77", STACK_IP], timeout=secs + 30)
        m = re.search(r"(\d+) packets tramitted|(\d+) packets transmitted", p.stdout + p.stderr)
        sent = int(m.group(1) or m.group(2)) if m else -1
        fl = {"sent": sent, "seconds": round(time.monotonic() - t0, 1)}
    else:
        fl = board.agent("blast", frames="synflood", count=count, seconds=secs, timeout=secs + 60)
    flood_end = time.monotonic() - t0 + 0.5
    out, err = client.communicate(timeout=secs + 60)
    tries = json.loads(out.strip().splitlines()[-1])["tries"] if out.strip() else []
    during = [t for t in tries if t[0] < flood_end]
    after = [t for t in tries if t[0] >= flood_end]
    first_ok_after = next((t[0] - flood_end for t in after if t[1]), None)
    st = board.status()
    stats = st["stats"]
    d = _delta(before, stats)
    busy = _blocks(st)
    ok = (board.alive() and stats.get("internal_errors", 0) == 0 and accounting_ok(stats)
          and first_ok_after is not None and first_ok_after < 5 and len(busy) <= 4)
    did = ("%d frames reached the stack; %d SYN cookies sent, %d came back valid, %d half-open kept, "
           "%d evicted; legit %d/%d during, %d/%d after (first %.1f s after); "
           "%d blocks busy after" % (d.get("rx_frames", 0), d.get("tcp_syncookies_sent", 0),
                                     d.get("tcp_syncookies_ok", 0),
                                     d.get("tcp_passive_opens", 0) - d.get("tcp_syncookies_ok", 0),
                                     d.get("tcp_syn_evictions", 0),
                                     sum(1 for t in during if t[1]), len(during), sum(1 for t in after if t[1]),
                                     len(after), first_ok_after if first_ok_after is not None else -1,
                                     len(busy)))
    name = "SYN flood (%s, random %s)" % (tool, "ports" if tool == "hping3" else "src+ports in /24")
    return Row(name, "%s SYNs, %.1f s" % (fl.get("sent"), fl.get("seconds", secs)), did, ok,
               {"flood": fl, "tries": tries, "delta": d})


def wait_idle(board, limit_s):
    """Seconds until only the status page's own connection is busy (None: not within limit_s)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        busy = [r for r in _blocks(board.status()) if "SYN-RECEIVED" in r]
        if not busy:
            return round(time.monotonic() - t0, 1)
        time.sleep(2)
    return None


def attack_blind(board, quick):
    before = board.status()["stats"]
    r = board.agent("blind", count=3, timeout=90)
    stats = board.status()["stats"]
    d = _delta(before, stats)
    k, s = r["k_next"], r["s_next"]

    def acks(name):
        return [x for x in r[name] if x["flags"] == "A" and x["ack"] == k]
    ok = (r["survived"] and not r["rst_out_of_window"] and len(acks("rst_in_window")) >= 1
          and len(acks("syn_in_established")) >= 1 and len(acks("data_out_of_window")) >= 1
          and not any("R" in x["flags"] for n in ("rst_out_of_window", "rst_in_window", "syn_in_established",
                                                   "data_out_of_window") for x in r[n])
          and stats.get("internal_errors", 0) == 0 and accounting_ok(stats) and board.alive())
    did = ("RST off-window: %d answers; RST in-window: %d challenge ACKs; SYN: %d challenge ACKs; "
           "data off-window: %d ACKs, dropped; ACK beyond snd_nxt: %d ACKs; connection %s (tcp_challenge_acks %d)"
           % (len(r["rst_out_of_window"]), len(acks("rst_in_window")), len(acks("syn_in_established")),
              len(acks("data_out_of_window")), len(r["ack_from_the_future"]),
              "survived" if r["survived"] else "LOST", d.get("tcp_challenge_acks", 0)))
    _ = s
    return Row("RFC 5961 blind attacks", "5 kinds x 3 segments", did, ok, r)


def attack_arpflood(board, quick):
    count = 8000 if quick else 40000
    before = board.status()["stats"]
    fl = board.agent("blast", frames="arpflood", count=count, seconds=5 if quick else 15, timeout=120)
    stats = board.status()["stats"]
    d = _delta(before, stats)
    ping = board.run(["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", STACK_IP], timeout=30)
    legit = legit_check(board)
    ok = (board.alive() and legit and ping.returncode == 0 and stats.get("internal_errors", 0) == 0
          and accounting_ok(stats))
    did = ("%s; cache stays %s entries; peer ping + echo after: %s" % (
        _pick(d, "rx_frames", "in_arp", "arp_replies_tx", "drop_arp_unsolicited", "drop_arp_not_for_us", "arp_evictions"),
        "8 (fixed table)", "ok" if legit and ping.returncode == 0 else "FAILED"))
    return Row("ARP flood (4000 MACs x 252 addresses)", "%d frames, %.1f s" % (fl["sent"], fl["seconds"]),
               did, ok, {"flood": fl, "delta": d})


def attack_pingflood(board, quick):
    count = 3000 if quick else 20000
    deadline = 8 if quick else 30
    before = board.status()["stats"]
    p = board.run(["ping", "-n", "-q", "-f", "-c", str(count), "-w", str(deadline), "-s", "56", STACK_IP],
                  timeout=deadline + 20)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", p.stdout)
    tx, rx = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    big = board.run(["ping", "-n", "-c", "5", "-i", "0.2", "-W", "1", "-s", "3000", STACK_IP], timeout=30)
    mb = re.search(r"(\d+) packets transmitted, (\d+) received", big.stdout)
    stats = board.status()["stats"]
    d = _delta(before, stats)
    ok = (board.alive() and rx >= tx * 0.9 and stats.get("internal_errors", 0) == 0 and accounting_ok(stats)
          and d.get("drop_ip_fragment", 0) >= 10)
    did = "%d/%d echo replies; ping -s 3000 (fragmented): %s/5 answered, %d fragments dropped+counted" % (
        rx, tx, mb.group(2) if mb else "?", d.get("drop_ip_fragment", 0))
    return Row("ping -f + fragmented ping", "%d + 5 pings, %d s max" % (count, deadline), did, ok, d)


def attack_odd(board, quick):
    count = 240 if quick else 1200
    before = board.status()["stats"]
    fl = board.agent("blast", frames="odd", count=count, seconds=10, rate=300, timeout=60)
    time.sleep(0.5)
    stats = board.status()["stats"]
    d = _delta(before, stats)
    legit = legit_check(board)
    need = ("drop_ip_fragment", "drop_ip_len", "drop_ip_bad_src", "drop_ip_proto", "drop_ip_ihl", "drop_ip_version")
    ok = (board.alive() and legit and stats.get("internal_errors", 0) == 0 and accounting_ok(stats)
          and all(d.get(k, 0) > 0 for k in need))
    did = _pick(d, "icmp_echo_replies_tx", "icmp_errors_tx", "icmp_rate_limited", *need) + \
        "; echo after: %s" % ("ok" if legit else "FAILED")
    return Row("odd IPv4 (12 kinds)", "%d frames" % fl["sent"], did, ok, d)


def attack_sockets(board, quick):
    secs = 3 if quick else 20
    before = board.status()["stats"]
    r = board.agent("hold", count=8, seconds=secs, timeout=120)
    time.sleep(1)
    st = board.status()
    stats = st["stats"]
    d = _delta(before, stats)
    legit = legit_check(board)
    ok = (board.alive() and legit and r["echo_back_ok"] and r["chargen_after_stall"] > 0
          and stats.get("internal_errors", 0) == 0 and accounting_ok(stats))
    did = ("8 connects: %d held at once (4 blocks); chargen to a non-reader stalled, then %d bytes flowed; "
           "echo app blocked by a non-reading peer: window closed after %d bytes, all %d came back intact "
           "(%s)" % (r["held"], r["chargen_after_stall"], r["echo_pushed_before_stall"], r["echo_back"],
                     _pick(d, "tcp_persist_probes", "drop_tcp_backlog", "tcp_syn_evictions") or "-"))
    return Row("socket exhaustion (pool, zero windows)", "8 conns, 2 x %d s stalls" % secs, did, ok, r)


ATTACKS = [
    ("nmap-sS", lambda b, q: attack_nmap(b, "-sS", q)),
    ("nmap-sT", lambda b, q: attack_nmap(b, "-sT", q)),
    ("nmap-sU", lambda b, q: attack_nmap(b, "-sU", q)),
    ("nmap-sV", lambda b, q: attack_nmap(b, "-sV", q)),
    ("nmap-O", lambda b, q: attack_nmap(b, "-O", q)),
    ("synflood", lambda b, q: attack_synflood(b, q)),
    ("hping3", lambda b, q: attack_synflood(b, q, tool="hping3")),
    ("blind", attack_blind),
    ("arpflood", attack_arpflood),
    ("pingflood", attack_pingflood),
    ("odd", attack_odd),
    ("sockets", attack_sockets),
]


def run_attacks(runtime, names=None, quick=False, log=None):
    """Run the named attacks (all by default) against one vboard; returns [Row]."""
    rows = []
    board = Board(runtime)
    try:
        for name, fn in ATTACKS:
            if names and name not in names:
                continue
            t = time.monotonic()
            try:
                row = fn(board, quick)
            except Exception as e:  # the report says what broke; the next attack still runs
                row = Row(name, "-", "harness error: %r" % (e,), False)
            row.attack = "%s [%s]" % (row.attack, runtime)
            row.detail["wall_s"] = round(time.monotonic() - t, 1)
            rows.append(row)
            if log:
                log(row)
            if not board.alive():
                break
            if name == "hping3" and not quick:
                # the flood's last half-open blocks: evicted or timed out (5 SYN,ACK tries, ~63 s)
                idle = wait_idle(board, 90)
                rows.append(Row("half-open blocks gone after the flood [%s]" % runtime, "<= 90 s",
                                "no SYN-RECEIVED block left after %s s" % idle, idle is not None))
    finally:
        stats = board.close()
    if stats is not None:
        rows.append(Row("final stats [%s]" % runtime, "whole run",
                        "rx %d frames, internal_errors %d, accounting %s" % (
                            stats["rx_frames"], stats.get("internal_errors", 0),
                            "exact" if accounting_ok(stats) else "BROKEN"),
                        stats.get("internal_errors", 0) == 0 and accounting_ok(stats), stats))
    return rows


def soak_tap(runtime, seconds, conns=3, log=print):
    """Impairment soak over a real wire: kernel (vk) <-> veth <-> impairing frame
    bridge <-> TAP tap0 (CPython) or veth b1/b2 (MicroPython: packet NIC) <-> stack.
    Returns a Row."""
    import netns
    name = "hardsoak%d-%s" % (os.getpid(), runtime[:2])
    label = "soak via impairing frame bridge, %s [%s]" % ("TAP" if runtime == "cpython" else "veth", runtime)
    ns = netns.Namespace(name, mode="veth")
    procs = []
    try:
        ns.create()
        if runtime == "cpython":
            ns.ip("tuntap", "add", "dev", "tap0", "mode", "tap")
            ns.ip("link", "set", "tap0", "up")
            side, stack_argv = "tap0", [PY, os.path.join(ROOT, "tools", "vboard", "vboard_run.py"), "--nic", "tap", "--if", "tap0"]
        else:
            ns.ip("link", "add", "b1", "type", "veth", "peer", "name", "b2")
            for i in ("b1", "b2"):
                ns.ip("link", "set", i, "arp", "off")
                ns.ethtool("-K", i, "tx", "off", "rx", "off")
                ns.ip("link", "set", i, "up")
            side = "b1"
            stack_argv = [os.path.join(ROOT, ".venv", "bin", "micropython"), os.path.join(ROOT, "tools", "vboard", "vboard_run.py"),
                          "--nic", "packet", "--if", "b2"]
        env = dict(os.environ, MICROPYPATH=toolpath.env_path(ROOT, [".frozen"]),
                   PYTHONPATH=toolpath.env_path(ROOT))
        stack = subprocess.Popen(ns.argv(stack_argv + ["--serve", "echo,discard,chargen"]), env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(stack)
        bridge = subprocess.Popen(ns.argv([PY, os.path.abspath(__file__), "_agent", "bridge", "--iface", "vb",
                                           "--iface2", side, "--seconds", str(seconds + 60)]),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(bridge)
        ready = False
        for _ in range(40):
            if ns.run(["ping", "-c", "1", "-W", "1", STACK_IP], timeout=10).returncode == 0:
                ready = True
                break
        if not ready:
            return Row(label, "-", "stack did not answer", False)
        t0 = time.monotonic()
        p = ns.run([PY, os.path.abspath(__file__), "_agent", "soakclients", "--count", str(conns),
                    "--seconds", str(seconds), "--bytes", "100000"], timeout=seconds + 300)
        wall = time.monotonic() - t0
        res = json.loads(p.stdout.strip().splitlines()[-1])
        os.kill(bridge.pid, 2)
        bout, _ = bridge.communicate(timeout=20)
        bc = json.loads(bout.strip().splitlines()[-1]) if bout.strip() else {}
        os.kill(stack.pid, 2)
        sout, serr = stack.communicate(timeout=20)
        stats = {}
        for line in sout.splitlines():
            if line.startswith('{"stats"'):
                stats = json.loads(line)["stats"]
        ok = (res["echo_ok"] > 0 and res["echo_bad"] == 0 and res["chargen_bad"] == 0 and stats
              and stats.get("internal_errors", 0) == 0 and accounting_ok(stats))
        did = ("%d echo transfers SHA-256 ok, %d bad, %d conn errors; chargen %d ok %d bad; %d bytes; bridge: %s; "
               "stack: %s" % (res["echo_ok"], res["echo_bad"], res["echo_err"], res["chargen_ok"], res["chargen_bad"],
                              res["bytes"], _pick(bc, "frames", "lost", "duplicated", "reordered", "corrupted"),
                              _pick(stats, "tcp_retransmits", "tcp_fast_retransmits", "tcp_ooo_segments",
                                    "drop_tcp_checksum", "drop_ip_checksum", "drop_udp_checksum")))
        return Row(label,
                   "%d conns + chargen, %.0f s; loss 2%% dup 1%% reorder 2%% corrupt 0.5%%" % (conns, wall),
                   did, ok, {"clients": res, "bridge": bc, "stats": stats})
    finally:
        for pr in procs:
            if pr.poll() is None:
                pr.kill()
                pr.wait(10)
        ns.destroy()


def table(rows, markdown=True):
    head = ["attack", "count/duration", "what the stack did", "nothing lost"]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            out.append("| " + " | ".join(c.replace("|", "/") for c in r.cells()) + " |")
        return "\n".join(out)
    w = [max(len(head[i]), *(len(r.cells()[i]) for r in rows)) if rows else len(head[i]) for i in range(4)]
    w[2] = min(w[2], 110)
    lines = ["  ".join(h.ljust(w[i]) for i, h in enumerate(head))]
    for r in rows:
        c = r.cells()
        lines.append("  ".join(c[i][:w[i]].ljust(w[i]) if i != 2 else c[i] for i in range(4)))
    return "\n".join(lines)


def main(argv):
    if argv and argv[0] == "_agent":
        return agent_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runtime", default="both", choices=("cpython", "micropython", "both"))
    ap.add_argument("--quick", action="store_true", help="the bounded versions the tests run")
    ap.add_argument("--only", default="", help="comma-separated attack names: " + ",".join(n for n, _ in ATTACKS))
    ap.add_argument("--markdown", default="", help="also write the table (markdown) to this file")
    ap.add_argument("--soak-seconds", type=int, default=0,
                    help="also run the TAP impairment soak through the frame bridge for this long per runtime")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("harden: needs root (namespaces, raw sockets)")
        return 2
    for tool in ("nmap", "hping3", "curl"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            print("harden: %s missing (make setup installs it)" % tool)
            return 2
    names = [n for n in a.only.split(",") if n]
    runtimes = ("cpython", "micropython") if a.runtime == "both" else (a.runtime,)
    rows = []
    for rt in runtimes:
        if names != ["soak"]:  # --only soak: just the TAP soak
            rows += run_attacks(rt, names, a.quick,
                                log=lambda r: print("harden: %-45s %s" % (r.attack, "ok" if r.ok else "LOST"),
                                                    flush=True))
        if a.soak_seconds:
            rows.append(soak_tap(rt, a.soak_seconds))
            print("harden: %-45s %s" % (rows[-1].attack, "ok" if rows[-1].ok else "LOST"), flush=True)
    print()
    print(time.strftime("hardening report %Y-%m-%d %H:%M UTC", time.gmtime()))
    print(table(rows, markdown=False))
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(time.strftime("Run %Y-%m-%d %H:%M UTC", time.gmtime()) + " (`make harden`)\n\n")
            f.write(table(rows) + "\n")
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
