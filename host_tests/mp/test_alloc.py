"""Hot-path allocation and the fast checksum/copy variants (CPython and MicroPython).

On MicroPython: two default stacks move data over tools/memreport.SlotWire (an
in-memory wire that allocates nothing, so the NIC is not counted) and the heap
must not grow by a single byte per data segment, sending or receiving, with the
GC disabled across each batch of segments.  On both runtimes: the portable and
the viper checksum (and copy) give the same answers, including the edge cases,
and so do the chunked and packed ones CircuitPython uses.
"""
import sys
import gc

from tcpip.wire import checksum as ck
from tcpip.wire import checksum_packed as ckp
from tcpip.wire import bytes as wb
from xorshift import Xorshift32

IS_MP = sys.implementation.name == "micropython"


def _rng(seed):
    return Xorshift32(seed * 2654435761).next


def _bufs():
    r = _rng(7)
    out = []
    for n in (0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 20, 60, 1513, 1514):
        out.append(bytearray(n))
        out.append(bytearray(b"\xff" * n))
        out.append(bytearray([r() & 0xFF for _ in range(n)]))
    return out


def _impls():
    f = [ck.sum16_portable, ck.sum16_chunked]
    if IS_MP:  # (CPython's struct takes only bytes for "s": the packed sum is MicroPython's)
        f.append(ckp.sum16_packed)
    if ck.sum16_viper is not None:
        f.append(ck.sum16_viper)
    return f


def test_viper_checksum_is_chosen_on_micropython_unix():
    if IS_MP:
        assert ck.sum16_viper is not None and ck.IMPL == "viper", ck.IMPL
        assert wb.copy_viper is not None and wb.copy is wb.copy_viper
    else:
        assert ck.sum16_viper is None and ck.IMPL == "portable"
        assert wb.copy is wb.copy_slices


def test_the_viper_sources_and_their_loader_do_not_stay_loaded_after_import():
    # tcpip/wire/native.py holds the loops' text; a loaded .mpy keeps its
    # strings as long as the module lives, so it is dropped once read, and
    # so is the loader (tcpip.wire.viper), which only import needs
    import tcpip.wire
    from tcpip import tcp  # noqa: F401  (EMIT's loader: native_emit.py's text)
    for m in ("native", "native_emit", "viper", "native_mc", "native_emit_mc"):
        assert "tcpip.wire." + m not in sys.modules and not hasattr(tcpip.wire, m), m
    from tcpip.wire import viper
    src = viper.source("SUM16")
    assert "def sum16(" in src and "def copy(" in viper.source("COPY")
    assert "tcpip.wire.native" not in sys.modules and not hasattr(tcpip.wire, "native")


def test_rfc1071_example_sum():
    # RFC 1071 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2
    b = bytearray(b"\x00\x01\xf2\x03\xf4\xf5\xf6\xf7")
    for f in _impls():
        assert f(b, 0, 8) == 0xDDF2
        assert f(memoryview(b), 0, 8) == 0xDDF2


def test_zero_and_all_ones_edge_cases():
    for f in _impls():
        assert f(bytearray(10), 0, 10) == 0  # all zero: the only sum that is 0
        assert f(b"\xff\xff", 0, 2) == 0xFFFF  # a nonzero multiple of 0xFFFF is 0xFFFF
        assert f(b"\xff\xff\xff\xff", 0, 4) == 0xFFFF
        assert f(b"\x80\x00\x80\x00", 0, 4) == 0x0001  # carry folds back in
        assert f(b"\xab", 0, 1) == 0xAB00  # odd length: padded with a zero byte
        assert f(b"\x01\x02\x03", 1, 3) == 0x0203
        assert f(b"\x01\x02\x03", 3, 3) == 0
        assert f(b"\x01\x02", 0, 10) == 0x0102  # end past the buffer: cut to it


def test_portable_and_viper_agree_on_many_buffers():
    impls = _impls()
    for b in _bufs():
        n = len(b)
        mv = memoryview(b)
        for start in (0, 1, 2, 3):
            if start > n:
                continue
            for end in (n, n - 1, n + 3):
                if end < start:
                    continue
                want = impls[0](b, start, end)
                for f in impls:
                    assert f(b, start, end) == want, (f, n, start, end)
                    assert f(mv, start, end) == want, (f, n, start, end)


def test_portable_and_viper_agree_from_views_at_every_alignment():
    # the native sum reads whole words from an even address: views that start
    # at each address mod 4, regions of every length mod 4 around 16 bytes
    impls = _impls()
    r = _rng(11)
    b = bytearray([r() & 0xFF for _ in range(1600)])
    for base in (0, 1, 2, 3):
        mv = memoryview(b)[base:]
        for start in (0, 1, 2, 3, 34):
            for n in (15, 16, 17, 18, 19, 20, 1480):
                want = impls[0](mv, start, start + n)
                for f in impls:
                    assert f(mv, start, start + n) == want, (f, base, start, n)


