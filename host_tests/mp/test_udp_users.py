"""The stack's own UDP users (udp.py docstring): the DHCP client and the DNS
resolver attach to their ports instead of taking sockets from the UDP pool,
build their messages in the TX frame and read answers where they arrive.
Runs under CPython and MicroPython (host_tests/helpers/mprun.py)."""
from tcpip.config import Config
from tcpip.stack import Stack
from tcpip.compat import EADDRINUSE
from tcpip.wire import ipv4, dns as wdns
from framehelp import US_MAC, PEER_MAC, US_IP, PEER_IP, udp_frame
from tcphelp import FakeNic
from tcphelp import errno_of as _errno


def _stack(**cfg):
    nic = FakeNic(US_MAC)
    st = Stack(Config(mac=US_MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.254",
                      dns=["192.0.2.1"], **cfg), nic)
    arp = st.iface.arp
    i = arp.alloc(PEER_IP, 0)
    arp.set_valid(i, PEER_MAC, 0, 0)
    return st, nic


def _udp_sent(nic):
    """(sport, dport, payload) of every UDP datagram the stack sent."""
    out = []
    for f in nic.sent:
        if len(f) > 42 and f[12:14] == b"\x08\x00" and f[23] == 17:
            n = ((f[38] << 8) | f[39]) - 8
            out.append(((f[34] << 8) | f[35], (f[36] << 8) | f[37], bytes(f[42:42 + n])))
    return out


def _answer(query, addr, ttl=300):
    """A DNS response to query (bytes) with one A record for the question's name."""
    r = bytearray(query)
    r[2] = 0x81  # QR, RD
    r[3] = 0x80  # RA, rcode 0
    r[7] = 1  # ANCOUNT
    r += b"\xc0\x0c\x00\x01\x00\x01" + bytes([ttl >> 24, (ttl >> 16) & 255, (ttl >> 8) & 255, ttl & 255])
    r += b"\x00\x04" + bytes([(addr >> 24) & 255, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255])
    return bytes(r)


def test_dhcp_and_a_dns_query_leave_every_udp_socket_to_the_application():
    st, nic = _stack()
    st.start_dhcp(0)
    st.dns.start("board.test", 0)
    st.poll(1)
    sent = _udp_sent(nic)
    assert [s for s in sent if s[:2] == (68, 67)], sent  # DHCPDISCOVER from port 68
    assert [s for s in sent if s[1] == 53], sent  # the query
    eps = [st.udp.open() for _ in range(st.cfg.udp_sockets)]  # none of them taken
    assert len(eps) == 2 and all(ep.in_use for ep in eps)
    # the internal ports are taken for sockets too
    assert _errno(lambda: eps[0].bind(68)) == EADDRINUSE


def test_dns_answer_is_read_from_the_frame_it_arrived_in():
    st, nic = _stack()
    st.dns.start("board.test", 0)
    sport, dport, query = [s for s in _udp_sent(nic) if s[1] == 53][-1]
    assert dport == wdns.PORT and sport == st.dns.port
    # a stray datagram from another port, and one with the wrong id, are not taken
    nic.inbox.append(udp_frame(5353, sport, _answer(query, 0x0A000001)))
    bad = bytearray(_answer(query, 0x0A000002))
    bad[1] ^= 0xFF
    nic.inbox.append(udp_frame(53, sport, bytes(bad)))
    st.poll(2)
    assert st.dns.result("board.test", 2) is None
    assert st.stats()["dns_ignored_id"] == 1
    nic.inbox.append(udp_frame(53, sport, _answer(query, ipv4.aton("192.0.2.77"))))
    st.poll(3)
    assert st.dns.result("board.test", 3) == ipv4.aton("192.0.2.77")
    assert st.dns.port == 0 and not [p for p in st.udp.hooks[0::2] if p == sport]  # detached
    st2 = st.stats()
    assert st2["in_udp"] == 3 and st2["drop_udp_port_unreach"] == 0, st2


def test_each_retry_uses_a_new_random_port():
    st, nic = _stack(dns_timeout_ms=100, dns_retries=3)
    st.dns.start("slow.test", 0)
    ports = set()
    t = 0
    while st.dns.pending_name is not None and t < 2000:
        ports.add(st.dns.port)
        t += 10
        st.poll(t)
    queries = [s for s in _udp_sent(nic) if s[1] == 53]
    assert len(queries) == 3, queries  # one server, three rounds
    assert len(set(q[0] for q in queries)) == 3, queries  # RFC 5452 9.2
    assert len(set(q[2][:2] for q in queries)) == 3  # and a new id each time
    assert st.dns.port == 0 and st.udp.hooks[0::2] == [0, 0]


def test_dhcp_stop_detaches_port_68():
    st, nic = _stack()
    c = st.start_dhcp(0)
    assert 68 in st.udp.hooks[0::2]
    c.stop()
    assert 68 not in st.udp.hooks[0::2]
    ep = st.udp.open()
    ep.bind(68)  # free again
    assert ep.lport == 68
