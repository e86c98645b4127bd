"""Checksums and parse/emit round trips of every header (CPython and MicroPython)."""
from tcpip.wire import checksum as ck
from tcpip.wire import ethernet, arp, ipv4, icmp, tcp
from tcpip.wire.ethernet import Ethernet
from tcpip.wire.arp import Arp
from tcpip.wire.ipv4 import IPv4
from tcpip.wire.icmp import Icmp
from tcpip.wire.udp import Udp
from tcpip.wire.tcp import Tcp
from framehelp import (eth_frame, arp_packet, ip_packet, icmp_echo, icmp_error, udp_datagram,
                       US_MAC, PEER_MAC, US_IP, PEER_IP)


def _slow_sum(b):
    # RFC 1071 reference: 16-bit words with end-around carry
    s = 0
    for i in range(0, len(b) - 1, 2):
        s += (b[i] << 8) | b[i + 1]
    if len(b) & 1:
        s += b[-1] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


# -- checksum

def test_checksum_of_empty_and_all_zero_data_is_ffff():
    assert ck.sum16(b"", 0, 0) == 0
    assert ck.checksum(b"", 0, 0) == 0xFFFF
    assert ck.sum16(bytes(9), 0, 9) == 0
    assert ck.checksum(bytes(10), 0, 10) == 0xFFFF


def test_checksum_rfc1071_example():
    # RFC 1071 1.4 numerical example: sum 0xddf2
    b = b"\x00\x01\xf2\x03\xf4\xf5\xf6\xf7"
    assert ck.sum16(b, 0, 8) == 0xDDF2
    assert ck.checksum(b, 0, 8) == 0x220D


def test_checksum_odd_length_pads_with_zero_byte():
    assert ck.sum16(b"\x12", 0, 1) == 0x1200
    assert ck.sum16(b"\x12\x34\x56", 0, 3) == 0x1234 + 0x5600
    # a slice of a larger buffer: the byte after end must not count
    assert ck.sum16(b"\x00\x12\x34\x56\xff", 1, 4) == 0x1234 + 0x5600


def test_sum_that_is_a_multiple_of_ffff_folds_to_ffff_not_zero():
    assert ck.sum16(b"\xff\xff", 0, 2) == 0xFFFF
    assert ck.sum16(b"\xff\xfe\x00\x01", 0, 4) == 0xFFFF
    assert ck.sum16(b"\x80\x00\x7f\xff\xff\xff", 0, 6) == 0xFFFF
    assert ck.checksum(b"\xff\xfe\x00\x01", 0, 4) == 0
    assert ck.fold(0) == 0
    assert ck.fold(0xFFFF * 7) == 0xFFFF
    assert ck.fold(0x1FFFE) == 0xFFFF


def test_sum16_matches_slow_reference_on_many_patterns():
    seed = 12345
    for n in range(0, 80):
        b = bytearray(n)
        for i in range(n):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            b[i] = (seed >> 16) & 0xFF
        assert ck.sum16(b, 0, n) == _slow_sum(b), n
        assert ck.sum16(memoryview(b), 0, n) == _slow_sum(b), n


def test_verify_accepts_region_with_its_own_checksum():
    for flags, flip in ((0x00, 19), (0x40, 15)):  # DF clear / set; a bit of each address flipped
        b = bytearray(b"\x45\x00\x00\x1c\x00\x01\x00\x00\x40\x11\x00\x00\xc0\x00\x02\x01\xc0\x00\x02\x02")
        b[6] = flags
        c = ck.checksum(b, 0, 20)
        b[10] = c >> 8
        b[11] = c & 0xFF
        assert ck.verify(b, 0, 20), flags
        b[flip] ^= 1
        assert not ck.verify(b, 0, 20), flip


def test_pseudo_sum_adds_address_halves_proto_and_length():
    assert ck.pseudo_sum(0xC0000201, 0xC0000202, 17, 8) == 0xC000 + 0x0201 + 0xC000 + 0x0202 + 17 + 8


# -- Ethernet

