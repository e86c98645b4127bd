"""Every wire parser and emitter against scapy, an independent implementation.

scapy builds, we parse; we build, scapy dissects, and scapy's own checksum
(re-building the packet with chksum=None) equals ours.
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, os.path.join(HERE, "helpers"))

from scapy.layers.inet import IP, ICMP, UDP, TCP, IPerror, UDPerror, IPOption_Router_Alert, IPOption_NOP  # noqa: E402
from scapy.layers.l2 import Ether, ARP, Dot1Q  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from tcpip.wire import ethernet, arp, ipv4, icmp, udp, tcp  # noqa: E402
from tcpip.wire.checksum import verify, pseudo_sum  # noqa: E402
from tcpip.wire.ethernet import Ethernet  # noqa: E402
from tcpip.wire.arp import Arp  # noqa: E402
from tcpip.wire.ipv4 import IPv4, aton  # noqa: E402
from tcpip.wire.icmp import Icmp  # noqa: E402
from tcpip.wire.udp import Udp  # noqa: E402
from tcpip.wire.tcp import Tcp  # noqa: E402

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
IP_A = "192.0.2.2"
IP_B = "192.0.2.1"
A = aton(IP_A)
B = aton(IP_B)


def _eth():
    # explicit addresses: scapy would otherwise resolve dst by routing/ARP (slow)
    return Ether(dst=MAC_A, src=MAC_B)


def _mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def _scapy_chksum(pkt_cls, raw):
    """The checksum scapy computes for raw dissected as pkt_cls, rebuilt with chksum=None."""
    p = pkt_cls(raw)
    p.chksum = None
    return pkt_cls(bytes(p)).chksum


def _parse_ip(frame):
    h = IPv4()
    assert h.parse(frame, 14, len(frame)) is None
    return h


# ---------------------------------------------------------------- scapy builds, we parse

def test_parse_ethernet_untagged():
    f = bytes(Ether(dst=MAC_B, src=MAC_A, type=0x0806) / Raw(b"x" * 46))
    e = Ethernet()
    assert e.parse(f, len(f)) is None
    assert (e.ethertype, e.payload_off, e.vlan) == (0x0806, 14, -1)


@pytest.mark.parametrize("vlan", [0, 1, 100, 4095])
def test_parse_ethernet_8021q(vlan):
    f = bytes(Ether(dst=MAC_B, src=MAC_A) / Dot1Q(vlan=vlan, prio=5) / IP(src=IP_B, dst=IP_A) / UDP())
    e = Ethernet()
    assert e.parse(f, len(f)) is None
    assert (e.ethertype, e.payload_off, e.vlan) == (0x0800, 18, vlan)
    assert IPv4().parse(f, e.payload_off, len(f)) is None


@pytest.mark.parametrize("op", [1, 2])
def test_parse_arp(op):
    f = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_A)
              / ARP(op=op, hwsrc=MAC_A, psrc=IP_A, hwdst=MAC_B, pdst=IP_B))
    a = Arp()
    assert a.parse(f, 14, len(f)) is None
    assert (a.oper, a.spa, a.tpa) == (op, A, B)
    assert f[a.sha_off:a.sha_off + 6] == _mac(MAC_A) and f[a.tha_off:a.tha_off + 6] == _mac(MAC_B)


@pytest.mark.parametrize("field,value", [("hwtype", 6), ("ptype", 0x86DD), ("hwlen", 8), ("plen", 16), ("op", 3)])
def test_parse_arp_rejects_what_is_not_ipv4_over_ethernet(field, value):
    f = bytes(_eth() / ARP(**{field: value}))
    assert Arp().parse(f, 14, len(f)) == "arp_malformed"


def test_parse_ipv4_plain():
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A, ttl=7, id=0xABCD, flags="DF") / UDP() / b"abc")
    h = _parse_ip(f)
    assert (h.src, h.dst, h.ttl, h.ident, h.proto, h.hlen, h.total_len) == (B, A, 7, 0xABCD, 17, 20, 31)
    assert (h.payload_off, h.payload_end) == (34, 45)


@pytest.mark.parametrize("options", [
    [IPOption_Router_Alert()],
    [IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_NOP()],
    [IPOption_Router_Alert()] * 10,  # IHL 15, 60-byte header
])
def test_parse_ipv4_with_options(options):
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A, options=options) / UDP(sport=5, dport=6) / b"xyz")
    h = _parse_ip(f)
    ihl = IP(f[14:]).ihl
    assert h.hlen == ihl * 4 and h.hlen > 20
    u = Udp()
    assert u.parse(f, h.payload_off, h.payload_end, h.src, h.dst) is None
    assert (u.sport, u.dport) == (5, 6) and f[u.payload_off:u.payload_end] == b"xyz"


def test_parse_ipv4_fragments_dropped():
    for kw in ({"flags": "MF"}, {"frag": 1}, {"flags": "MF", "frag": 100}):
        f = bytes(_eth() / IP(src=IP_B, dst=IP_A, **kw) / UDP())
        assert IPv4().parse(f, 14, len(f)) == "ip_fragment", kw


def test_parse_ipv4_bad_checksum_from_scapy():
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A, chksum=0x1234) / UDP())
    assert IPv4().parse(f, 14, len(f)) == "ip_checksum"


def test_parse_ipv4_total_length_lies():
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A, len=200) / UDP())
    assert IPv4().parse(f, 14, len(f)) == "ip_len"
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A, len=19) / UDP())
    assert IPv4().parse(f, 14, len(f)) == "ip_len"
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A, ihl=4) / UDP())
    assert IPv4().parse(f, 14, len(f)) == "ip_ihl"


@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 1472])
@pytest.mark.parametrize("type_", [0, 8])
def test_parse_icmp_echo(size, type_):
    data = bytes((i * 13) & 0xFF for i in range(size))
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / ICMP(type=type_, id=0x4242, seq=77) / data)
    h = _parse_ip(f)
    m = Icmp()
    assert m.parse(f, h.payload_off, h.payload_end) is None
    assert (m.type, m.code, m.ident, m.seq) == (type_, 0, 0x4242, 77)
    assert f[m.payload_off:m.payload_end] == data


@pytest.mark.parametrize("type_,code", [(3, 0), (3, 1), (3, 3), (3, 4), (11, 0), (11, 1)])
def test_parse_icmp_errors_find_the_quoted_header(type_, code):
    inner = IPerror(src=IP_A, dst=IP_B) / UDPerror(sport=1234, dport=53)
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / ICMP(type=type_, code=code) / inner)
    h = _parse_ip(f)
    m = Icmp()
    assert m.parse(f, h.payload_off, h.payload_end) is None
    assert (m.type, m.code) == (type_, code)
    q = IPv4()
    # the quoted header is a real IPv4 header (its total length may exceed the quote)
    assert f[m.inner_off] == 0x45
    assert aton(IP_B) == int.from_bytes(f[m.inner_off + 16:m.inner_off + 20], "big")
    assert q.parse(f, m.inner_off, h.payload_end) is None
    assert int.from_bytes(f[q.payload_off:q.payload_off + 2], "big") == 1234


def test_parse_icmp_bad_checksum_from_scapy():
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / ICMP(chksum=1) / b"abc")
    h = _parse_ip(f)
    assert Icmp().parse(f, h.payload_off, h.payload_end) == "icmp_checksum"


@pytest.mark.parametrize("size", list(range(0, 12)) + [100, 101, 1471, 1472])
def test_parse_udp_odd_and_even_lengths(size):
    data = bytes((i * 7 + 1) & 0xFF for i in range(size))
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / UDP(sport=4000, dport=53) / data)
    h = _parse_ip(f)
    u = Udp()
    assert u.parse(f, h.payload_off, h.payload_end, h.src, h.dst) is None
    assert (u.sport, u.dport) == (4000, 53)
    assert f[u.payload_off:u.payload_end] == data


def test_parse_udp_checksum_zero_and_wrong():
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / UDP(chksum=0) / b"abc")
    h = _parse_ip(f)
    assert Udp().parse(f, h.payload_off, h.payload_end, h.src, h.dst) is None
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / UDP(chksum=0x1111) / b"abc")
    assert Udp().parse(f, h.payload_off, h.payload_end, h.src, h.dst) == "udp_checksum"
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / UDP(len=100) / b"abc")
    h = _parse_ip(f)
    assert Udp().parse(f, h.payload_off, h.payload_end, h.src, h.dst) == "udp_len"


ALL_OPTIONS = [("MSS", 1460), ("NOP", None), ("WScale", 14), ("SAckOK", b""),
               ("Timestamp", (0xFEEDFACE, 0x01020304)), ("EOL", None)]


def _parse_tcp(f):
    h = _parse_ip(f)
    t = Tcp()
    why = t.parse(f, h.payload_off, h.payload_end, h.src, h.dst)
    return why, t


def test_parse_tcp_header_and_every_option():
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A)
              / TCP(sport=40000, dport=80, seq=0xFFFFFFF0, ack=0x12345678, flags="SEC", window=29200,
                    urgptr=3, options=ALL_OPTIONS) / b"hello")
    why, t = _parse_tcp(f)
    assert why is None
    assert (t.sport, t.dport, t.seq, t.ack, t.window, t.urgent) == (40000, 80, 0xFFFFFFF0, 0x12345678, 29200, 3)
    assert t.flags == tcp.SYN | tcp.ECE | tcp.CWR
    assert (t.mss, t.wscale, t.sack_perm, t.has_ts, t.ts_val, t.ts_ecr) == (1460, 14, True, True, 0xFEEDFACE, 0x01020304)
    assert f[t.payload_off:t.payload_end] == b"hello"
    assert t.hlen == TCP(f[34:]).dataofs * 4


@pytest.mark.parametrize("blocks", [1, 2, 3, 4])
def test_parse_tcp_sack_blocks(blocks):
    edges = tuple(0x10000000 * (k + 1) + j for k in range(blocks) for j in (0, 500))
    opts = [("NOP", None), ("NOP", None), ("SAck", edges)]
    if blocks < 4:
        opts = [("NOP", None), ("NOP", None), ("Timestamp", (5, 6))] + opts
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / TCP(flags="A", options=opts))
    why, t = _parse_tcp(f)
    assert why is None
    assert t.sack_n == blocks
    assert [(t.sack_left[k], t.sack_right[k]) for k in range(blocks)] == \
        [(edges[2 * k], edges[2 * k + 1]) for k in range(blocks)]


def test_parse_tcp_unknown_option_skipped():
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / TCP(options=[(30, b"\x01\x02"), ("MSS", 536)]))
    why, t = _parse_tcp(f)
    assert why is None and t.mss == 536


@pytest.mark.parametrize("opts", [
    [(2, b"\x05")],  # MSS length 3
    [(2, b"\x05\xb4\x00")],  # MSS length 5
    [(3, b"")],  # WS length 2
    [(3, b"\x01\x02")],  # WS length 4
    [(4, b"\x00")],  # SACK-permitted length 3
    [(8, b"\x00" * 6)],  # timestamps length 8
    [(5, b"")],  # SACK without blocks
    [(5, b"\x00" * 7)],  # SACK length 9
    [(5, b"\x00" * 12)],  # SACK length 14
])
def test_parse_tcp_malformed_option_lengths(opts):
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / TCP(options=opts))
    why, _ = _parse_tcp(f)
    assert why == "tcp_options"


@pytest.mark.parametrize("raw_opts", [
    b"\x02\x08\x05\xb4",  # length runs past the header
    b"\x1e\x01\x00\x00",  # length below 2
    b"\x01\x01\x01\x1e",  # kind with no length byte
])
def test_parse_tcp_malformed_raw_options(raw_opts):
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / TCP(dataofs=6) / raw_opts)
    # scapy puts the 4 bytes after the header as options (dataofs 6)
    assert TCP(f[34:]).dataofs == 6
    why, _ = _parse_tcp(f)
    assert why == "tcp_options"


def test_parse_tcp_bad_checksum_and_data_offset():
    why, _ = _parse_tcp(bytes(_eth() / IP(src=IP_B, dst=IP_A) / TCP(chksum=0xBAD)))
    assert why == "tcp_checksum"
    why, _ = _parse_tcp(bytes(_eth() / IP(src=IP_B, dst=IP_A) / TCP(dataofs=4)))
    assert why == "tcp_hlen"
    why, _ = _parse_tcp(bytes(_eth() / IP(src=IP_B, dst=IP_A) / TCP(dataofs=15)))
    assert why == "tcp_hlen"


# ---------------------------------------------------------------- padding and lengths

@pytest.mark.parametrize("pad_byte", [0x00, 0xA5])
@pytest.mark.parametrize("size", [0, 1, 5, 17])
def test_ethernet_padding_does_not_enter_udp_or_tcp_checksum(size, pad_byte):
    data = b"Q" * size
    for l4 in (UDP(sport=1, dport=2), TCP(sport=1, dport=2, flags="PA")):
        f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / l4 / data)
        f = f + bytes([pad_byte]) * (60 - len(f)) if len(f) < 60 else f + bytes([pad_byte]) * 4
        h = _parse_ip(f)
        assert h.payload_end == 14 + h.total_len < len(f)
        if isinstance(l4, UDP):
            u = Udp()
            assert u.parse(f, h.payload_off, h.payload_end, h.src, h.dst) is None
            assert f[u.payload_off:u.payload_end] == data
        else:
            t = Tcp()
            assert t.parse(f, h.payload_off, h.payload_end, h.src, h.dst) is None
            assert f[t.payload_off:t.payload_end] == data


def test_ipv4_total_length_bounds_icmp_payload():
    f = bytes(_eth() / IP(src=IP_B, dst=IP_A) / ICMP() / b"ab") + b"\xff" * 16
    h = _parse_ip(f)
    m = Icmp()
    assert m.parse(f, h.payload_off, h.payload_end) is None
    assert f[m.payload_off:m.payload_end] == b"ab"


# ---------------------------------------------------------------- we build, scapy dissects

def test_emit_ethernet():
    b = bytearray(60)
    assert ethernet.emit(b, _mac(MAC_B), _mac(MAC_A), 0x0806) == 14
    e = Ether(bytes(b))
    assert (e.dst, e.src, e.type) == (MAC_B, MAC_A, 0x0806)


@pytest.mark.parametrize("op", [arp.REQUEST, arp.REPLY])
def test_emit_arp(op):
    b = bytearray(42)
    ethernet.emit(b, ethernet.BROADCAST, _mac(MAC_A), ethernet.TYPE_ARP)
    assert arp.emit(b, 14, op, _mac(MAC_A), A, _mac(MAC_B), B) == 28
    p = Ether(bytes(b))[ARP]
    assert (p.hwtype, p.ptype, p.hwlen, p.plen, p.op) == (1, 0x0800, 6, 4, op)
    assert (p.hwsrc, p.psrc, p.hwdst, p.pdst) == (MAC_A, IP_A, MAC_B, IP_B)


@pytest.mark.parametrize("payload_len", [0, 1, 8, 1480])
def test_emit_ipv4_checksum_agrees_with_scapy(payload_len):
    b = bytearray(20 + payload_len)
    ipv4.emit(b, 0, A, B, 17, payload_len, ttl=33, ident=0xBEEF)
    p = IP(bytes(b))
    assert (p.version, p.ihl, p.len, p.id, p.flags, p.frag, p.ttl, p.proto, p.src, p.dst) == \
        (4, 5, 20 + payload_len, 0xBEEF, 2, 0, 33, 17, IP_A, IP_B)
    assert p.chksum == _scapy_chksum(IP, bytes(b)[:20])
    b2 = bytearray(20)
    ipv4.emit(b2, 0, A, B, 6, 0, dont_fragment=False)
    assert IP(bytes(b2)).flags == 0


@pytest.mark.parametrize("size", [0, 1, 2, 3, 55, 56, 1472])
def test_emit_icmp_echo(size):
    data = bytes((i * 3 + 1) & 0xFF for i in range(size))
    b = bytearray(8 + size)
    b[8:] = data
    assert icmp.emit_echo(b, 0, icmp.ECHO_REPLY, 0x0102, 0xFFFF, size) == 8 + size
    p = ICMP(bytes(b))
    assert (p.type, p.code, p.id, p.seq, bytes(p.payload)) == (0, 0, 0x0102, 0xFFFF, data)
    assert p.chksum == _scapy_chksum(ICMP, bytes(b))


@pytest.mark.parametrize("type_,code", [(3, 3), (3, 2), (11, 0)])
def test_emit_icmp_error(type_, code):
    quoted = bytes(IP(src=IP_A, dst=IP_B) / UDP(sport=9, dport=7) / b"abcde")
    b = bytearray(8 + len(quoted))
    b[8:] = quoted
    assert icmp.emit_error(b, 0, type_, code, len(quoted)) == 8 + len(quoted)
    p = ICMP(bytes(b))
    assert (p.type, p.code) == (type_, code)
    assert p.chksum == _scapy_chksum(ICMP, bytes(b))
    assert p[IPerror].dst == IP_B and p[UDPerror].dport == 7


def _emit_udp_frame(data, sport=1234, dport=5678):
    n = 34 + 8 + len(data)
    b = bytearray(n)
    b[42:] = data
    udp.emit(b, 34, sport, dport, len(data), A, B)
    ipv4.emit(b, 14, A, B, 17, 8 + len(data))
    ethernet.emit(b, _mac(MAC_B), _mac(MAC_A), 0x0800)
    return bytes(b)


@pytest.mark.parametrize("size", list(range(0, 10)) + [511, 512, 1471, 1472])
def test_emit_udp_checksum_agrees_with_scapy(size):
    data = bytes((i * 11 + size) & 0xFF for i in range(size))
    f = _emit_udp_frame(data)
    p = Ether(f)
    assert (p[UDP].sport, p[UDP].dport, p[UDP].len, bytes(p[UDP].payload)) == (1234, 5678, 8 + size, data)
    q = Ether(f)
    q[UDP].chksum = None
    q[IP].chksum = None
    rebuilt = Ether(bytes(q))
    assert rebuilt[UDP].chksum == p[UDP].chksum
    assert rebuilt[IP].chksum == p[IP].chksum


def test_emit_udp_computed_zero_goes_out_as_ffff_like_scapy():
    for x in range(65536):
        data = x.to_bytes(2, "big")
        f = _emit_udp_frame(data, 1, 2)
        if f[40:42] == b"\xff\xff":
            break
    else:
        pytest.fail("no payload with a zero checksum")
    q = Ether(f)
    q[UDP].chksum = None
    assert Ether(bytes(q))[UDP].chksum == 0xFFFF


def _emit_tcp(opts_fn=None, payload=b"", flags=tcp.SYN | tcp.ACK):
    o = bytearray(40)
    olen = opts_fn(o) if opts_fn else 0
    hlen = 20 + olen
    seg = bytearray(hlen + len(payload))
    tcp.emit(seg, 0, 80, 40000, 0xDEADBEEF, 0x0BADF00D, flags, 65535, hlen)
    seg[20:hlen] = o[:olen]
    seg[hlen:] = payload
    tcp.finish(seg, 0, len(seg), A, B)
    return bytes(seg)


def _all_option_writers(o):
    i = tcp.opt_mss(o, 0, 1460)
    i += tcp.opt_sack_perm(o, i)
    i += tcp.opt_timestamp(o, i, 123456789, 987654321)
    i += tcp.opt_wscale(o, i, 7)
    return i


@pytest.mark.parametrize("payload", [b"", b"x", b"xy", b"abcdefghijk", bytes(range(256)) * 5])
@pytest.mark.parametrize("with_opts", [False, True])
def test_emit_tcp_checksum_agrees_with_scapy(payload, with_opts):
    seg = _emit_tcp(_all_option_writers if with_opts else None, payload)
    ipb = bytearray(20)
    ipv4.emit(ipb, 0, A, B, 6, len(seg))
    pkt = IP(bytes(ipb) + seg)
    t = pkt[TCP]
    assert (t.sport, t.dport, t.seq, t.ack, int(t.flags), t.window) == (80, 40000, 0xDEADBEEF, 0x0BADF00D, 0x12, 65535)
    assert bytes(t.payload) == payload
    if with_opts:
        assert t.options == [("MSS", 1460), ("NOP", None), ("NOP", None), ("SAckOK", b""), ("NOP", None),
                             ("NOP", None), ("Timestamp", (123456789, 987654321)), ("NOP", None),
                             ("WScale", 7)]
    q = IP(bytes(pkt))
    q[TCP].chksum = None
    assert IP(bytes(q))[TCP].chksum == t.chksum
    assert verify(seg, 0, len(seg), pseudo_sum(A, B, 6, len(seg)))


def test_emit_tcp_parses_back_through_our_parser():
    seg = _emit_tcp(_all_option_writers, b"data")
    t = Tcp()
    assert t.parse(seg, 0, len(seg), A, B) is None
    assert (t.mss, t.wscale, t.sack_perm, t.ts_val, t.ts_ecr) == (1460, 7, True, 123456789, 987654321)
