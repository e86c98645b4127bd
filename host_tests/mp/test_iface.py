"""Interface scenarios over nic/link.py on virtual time, exact frames in and out
(CPython and MicroPython).  Timer scenarios start just before the 2**30 wrap."""
from tcpip.compat import ticks_add
from tcpip.iface import IP_PAYLOAD_OFF, SENT, QUEUED, NO_ROUTE, DROPPED, TX_DROP_KEYS
from tcpip.wire import arp, ipv4, icmp, tcp, ethernet
from tcpip.wire.checksum import checksum
from framehelp import (Rig, arp_frame, eth_frame, ip_packet, ipv4_frame, ping_frame, udp_frame,
                       icmp_echo, icmp_error, pad60, drops, accounted,
                       US_MAC, PEER_MAC, GW_MAC, OTHER_MAC, ZERO_MAC, BCAST_MAC,
                       US_IP, PEER_IP, OTHER_IP, GW_IP, FAR_IP, SUBNET_BCAST, NEAR_WRAP)

GARP = arp_frame(arp.REQUEST, US_MAC, US_IP, ZERO_MAC, US_IP)
HOST4_IP = ipv4.aton("192.0.2.4")
HOST4_MAC = b"\x02\x00\x00\x00\x00\x0d"
PATTERN = bytes((i * 7 + 3) & 0xFF for i in range(1472))


def _check_accounting(rig):
    st = rig.stats()
    assert st.get("internal_errors", 0) == 0, getattr(rig.stack, "last_error", None)
    rx_drops = 0
    for k in TX_DROP_KEYS:
        rx_drops -= st[k]
    assert accounted(st) + rx_drops == st["rx_frames"], st


def _arp_req(target):
    return arp_frame(arp.REQUEST, US_MAC, US_IP, ZERO_MAC, target)


def _send(rig, dst, payload=b"data", proto=ipv4.PROTO_UDP):
    """Hand a datagram to send_ip like a transport does; returns (result, expected frame body)."""
    tx = rig.iface.tx
    tx[IP_PAYLOAD_OFF:IP_PAYLOAD_OFF + len(payload)] = payload
    res = rig.iface.send_ip(dst, proto, len(payload), rig.now)
    body = ip_packet(US_IP, dst, proto, payload, ttl=64, ident=rig.reply_ident())
    return res, body


def _entries(rig):
    return sorted((ip, mac, state) for ip, mac, state in rig.iface.arp.entries())


# -- ARP replies

def test_arp_request_for_us_gets_exact_reply():
    rig = Rig()
    out = rig.step(pad60(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, ZERO_MAC, US_IP)))
    assert out == [arp_frame(arp.REPLY, US_MAC, US_IP, PEER_MAC, PEER_IP)]
    st = rig.stats()
    assert st["in_arp"] == 1 and st["arp_replies_tx"] == 1
    assert _entries(rig) == [(PEER_IP, PEER_MAC, "valid")]
    _check_accounting(rig)


def test_arp_request_for_other_address_gets_no_reply():
    rig = Rig()
    assert rig.step(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, ZERO_MAC, OTHER_IP)) == []
    assert drops(rig.stats()) == {"arp_not_for_us": 1}
    assert _entries(rig) == []
    _check_accounting(rig)


def test_gratuitous_arp_on_first_poll():
    rig = Rig(settle=False)
    rig.poll()
    assert rig.out() == [GARP]
    assert rig.stats()["arp_gratuitous_tx"] == 1 and rig.stats()["link_up_events"] == 1
    rig.advance(2000)
    assert rig.out() == []


def test_gratuitous_arp_after_link_down_and_up():
    rig = Rig(start_ms=NEAR_WRAP)
    rig.link.a.up = False
    rig.advance(500)
    assert rig.stats()["link_down_events"] == 1
    assert rig.out() == []
    rig.link.a.up = True
    rig.advance(500)  # the stack checks the link every 500 ms; crosses the wrap
    assert rig.out() == [GARP]
    st = rig.stats()
    assert st["link_up_events"] == 2 and st["arp_gratuitous_tx"] == 2


def test_link_down_end_receives_nothing():
    rig = Rig()
    rig.link.a.up = False
    assert rig.step(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, ZERO_MAC, US_IP)) == []
    assert rig.stats()["rx_frames"] == 0


# -- ARP resolution, retries, queue

def test_arp_retries_then_queued_frame_dropped_across_wrap():
    rig = Rig(start_ms=NEAR_WRAP - 1000)
    res, _ = _send(rig, OTHER_IP)
    assert res == QUEUED
    assert rig.out() == [_arp_req(OTHER_IP)]
    rig.advance(999)
    assert rig.out() == []
    rig.advance(1)
    assert rig.out() == [_arp_req(OTHER_IP)]
    rig.advance(1000)  # the clock wraps 500 ms before this retry
    assert rig.out() == [_arp_req(OTHER_IP)]
    assert rig.stats()["drop_arp_unresolved"] == 0
    rig.advance(1000)
    assert rig.out() == []
    st = rig.stats()
    assert st["arp_requests_tx"] == 3 and st["drop_arp_unresolved"] == 1
    assert _entries(rig) == [] and rig.iface.q_len == [0] * rig.cfg.arp_queue
    rig.advance(5000)
    assert rig.out() == []


def test_queued_frame_flushed_when_reply_arrives():
    rig = Rig()
    res, body = _send(rig, OTHER_IP, b"queued!")
    assert res == QUEUED and rig.out() == [_arp_req(OTHER_IP)]
    rig.advance(300)
    out = rig.step(arp_frame(arp.REPLY, OTHER_MAC, OTHER_IP, US_MAC, US_IP))
    assert out == [eth_frame(OTHER_MAC, US_MAC, ethernet.TYPE_IPV4, body)]
    assert _entries(rig) == [(OTHER_IP, OTHER_MAC, "valid")]
    assert rig.iface.q_len == [0] * rig.cfg.arp_queue
    rig.advance(5000)  # no retries once resolved
    assert rig.out() == []
    res, body = _send(rig, OTHER_IP, b"direct")
    assert res == SENT and rig.out() == [eth_frame(OTHER_MAC, US_MAC, ethernet.TYPE_IPV4, body)]
    _check_accounting(rig)


