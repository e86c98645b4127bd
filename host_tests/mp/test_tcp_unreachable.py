"""Connecting to an on-link address nobody answers ARP for: EHOSTUNREACH once
the ARP retries (cfg.arp_retries requests, cfg.arp_retry_ms apart) run out, as
Linux reports it, instead of ETIMEDOUT after every SYN retransmission."""
import tcpip
from tcpip.config import Config
from tcpip.stack import Stack
from tcpip.compat import EHOSTUNREACH, ticks_ms, ticks_diff
from tcphelp import Peer, PEER_IP, PEER_PORT, errno_of
from nullnic import NullNIC

SILENT_IP = "192.0.2.77"  # on the stack's /24, nobody there


def _arp_requests(p):
    n = 0
    for f in p.nic.sent:
        if f[12] == 8 and f[13] == 6:
            n += 1
    return n


def test_syn_to_an_address_without_arp_answer_fails_ehostunreach_after_the_arp_retries():
    p = Peer()
    c = p.tcp.open(SILENT_IP, 7)
    t = 0
    while not c.error and t < 70000:
        p.poll(100)
        t += 100
    assert c.error == EHOSTUNREACH and t == 3000, (c.error, t)
    assert _arp_requests(p) == 3
    assert errno_of(lambda: c.recv_into(bytearray(4))) == EHOSTUNREACH
    c.close()
    assert p.tcp.free_blocks() == 4


def test_failed_arp_for_one_host_leaves_connections_to_others_alone():
    p = Peer()
    good, snd, rcv = p.connect()
    bad = p.tcp.open(SILENT_IP, 7)
    p.advance(3000, 100)
    assert bad.error == EHOSTUNREACH
    assert good.error == 0 and good.state_name() == "ESTABLISHED"


def test_socket_connect_raises_ehostunreach_within_the_arp_retries():
    mac = b"\x02\x00\x00\x00\x00\x09"
    st = Stack(Config(mac=mac, ip="192.0.2.2", prefix=24, gateway="192.0.2.1"), NullNIC(mac))
    tcpip.set_stack(st)
    st.poll(ticks_ms())  # a running stack: its clock is current when connect() opens
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_STREAM)
    s.settimeout(20)
    t0 = ticks_ms()
    assert errno_of(lambda: s.connect((SILENT_IP, 7))) == EHOSTUNREACH
    ms = ticks_diff(ticks_ms(), t0)
    assert 2500 < ms < 5000, ms
    s.close()
    assert st.tcp.free_blocks() == 4
