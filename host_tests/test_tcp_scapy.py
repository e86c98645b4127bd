"""TCP segments built and checked by scapy (an independent oracle for the wire
format: checksums, options, flags) against the stack on a fake NIC."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "helpers"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

scapy = pytest.importorskip("scapy")
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from tcphelp import Peer, PEER_IP, STACK_IP, PEER_MAC, STACK_MAC  # noqa: E402


def _mac(b):
    return ":".join("%02x" % x for x in b)


def _inject(p, seg):
    frame = Ether(src=_mac(PEER_MAC), dst=_mac(STACK_MAC)) / IP(src=PEER_IP, dst=STACK_IP) / seg
    p.nic.inbox.append(bytes(frame))
    p.poll()


def _replies(p):
    out = [Ether(f) for f in p.nic.sent if len(f) > 34 and f[23] == 6]
    p.nic.sent = []
    return out


def _checksums_ok(pkt):
    ip = pkt[IP]
    tcp = pkt[TCP]
    again = IP(bytes(ip))
    del again.chksum
    del again[TCP].chksum
    again = IP(bytes(again))
    return again.chksum == ip.chksum and again[TCP].chksum == tcp.chksum


def test_syn_with_every_option_gets_syn_ack_with_only_mss():
    p = Peer()
    p.tcp.listen(80)
    _inject(p, TCP(sport=33333, dport=80, flags="S", seq=1000, window=29200,
                   options=[("MSS", 1400), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                            ("WScale", 7)]))
    (r,) = _replies(p)
    t = r[TCP]
    assert t.flags == "SA" and t.ack == 1001 and t.window == 2920
    assert t.options == [("MSS", 1460)]
    assert t.sport == 80 and t.dport == 33333
    assert _checksums_ok(r)
    assert r[IP].ttl == 64 and r[IP].flags == "DF"
    _inject(p, TCP(sport=33333, dport=80, flags="A", seq=1001, ack=t.seq + 1, window=29200))
    c = p.tcp.accept(p.tcp.listeners[0])
    assert c is not None and c.snd_mss == 1400


def test_data_and_ack_checked_by_scapy():
    p = Peer()
    p.tcp.listen(80)
    _inject(p, TCP(sport=33334, dport=80, flags="S", seq=5, options=[("MSS", 1460)]))
    (sa,) = _replies(p)
    iss = sa[TCP].seq
    _inject(p, TCP(sport=33334, dport=80, flags="A", seq=6, ack=iss + 1))
    c = p.tcp.accept(p.tcp.listeners[0])
    _inject(p, TCP(sport=33334, dport=80, flags="PA", seq=6, ack=iss + 1) / b"GET / HTTP/1.0\r\n\r\n")
    c.send(b"HTTP/1.0 200 OK\r\n\r\nhello")
    (d,) = _replies(p)
    assert bytes(d[TCP].payload) == b"HTTP/1.0 200 OK\r\n\r\nhello"
    assert d[TCP].flags == "PA" and d[TCP].ack == 6 + 18 and d[TCP].seq == iss + 1
    assert _checksums_ok(d)


def test_rst_for_closed_port_is_well_formed():
    p = Peer()
    _inject(p, TCP(sport=40000, dport=12345, flags="S", seq=77))
    (r,) = _replies(p)
    assert r[TCP].flags == "RA" and r[TCP].seq == 0 and r[TCP].ack == 78 and r[TCP].window == 0
    assert _checksums_ok(r)


def test_bad_checksum_dropped_and_counted():
    p = Peer()
    p.tcp.listen(80)
    _inject(p, TCP(sport=40001, dport=80, flags="S", seq=77, chksum=0x1234))
    assert _replies(p) == []
    assert p.stack.stats()["drop_tcp_checksum"] == 1


def test_bogus_option_length_dropped():
    p = Peer()
    p.tcp.listen(80)
    seg = TCP(sport=40002, dport=80, flags="S", seq=77, options=[("MSS", 1460)])
    raw = bytearray(bytes(IP(src=PEER_IP, dst=STACK_IP) / seg)[20:])
    raw[21] = 40  # MSS option claims 40 bytes inside a 4-byte option area
    frame = Ether(src=_mac(PEER_MAC), dst=_mac(STACK_MAC)) / IP(src=PEER_IP, dst=STACK_IP, proto=6) / bytes(raw)
    f = Ether(bytes(frame))
    del f[IP].chksum
    # fix the TCP checksum over the modified header so only the option is wrong
    from tcpip.wire import tcp as wtcp
    from tcpip.wire.ipv4 import aton
    b = bytearray(bytes(f))
    wtcp.finish(b, 34, len(b) - 34, aton(PEER_IP), aton(STACK_IP))
    p.nic.inbox.append(bytes(b))
    p.poll()
    assert _replies(p) == []
    assert p.stack.stats()["drop_tcp_options"] == 1