def test_arp_queue_is_bounded():
    rig = Rig(arp_queue=2)
    assert _send(rig, OTHER_IP)[0] == QUEUED
    assert _send(rig, OTHER_IP)[0] == QUEUED
    assert _send(rig, OTHER_IP)[0] == DROPPED
    assert rig.out() == [_arp_req(OTHER_IP)]  # one request for all three
    assert rig.stats()["drop_arp_queue_full"] == 1
    big = bytes(rig.cfg.arp_queue_slot_bytes - IP_PAYLOAD_OFF + 1)
    assert _send(rig, HOST4_IP, big)[0] == DROPPED
    assert rig.stats()["drop_arp_queue_oversize"] == 1


def test_arp_cache_is_bounded_and_evicts_least_recently_confirmed():
    rig = Rig(arp_entries=2)
    rig.learn(PEER_IP, PEER_MAC)
    rig.advance(10)
    rig.learn(OTHER_IP, OTHER_MAC)
    rig.advance(10)
    rig.learn(PEER_IP, PEER_MAC)  # confirms PEER again: OTHER is now the oldest
    rig.advance(10)
    rig.learn(HOST4_IP, HOST4_MAC)
    assert _entries(rig) == [(PEER_IP, PEER_MAC, "valid"), (HOST4_IP, HOST4_MAC, "valid")]
    assert rig.stats()["arp_evictions"] == 1


def test_evicting_a_pending_entry_drops_its_queued_frames():
    rig = Rig(arp_entries=1, arp_queue=2)
    assert _send(rig, OTHER_IP)[0] == QUEUED
    rig.out()
    rig.learn(PEER_IP, PEER_MAC)  # a host asking for us does not take it ...
    assert _entries(rig) == [(OTHER_IP, ZERO_MAC, "pending")]
    assert _send(rig, PEER_IP)[0] == QUEUED  # ... a datagram of ours does
    rig.out()
    rig.step(arp_frame(arp.REPLY, PEER_MAC, PEER_IP, US_MAC, US_IP))
    assert _entries(rig) == [(PEER_IP, PEER_MAC, "valid")]
    assert rig.stats()["drop_arp_unresolved"] == 1
    assert rig.iface.q_len == [0, 0]  # no queue slot stays held by a forgotten address
    rig.step(arp_frame(arp.REPLY, OTHER_MAC, OTHER_IP, US_MAC, US_IP))
    assert rig.out() == []


def test_unsolicited_reply_ignored():
    rig = Rig()
    out = rig.step(arp_frame(arp.REPLY, OTHER_MAC, OTHER_IP, US_MAC, US_IP))
    assert out == [] and _entries(rig) == []
    assert drops(rig.stats()) == {"arp_unsolicited": 1}
    # a flood cannot push out a known entry
    rig.learn(PEER_IP, PEER_MAC)
    for k in range(20):
        ip = ipv4.aton("192.0.2.%d" % (100 + k))
        rig.step(arp_frame(arp.REPLY, OTHER_MAC, ip, US_MAC, US_IP))
    assert _entries(rig) == [(PEER_IP, PEER_MAC, "valid")]
    assert rig.stats()["drop_arp_unsolicited"] == 21
    _check_accounting(rig)


def _spoofed_requests_for_us(rig, count):
    """count ARP requests for our address from senders we never heard of."""
    for k in range(count):
        ip = ipv4.aton("192.0.2.%d" % (100 + k))
        mac = b"\x02\x00\x00\x00\x02" + bytes([k])
        out = rig.step(arp_frame(arp.REQUEST, mac, ip, ZERO_MAC, US_IP))
        assert out == [arp_frame(arp.REPLY, US_MAC, US_IP, mac, ip)]  # still answered


def test_arp_request_flood_keeps_the_gateway_entry():
    rig = Rig(arp_entries=4)
    assert _send(rig, FAR_IP, b"far")[0] == QUEUED  # resolves the gateway
    rig.step(arp_frame(arp.REPLY, GW_MAC, GW_IP, US_MAC, US_IP))
    rig.advance(1000)
    _spoofed_requests_for_us(rig, 10)
    assert (GW_IP, GW_MAC, "valid") in _entries(rig)
    res, body = _send(rig, FAR_IP, b"still")
    assert res == SENT and rig.out() == [eth_frame(GW_MAC, US_MAC, ethernet.TYPE_IPV4, body)]
    _check_accounting(rig)


def test_arp_request_flood_keeps_hosts_we_send_to():
    rig = Rig(arp_entries=3)
    for ip, mac in ((PEER_IP, PEER_MAC), (OTHER_IP, OTHER_MAC)):
        assert _send(rig, ip)[0] == QUEUED
        rig.step(arp_frame(arp.REPLY, mac, ip, US_MAC, US_IP))
    rig.advance(1000)
    _spoofed_requests_for_us(rig, 10)
    # the spoofed askers share the one slot left: each replaces the last
    ents = _entries(rig)
    assert (PEER_IP, PEER_MAC, "valid") in ents and (OTHER_IP, OTHER_MAC, "valid") in ents
    assert len(ents) == 3 and ents[2][0] == ipv4.aton("192.0.2.109"), ents
    res, body = _send(rig, PEER_IP, b"x")
    assert res == SENT and rig.out() == [eth_frame(PEER_MAC, US_MAC, ethernet.TYPE_IPV4, body)]


def test_arp_request_for_us_with_a_full_cache_of_used_entries_creates_nothing():
    rig = Rig(arp_entries=1)
    assert _send(rig, PEER_IP)[0] == QUEUED
    rig.step(arp_frame(arp.REPLY, PEER_MAC, PEER_IP, US_MAC, US_IP))
    _spoofed_requests_for_us(rig, 1)  # answered, not kept
    assert _entries(rig) == [(PEER_IP, PEER_MAC, "valid")]
    # the asker's own traffic still gets through: we resolve it when we answer
    assert _send(rig, OTHER_IP)[0] == QUEUED
    assert rig.out() == [_arp_req(OTHER_IP)]