def test_copy_variants_agree_and_stay_in_bounds():
    impls = [wb.copy_slices, wb.copy_views]
    if wb.copy_viper is not None:
        impls.append(wb.copy_viper)
    src = bytes(range(200))
    for f in impls:
        d = bytearray(50)
        f(d, 3, src, 10, 20)
        assert d[3:23] == src[10:30] and d[:3] == bytearray(3) and d[23:] == bytearray(27)
        d = bytearray(50)
        f(memoryview(d), 0, memoryview(src), 190, 10)
        assert d[:10] == src[190:200]
    if wb.copy_viper is not None:
        d = bytearray(8)
        wb.copy_viper(d, 6, src, 198, 10)  # cut to 2 bytes: neither buffer overrun
        assert d == bytearray(6) + src[198:200]
        wb.copy_viper(d, 0, src, 0, -5)
        assert d[:6] == bytearray(6)


def test_copy_viper_matches_slices_at_every_alignment_and_length():
    # the native copy moves whole words (aligned loads, or two merged with
    # shifts) between byte-wise heads and tails: every offset pair mod 8 and
    # lengths around the word-path threshold and the word boundaries
    if wb.copy_viper is None:
        return
    src = bytes((i * 37 + 11) & 0xFF for i in range(300))
    for so in range(8):
        for do in range(8):
            for n in (0, 1, 3, 15, 16, 17, 19, 31, 32, 33, 63, 64, 65, 250):
                want = bytearray(300)
                got = bytearray(300)
                wb.copy_slices(want, do, src, so, n)
                wb.copy_viper(got, do, src, so, n)
                assert got == want, (so, do, n)
    # through memoryviews that start at odd places, cut to the shorter buffer
    base = bytearray(400)
    dv = memoryview(base)[3:203]
    wb.copy_viper(dv, 5, memoryview(src)[1:], 2, 1000)
    assert base[8:203] == bytearray(src[3:198]) and base[:8] == bytearray(8)
    assert base[203:] == bytearray(197)


def _heap_delta(fn, times):
    gc.collect()
    gc.disable()
    try:
        m0 = gc.mem_alloc()
        for _ in range(times):
            fn()
        return gc.mem_alloc() - m0
    finally:
        gc.enable()


