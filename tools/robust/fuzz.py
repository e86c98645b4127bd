"""Coverage-guided fuzzing of the whole input path: frames -> Stack.poll (CPython).

    .venv/bin/python tools/robust/fuzz.py --seconds 600            # make fuzz FUZZ_SECONDS=600
    .venv/bin/python tools/robust/fuzz.py --replay CRASHFILE...     # rerun saved inputs
    .venv/bin/python tools/robust/fuzz.py --seeds-only              # check the seeds and exit

Engine: atheris (libFuzzer for Python, PyPI ``atheris``) when it imports, with
the tcpip modules instrumented for coverage; else (``--engine random``) a plain
mutational loop over the same seeds.  Corpus: .build/fuzz/corpus (seeded on
every run), crashes: .build/fuzz/crash-* (each one is a whole input: copy its
bytes into host_tests/test_fuzz_stack.py REGRESSIONS so it stays fixed).

One input = one fresh Stack (192.0.2.2, an echo listener on TCP 7, a UDP echo
endpoint on 7, a DNS query pending; or, scenario 1, a DHCP client) and a
sequence of frames.  Layout: byte 0 picks the scenario, then per frame
``len_hi len_lo gap_ms`` and ``len`` bytes.  Randomness in the stack (ISN, DNS
id and port, DHCP xid) is made deterministic per input, so captured sessions
replay: the seeds are captured with ``Link.capture`` from real conversations
between a client stack and the target (ARP, ping, TCP echo session, UDP, DNS
answer, DHCP offer/ack), and mutated from there.

Invariants checked after every frame (``check``):
  - nothing escapes poll: internal_errors stays 0;
  - rx_frames == sum(in_*) + sum(drop_*) less iface.TX_DROP_KEYS;
  - TCP pool: free blocks + used blocks == tcp_sockets, no block twice;
  - every TCP control-block field (Connection.w) an unsigned 32-bit number;
  - every ring (TCP RX/TX, UDP RX) within its size, buffers still the configured size;
  - interface buffers, ARP table and ARP queue no bigger than configured.
"""
import argparse
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)


LIB = os.path.join(ROOT, "lib")
FUZZ_DIR = os.path.join(ROOT, ".build", "fuzz")

US_MAC = b"\x02\x00\x00\x00\x00\x0a"
PEER_MAC = b"\x02\x00\x00\x00\x00\x0b"
US_IP = "192.0.2.2"
PEER_IP = "192.0.2.1"
MAX_FRAMES = 12
SIZES = {"tcp_sockets": 3, "tcp_rx_bytes": 1024, "tcp_tx_bytes": 1024, "udp_sockets": 3,
         "udp_rx_bytes": 512, "arp_entries": 4}

tcpip = None  # modules, imported by load() (instrumented under atheris)
RNG = None  # the random32 stand-in, made by load() (xorshift.py imports tcpip too)


def load(instrument=False):
    global tcpip, RNG
    if LIB not in sys.path:
        sys.path.insert(0, LIB)
    if instrument:
        import atheris
        with atheris.instrument_imports(include=["tcpip"]):
            import tcpip.stack, tcpip.tcp, tcpip.udp, tcpip.dns, tcpip.dhcp, tcpip.iface  # noqa: E401,F401
            import tcpip.wire.tcp, tcpip.wire.ipv4, tcpip.wire.dhcp, tcpip.wire.dns  # noqa: E401,F401
            import tcpip.ring, tcpip.nic.link  # noqa: E401,F401
    import tcpip.stack  # noqa: F811
    import tcpip.tcp
    import tcpip.udp
    import tcpip.dns
    import tcpip.dhcp
    import tcpip.iface
    import tcpip.nic.link
    import tcpip  # noqa: F811
    globals()["tcpip"] = sys.modules["tcpip"]
    if RNG is None:
        from xorshift import Xorshift32  # tcpip.nic.link's: after the (instrumented) imports

        class _DetRandom(Xorshift32):
            """random32 stand-in: xorshift, reset for every input so captured sessions replay."""

            def reset(self, seed=12345):
                self.s = seed

            def __call__(self):
                return self.next()

        RNG = _DetRandom()


def _patch_random():
    for m in ("tcpip.tcp", "tcpip.udp", "tcpip.dns", "tcpip.dhcp"):
        sys.modules[m].random32 = RNG