def test_unsolicited_reply_refreshes_existing_entry():
    rig = Rig()
    rig.learn(PEER_IP, PEER_MAC)
    new_mac = b"\x02\x00\x00\x00\x01\x0b"
    assert rig.step(arp_frame(arp.REPLY, new_mac, PEER_IP, US_MAC, US_IP)) == []
    assert _entries(rig) == [(PEER_IP, new_mac, "valid")]
    assert rig.stats()["in_arp"] == 2
    _check_accounting(rig)


def test_gratuitous_arp_from_known_host_refreshes_entry():
    rig = Rig()
    rig.learn(PEER_IP, PEER_MAC)
    new_mac = b"\x02\x00\x00\x00\x01\x0b"
    assert rig.step(arp_frame(arp.REQUEST, new_mac, PEER_IP, ZERO_MAC, PEER_IP)) == []
    assert _entries(rig) == [(PEER_IP, new_mac, "valid")]


def test_frames_follow_a_known_host_to_its_new_mac():
    # send_ip_h keeps the last destination's Ethernet addresses (its fast
    # path): a reply or a gratuitous request with a new MAC must reach it
    rig = Rig()
    rig.learn(PEER_IP, PEER_MAC)
    for _ in range(2):  # the second takes the memo of the first
        res, body = _send(rig, PEER_IP)
        assert res == SENT and rig.out() == [eth_frame(PEER_MAC, US_MAC, ethernet.TYPE_IPV4, body)]
    new_mac = b"\x02\x00\x00\x00\x01\x0b"
    rig.step(arp_frame(arp.REPLY, new_mac, PEER_IP, US_MAC, US_IP))
    res, body = _send(rig, PEER_IP)
    assert res == SENT and rig.out() == [eth_frame(new_mac, US_MAC, ethernet.TYPE_IPV4, body)]
    rig.step(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, ZERO_MAC, PEER_IP))
    res, body = _send(rig, PEER_IP, proto=ipv4.PROTO_TCP)
    assert res == SENT and rig.out() == [eth_frame(PEER_MAC, US_MAC, ethernet.TYPE_IPV4, body)]


def test_entry_ages_out_across_wrap():
    rig = Rig(start_ms=NEAR_WRAP - 100, arp_timeout_ms=5000, arp_refresh_ms=4000)
    rig.learn(PEER_IP, PEER_MAC)
    rig.advance(5000)
    assert _entries(rig) == [(PEER_IP, PEER_MAC, "valid")]
    rig.advance(100)
    assert _entries(rig) == []


def test_used_entry_is_confirmed_by_unicast_request():
    rig = Rig(start_ms=NEAR_WRAP - 3000, arp_timeout_ms=5000, arp_refresh_ms=4000)
    rig.learn(PEER_IP, PEER_MAC)
    rig.advance(4100)
    res, body = _send(rig, PEER_IP)
    assert res == SENT
    assert rig.out() == [eth_frame(PEER_MAC, US_MAC, ethernet.TYPE_IPV4, body),
                         arp_frame(arp.REQUEST, US_MAC, US_IP, ZERO_MAC, PEER_IP, eth_dst=PEER_MAC)]
    _send(rig, PEER_IP)
    assert len(rig.out()) == 1  # one confirmation at a time
    rig.step(arp_frame(arp.REPLY, PEER_MAC, PEER_IP, US_MAC, US_IP))
    rig.advance(4900)  # past the first timeout: the reply renewed the entry
    assert _entries(rig) == [(PEER_IP, PEER_MAC, "valid")]


# -- ICMP echo

def test_echo_reply_for_every_size_up_to_mtu():
    rig = Rig()
    for size in range(0, 1473):
        data = PATTERN[:size]
        out = rig.step(ping_frame(data, ident=size, seq=size ^ 0x5A5A))
        want = ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, size, size ^ 0x5A5A, data),
                          eth_dst=PEER_MAC, eth_src=US_MAC, ident=rig.reply_ident())
        assert out == [want], size
    st = rig.stats()
    assert st["icmp_echo_replies_tx"] == 1473 and st["in_icmp"] == 1473
    _check_accounting(rig)


def test_echo_reply_checksum_at_its_edges():
    # The reply's checksum is derived from the request's (RFC 1624 eqn 3):
    # it must equal the one computed over the reply, also where the sum
    # folds to the ones'-complement zeros: data 0xFFFF gives a reply
    # checksum of 0x0000, data 0xF7FF a request checksum of 0x0000; and a
    # request with a non-zero code gets code 0 back.
    rig = Rig()
    for data in (b"\xff\xff", b"\xf7\xff", b"\x00\x00", b"\xff\xff" * 7 + b"\x01"):
        for ident, seq in ((0, 0), (0xFFFF, 0xFFFF), (0x0800, 0xF7FF)):
            out = rig.step(ping_frame(data, ident=ident, seq=seq))
            want = ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, ident, seq, data),
                              eth_dst=PEER_MAC, eth_src=US_MAC, ident=rig.reply_ident())
            assert out == [want], (data, ident, seq)
    req = bytearray(icmp_echo(icmp.ECHO_REQUEST, 1, 2, b"xy"))
    req[1] = 5
    req[2] = req[3] = 0
    c = checksum(req, 0, len(req))
    req[2] = c >> 8
    req[3] = c & 0xFF
    out = rig.step(ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_ICMP, bytes(req)))
    assert out == [ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 1, 2, b"xy"),
                              eth_dst=PEER_MAC, eth_src=US_MAC, ident=rig.reply_ident())]
    _check_accounting(rig)