def test_ethernet_round_trip():
    f = eth_frame(PEER_MAC, US_MAC, ethernet.TYPE_ARP, b"x" * 46)
    assert f[:14] == PEER_MAC + US_MAC + b"\x08\x06"
    e = Ethernet()
    assert e.parse(f, len(f)) is None
    assert e.ethertype == ethernet.TYPE_ARP and e.payload_off == 14 and e.vlan == -1


def test_ethernet_vlan_tag_is_skipped_and_reported():
    f = eth_frame(PEER_MAC, US_MAC, ethernet.TYPE_IPV4, b"x" * 42, vlan=0x123)
    e = Ethernet()
    assert e.parse(f, len(f)) is None
    assert e.vlan == 0x123 and e.ethertype == ethernet.TYPE_IPV4 and e.payload_off == 18


def test_ethernet_short_frames_rejected():
    e = Ethernet()
    assert e.parse(bytes(13), 13) == "eth_short"
    f = eth_frame(PEER_MAC, US_MAC, ethernet.TYPE_VLAN, b"\x00\x01")
    assert e.parse(f, len(f)) == "eth_short"


def test_mac_helpers():
    assert ethernet.is_broadcast(b"\xff" * 6)
    assert not ethernet.is_broadcast(b"\xff" * 5 + b"\xfe")
    assert ethernet.is_multicast(b"\x01\x00\x5e\x00\x00\x01")
    assert not ethernet.is_multicast(US_MAC)
    assert ethernet.mac_eq(b"..." + US_MAC, 3, US_MAC)
    assert not ethernet.mac_eq(b"..." + US_MAC, 3, PEER_MAC)
    assert ethernet.mac_str(US_MAC) == "02:00:00:00:00:0a"


# -- ARP

def test_arp_round_trip():
    p = arp_packet(arp.REPLY, US_MAC, US_IP, PEER_MAC, PEER_IP)
    assert p == (b"\x00\x01\x08\x00\x06\x04\x00\x02" + US_MAC + b"\xc0\x00\x02\x02"
                 + PEER_MAC + b"\xc0\x00\x02\x01")
    a = Arp()
    buf = b"pad" + p
    assert a.parse(buf, 3, len(buf)) is None
    assert a.oper == arp.REPLY and a.spa == US_IP and a.tpa == PEER_IP
    assert buf[a.sha_off:a.sha_off + 6] == US_MAC and buf[a.tha_off:a.tha_off + 6] == PEER_MAC


def test_arp_malformed_variants_rejected():
    a = Arp()
    good = arp_packet(arp.REQUEST, US_MAC, US_IP, PEER_MAC, PEER_IP)
    assert a.parse(good, 0, 27) == "arp_malformed"
    for i, v in ((1, 6), (2, 0x86), (4, 8), (5, 16), (7, 3), (7, 0)):
        b = bytearray(good)
        b[i] = v
        assert a.parse(b, 0, 28) == "arp_malformed", (i, v)


# -- IPv4

def test_ipv4_round_trip():
    p = ip_packet(PEER_IP, US_IP, ipv4.PROTO_UDP, b"abc", ttl=9, ident=0x4242)
    assert len(p) == 23 and p[0] == 0x45 and p[6] == 0x40
    h = IPv4()
    assert h.parse(p, 0, len(p)) is None
    assert (h.src, h.dst, h.proto, h.ttl, h.ident) == (PEER_IP, US_IP, 17, 9, 0x4242)
    assert (h.hlen, h.total_len, h.payload_off, h.payload_end) == (20, 23, 20, 23)


def test_ipv4_options_move_the_payload():
    p = ip_packet(PEER_IP, US_IP, ipv4.PROTO_UDP, b"abcd", options=b"\x01\x01\x01\x00")
    h = IPv4()
    assert h.parse(p, 0, len(p)) is None
    assert h.hlen == 24 and h.payload_off == 24 and p[h.payload_off:h.payload_end] == b"abcd"


def test_ipv4_total_length_bounds_payload_not_frame_padding():
    p = ip_packet(PEER_IP, US_IP, ipv4.PROTO_UDP, b"ab") + bytes(20)
    h = IPv4()
    assert h.parse(p, 0, len(p)) is None
    assert h.payload_end == 22