class Nic:
    def __init__(self, mac):
        self.mac = mac
        self.inbox = []
        self.sent = 0

    def recv_into(self, buf):
        if not self.inbox:
            return 0
        f = self.inbox.pop(0)
        n = min(len(f), len(buf))
        buf[:n] = f[:n]
        return n

    def send(self, frame):
        self.sent += 1

    def link_up(self):
        return True


class Target:
    """The stack under fuzz with its small applications (echo over TCP and UDP)."""

    def __init__(self, scenario, nic=None, now_ms=0):
        from tcpip.config import Config
        from tcpip.stack import Stack
        RNG.reset()
        scenario &= 1
        self.scenario = scenario
        cfg = Config(mac=US_MAC, ip=US_IP if scenario == 0 else "0.0.0.0", prefix=24,
                     gateway=PEER_IP, dns=[PEER_IP])
        for k in SIZES:
            setattr(cfg, k, SIZES[k])
        self.cfg = cfg
        self.nic = nic if nic is not None else Nic(US_MAC)
        self.stack = Stack(cfg, self.nic)
        self.stat_keys = len(self.stack.stats())  # fixed once built: nothing grows
        self.now = now_ms
        self.buf = bytearray(2048)
        self.conns = []
        self.listener = None
        self.ep = None
        if scenario == 0:
            arp = self.stack.iface.arp
            i = arp.alloc(tcpip.iface.aton(PEER_IP), now_ms)
            arp.set_valid(i, PEER_MAC, 0, now_ms)
            self.listener = self.stack.tcp.listen(7, backlog=2)
            self.ep = self.stack.udp.open()
            self.ep.bind(7)
            self.stack.poll(now_ms)
            self.stack.dns.start("vboard.test", now_ms)
        else:
            self.stack.start_dhcp(now_ms)
        self.stack.poll(now_ms)

    def app(self):
        """Echo: accept, read, write back, close at end of data (bounded work)."""
        tcp = self.stack.tcp
        if self.listener is not None:
            c = tcp.accept(self.listener)
            if c is not None:
                self.conns.append(c)
        for c in list(self.conns):
            try:
                n = c.recv_into(self.buf)
                if n > 0:
                    c.send(self.buf, 0, n)
                elif n == 0:
                    c.close()
                    self.conns.remove(c)
            except OSError:
                c.close()
                self.conns.remove(c)
        if self.ep is not None:
            try:
                r = self.ep.recvfrom_into(self.buf)
            except OSError:
                r = None
            if r and r[0] > 0:
                try:
                    self.ep.sendto(self.buf[:r[0]], r[1][0] if isinstance(r[1], tuple) else r[1],
                                   r[1][1] if isinstance(r[1], tuple) else 7, self.now)
                except (OSError, TypeError, IndexError):
                    pass

    def step(self, gap_ms):
        self.now = (self.now + gap_ms) & 0x3FFFFFFF
        self.stack.poll(self.now)
        self.app()
        self.stack.poll(self.now)




class InvariantError(AssertionError):
    pass


def check(t):
    """Every invariant of the module docstring; raises InvariantError naming the broken one."""
    from tcpip.iface import TX_DROP_KEYS
    from tcpip.tcp import FIELDS
    s = t.stack
    st = s.stats()
    if st.get("internal_errors", 0):
        raise InvariantError("exception inside poll: %r" % (getattr(s, "last_error", None),))
    acc = 0
    for k in st:
        if (k.startswith("in_") or k.startswith("drop_")) and k not in TX_DROP_KEYS:
            acc += st[k]
    if acc != st["rx_frames"]:
        raise InvariantError("accounting: rx_frames %d != in_+drop_ %d: %r"
                             % (st["rx_frames"], acc, dict((k, v) for k, v in st.items() if v)))
    cfg = t.cfg
    pool = s.tcp.pool
    if len(pool) != cfg.tcp_sockets or len(set(id(c) for c in pool)) != len(pool):
        raise InvariantError("TCP pool size changed")
    used = sum(1 for c in pool if c.in_use)
    if used + s.tcp.free_blocks() != cfg.tcp_sockets:
        raise InvariantError("TCP pool: free + used != tcp_sockets")
    if len(s.tcp.buf) != cfg.tcp_sockets * (cfg.tcp_rx_bytes + cfg.tcp_tx_bytes):
        raise InvariantError("TCP ring pool resized")
    for c in pool:
        for ring, size in ((c.rx, cfg.tcp_rx_bytes), (c.tx, cfg.tcp_tx_bytes)):
            _ring_ok(ring, size)
        if not c.in_use and (c.rx.count or c.tx.count):
            raise InvariantError("free block holds data")
        if len(c.w) != len(FIELDS) + 2 * cfg.tcp_ooo_ranges or not all(0 <= v <= 0xFFFFFFFF for v in c.w):
            # MicroPython keeps them in array('I'): out of range would wrap there
            raise InvariantError("TCP field out of uint32 range: %r" % list(zip(FIELDS, c.w)))
    if len(st) != t.stat_keys:
        raise InvariantError("stats grew a key after the stack was built: %r"
                             % sorted(k for k in st if st[k] and k not in _seen_zero(t)))
    for ep in s.udp.pool:
        _ring_ok(ep.rx, cfg.udp_rx_bytes)
    if len(s.udp.pool) != cfg.udp_sockets:
        raise InvariantError("UDP pool size changed")
    i = s.iface
    if len(i.rx) != cfg.mtu + 18 or len(i.tx) != cfg.mtu + 14:
        raise InvariantError("interface buffers resized")
    if i.arp.n != cfg.arp_entries or len(i.arp.state) != cfg.arp_entries:
        raise InvariantError("ARP table resized")