def test_ip_identification_tells_nothing_about_our_traffic():
    # RFC 6864 4.1: our datagrams are atomic (DF, never fragmented), so the
    # ID may be anything; a counter would let a prober count what we send to
    # others (the idle scan).  Echo replies to one host around UDP to another
    # all carry the same ID.
    rig = Rig()
    rig.learn(OTHER_IP, OTHER_MAC)
    ids = []
    for k in range(5):
        out = rig.step(ping_frame(b"probe", seq=k))
        assert len(out) == 1
        ids.append((out[0][18] << 8) | out[0][19])
        assert out[0][20] & 0x40  # DF: atomic
        for _ in range(3):
            assert _send(rig, OTHER_IP, b"to someone else")[0] == SENT
        rig.out()
    assert ids == [0] * 5, ids


def test_echo_in_padded_frame_replies_with_datagram_only():
    rig = Rig()
    out = rig.step(pad60(ping_frame(b"ab")))
    assert out == [ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, 1, b"ab"),
                              eth_dst=PEER_MAC, eth_src=US_MAC, ident=rig.reply_ident())]


def _retagged(frame, tos, ttl, ident, flags):
    # the request's IPv4 header with other TOS, TTL, ID and flags (checksum fixed)
    f = bytearray(frame)
    f[15] = tos
    f[22] = ttl
    f[18] = ident >> 8
    f[19] = ident & 0xFF
    f[20] = flags >> 8
    f[21] = flags & 0xFF
    f[24] = f[25] = 0
    c = checksum(f, 14, 34)
    f[24] = c >> 8
    f[25] = c & 0xFF
    return bytes(f)


def test_echo_reply_header_is_ours_not_the_requests():
    # The reply is made in the request's own buffer, but its IPv4 header is
    # the one we send every datagram with: TOS 0, our TTL, ID 0, DF; the
    # request's TOS, TTL, ID and flags do not leak into it.
    rig = Rig(ttl=200)
    for tos, ttl, ident, flags in ((0xB8, 1, 0xBEEF, 0), (0, 255, 0xFFFF, 0x4000), (0x04, 64, 0, 0x8000)):
        out = rig.step(_retagged(ping_frame(b"abc", seq=ident), tos, ttl, ident, flags))
        assert out == [ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, ident, b"abc"),
                                  eth_dst=PEER_MAC, eth_src=US_MAC, ttl=200, ident=rig.reply_ident())], (tos, ttl)
    _check_accounting(rig)


def test_echo_request_with_ip_options_gets_a_plain_reply():
    # RFC 1122 3.2.2.6: options of the request may be left out of the reply;
    # the message (identifier, sequence, data) comes back whole.
    rig = Rig()
    for options in (b"\x01\x01\x01\x00", b"\x07\x07\x04" + bytes(5)):  # NOPs + EOL; record route
        req = ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REQUEST, 7, 9, PATTERN[:40]),
                         options=options)
        out = rig.step(req)
        assert out == [ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 7, 9, PATTERN[:40]),
                                  eth_dst=PEER_MAC, eth_src=US_MAC, ident=rig.reply_ident())], options
    st = rig.stats()
    assert st["icmp_echo_replies_tx"] == 2 and st["in_icmp"] == 2
    _check_accounting(rig)


def test_echo_reply_is_made_in_the_receive_buffer():
    # No copy of the message into the TX buffer: a reply leaves tx as it
    # was (a segment or datagram being built there is not disturbed).
    rig = Rig()
    tx = rig.iface.tx
    for i in range(len(tx)):
        tx[i] = (i * 5 + 1) & 0xFF
    before = bytes(tx)
    out = rig.step(ping_frame(PATTERN[:1000]))
    assert len(out) == 1 and out[0][34] == icmp.ECHO_REPLY
    assert bytes(tx) == before


def test_ip_header_checksum_of_every_length():
    # _emit_ip sums the header's words instead of the packed bytes: every
    # length (the sum crossing 0xFFFF and folding to the checksum 0x0000 on
    # the way) against the header emitted and summed byte by byte.
    rig = Rig(ttl=246)  # (the checksum is 0x0000 at 213 bytes of UDP to the peer)
    rig.learn()
    tx = rig.iface.tx
    pattern = PATTERN + PATTERN[:8]
    seen_zero = False
    for n in range(0, 1481):
        tx[IP_PAYLOAD_OFF:IP_PAYLOAD_OFF + n] = pattern[:n]
        assert rig.iface.send_ip(PEER_IP, ipv4.PROTO_UDP, n, rig.now) == SENT
        body = ip_packet(US_IP, PEER_IP, ipv4.PROTO_UDP, pattern[:n], ttl=246, ident=rig.reply_ident())
        out = rig.out()
        assert out == [eth_frame(PEER_MAC, US_MAC, ethernet.TYPE_IPV4, body)], n
        seen_zero = seen_zero or (out[0][24] == 0 and out[0][25] == 0)
    assert seen_zero


def test_frame_over_mtu_dropped_not_crashed():
    rig = Rig()
    assert rig.step(ping_frame(PATTERN + b"x")) == []
    assert drops(rig.stats()) == {"eth_oversize": 1}
    _check_accounting(rig)


def test_broadcast_echo_ignored():
    rig = Rig()
    assert rig.step(ping_frame(b"hi", dst=SUBNET_BCAST, eth_dst=BCAST_MAC)) == []
    assert rig.step(ping_frame(b"hi", dst=0xFFFFFFFF, eth_dst=BCAST_MAC)) == []
    assert drops(rig.stats()) == {"icmp_broadcast": 2}
    _check_accounting(rig)


# -- ICMP errors

def _unreach(code, datagram, ident):
    return ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_error(icmp.DEST_UNREACH, code, datagram),
                      eth_dst=PEER_MAC, eth_src=US_MAC, ident=ident)


def test_udp_to_closed_port_gets_port_unreachable():
    rig = Rig()
    f = pad60(udp_frame(5000, 9, b"hi"))
    out = rig.step(f)
    assert out == [_unreach(icmp.CODE_PORT_UNREACH, f[14:14 + 30], rig.reply_ident())]
    st = rig.stats()
    assert st["icmp_errors_tx"] == 1 and drops(st) == {"udp_port_unreach": 1}
    _check_accounting(rig)


