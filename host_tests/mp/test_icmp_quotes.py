"""ICMP errors are checked against what they quote before anything acts on
them (RFC 5927): a whole IPv4 header from our address, of a protocol we send,
with its ports, and for TCP a sequence number we sent and the peer has not
acknowledged.  A forged quote is dropped and counted (``drop_icmp_quote``,
``drop_icmp_quote_seq``) and cannot abort a connection in SYN-SENT.
Runs under CPython and MicroPython (host_tests/helpers/mprun.py)."""
import tcpip
from tcpip.compat import ECONNREFUSED, ETIMEDOUT
from tcpip.wire import icmp, ipv4
from tcpip.wire.checksum import checksum
from tcpip.wire.ipv4 import aton
from tcphelp import Peer, PEER_IP, PEER_PORT, PEER_MAC, STACK_MAC, STACK_IP, errno_of
from framehelp import ipv4_frame, icmp_error

SEQ_OFF = 20 + 4  # the TCP sequence number in a quote with a 20-byte IP header


def _syn_sent():
    p = Peer()
    c = p.tcp.open(PEER_IP, PEER_PORT)
    syn = p.nic.sent[-1]
    p.out()
    return p, c, bytearray(syn[14:14 + 48])


def _refix_ip_checksum(q):
    ihl = (q[0] & 15) * 4
    q[10] = q[11] = 0
    c = checksum(q, 0, min(ihl, len(q)))
    q[10] = c >> 8
    q[11] = c & 0xFF


def _deliver(p, quoted, code=icmp.CODE_PORT_UNREACH):
    p.nic.inbox.append(ipv4_frame(aton(PEER_IP), aton(STACK_IP), ipv4.PROTO_ICMP,
                                  icmp_error(icmp.DEST_UNREACH, code, bytes(quoted)),
                                  eth_dst=STACK_MAC, eth_src=PEER_MAC))
    p.poll()


def _drops(p):
    st = p.stack.stats()
    return st["drop_icmp_quote"], st["drop_icmp_quote_seq"], st["in_icmp"]


def test_exact_quote_of_our_syn_refuses_syn_sent():
    p, c, q = _syn_sent()
    _deliver(p, q)
    assert c.error == ECONNREFUSED
    assert _drops(p) == (0, 0, 1)


def test_quote_with_ihl_below_five_is_dropped():
    p, c, q = _syn_sent()
    q[0] = 0x44  # IHL 16 bytes: the "ports" would sit inside the addresses
    _refix_ip_checksum(q)
    _deliver(p, q)
    assert c.error == 0 and c.state_name() == "SYN-SENT"
    assert _drops(p) == (1, 0, 0)


def test_quote_longer_header_than_the_quote_is_dropped():
    p, c, q = _syn_sent()
    q[0] = 0x4F  # IHL 60 bytes: no room for the ports in 48 quoted bytes
    _deliver(p, q[:48])
    assert c.error == 0
    assert _drops(p) == (1, 0, 0)


def test_quote_of_someone_elses_datagram_is_dropped():
    p, c, q = _syn_sent()
    q[12:16] = bytes([192, 0, 2, 77])  # inner source: not our address
    _refix_ip_checksum(q)
    _deliver(p, q)
    assert c.error == 0 and c.state_name() == "SYN-SENT"
    assert _drops(p) == (1, 0, 0)


def test_quote_of_a_protocol_we_do_not_send_is_dropped():
    p, c, q = _syn_sent()
    q[9] = 47  # GRE
    _refix_ip_checksum(q)
    _deliver(p, q)
    assert c.error == 0
    assert _drops(p) == (1, 0, 0)


def test_quote_with_a_sequence_number_we_did_not_send_cannot_abort_syn_sent():
    # RFC 5927 4.1: the blind attacker knows the ports but not our ISS
    p, c, q = _syn_sent()
    for delta in (1, 0x10000, 0x80000000):
        bad = bytearray(q)
        seq = ((q[SEQ_OFF] << 24) | (q[SEQ_OFF + 1] << 16) | (q[SEQ_OFF + 2] << 8) | q[SEQ_OFF + 3])
        seq = (seq + delta) & 0xFFFFFFFF
        bad[SEQ_OFF:SEQ_OFF + 4] = bytes([seq >> 24, (seq >> 16) & 0xFF, (seq >> 8) & 0xFF, seq & 0xFF])
        _deliver(p, bad)
    assert c.error == 0 and c.state_name() == "SYN-SENT"
    assert _drops(p) == (0, 3, 0)
    _deliver(p, q)  # the real one still works
    assert c.error == ECONNREFUSED


def test_forged_quote_does_not_fail_a_udp_socket():
    from tcpip.config import Config
    from tcpip.stack import Stack
    from tcphelp import FakeNic
    nic = FakeNic(STACK_MAC)
    st = Stack(Config(mac=STACK_MAC, ip=STACK_IP, prefix=24, gateway=PEER_IP), nic)
    arp = st.iface.arp
    i = arp.alloc(aton(PEER_IP), 0)
    arp.set_valid(i, PEER_MAC, 0, 0)
    tcpip.set_stack(st)
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    s.connect((PEER_IP, 9999))
    s.send(b"hello")
    q = bytearray(nic.sent[-1][14:14 + 28])
    q[12:16] = bytes([192, 0, 2, 77])
    _refix_ip_checksum(q)
    nic.inbox.append(ipv4_frame(aton(PEER_IP), aton(STACK_IP), ipv4.PROTO_ICMP,
                                icmp_error(icmp.DEST_UNREACH, icmp.CODE_PORT_UNREACH, bytes(q)),
                                eth_dst=STACK_MAC, eth_src=PEER_MAC))
    s.settimeout(0.05)
    assert errno_of(lambda: s.recv(10)) == ETIMEDOUT  # not ECONNREFUSED
    assert st.stats()["drop_icmp_quote"] == 1
    s.close()