def _seen_zero(t):
    # the keys a fresh stack of the same config starts with
    return Stack(t.cfg, Nic(US_MAC)).stats()


def _ring_ok(r, size):
    if r.size != size or len(r.buf) < size:
        raise InvariantError("ring resized %d -> %d" % (size, r.size))
    if not (0 <= r.count <= size and 0 <= r.head < size and 0 <= r.nranges <= r.max_ranges):
        raise InvariantError("ring out of bounds: head %d count %d ranges %d" % (r.head, r.count, r.nranges))


# ---------------------------------------------------------------- inputs

def encode(scenario, frames):
    """frames: [(gap_ms, bytes)] -> one fuzz input."""
    out = bytearray([scenario & 0xFF])
    for gap, f in frames[:MAX_FRAMES]:
        f = f[:0xFFFF]
        out += struct.pack(">HB", len(f), min(gap, 255)) + f
    return bytes(out)


def decode(data):
    if not data:
        return 0, []
    scenario = data[0]
    frames = []
    i = 1
    while i + 3 <= len(data) and len(frames) < MAX_FRAMES:
        n, gap = struct.unpack_from(">HB", data, i)
        i += 3
        f = data[i:i + n]
        i += n
        if f:
            frames.append((gap, f))
    return scenario, frames


def run_input(data):
    """Run one input on a fresh Target, checking invariants after every frame; returns the Target."""
    scenario, frames = decode(data)
    t = Target(scenario)
    check(t)
    for gap, f in frames:
        t.nic.inbox.append(f)
        t.step(gap)
        check(t)
    # let every timer run once more (retransmissions, TIME-WAIT, ARP, DHCP)
    for _ in range(3):
        t.step(250)
    check(t)
    return t


# ---------------------------------------------------------------- seeds

def capture_seeds():
    """Real conversations between a client stack (192.0.2.1) and the Target on an
    in-memory Link, captured with Link.capture; returns a list of fuzz inputs."""
    from tcpip.config import Config
    from tcpip.stack import Stack
    from tcpip.nic.link import Link
    from tcpip.wire import ethernet as weth
    seeds = []

    def session(scenario, script, limit=400):
        link = Link(seed=3, mac_a=PEER_MAC, mac_b=US_MAC)
        ccfg = Config(mac=PEER_MAC, ip=PEER_IP, prefix=24, gateway=US_IP)
        client = Stack(ccfg, link.a)  # built before the Target resets RNG
        client.tcp.isn = lambda: 0x11111111
        tgt = Target(scenario, nic=link.b)
        got = []
        link.capture = lambda end, fr, now: got.append((now, bytes(fr))) if end == 0 else None
        last = [0]
        frames = []
        state = {"t": 0}

        def tick(ms=1):
            state["t"] += ms
            link.now_ms = state["t"]
            tgt.now = state["t"]
            client.poll(state["t"])
            tgt.step(0)
        gen = script(client, tgt, tick)
        for _ in range(limit):
            try:
                next(gen)
            except StopIteration:
                break
        for now, fr in got:
            frames.append((min(now - last[0], 255), fr))
            last[0] = now
        return encode(scenario, frames)

    def s_ping_tcp_udp(client, tgt, tick):
        # ARP + ICMP echo (raw frame built by the client's own emitters) + TCP + UDP
        from tcpip.wire.ipv4 import aton
        c = client.tcp.open(US_IP, 7)
        for _ in range(50):
            tick()
            yield
            if c.is_established():
                break
        c.send(b"hello fuzz " * 20)
        ep = client.udp.open()
        ep.bind(5000)
        ep.sendto(b"udp seed", aton(US_IP), 7, state_now(tgt))
        buf = bytearray(512)
        for _ in range(60):
            tick(5)
            yield
            c.recv_into(buf)
        c.close()
        for _ in range(60):
            tick(20)
            yield

    def state_now(tgt):
        return tgt.now

    seeds.append(session(0, s_ping_tcp_udp))
    # DNS answer and DHCP offer/ack built with scapy from the Target's own queries
    seeds += _scapy_seeds()
    # single frames: ARP request/reply, ICMP echo
    from tcpip.wire import arp as warp
    b = bytearray(42)
    weth.emit(b, weth.BROADCAST, PEER_MAC, weth.TYPE_ARP)
    warp.emit(b, 14, warp.REQUEST, PEER_MAC, tcpip.iface.aton(PEER_IP), b"\0" * 6, tcpip.iface.aton(US_IP))
    seeds.append(encode(0, [(1, bytes(b))]))
    return seeds