def test_udp_to_port_0_gets_port_unreachable_not_an_empty_hook_slot():
    # an empty internal-user slot holds port 0 (udp.hooks): a datagram to port 0
    # (reserved, RFC 768) was handed to its None (an internal error, fuzz.py)
    rig = Rig()
    f = pad60(udp_frame(5000, 0, b"hi"))
    out = rig.step(f)
    assert out == [_unreach(icmp.CODE_PORT_UNREACH, f[14:14 + 30], rig.reply_ident())]
    st = rig.stats()
    assert st["internal_errors"] == 0 and drops(st) == {"udp_port_unreach": 1}
    _check_accounting(rig)


def test_port_unreachable_is_rate_limited():
    rig = Rig(start_ms=NEAR_WRAP - 200, icmp_rate_per_s=3)
    n = 0
    for k in range(5):
        n += len(rig.step(udp_frame(5000 + k, 9, b"x")))
    assert n == 3 and rig.stats()["icmp_rate_limited"] == 2
    rig.advance(999)
    assert rig.step(udp_frame(6000, 9, b"x")) == []
    rig.advance(1)  # a new second (across the wrap) refills the budget
    assert len(rig.step(udp_frame(6001, 9, b"x"))) == 1


def test_rate_limit_refills_whatever_the_clock_reads_at_start():
    # 2**29 + x is "before" 0 on the wrapping clock: the budget must still refill
    rig = Rig(start_ms=(1 << 29) + 7, icmp_rate_per_s=1)
    assert len(rig.step(udp_frame(5000, 9, b"x"))) == 1
    assert rig.step(udp_frame(5001, 9, b"x")) == []
    rig.advance(1000)
    assert len(rig.step(udp_frame(5002, 9, b"x"))) == 1


def test_no_port_unreachable_for_broadcast_or_bad_udp():
    rig = Rig()
    assert rig.step(udp_frame(5000, 9, b"x", dst=SUBNET_BCAST, eth_dst=BCAST_MAC)) == []
    f = bytearray(udp_frame(5000, 9, b"xy"))
    f[-1] ^= 1  # UDP checksum now wrong: RFC 1122 4.1.3.4 silently discard
    assert rig.step(bytes(f)) == []
    f = bytearray(udp_frame(5000, 9, b"xy"))
    f[14 + 20 + 5] = 40  # UDP length beyond the datagram
    assert rig.step(bytes(f)) == []
    assert drops(rig.stats()) == {"udp_port_unreach": 1, "udp_checksum": 1, "udp_len": 1}
    assert rig.stats()["icmp_errors_tx"] == 0
    _check_accounting(rig)


def test_unknown_protocol_gets_protocol_unreachable():
    rig = Rig()
    f = ipv4_frame(PEER_IP, US_IP, 253, b"experimental")
    out = rig.step(f)
    assert out == [_unreach(icmp.CODE_PROTO_UNREACH, f[14:], rig.reply_ident())]
    assert drops(rig.stats()) == {"ip_proto": 1}
    _check_accounting(rig)


def test_icmp_error_quotes_at_most_548_bytes():
    rig = Rig()
    f = ipv4_frame(PEER_IP, US_IP, 253, PATTERN[:600])
    out = rig.step(f)
    assert out == [_unreach(icmp.CODE_PROTO_UNREACH, f[14:14 + 548], rig.reply_ident())]
    assert len(out[0]) == 14 + 576


# -- routing

def test_on_link_destination_is_resolved_directly():
    rig = Rig()
    assert _send(rig, OTHER_IP)[0] == QUEUED
    assert rig.out() == [_arp_req(OTHER_IP)]


def test_off_link_destination_goes_via_gateway():
    rig = Rig()
    res, body = _send(rig, FAR_IP, b"far away")
    assert res == QUEUED
    assert rig.out() == [_arp_req(GW_IP)]
    out = rig.step(arp_frame(arp.REPLY, GW_MAC, GW_IP, US_MAC, US_IP))
    assert out == [eth_frame(GW_MAC, US_MAC, ethernet.TYPE_IPV4, body)]
    res, body = _send(rig, ipv4.aton("203.0.113.9"), b"other far")
    assert res == SENT and rig.out() == [eth_frame(GW_MAC, US_MAC, ethernet.TYPE_IPV4, body)]


def test_off_link_without_gateway_is_no_route():
    rig = Rig(gateway="0.0.0.0")
    assert _send(rig, FAR_IP)[0] == NO_ROUTE
    assert rig.out() == [] and rig.stats()["drop_no_route"] == 1


def test_broadcast_and_multicast_need_no_arp():
    rig = Rig()
    res, body = _send(rig, SUBNET_BCAST)
    assert res == SENT and rig.out() == [eth_frame(BCAST_MAC, US_MAC, ethernet.TYPE_IPV4, body)]
    res, body = _send(rig, ipv4.aton("224.0.0.251"))
    assert res == SENT
    assert rig.out() == [eth_frame(b"\x01\x00\x5e\x00\x00\xfb", US_MAC, ethernet.TYPE_IPV4, body)]


# -- malformed frames: each class ends in its own drop counter, nothing is sent

def _refix_ip(f):
    b = bytearray(f)
    b[24] = b[25] = 0
    hl = (b[14] & 15) * 4
    c = checksum(b, 14, 14 + hl)
    b[24] = c >> 8
    b[25] = c & 0xFF
    return bytes(b)


def _patch(f, i, v, fix_ip=True):
    b = bytearray(f)
    b[i] = v
    return _refix_ip(b) if fix_ip else bytes(b)


def _tcp_frame(options=b"", hlen=None, corrupt=False):
    n = 20 + len(options)
    seg = bytearray(n)
    tcp.emit(seg, 0, 40000, 80, 1, 0, tcp.SYN, 1000, n if hlen is None else hlen)
    seg[20:] = options
    tcp.finish(seg, 0, n, PEER_IP, US_IP)
    if corrupt:
        seg[4] ^= 0x80
    return ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_TCP, seg)


