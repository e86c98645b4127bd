"""Tcp._emit's native code (tcpip/wire/native_emit.py's EMIT, where viper compiles
it) against its portable code: seeded operation sequences (helpers/
hdrpredhelp.py) through a stack that uses it and one that does not must
leave the same control block, frames and bytes."""
import sys

from xorshift import Xorshift32
from hdrpredhelp import Twin
from tcpip import tcp


def test_native_emit_is_compiled_wherever_viper_is():
    # on MicroPython the layout check passes (a FIELDS change without EMIT's
    # indices would silently fall back to the portable code: fail here)
    from tcpip.wire import checksum
    if sys.implementation.name == "micropython":
        assert (tcp._emit_native is not None) == (checksum.IMPL == "viper")
    else:
        assert tcp._emit_native is None


def _twin(**cfg):
    t = Twin(**cfg)
    # both predict; only a's segments go through the native code
    t.b.tcp.hdrpred = True
    t.b.tcp.native_emit = False
    return t


def _op(r):
    # mostly a transfer both ways (in-order segments acking what was sent,
    # sends of every size, reads), sometimes anything at all
    v = r()
    if v & 7 == 0:
        return ((v >> 3) & 0xFF, (v >> 11) & 0xFF, (v >> 19) & 0xFF, (v >> 27) & 0x1F,
                r() & 0xFF, r() & 0xFF)
    k = (v >> 3) % 8
    if k < 3:
        return (0, 0, (v >> 6) % 5, (v >> 9) % 10, (v >> 13) % 6, (v >> 16) % 7)
    if k < 5:
        return (11, (v >> 6) % 4)  # send 1, 100, 1460 or 3000 bytes
    if k == 5:
        return (13, (v >> 6) % 4)  # read
    return (15, (v >> 6) % 5)  # time passes (retransmissions, probes)


def test_seeded_sequences_same_with_native_and_portable_emit():
    segs = 0
    for seed in range(1, 9):
        r = Xorshift32(seed * 2654435761).next
        t = _twin()
        for _ in range(80):
            t.step(_op(r))
        segs += t.a.stack.counters.get("tcp_segs_out")
    assert segs > 200, segs  # the comparison is worth something only if segments went out


def test_seeded_sequences_with_small_rings_wrapping():
    # 1 KB TX ring: segments wrap its end (the native copy's two pieces)
    for seed in range(20, 26):
        r = Xorshift32(seed * 2654435761).next
        t = _twin(tcp_rx_bytes=512, tcp_tx_bytes=1024)
        for _ in range(80):
            t.step(_op(r))


def _field(name):
    return tcp.FIELDS.index(name)


def test_random_control_blocks_give_the_same_segment():
    # one segment at a time from control blocks no conversation reaches
    # quickly: anchors whose low half carries, windows at and past 65535 (a
    # 70,000-byte RX ring), advertised edges behind and ahead, ring heads
    # anywhere, data wrapping the ring's end, with and without ACK, in
    # SYN-RECEIVED (the SYN's place)
    from tcphelp import Peer
    if tcp._emit_native is None:
        return  # (CPython, no viper: nothing native to compare)
    p = Peer(tcp_rx_bytes=70000, tcp_tx_bytes=4096, tcp_sockets=2)
    c, _, _ = p.accept()
    w = c.w
    now = p.now
    p.nic.sent = []
    r = Xorshift32(0x9E3779B9).next
    f = {n: _field(n) for n in ("sa_hi", "sa_lo", "ra_hi", "ra_lo", "rcv_nxt", "rcv_adv",
                                "rx_count", "tx_head", "tx_count", "snd_una", "state", "flags",
                                "ack_segs")}
    for i in range(400):
        w[f["sa_hi"]] = r() & 0xFFFF
        w[f["sa_lo"]] = 0xFFFF - (r() & 0x3FF) if i & 1 else r() & 0xFFFF
        w[f["ra_hi"]] = r() & 0xFFFF
        w[f["ra_lo"]] = 0xFFFF - (r() & 0x3FF) if i & 2 else r() & 0xFFFF
        nxt = 0x10000 + (r() % 0x3FFE0000)
        w[f["rcv_nxt"]] = nxt
        w[f["rcv_adv"]] = nxt + (r() % 90000) if i % 3 else (nxt - (r() % 2000) if nxt > 2000 else 0)
        w[f["rx_count"]] = r() % 70001 if i & 4 else 70000 - (r() % 8000)
        w[f["tx_head"]] = r() % 4096
        cnt = r() % 4097
        w[f["tx_count"]] = cnt
        una = 0x10000 + (r() % 0x3FFE0000)
        w[f["snd_una"]] = una
        w[f["state"]] = 3 if i % 7 == 0 else 4  # SYN-RECEIVED or ESTABLISHED
        w[f["flags"]] = r() & 0x7FF
        w[f["ack_segs"]] = r() & 3
        k = r() % (cnt + 1)
        n = r() % (cnt - k + 1)
        if n > 1460:
            n = 1460
        seq = una + k + (1 if w[f["state"]] == 3 else 0)
        flags = (0x10 if i % 5 else 0) | (r() & 0x0D)  # ACK or not; FIN, RST, PSH; no SYN
        before = list(w)
        out = []
        for native in (True, False):
            for j in range(len(before)):
                w[j] = before[j]
            p.tcp.native_emit = native
            p.tcp._emit(c, seq, flags, n, now)
            out.append((p.nic.sent[-1] if p.nic.sent else None, list(w)))
            p.nic.sent = []
        assert out[0][0] is not None and out[0][0] == out[1][0], (i, "frames differ", seq, flags, n)
        assert out[0][1] == out[1][1], (i, "control blocks differ")


