"""Frame builders and a one-stack rig on virtual time, shared by the test suites.

Portable (CPython and MicroPython).  Builders return ``bytes`` made with the
emitters of ``tcpip.wire`` so that a test states a whole expected frame::

    rig = Rig()                                   # stack on link.a, scripted peer on link.b
    out = rig.step(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, ZERO_MAC, US_IP))
    assert out == [arp_frame(arp.REPLY, US_MAC, US_IP, PEER_MAC, PEER_IP)]

Addresses: the stack is 192.0.2.2/24 with MAC 02:..:0a, the peer 192.0.2.1 with
MAC 02:..:0b, the gateway 192.0.2.254 (any MAC the peer chooses to answer with).
"""
from tcpip import compat
from tcpip.compat import ticks_add
import vclock
from tcpip.config import Config
from tcpip.stack import Stack
from tcpip.iface import IDENT
from tcpip.nic.link import Link
from tcpip.wire import ethernet, arp, ipv4, icmp, udp
from tcpip.wire.checksum import checksum

US_MAC = b"\x02\x00\x00\x00\x00\x0a"
PEER_MAC = b"\x02\x00\x00\x00\x00\x0b"
GW_MAC = b"\x02\x00\x00\x00\x00\xfe"
OTHER_MAC = b"\x02\x00\x00\x00\x00\x0c"
ZERO_MAC = b"\x00\x00\x00\x00\x00\x00"
BCAST_MAC = ethernet.BROADCAST
US_IP = ipv4.aton("192.0.2.2")
PEER_IP = ipv4.aton("192.0.2.1")
OTHER_IP = ipv4.aton("192.0.2.3")
GW_IP = ipv4.aton("192.0.2.254")
SUBNET_BCAST = ipv4.aton("192.0.2.255")
FAR_IP = ipv4.aton("198.51.100.7")  # off-link: reached through the gateway

# The clock wraps 500 ms after a rig made with start_ms=NEAR_WRAP starts.
NEAR_WRAP = compat.TICKS_PERIOD - 500


def eth_frame(dst, src, ethertype, payload, vlan=-1):
    """Ethernet II frame; vlan >= 0 inserts an 802.1Q tag with that id."""
    if vlan >= 0:
        h = bytearray(18)
        ethernet.emit(h, dst, src, ethernet.TYPE_VLAN)
        h[14] = (vlan >> 8) & 0x0F
        h[15] = vlan & 0xFF
        h[16] = ethertype >> 8
        h[17] = ethertype & 0xFF
    else:
        h = bytearray(ethernet.HLEN)
        ethernet.emit(h, dst, src, ethertype)
    return bytes(h) + bytes(payload)


def pad60(frame):
    """Zero-pad to the Ethernet minimum (60 bytes without FCS), as a NIC does on send."""
    if len(frame) < ethernet.MIN_FRAME:
        return bytes(frame) + bytes(ethernet.MIN_FRAME - len(frame))
    return bytes(frame)


def arp_packet(oper, sha, spa, tha, tpa):
    b = bytearray(arp.LEN)
    arp.emit(b, 0, oper, sha, spa, tha, tpa)
    return bytes(b)


def arp_frame(oper, sha, spa, tha, tpa, eth_dst=None, eth_src=None):
    """ARP over Ethernet; the Ethernet destination defaults to broadcast for a
    request and to tha for a reply, the source to sha."""
    if eth_dst is None:
        eth_dst = BCAST_MAC if oper == arp.REQUEST else tha
    return eth_frame(eth_dst, eth_src or sha, ethernet.TYPE_ARP, arp_packet(oper, sha, spa, tha, tpa))