def _malformed():
    ping = ping_frame(b"abcdefgh")
    arp_ok = arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, ZERO_MAC, US_IP)
    icmp_ts = bytearray(icmp_echo(13, 1, 1, bytes(12)))  # timestamp request: not served
    return (
        ("eth_short", bytes(13)),
        ("eth_short", eth_frame(US_MAC, PEER_MAC, ethernet.TYPE_VLAN, b"")),
        ("eth_vlan", eth_frame(US_MAC, PEER_MAC, ethernet.TYPE_IPV4, ping[14:], vlan=5)),
        ("eth_type", eth_frame(US_MAC, PEER_MAC, 0x86DD, bytes(40))),
        ("eth_not_for_us", ping_frame(b"x", eth_dst=OTHER_MAC)),
        ("eth_oversize", ping_frame(PATTERN + b"x")),
        ("arp_malformed", arp_ok[:41]),
        ("arp_malformed", _patch(arp_ok, 14 + 4, 8, False)),
        ("arp_malformed", _patch(arp_ok, 14 + 7, 9, False)),
        ("arp_not_for_us", arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, ZERO_MAC, OTHER_IP)),
        ("arp_unsolicited", arp_frame(arp.REPLY, OTHER_MAC, OTHER_IP, US_MAC, US_IP)),
        ("ip_short", ping[:14 + 19]),
        ("ip_version", _patch(ping, 14, 0x65)),
        ("ip_ihl", _patch(ping, 14, 0x44)),
        ("ip_ihl", _patch(ping, 14, 0x4F)),
        ("ip_len", _patch(ping, 17, 0xFF)),
        ("ip_len", _patch(ping, 17, 10)),
        ("ip_checksum", _patch(ping, 14 + 12, 1, False)),
        ("ip_fragment", _patch(ping, 14 + 6, 0x20)),
        ("ip_fragment", _patch(ping, 14 + 7, 0x10)),
        ("ip_ttl", ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_ICMP, icmp_echo(8, 1, 1, b"x"), ttl=0)),
        ("ip_not_for_us", ping_frame(b"x", dst=OTHER_IP)),
        ("ip_bad_src", ping_frame(b"x", src=SUBNET_BCAST)),
        ("ip_bad_src", ping_frame(b"x", src=0xFFFFFFFF)),
        ("ip_bad_src", ping_frame(b"x", src=ipv4.aton("224.0.0.1"))),
        ("ip_bad_src", ping_frame(b"x", src=ipv4.aton("127.0.0.1"))),
        ("icmp_short", ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_ICMP, b"\x08\x00\xf7\xff")),
        ("icmp_checksum", _patch(ping, len(ping) - 1, 0, False)),
        ("icmp_type", ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_ICMP, bytes(icmp_ts))),
        ("icmp_broadcast", ping_frame(b"x", dst=SUBNET_BCAST, eth_dst=BCAST_MAC)),
        ("icmp_short", ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_ICMP,
                                  icmp_error(icmp.DEST_UNREACH, 3, bytes(20)))),
        ("udp_short", ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_UDP, b"\x00\x01\x00\x02")),
        ("udp_len", _patch(udp_frame(1, 2, b"abc"), 14 + 20 + 5, 7, False)),
        ("udp_checksum", _patch(udp_frame(1, 2, b"abc"), len(udp_frame(1, 2, b"abc")) - 1, 0, False)),
        ("tcp_short", ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_TCP, bytes(19))),
        ("tcp_hlen", _tcp_frame(hlen=16)),
        ("tcp_hlen", _tcp_frame(hlen=24)),
        ("tcp_checksum", _tcp_frame(corrupt=True)),
        ("tcp_options", _tcp_frame(b"\x02\x03\x05\xb4")),
        ("tcp_options", _tcp_frame(b"\x01\x01\x08\x0b" + bytes(8))),
    )


def _each_malformed_counted(rig):
    """Every frame of _malformed(): no answer, and counted once under its reason."""
    for reason, f in _malformed():
        before = rig.stats()
        out = rig.step(f)
        after = rig.stats()
        assert out == [], (reason, out)
        changed = dict((k, after[k] - before.get(k, 0)) for k in after if after[k] != before.get(k, 0))
        assert changed == {"rx_frames": 1, "rx_bytes": len(f), "drop_" + reason: 1}, (reason, changed)


def test_every_malformed_class_counted_under_its_reason():
    rig = Rig()
    _each_malformed_counted(rig)
    _check_accounting(rig)
    # and the stack still answers
    assert len(rig.step(ping_frame(b"still here"))) == 1


def test_malformed_classes_counted_the_same_once_echo_is_armed():
    # Once the application compiled tcpip.wire.echo.accept (MicroPython
    # with viper), the interface answers echo requests by it: it must
    # leave every frame it does not answer to the general path, untouched,
    # so each is still counted under its own reason.
    from tcpip.wire import echo
    echo.compile_accept()
    rig = Rig()
    assert len(rig.step(ping_frame(b"arm"))) == 1
    _each_malformed_counted(rig)
    # what the fast path must leave to the general path, answered as before
    req = ping_frame(b"to the broadcast MAC", eth_dst=BCAST_MAC)
    assert rig.step(req) == [ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP,
                                        icmp_echo(icmp.ECHO_REPLY, 0x1234, 1, b"to the broadcast MAC"),
                                        eth_dst=PEER_MAC, eth_src=US_MAC, ident=rig.reply_ident())]
    _check_accounting(rig)