def _scapy_seeds():
    try:
        from scapy.layers.l2 import Ether
        from scapy.layers.inet import IP, UDP, ICMP, TCP
        from scapy.layers.dns import DNS, DNSRR
        from scapy.layers.dhcp import BOOTP, DHCP
    except ImportError:
        return []
    out = []
    pm, um = "02:00:00:00:00:0b", "02:00:00:00:00:0a"
    # what did the Target ask?  Run it and decode its own frames.
    sent = []
    n = Nic(US_MAC)
    n.send = lambda fr: sent.append(bytes(fr))
    t = Target(0, nic=n)
    for _ in range(3):
        t.step(10)
    for fr in sent:
        p = Ether(fr)
        if DNS in p:
            q = p[DNS]
            ans = (Ether(src=pm, dst=um) / IP(src=PEER_IP, dst=US_IP) / UDP(sport=53, dport=p[UDP].sport)
                   / DNS(id=q.id, qr=1, aa=1, rd=1, ra=1, qd=q.qd,
                         an=DNSRR(rrname=q.qd[0].qname, ttl=60, rdata="192.0.2.77")))
            out.append(encode(0, [(1, bytes(ans))]))
    sent.clear()
    t = Target(1, nic=n)
    for _ in range(3):
        t.step(10)
    for fr in sent:
        p = Ether(fr)
        if BOOTP in p:
            xid = p[BOOTP].xid
            base = (Ether(src=pm, dst="ff:ff:ff:ff:ff:ff") / IP(src=PEER_IP, dst="255.255.255.255")
                    / UDP(sport=67, dport=68))
            offer = base / BOOTP(op=2, xid=xid, yiaddr=US_IP, siaddr=PEER_IP, chaddr=US_MAC) / DHCP(options=[
                ("message-type", "offer"), ("server_id", PEER_IP), ("lease_time", 120),
                ("subnet_mask", "255.255.255.0"), ("router", PEER_IP), ("name_server", PEER_IP), "end"])
            ack = base / BOOTP(op=2, xid=xid, yiaddr=US_IP, siaddr=PEER_IP, chaddr=US_MAC) / DHCP(options=[
                ("message-type", "ack"), ("server_id", PEER_IP), ("lease_time", 120),
                ("subnet_mask", "255.255.255.0"), ("router", PEER_IP), ("name_server", PEER_IP), "end"])
            out.append(encode(1, [(5, bytes(offer)), (5, bytes(ack))]))
            break
    ping = Ether(src=pm, dst=um) / IP(src=PEER_IP, dst=US_IP) / ICMP(type=8, id=7, seq=1) / (b"p" * 56)
    frag = Ether(src=pm, dst=um) / IP(src=PEER_IP, dst=US_IP, flags="MF") / ICMP() / (b"f" * 64)
    syn = Ether(src=pm, dst=um) / IP(src=PEER_IP, dst=US_IP) / TCP(sport=40000, dport=7, flags="S", seq=1,
                                                                    options=[("MSS", 1460), ("WScale", 7)])
    closed = Ether(src=pm, dst=um) / IP(src=PEER_IP, dst=US_IP) / UDP(sport=1, dport=9) / b"closed"
    out.append(encode(0, [(1, bytes(ping)), (1, bytes(frag)), (1, bytes(syn)), (1, bytes(closed))]))
    return out