def _inputs_grew(rig, n, what, times=100):
    """rig.iface.input(n) ``times`` times: the bytes that allocated, under
    MicroPython (printed per input, as ``what``); 0 under CPython."""
    iface = rig.iface
    if not IS_MP:
        for _ in range(times):
            iface.input(n, rig.now)
        return 0
    grew = _heap_delta(lambda: iface.input(n, rig.now), times)
    print("alloc per %s: %d bytes" % (what, grew // times))
    return grew


def test_viper_checksum_and_copy_allocate_nothing():
    if not IS_MP:
        return  # CPython has no gc.mem_alloc; allocation is a MicroPython budget
    b = bytearray(1514)
    mv = memoryview(b)
    d = bytearray(1514)
    s16 = ck.sum16
    cp = wb.copy
    assert _heap_delta(lambda: s16(mv, 34, 1514), 100) == 0
    assert _heap_delta(lambda: cp(d, 0, mv, 34, 1460), 100) == 0


class _WaitNic:
    mac = b"\x02\x00\x00\x00\x00\x02"

    def __init__(self):
        self.waited = 0

    def recv_into(self, buf):
        return 0

    def send(self, frame):
        pass

    def link_up(self):
        return True

    def wait(self, ms):
        self.waited += ms


def test_stack_idle_calls_the_nic_wait_and_allocates_nothing():
    from tcpip.stack import Stack
    from tcpip.config import Config
    nic = _WaitNic()
    st = Stack(Config(), nic)
    st.idle(3)
    assert nic.waited == 0  # never polled: a poll is due first
    assert st.poll(0) >= 100  # (nothing due for a while)
    st.idle(3)
    assert nic.waited == 3
    if IS_MP:
        assert _heap_delta(lambda: st.idle(1), 100) == 0
    else:
        for _ in range(100):
            st.idle(1)
    assert nic.waited == 103
    other = _WaitNic()
    st.nic = other  # a NIC swapped in later is the one waited on
    st.idle(5)
    assert other.waited == 5 and nic.waited == 103


def test_zero_bytes_allocated_per_segment_in_bulk_transfer():
    import memreport  # tools/measure/memreport.py
    r = memreport.alloc_per_segment(segments=300, warmup=100, batch=50)
    assert r["payload_ok"], r
    assert r["segments"] >= 300, r
    assert r["wire_drops"] == 0, r
    if not IS_MP:
        return
    print("alloc per segment: send %s recv %s bytes over %d segments"
          % (r["alloc_per_segment_send"], r["alloc_per_segment_recv"], r["segments"]))
    assert r["alloc_per_segment_send"] == 0, r
    assert r["alloc_per_segment_recv"] == 0, r


def test_zero_bytes_per_segment_with_sequence_numbers_wrapping_and_anchors_moving():
    # ISNs above 2**30 (heap ints on a 32-bit port if the stack used them as
    # such) that wrap past 2**32 during the run, and anchors that move every
    # 64 KB (tcp.py keeps sequence numbers relative to them, in small ints)
    import memreport  # tools/measure/memreport.py
    r = memreport.alloc_per_segment(segments=400, warmup=50, batch=50,
                                    isn=(0xFFFF0000, 0xC0000000), reanchor=(0x20000, 0x10000))
    assert r["payload_ok"] and r["segments"] >= 400 and r["wire_drops"] == 0, r
    if IS_MP:
        assert r["alloc_per_segment_send"] == 0, r
        assert r["alloc_per_segment_recv"] == 0, r


def _drop_frames():
    """(reason, frame) for frames the stack drops, one per reason: each ends
    in its own drop_ counter."""
    from framehelp import (eth_frame, ipv4_frame, udp_frame, ping_frame, PEER_IP, US_IP,
                           US_MAC, PEER_MAC)
    from tcpip.wire import ethernet, ipv4

    def corrupt(f, i):
        b = bytearray(f)
        b[i] ^= 0x55
        return bytes(b)
    tcp_seg = bytes(12) + b"\x50" + bytes(7)  # a TCP header with a zero checksum: bad
    return (
        ("eth_short", bytes(10)),
        ("eth_type", eth_frame(US_MAC, PEER_MAC, 0x88B5, bytes(46))),
        ("arp_malformed", eth_frame(US_MAC, PEER_MAC, ethernet.TYPE_ARP, bytes(28))),
        ("ip_checksum", corrupt(ping_frame(b"x" * 32), 14 + 10)),
        ("ip_version", corrupt(ping_frame(b"x" * 32), 14)),
        ("ip_fragment", ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_UDP, bytes(16), df=False, frag=0x2000)),
        ("icmp_checksum", corrupt(ping_frame(b"x" * 32), 14 + 20 + 2)),
        ("udp_checksum", corrupt(udp_frame(1000, 2000, b"y" * 20), 14 + 20 + 6)),
        ("tcp_checksum", ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_TCP, tcp_seg)),
    )


def test_zero_bytes_allocated_per_dropped_frame():
    # A flood of bad frames (a scan, a broken peer) takes the drop paths: each
    # must count its frame and allocate nothing, like the per-segment path.
    from framehelp import Rig
    from tcpip.wire.bytes import copy
    grown = {}
    for why, frame in _drop_frames():
        rig = Rig()
        iface = rig.iface
        n = len(frame)
        copy(iface.rx, 0, frame, 0, n)  # input() does not change a dropped frame
        for _ in range(3):  # warm up (first-use caches)
            iface.input(n, rig.now)
        before = rig.stack.counters.get("drop_" + why)
        grew = _inputs_grew(rig, n, "dropped frame (%s)" % why)
        if grew:
            grown[why] = grew // 100
        assert rig.stack.counters.get("drop_" + why) == before + 100, (why, rig.stats())
    assert not grown, "bytes allocated per dropped frame: %r" % grown


class _SinkNic:
    """A NIC that keeps the last frame sent in a buffer of its own (allocates nothing)."""

    def __init__(self):
        self.frame = bytearray(1514)
        self.n = 0
        self.sent = 0

    def send(self, frame):
        n = len(frame)
        self.frame[:n] = frame
        self.n = n
        self.sent += 1


def _stray_ack(seq, ack, dport=19):
    """An ACK from the peer for a connection we do not have (as a peer's late
    ACKs after a close), with its checksum."""
    from framehelp import ipv4_frame, PEER_IP, US_IP
    from tcpip.wire import ipv4, tcp as wtcp
    seg = bytearray(20)
    wtcp.emit(seg, 0, 40000, dport, seq, ack, wtcp.ACK, 1000)
    wtcp.finish(seg, 0, 20, ipv4.aton(PEER_IP), ipv4.aton(US_IP))
    return ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_TCP, bytes(seg))