def test_echo_replies_follow_address_and_ttl_changes():
    from tcpip.wire import echo
    echo.compile_accept()  # (the fast path, where the runtime has one)
    rig = Rig()
    assert len(rig.step(ping_frame(b"one"))) == 1
    new_ip = ipv4.aton("192.0.2.9")
    rig.iface.configure(new_ip, 24, GW_IP)
    rig.poll()
    rig.out()  # (the announcement)
    assert rig.step(ping_frame(b"old")) == []
    assert drops(rig.stats()) == {"ip_not_for_us": 1}
    out = rig.step(ping_frame(b"new", dst=new_ip))
    assert out == [ipv4_frame(new_ip, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, 1, b"new"),
                              eth_dst=PEER_MAC, eth_src=US_MAC, ident=rig.reply_ident())]
    rig.cfg.ttl = 9
    out = rig.step(ping_frame(b"ttl", dst=new_ip))
    assert out == [ipv4_frame(new_ip, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, 1, b"ttl"),
                              eth_dst=PEER_MAC, eth_src=US_MAC, ttl=9, ident=rig.reply_ident())]
    # a /32 has no subnet broadcast address: a source that would be one elsewhere is answered
    rig.iface.configure(new_ip, 32, GW_IP)
    rig.poll()
    rig.out()
    assert len(rig.step(ping_frame(b"arm", dst=new_ip))) == 1
    src = ipv4.aton("192.0.2.255")
    out = rig.step(ping_frame(b"bc", src=src, dst=new_ip, eth_src=OTHER_MAC))
    assert out == [ipv4_frame(new_ip, src, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, 1, b"bc"),
                              eth_dst=OTHER_MAC, eth_src=US_MAC, ttl=9, ident=rig.reply_ident())]
    _check_accounting(rig)


def test_echo_fast_path_compiles_wherever_the_checksum_is_viper():
    # (a viper source that stopped compiling would leave every echo to the
    # general path, and the tests comparing the two would compare it with itself)
    from tcpip.wire import echo, checksum
    assert (echo.compile_accept() is not None) == (checksum.IMPL == "viper")


def test_echo_fast_path_agrees_with_the_general_path_on_mutated_requests():
    # Requests with one or two bytes changed (headers mostly, the IPv4
    # checksum fixed or not), each to two interfaces: one answering by the
    # fast path where the runtime has it, one by the general path only.
    # Same frames out, same counters.
    from tcpip.wire import echo
    from xorshift import Xorshift32
    fast = Rig()
    general = Rig()
    accept = echo.compile_accept()
    base = ping_frame(PATTERN[:37])
    r = Xorshift32(13)
    for k in range(600):
        f = bytearray(base)
        for _ in range(1 + (k & 1)):
            v = r.next()
            i = (v >> 8) % 60 if v & 3 else (v >> 8) % len(f)
            f[i] = (v >> 16) & 0xFF
        f = _refix_ip(f) if v & 4 else bytes(f)
        if k % 7 == 0:
            f = bytes(base)  # (a good one now and then: keeps the fast path armed)
        a = fast.step(f)
        echo.accept = None
        try:
            b = general.step(f)
        finally:
            echo.accept = accept
        assert a == b, (k, f)
    assert fast.stats() == general.stats()
    assert fast.stats()["icmp_echo_replies_tx"] > 86


def _echo_reply(rig, data):
    return ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, 1, data),
                      eth_dst=PEER_MAC, eth_src=US_MAC, ident=rig.reply_ident())


def test_echo_request_taken_by_the_idle_poll_is_answered_there():
    # Stack.poll's idle shortcut (no deadline due) answers an echo request
    # by echo.accept itself, without the full poll (its stack lock): the
    # reply as the general path makes it, counted the same; poll returns 0
    # (more frames may wait).
    from tcpip.wire import echo
    if echo.compile_accept() is None:
        return  # (CPython, no native emitter: only the general path)
    rig = Rig()
    assert rig.step(ping_frame(b"arm")) == [_echo_reply(rig, b"arm")]
    nic = rig.stack.nic
    send = nic.send
    locked = []

    def send_seeing_the_lock(frame):
        locked.append(rig.stack.busy)
        send(frame)

    nic.send = send_seeing_the_lock
    rig.poll()
    before = rig.stats()
    rig.inject(ping_frame(PATTERN[:56]))
    assert rig.poll() == 0
    assert rig.out() == [_echo_reply(rig, PATTERN[:56])]
    assert locked == [0]
    after = rig.stats()
    changed = dict((k, after[k] - before.get(k, 0)) for k in after if after[k] != before.get(k, 0))
    assert changed == {"rx_frames": 1, "rx_bytes": 14 + 20 + 8 + 56, "in_icmp": 1,
                       "icmp_echo_replies_tx": 1, "tx_frames": 1, "tx_bytes": 14 + 20 + 8 + 56}, changed
    # not an echo request: the full poll takes it
    assert rig.step(udp_frame(5000, 9, b"hi"))[0][23] == ipv4.PROTO_ICMP  # port unreachable
    assert locked == [0, 1]
    _check_accounting(rig)


def test_machine_code_echo_replies_of_changing_sizes_each_go_out_whole():
    # accept sends its reply itself through a view of rx kept for the last
    # length it sent (a memoryview slice is a heap object): a reply of
    # another length, and one the general path sent in between, each go
    # out at their own length, byte for byte the general path's.
    from tcpip.wire import echo
    if echo.compile_accept() is None:
        return  # (CPython, no native emitter: only the general path)
    rig = Rig()
    assert rig.step(ping_frame(b"arm")) == [_echo_reply(rig, b"arm")]
    for data in (PATTERN[:56], PATTERN[:57], PATTERN[:56], b"", PATTERN[:1472], PATTERN[:56]):
        assert rig.step(ping_frame(data)) == [_echo_reply(rig, data)], len(data)
    # a reply by the general path (a broadcast MAC: accept declines) in between
    assert rig.step(ping_frame(PATTERN[:30], eth_dst=BCAST_MAC)) == [_echo_reply(rig, PATTERN[:30])]
    assert rig.step(ping_frame(PATTERN[:30])) == [_echo_reply(rig, PATTERN[:30])]
    assert rig.step(ping_frame(PATTERN[:56])) == [_echo_reply(rig, PATTERN[:56])]
    assert rig.stats()["icmp_echo_replies_tx"] == 10
    _check_accounting(rig)