PEER2_IP = "192.0.2.3"
PEER2_MAC = b"\x02\x00\x00\x00\x00\x03"
PEER_NEW_MAC = b"\x02\x00\x00\x00\x01\x0b"


def _two_peers_talk(native):
    # the stack sends to two peers in turn (its send memo and the native
    # header template change destination at every segment), then the first
    # peer's MAC changes (an ARP reply): every frame the stack sends
    from tcphelp import Peer, Seg, build, ACK, PSH, SYN, STACK_IP, PEER_IP, PEER_PORT
    from tcpip.wire import arp as warp, ethernet
    from tcpip.wire.ipv4 import aton
    p = Peer(isn=0x7000)
    p.tcp.native_emit = native
    iface = p.stack.iface
    i = iface.arp.alloc(aton(PEER2_IP), p.now)
    iface.arp.set_valid(i, PEER2_MAC, 0, p.now)
    p.tcp.listen(7)
    conns = []
    for ip, mac in ((PEER_IP, None), (PEER2_IP, PEER2_MAC)):
        kw = {} if mac is None else {"src_mac": mac}
        p.nic.inbox.append(build(ip, STACK_IP, PEER_PORT, 7, 100, 0, SYN, mss=1460, **kw))
        p.poll()
        syn_ack = p.out()[-1]
        p.nic.inbox.append(build(ip, STACK_IP, PEER_PORT, 7, 101, (syn_ack.seq + 1) & 0xFFFFFFFF,
                                 ACK, **kw))
        p.poll()
        conns.append((p.tcp.accept(p.tcp.listeners[0]), ip, kw, (syn_ack.seq + 1) & 0xFFFFFFFF))
    frames = []
    for k in range(6):
        if k == 3:
            arpf = bytearray(42)
            ethernet.emit(arpf, p.nic.mac, PEER_NEW_MAC, ethernet.TYPE_ARP)
            warp.emit(arpf, 14, warp.REPLY, PEER_NEW_MAC, aton(PEER_IP), p.nic.mac, aton(STACK_IP))
            p.nic.inbox.append(bytes(arpf))
            p.poll()
        for c, ip, kw, _ in conns:
            c.send(b"%d" % k * (300 + k))
        p.poll()
        sent = p.nic.sent
        for j in range(len(conns)):
            c, ip, kw, seq = conns[j]
            for f in sent:  # the peer ACKs what it got, with 10 bytes of its own
                if f[12:14] == b"\x08\x00" and Seg(f).dst == aton(ip):
                    seq = (Seg(f).seq + len(Seg(f).data)) & 0xFFFFFFFF
            conns[j] = (c, ip, kw, seq)
            p.nic.inbox.append(build(ip, STACK_IP, PEER_PORT, 7, 101 + 10 * k, seq, ACK | PSH,
                                     data=b"x" * 10, **kw))
        p.poll()
        p.advance(500)  # (the delayed ACKs)
        frames += p.nic.sent
        p.nic.sent = []
    # then several segments in a row to one peer (the memo's fast path)
    conns[0][0].send(b"y" * 2500)
    p.poll()
    frames += p.nic.sent
    return frames


def test_segments_to_two_peers_and_a_new_mac_same_with_native_and_portable_emit():
    from tcphelp import PEER_MAC, Seg
    from tcpip.wire.ipv4 import aton
    frames = _two_peers_talk(True)
    assert frames == _two_peers_talk(False)
    tcp_frames = [f for f in frames if f[12:14] == b"\x08\x00"]
    assert len(tcp_frames) >= 20, len(tcp_frames)
    macs = {aton("192.0.2.1"): PEER_MAC, aton(PEER2_IP): PEER2_MAC}
    seen = set()
    for f in tcp_frames:
        s = Seg(f)  # (checks both checksums)
        if s.dst == aton("192.0.2.1") and f[0:6] == PEER_NEW_MAC:
            seen.add("new")
            continue
        assert f[0:6] == macs[s.dst], (f[0:6], s.dst)
        seen.add(s.dst)
    assert len(seen) == 3, seen  # both peers, and the first at its new MAC
    assert [len(f) for f in tcp_frames[-2:]] == [1514, 1094]  # (2,500 bytes in a row)