def _hdr_bad(field_off, value, end=None):
    b = bytearray(ip_packet(PEER_IP, US_IP, ipv4.PROTO_UDP, b"abcdefgh"))
    b[field_off] = value
    # recompute the checksum so that only the field is wrong
    b[10] = b[11] = 0
    hl = (b[0] & 15) * 4
    if 20 <= hl <= len(b):
        c = ck.checksum(b, 0, hl)
        b[10] = c >> 8
        b[11] = c & 0xFF
    return IPv4().parse(b, 0, len(b) if end is None else end)


def test_ipv4_malformed_variants_rejected_with_reasons():
    assert IPv4().parse(bytes(19), 0, 19) == "ip_short"
    assert _hdr_bad(0, 0x65) == "ip_version"
    assert _hdr_bad(0, 0x44) == "ip_ihl"
    assert _hdr_bad(0, 0x4F) == "ip_ihl"  # 60 bytes claimed, 28 arrived
    assert _hdr_bad(3, 19) == "ip_len"  # total < header
    assert _hdr_bad(3, 29) == "ip_len"  # total > what arrived
    assert _hdr_bad(6, 0x20) == "ip_fragment"  # MF
    assert _hdr_bad(7, 0x01) == "ip_fragment"  # offset
    b = bytearray(ip_packet(PEER_IP, US_IP, ipv4.PROTO_UDP, b"x"))
    b[15] ^= 0x40
    assert IPv4().parse(b, 0, len(b)) == "ip_checksum"


def test_ipv4_df_flag_alone_is_accepted():
    assert _hdr_bad(6, 0x40) is None
    assert _hdr_bad(6, 0x00) is None


def test_aton_ntoa():
    assert ipv4.aton("192.0.2.1") == 0xC0000201
    assert ipv4.ntoa(0xC0000201) == "192.0.2.1"
    assert ipv4.aton(5) == 5
    for bad in ("1.2.3", "1.2.3.256", "a.b.c.d", "1..2.3", ""):
        try:
            ipv4.aton(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)
    assert ipv4.prefix_mask(24) == 0xFFFFFF00
    assert ipv4.prefix_mask(0) == 0
    assert ipv4.prefix_mask(32) == 0xFFFFFFFF


# -- ICMP

def test_icmp_echo_round_trip_odd_payload():
    m = icmp_echo(icmp.ECHO_REQUEST, 0xBEEF, 7, b"abc")
    assert ck.verify(m, 0, len(m))
    h = Icmp()
    assert h.parse(m, 0, len(m)) is None
    assert (h.type, h.code, h.ident, h.seq) == (8, 0, 0xBEEF, 7)
    assert m[h.payload_off:h.payload_end] == b"abc"


def test_icmp_error_round_trip_and_short_quote_rejected():
    inner = ip_packet(US_IP, PEER_IP, ipv4.PROTO_UDP, bytes(8))
    m = icmp_error(icmp.DEST_UNREACH, icmp.CODE_PORT_UNREACH, inner)
    h = Icmp()
    assert h.parse(m, 0, len(m)) is None
    assert h.type == 3 and h.code == 3 and h.inner_off == 8
    m = icmp_error(icmp.TIME_EXCEEDED, 0, inner[:27])
    assert h.parse(m, 0, len(m)) == "icmp_short"


def test_icmp_bad_checksum_and_short_rejected():
    m = bytearray(icmp_echo(icmp.ECHO_REQUEST, 1, 1, b"zz"))
    m[9] ^= 1
    assert Icmp().parse(m, 0, len(m)) == "icmp_checksum"
    assert Icmp().parse(bytes(7), 0, 7) == "icmp_short"


# -- UDP