def seed_report(seeds):
    """What each seed reaches (proves the capture replays): list of stat dicts."""
    rows = []
    for s in seeds:
        t = run_input(s)
        st = t.stack.stats()
        rows.append(dict((k, v) for k, v in st.items() if v and (k.startswith("in_") or k.startswith("tcp_")
                                                                 or k.startswith("drop_"))))
    return rows


# ---------------------------------------------------------------- engines

def mutate(data, rnd, corpus):
    b = bytearray(data)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randrange(7)
        if not b:
            b = bytearray(rnd.choice(corpus))
        i = rnd.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[i] = rnd.choice((0, 1, 0x7F, 0x80, 0xFF, rnd.randrange(256)))
        elif op == 2:
            del b[i:i + rnd.randint(1, 16)]
        elif op == 3:
            b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        elif op == 4:
            o = rnd.choice(corpus)
            j = rnd.randrange(len(o))
            b[i:i + 8] = o[j:j + 8]
        elif op == 5 and i + 2 <= len(b):
            struct.pack_into(">H", b, i, rnd.choice((0, 1, 20, 40, 60, 576, 1500, 0xFFFF)))
        elif op == 6:
            b = b[:i] + rnd.choice(corpus)[rnd.randrange(len(b) or 1) % 64:]
    return bytes(b)


def random_engine(seeds, seconds, seed, crashes):
    """Mutational loop without coverage feedback (when atheris is unavailable)."""
    rnd = random.Random(seed)
    corpus = list(seeds)
    n = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = mutate(rnd.choice(corpus), rnd, corpus)
        try:
            run_input(data)
        except Exception as e:
            path = _save_crash(data, crashes)
            print("fuzz: CRASH %r -> %s" % (e, path))
            return 1, n
        n += 1
        if n % 50 == 0 and len(corpus) < 500:
            corpus.append(data)
    return 0, n


def _save_crash(data, crashes):
    os.makedirs(crashes, exist_ok=True)
    import hashlib
    p = os.path.join(crashes, "crash-" + hashlib.sha1(data).hexdigest()[:16])
    with open(p, "wb") as f:
        f.write(data)
    return p


def atheris_engine(seeds, seconds, corpus_dir, crashes):
    import atheris
    os.makedirs(corpus_dir, exist_ok=True)
    os.makedirs(crashes, exist_ok=True)
    for i, s in enumerate(seeds):
        with open(os.path.join(corpus_dir, "seed-%02d" % i), "wb") as f:
            f.write(s)

    def one(data):
        run_input(data)

    argv = [sys.argv[0], "-max_total_time=%d" % seconds, "-max_len=4096", "-timeout=10",
            "-artifact_prefix=" + crashes.rstrip("/") + "/", "-print_final_stats=1", corpus_dir]
    atheris.Setup(argv, one)
    atheris.Fuzz()  # exits the process: 0 when the time ran out, non-zero on a crash


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", default=os.path.join(FUZZ_DIR, "corpus"))
    ap.add_argument("--crashes", default=FUZZ_DIR)
    ap.add_argument("--replay", nargs="*")
    ap.add_argument("--seeds-only", action="store_true")
    a = ap.parse_args(argv)
    engine = a.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            engine = "random"
    load(instrument=(engine == "atheris" and not a.replay and not a.seeds_only))
    _patch_random()
    if a.replay is not None and a.replay:
        bad = 0
        for p in a.replay:
            with open(p, "rb") as f:
                data = f.read()
            try:
                run_input(data)
                print("fuzz: %s ok" % p)
            except Exception as e:
                bad += 1
                print("fuzz: %s FAILS: %r" % (p, e))
        return 1 if bad else 0
    seeds = capture_seeds()
    for s, row in zip(seeds, seed_report(seeds)):
        print("fuzz: seed %d bytes -> %s" % (len(s), " ".join("%s=%d" % kv for kv in sorted(row.items()))))
    if a.seeds_only:
        return 0
    print("fuzz: engine %s, %d s, %d seeds" % (engine, a.seconds, len(seeds)), flush=True)
    if engine == "atheris":
        atheris_engine(seeds, a.seconds, a.corpus, a.crashes)
        return 0
    rc, n = random_engine(seeds, a.seconds, a.seed, a.crashes)
    print("fuzz: %d inputs, %s" % (n, "CRASH" if rc else "no invariant broken"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