def ip_packet(src, dst, proto, payload, ttl=64, ident=0, df=True, options=b"", frag=0):
    """IPv4 datagram; options (a multiple of 4 bytes) make IHL > 5; frag is the
    raw flags+offset field when given."""
    payload = bytes(payload)
    if not options and not frag:
        h = bytearray(ipv4.HLEN)
        ipv4.emit(h, 0, src, dst, proto, len(payload), ttl, ident, df)
        return bytes(h) + payload
    hlen = ipv4.HLEN + len(options)
    h = bytearray(ipv4.HLEN) + bytes(options)
    ipv4.emit(h, 0, src, dst, proto, len(payload) + len(options), ttl, ident, df)
    h[0] = 0x40 | (hlen // 4)
    if frag:
        h[6] = frag >> 8
        h[7] = frag & 0xFF
    h[10] = 0
    h[11] = 0
    c = checksum(h, 0, hlen)
    h[10] = c >> 8
    h[11] = c & 0xFF
    return bytes(h) + payload


def icmp_echo(type_, ident, seq, data):
    b = bytearray(icmp.HLEN) + bytes(data)
    icmp.emit_echo(b, 0, type_, ident, seq, len(data))
    return bytes(b)


def icmp_error(type_, code, quoted):
    b = bytearray(icmp.HLEN) + bytes(quoted)
    icmp.emit_error(b, 0, type_, code, len(quoted))
    return bytes(b)


def udp_datagram(sport, dport, data, src, dst):
    b = bytearray(udp.HLEN) + bytes(data)
    udp.emit(b, 0, sport, dport, len(data), src, dst)
    return bytes(b)


def ipv4_frame(src, dst, proto, payload, eth_dst=US_MAC, eth_src=PEER_MAC, **kw):
    return eth_frame(eth_dst, eth_src, ethernet.TYPE_IPV4, ip_packet(src, dst, proto, payload, **kw))


def ping_frame(data, ident=0x1234, seq=1, src=PEER_IP, dst=US_IP, eth_dst=US_MAC, eth_src=PEER_MAC):
    return ipv4_frame(src, dst, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REQUEST, ident, seq, data),
                      eth_dst=eth_dst, eth_src=eth_src)


def udp_frame(sport, dport, data, src=PEER_IP, dst=US_IP, eth_dst=US_MAC, eth_src=PEER_MAC):
    return ipv4_frame(src, dst, ipv4.PROTO_UDP, udp_datagram(sport, dport, data, src, dst),
                      eth_dst=eth_dst, eth_src=eth_src)


def drops(stats):
    """{reason: count} of the non-zero drop_ counters (allocates; tests only)."""
    return dict((k[5:], v) for k, v in stats.items() if k.startswith("drop_") and v)


def accounted(stats):
    """sum(in_*) + sum(drop_*): equals rx_frames when every frame was counted once."""
    n = 0
    for k in stats:
        if k.startswith("in_") or k.startswith("drop_"):
            n += stats[k]
    return n


class Rig:
    """One Stack on ``link.a`` and a scripted peer on ``link.b``, on a virtual clock.

    ``now`` is the wrapping clock handed to the stack and the link (it starts
    at vclock.START_MS unless start_ms says otherwise); ``advance`` moves it
    with ticks_add so tests can run across the wrap.  With
    ``settle`` the first poll (gratuitous ARP) is done and its frames dropped.
    """

    def __init__(self, start_ms=None, settle=True, link_kw=None, **cfg_kw):
        kw = {"ip": "192.0.2.2", "prefix": 24, "gateway": "192.0.2.254"}
        for k in cfg_kw:
            kw[k] = cfg_kw[k]
        lk = {"mac_a": US_MAC, "mac_b": PEER_MAC}
        if link_kw:
            for k in link_kw:
                lk[k] = link_kw[k]
        self.link = Link(**lk)
        self.now = start_ms = ticks_add(vclock.START_MS if start_ms is None else start_ms, 0)
        self.link.now_ms = start_ms
        self.cfg = Config(mac=US_MAC, **kw)
        self.stack = Stack(self.cfg, self.link.a)
        self.iface = self.stack.iface
        self.peer = self.link.b
        self.buf = bytearray(2048)
        if settle:
            self.poll()
            self.out()

    def poll(self):
        return self.stack.poll(self.now)

    def advance(self, ms):
        """Move the clock by ms (in steps of at most 100 ms, polling each step)."""
        while ms > 0:
            d = 100 if ms > 100 else ms
            self.now = ticks_add(self.now, d)
            self.link.now_ms = self.now
            self.poll()
            ms -= d

    def inject(self, frame):
        """The peer puts a frame on the wire (delivered at the next poll)."""
        self.peer.send(frame)

    def out(self):
        """Every frame the stack has sent since the last call, as bytes."""
        frames = []
        while True:
            n = self.peer.recv_into(self.buf)
            if not n:
                return frames
            frames.append(bytes(self.buf[:n]))

    def step(self, *frames):
        """Inject frames, poll once, return what the stack sent."""
        for f in frames:
            self.inject(f)
        self.poll()
        return self.out()

    def stats(self):
        return self.stack.stats()

    def learn(self, ip=PEER_IP, mac=PEER_MAC):
        """Make the stack learn ip -> mac (the host asks for our address)."""
        out = self.step(arp_frame(arp.REQUEST, mac, ip, ZERO_MAC, US_IP))
        assert out == [arp_frame(arp.REPLY, US_MAC, US_IP, mac, ip)], out

    def reply_ident(self):
        """IPv4 identification the stack used for its last datagram."""
        return IDENT