def test_udp_round_trip_and_zero_checksum_sent_as_ffff():
    d = udp_datagram(1000, 53, b"hello", PEER_IP, US_IP)
    assert d[:6] == b"\x03\xe8\x00\x35\x00\x0d"
    h = Udp()
    assert h.parse(d, 0, len(d), PEER_IP, US_IP) is None
    assert (h.sport, h.dport, h.payload_off, h.payload_end) == (1000, 53, 8, 13)
    # wrong pseudo-header (other destination) fails the checksum
    assert h.parse(d, 0, len(d), PEER_IP, US_IP + 1) == "udp_checksum"
    # find a payload whose checksum computes to 0: it must go out as 0xFFFF
    for x in range(65536):
        p = bytes([x >> 8, x & 0xFF])
        d = udp_datagram(1, 2, p, PEER_IP, US_IP)
        if d[6:8] == b"\xff\xff":
            assert h.parse(d, 0, len(d), PEER_IP, US_IP) is None
            break
    else:
        raise AssertionError("no zero-checksum payload found")


def test_udp_checksum_zero_means_none():
    d = bytearray(udp_datagram(1, 2, b"data", PEER_IP, US_IP))
    d[6] = d[7] = 0
    d[9] ^= 0xFF
    assert Udp().parse(d, 0, len(d), PEER_IP, US_IP) is None


def test_udp_length_field_bounds_payload():
    d = udp_datagram(1, 2, b"abc", PEER_IP, US_IP) + bytes(5)  # trailing bytes ignored
    h = Udp()
    assert h.parse(d, 0, len(d), PEER_IP, US_IP) is None and h.payload_end == 11
    assert h.parse(d, 0, 7, PEER_IP, US_IP) == "udp_short"
    b = bytearray(udp_datagram(1, 2, b"abc", PEER_IP, US_IP))
    b[5] = 12
    assert h.parse(b, 0, 11, PEER_IP, US_IP) == "udp_len"
    b[5] = 7
    assert h.parse(b, 0, 11, PEER_IP, US_IP) == "udp_len"


# -- TCP

def _tcp(options=b"", payload=b"", flags=tcp.SYN):
    hlen = 20 + len(options)
    b = bytearray(hlen) + payload
    tcp.emit(b, 0, 40000, 80, 0x01020304, 0xA0B0C0D0, flags, 5840, hlen)
    b[20:hlen] = options
    tcp.finish(b, 0, len(b), PEER_IP, US_IP)
    return b


def test_tcp_round_trip_header_fields():
    b = _tcp(payload=b"xyz", flags=tcp.ACK | tcp.PSH)
    h = Tcp()
    assert h.parse(b, 0, len(b), PEER_IP, US_IP) is None
    assert (h.sport, h.dport, h.seq, h.ack, h.flags, h.window) == (40000, 80, 0x01020304, 0xA0B0C0D0, 0x18, 5840)
    assert (h.hlen, h.payload_off, h.payload_end) == (20, 20, 23)
    assert (h.mss, h.wscale, h.sack_perm, h.has_ts, h.sack_n) == (-1, -1, False, False, 0)
    assert tcp.flags_str(h.flags) == "PSH,ACK"


def test_tcp_option_writers_parse_back():
    o = bytearray(24)
    i = tcp.opt_mss(o, 0, 1460)
    i += tcp.opt_wscale(o, i, 7)
    i += tcp.opt_sack_perm(o, i)
    i += tcp.opt_timestamp(o, i, 0xDEADBEEF, 0x01020304)
    assert i == 24
    b = _tcp(bytes(o))
    h = Tcp()
    assert h.parse(b, 0, len(b), PEER_IP, US_IP) is None
    assert (h.mss, h.wscale, h.sack_perm, h.has_ts, h.ts_val, h.ts_ecr) == (1460, 7, True, True, 0xDEADBEEF, 0x01020304)


def test_tcp_sack_blocks_parsed_and_capped():
    blocks = b""
    for k in range(4):
        blocks += bytes([0, 0, 1, k, 0, 0, 2, k])
    o = b"\x01\x01\x05" + bytes([2 + 32]) + blocks
    b = _tcp(o, flags=tcp.ACK)
    h = Tcp()
    assert h.parse(b, 0, len(b), PEER_IP, US_IP) is None
    assert h.sack_n == 4
    assert h.sack_left[3] == 0x103 and h.sack_right[3] == 0x203