def test_a_driver_error_in_the_idle_polls_echo_reply_is_counted_and_polling_goes_on():
    from tcpip.wire import echo
    if echo.compile_accept() is None:
        return  # (CPython, no native emitter: only the general path)
    rig = Rig()
    assert len(rig.step(ping_frame(b"arm"))) == 1
    nic = rig.stack.nic
    send = nic.send

    def broken(frame):
        raise ValueError("driver bug")

    nic.send = broken
    rig.poll()  # (the timers: an idle poll next)
    assert rig.step(ping_frame(b"lost")) == []
    assert rig.stats()["internal_errors"] == 1
    nic.send = send
    assert rig.step(ping_frame(b"again")) == [_echo_reply(rig, b"again")]
    assert rig.step(udp_frame(5000, 9, b"hi"))[0][23] == ipv4.PROTO_ICMP


def test_a_nic_send_error_on_a_machine_code_echo_reply_counts_as_tx_errors_on_both_paths():
    # The idle poll's reply and input()'s (a full poll: a deadline due)
    # count a failed send as the general path's reply does: the reply
    # counted, tx_errors, no tx_frames, no internal error.
    from tcpip.wire import echo
    if echo.compile_accept() is None:
        return  # (CPython, no native emitter: only the general path)
    rig = Rig()
    assert len(rig.step(ping_frame(b"arm"))) == 1
    nic = rig.stack.nic
    send = nic.send

    def link_gone(frame):
        raise OSError(5)

    nic.send = link_gone
    rig.poll()
    for full in (False, True):
        if full:
            rig.iface.wake_at = None  # (something armed a deadline: the next poll is a full one)
        before = rig.stats()
        assert rig.step(ping_frame(b"lost")) == []
        after = rig.stats()
        changed = dict((k, after[k] - before.get(k, 0)) for k in after if after[k] != before.get(k, 0))
        changed.pop("link_up_events", None)
        assert changed == {"rx_frames": 1, "rx_bytes": 14 + 20 + 8 + 4, "in_icmp": 1,
                           "icmp_echo_replies_tx": 1, "tx_errors": 1}, (full, changed)
    nic.send = send
    assert rig.step(ping_frame(b"again")) == [_echo_reply(rig, b"again")]
    _check_accounting(rig)


def test_interface_without_transports_still_counts_every_frame():
    rig = Rig()
    rig.iface.tcp_input = None
    rig.iface.udp_input = None
    assert rig.step(_tcp_frame()) == []
    f = udp_frame(5000, 9, b"hi")
    assert rig.step(f) == [_unreach(icmp.CODE_PORT_UNREACH, f[14:], rig.reply_ident())]
    bad = bytearray(f)
    bad[-1] ^= 1
    assert rig.step(bytes(bad)) == []
    assert rig.step(ipv4_frame(PEER_IP, US_IP, ipv4.PROTO_UDP, b"\x00\x01")) == []
    assert drops(rig.stats()) == {"tcp_no_handler": 1, "udp_port_unreach": 1, "udp_checksum": 1,
                                  "udp_short": 1}
    _check_accounting(rig)


def test_tx_drop_keys_are_known_counters():
    st = Rig().stats()
    for k in TX_DROP_KEYS:
        assert k in st and k.startswith("drop_")


# -- the link itself delivers across the wrap

def _set_clock(rig, t):
    rig.now = t
    rig.link.now_ms = t


def test_link_delay_across_wrap():
    t = (1 << 30) - 15
    rig = Rig(start_ms=t, link_kw={"delay_ms": 10})
    _set_clock(rig, ticks_add(t, 10))
    assert rig.out() == [GARP]  # sent at t, due 10 ms later
    rig.inject(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, ZERO_MAC, US_IP))  # due 5 ms after the wrap
    rig.poll()
    assert rig.stats()["rx_frames"] == 0
    _set_clock(rig, ticks_add(rig.now, 10))
    assert rig.now == 5
    rig.poll()
    assert rig.stats()["rx_frames"] == 1
    assert rig.out() == []  # the reply is on its way (10 ms)
    _set_clock(rig, ticks_add(rig.now, 10))
    assert rig.out() == [arp_frame(arp.REPLY, US_MAC, US_IP, PEER_MAC, PEER_IP)]
    assert rig.link.next_due() is None


def test_tcp_segment_waits_for_arp_in_tcp_not_in_the_queue():
    # TCP takes no ARP queue slot (its bytes stay in the ring, a SYN is remade
    # from the state): the SYN to an unresolved host goes out as soon as the
    # reply comes, not at the 1 s retransmission timeout
    rig = Rig()
    c = rig.stack.tcp.open(ipv4.ntoa(OTHER_IP), 80)
    assert rig.out() == [_arp_req(OTHER_IP)]
    assert rig.iface.q_len == [0] * rig.cfg.arp_queue  # the slot stays free for UDP/ICMP
    rig.advance(300)
    assert rig.out() == []
    out = rig.step(arp_frame(arp.REPLY, OTHER_MAC, OTHER_IP, US_MAC, US_IP))
    syn = [f for f in out if f[23:24] == b"\x06"]
    assert len(syn) == 1 and syn[0][:6] == OTHER_MAC and syn[0][47] == 0x02, out  # SYN
    assert c.state_name() == "SYN-SENT" and rig.stats()["tcp_retransmits"] == 0
    rig.advance(500)  # the original RTO (1 s from open) still stands; nothing extra
    assert [f for f in rig.out() if f[23:24] == b"\x06"] == []


def test_received_ip_header_and_tcp_payload_sit_on_a_word_boundary():
    # iface.rx starts 2 bytes into its buffer: the IP header (offset 14) and
    # a TCP payload after 20-byte headers (offset 54) are 4-byte aligned like
    # the RX ring's data, so the viper copy into the ring moves whole words
    # (MicroPython; CPython has no addresses to ask about)
    try:
        import uctypes
    except ImportError:
        return
    rig = Rig()
    assert (uctypes.addressof(rig.iface.rx) + IP_PAYLOAD_OFF - 20) % 4 == 0
    assert (uctypes.addressof(rig.iface.rx) + IP_PAYLOAD_OFF + 20) % 4 == 0
    assert len(rig.iface.rx) == rig.iface.cfg.mtu + 14 + 4