def test_zero_bytes_allocated_per_stray_ack_to_a_listening_port():
    # An ACK to a listening port with no connection (the peer's ACKs that
    # arrive after the board closed its side, a scan) is checked as a SYN
    # cookie: outside the cookie's time slot it is answered with a RST at
    # once.  Its 32-bit ack and seq, taken whole, were heap ints on a
    # 32-bit port (16-byte blocks on the board for every such segment: the
    # chargen sessions of host_tests/test_bench_board.py, up to 1.2 KB)
    from framehelp import Rig
    from tcpip.wire.bytes import copy
    from tcpip.wire import tcp as wtcp
    rig = Rig()
    rig.learn()
    rig.stack.tcp.listen(19)
    frame = _stray_ack(0xC1234567, 0xC0001235)  # ack's top byte: no cookie slot of now
    iface = rig.iface
    n = len(frame)
    copy(iface.rx, 0, frame, 0, n)
    for _ in range(3):
        iface.input(n, rig.now)
    out = rig.out()
    assert len(out) == 3, out
    for f in out:  # RFC 9293 3.10.7.1: <SEQ=SEG.ACK><CTL=RST>
        assert f[34 + 13] == wtcp.RST and f[34 + 4:34 + 8] == b"\xc0\x00\x12\x35", f
    sink = _SinkNic()
    iface.nic = sink  # (the Link copies every frame it carries: a heap object)
    grew = _inputs_grew(rig, n, "stray ACK")
    assert grew == 0, grew
    assert rig.stack.counters.get("drop_tcp_no_socket") == 103
    assert rig.stack.counters.get("tcp_rst_tx") == 103
    assert sink.sent == 100 and bytes(sink.frame[:sink.n]) == out[0]


def test_a_connections_isn_allocates_the_same_whatever_its_value():
    # Tcp._init_send draws the ISN (RFC 6528): as one 32-bit int it was a
    # heap int on a 32-bit port 3 times in 4, and so were the steps to its
    # halves, so a connection's open allocated 64 to 288 B by chance (the
    # board's alloc-per-segment test saw sessions differ by 224 B); in
    # halves from four random bytes it allocates the same every time
    from framehelp import Rig
    sa_hi, sa_lo, una, nxt, smax, iss = 10, 11, 12, 13, 14, 0x10000  # (tcp.py's _SA_HI.. and _ISS)
    rig = Rig()
    tcp = rig.stack.tcp
    c = tcp.pool[0]
    w = c.w
    seen = set()
    grew = set()
    for _ in range(40):
        if IS_MP:
            grew.add(_heap_delta(lambda: tcp._init_send(c), 1))
        else:
            tcp._init_send(c)
        seen.add((w[sa_hi], w[sa_lo]))
        assert w[una] == w[nxt] == w[smax] == iss
    assert len(seen) >= 39, seen  # random (RFC 6528): 40 draws, nearly surely all different
    if IS_MP:
        print("bytes per ISN drawn: %r" % sorted(grew))
        assert len(grew) == 1 and max(grew) <= 64, grew


def test_zero_bytes_allocated_per_ignored_dns_answer():
    # spoofed answers to a pending query (wrong id) are counted, not built into names
    from framehelp import Rig, udp_frame
    from tcpip.wire.bytes import copy
    rig = Rig(dns=["192.0.2.1"])
    rig.learn()
    rig.stack.dns.start("board.test", rig.now)
    rig.out()
    qid = rig.stack.dns.qid
    frame = udp_frame(53, rig.stack.dns.port, bytes([(qid >> 8) ^ 0xFF, qid & 0xFF]) + bytes(10))
    iface = rig.iface
    n = len(frame)
    copy(iface.rx, 0, frame, 0, n)
    for _ in range(3):
        iface.input(n, rig.now)
    grew = _inputs_grew(rig, n, "ignored DNS answer")
    assert grew == 0, grew
    assert rig.stack.counters.get("dns_ignored_id") == 103


def test_packed_sum_crosses_its_scratch_and_allocates_little():
    if not IS_MP:
        assert ck.IMPL == "portable"  # never the packed sum on CPython
        return
    r = _rng(11)
    b = bytearray([r() & 0xFF for _ in range(3 * ckp._SCRATCH_BYTES + 7)])
    for start, end in ((0, len(b)), (1, len(b)), (5, 2 * ckp._SCRATCH_BYTES + 1), (ckp._SCRATCH_BYTES - 1, len(b) - 2)):
        assert ckp.sum16_packed(b, start, end) == ck.sum16_portable(b, start, end), (start, end)
        assert ckp.sum16_packed(memoryview(b), start, end) == ck.sum16_portable(b, start, end)
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    ckp.sum16_packed(b, 34, 1514)
    grew = gc.mem_alloc() - a0
    a0 = gc.mem_alloc()
    ck.sum16_chunked(b, 34, 1514)
    chunked = gc.mem_alloc() - a0
    gc.enable()
    assert grew <= 512 < 2048 < chunked, (grew, chunked)  # the memoryviews (48 B on the board), not the bytes