def test_tcp_eol_ends_options_and_unknown_kind_skipped():
    o = b"\x1e\x04\xaa\xbb" + b"\x02\x04\x05\xb4" + b"\x00" + b"\x03\x03"  # garbage after EOL
    o += b"\x00" * (-len(o) % 4)
    h = Tcp()
    b = _tcp(o)
    assert h.parse(b, 0, len(b), PEER_IP, US_IP) is None
    assert h.mss == 1460 and h.wscale == -1


def test_tcp_malformed_option_lengths_rejected():
    bad = (
        b"\x02\x03\x05\x00",  # MSS length 3
        b"\x02\x05\x05\xb4",  # MSS length 5 (runs into the next)
        b"\x01\x03\x02\x07",  # WS length 2
        b"\x04\x03\x00\x00",  # SACK-perm length 3
        b"\x08\x08" + bytes(6),  # timestamps length 8
        b"\x05\x02\x01\x01",  # SACK with no block
        b"\x05\x06" + bytes(6),  # SACK length not 2 + 8k
        b"\x1e\x01\x00\x00",  # unknown kind, length 1
        b"\x1e\x00\x00\x00",  # length 0 would loop forever
        b"\x01\x01\x02\x08",  # MSS length past the header
        b"\x01\x01\x01\x02",  # kind with no length byte at the end
    )
    h = Tcp()
    for o in bad:
        b = _tcp(o)
        assert h.parse(b, 0, len(b), PEER_IP, US_IP) == "tcp_options", o


def test_tcp_bad_header_length_and_checksum_rejected():
    h = Tcp()
    b = _tcp(b"\x02\x04\x05\xb4")
    assert h.parse(b, 0, 19, PEER_IP, US_IP) == "tcp_short"
    c = bytearray(b)
    c[12] = 0x40  # 16-byte header
    assert h.parse(c, 0, len(c), PEER_IP, US_IP) == "tcp_hlen"
    c[12] = 0xF0  # 60 bytes claimed, 24 arrived
    assert h.parse(c, 0, len(c), PEER_IP, US_IP) == "tcp_hlen"
    c = bytearray(b)
    c[23] ^= 1
    assert h.parse(c, 0, len(c), PEER_IP, US_IP) == "tcp_checksum"
    assert h.parse(b, 0, len(b), PEER_IP, US_IP + 1) == "tcp_checksum"


def test_tcp_odd_payload_checksum():
    b = _tcp(payload=b"abcde", flags=tcp.ACK)
    assert ck.verify(b, 0, len(b), ck.pseudo_sum(PEER_IP, US_IP, 6, len(b)))
    assert Tcp().parse(b, 0, len(b), PEER_IP, US_IP) is None


def test_tcp_options_reset_between_parses():
    h = Tcp()
    b = _tcp(b"\x02\x04\x05\xb4")
    assert h.parse(b, 0, len(b), PEER_IP, US_IP) is None and h.mss == 1460
    b = _tcp()
    assert h.parse(b, 0, len(b), PEER_IP, US_IP) is None and h.mss == -1
    # every option field, after a segment with all of them, and after a
    # malformed one (parse_sum resets them only when some were parsed)
    o = bytearray(24)
    i = tcp.opt_mss(o, 0, 1460)
    i += tcp.opt_wscale(o, i, 7)
    i += tcp.opt_sack_perm(o, i)
    i += tcp.opt_timestamp(o, i, 1, 2)
    full = _tcp(bytes(o))
    bad = _tcp(b"\x02\x04\x05\xb4\x03\x02\x00\x00")  # wscale with length 2
    sack = _tcp(b"\x01\x01\x05\x0a" + bytes(8), flags=tcp.ACK)
    for first in (full, bad, sack):
        h.parse(first, 0, len(first), PEER_IP, US_IP)
        for _ in range(2):
            assert h.parse(b, 0, len(b), PEER_IP, US_IP) is None
            assert (h.mss, h.wscale, h.sack_perm, h.has_ts, h.sack_n) == (-1, -1, False, False, 0)
