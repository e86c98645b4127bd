"""Fuzzing (hypothesis): random bytes and mutated valid frames into every wire
parser and into Stack.poll through a Link end.

Nothing may raise, ``internal_errors`` stays 0, and every received frame ends in
exactly one counter: rx_frames == sum(in_*) + sum(drop_*) (transmit-side drops,
iface.TX_DROP_KEYS, left out).  Seeds are built with scapy; mutations truncate,
flip bits, overwrite bytes, make length fields lie and replace TCP options, and
optionally fix the checksums afterwards so the mutation reaches the deeper layers.
"""
import os
import sys

from hypothesis import given, settings, strategies as st, HealthCheck

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, os.path.join(HERE, "helpers"))

from scapy.layers.inet import IP, ICMP, UDP, TCP, IPerror, UDPerror, IPOption_Router_Alert  # noqa: E402
from scapy.layers.l2 import Ether, ARP, Dot1Q  # noqa: E402

from tcpip.iface import TX_DROP_KEYS  # noqa: E402
from tcpip.wire.checksum import checksum, pseudo_sum  # noqa: E402
from tcpip.wire.ethernet import Ethernet  # noqa: E402
from tcpip.wire.arp import Arp  # noqa: E402
from tcpip.wire.ipv4 import IPv4  # noqa: E402
from tcpip.wire.icmp import Icmp  # noqa: E402
from tcpip.wire.udp import Udp  # noqa: E402
from tcpip.wire.tcp import Tcp  # noqa: E402
from framehelp import Rig, ping_frame, accounted  # noqa: E402

US = "192.0.2.2"
PEER = "192.0.2.1"
US_MAC = "02:00:00:00:00:0a"
PEER_MAC = "02:00:00:00:00:0b"


def _e(dst=US_MAC):
    return Ether(dst=dst, src=PEER_MAC)


TCP_SYN = (_e() / IP(src=PEER, dst=US)
           / TCP(sport=40000, dport=80, flags="S", seq=1000,
                 options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]))

SEEDS = [bytes(p) for p in (
    _e("ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=PEER_MAC, psrc=PEER, pdst=US),
    _e() / ARP(op=2, hwsrc=PEER_MAC, psrc=PEER, hwdst=US_MAC, pdst=US),
    _e() / IP(src=PEER, dst=US) / ICMP(type=8, id=1, seq=2) / (b"p" * 56),
    _e() / IP(src=PEER, dst=US) / ICMP(type=0, id=1, seq=2) / b"pong",
    _e() / IP(src=PEER, dst=US) / ICMP(type=8, id=3, seq=4) / (b"M" * 1472),  # MTU-sized
    _e() / IP(src=PEER, dst=US) / ICMP(type=8, id=3, seq=5) / (b"O" * 1473),  # one byte over the MTU
    _e() / IP(src=PEER, dst=US) / ICMP(type=3, code=3) / IPerror(src=US, dst=PEER) / UDPerror(sport=9, dport=7),
    _e() / IP(src=PEER, dst=US) / ICMP(type=11) / IPerror(src=US, dst=PEER) / UDPerror(),
    _e() / IP(src=PEER, dst=US) / UDP(sport=5000, dport=7) / b"udp data",
    _e() / IP(src=PEER, dst=US, options=[IPOption_Router_Alert()]) / UDP(sport=68, dport=67) / b"x",
    TCP_SYN,
    _e() / IP(src=PEER, dst=US) / TCP(sport=40000, dport=80, flags="PA", seq=5, ack=9,
                                       options=[("NOP", None), ("NOP", None), ("SAck", (1, 2, 3, 4))]) / b"data",
    _e() / IP(src=PEER, dst=US) / TCP(sport=40000, dport=80, flags="R", seq=5),
    _e() / Dot1Q(vlan=7) / IP(src=PEER, dst=US) / ICMP() / b"tagged",
    _e() / IP(src=PEER, dst="192.0.2.255") / UDP(dport=9) / b"bcast",
    _e() / IP(src=PEER, dst=US, proto=253) / b"unknown protocol",
)]

LEN_FIELDS = ("ip_ihl", "ip_total", "ip_frag", "ip_ttl", "l4_len", "tcp_dataofs", "arp_hlen", "arp_plen")
# lengths near the edges, plus anything
LIES = st.one_of(st.sampled_from([0, 1, 4, 5, 6, 7, 8, 15, 19, 20, 21, 27, 28, 29, 0xFF, 0xFFFF]),
                 st.integers(-2, 2), st.integers(0, 0xFFFF))


def _lie(b, field, v):
    """Make a length-like field lie: v is an absolute value, or -2..2 around the truth."""
    if len(b) < 14:
        return
    if field.startswith("arp"):
        off = 14 + (4 if field == "arp_hlen" else 5)
        if off < len(b):
            b[off] = v & 0xFF
        return
    if len(b) < 34:
        return
    hl = (b[14] & 15) * 4
    t = 14 + hl
    if field == "ip_ihl":
        b[14] = 0x40 | (v & 15)
    elif field == "ip_total":
        real = len(b) - 14
        _put(b, 16, 2, (real + v) & 0xFFFF if -2 <= v <= 2 else v)
    elif field == "ip_frag":
        _put(b, 20, 2, v)
    elif field == "ip_ttl":
        b[22] = v & 0xFF
    elif field == "l4_len" and t + 6 <= len(b):
        real = len(b) - t
        _put(b, t + 4, 2, (real + v) & 0xFFFF if -2 <= v <= 2 else v)
    elif field == "tcp_dataofs" and t + 13 <= len(b):
        b[t + 12] = (v & 15) << 4 | (b[t + 12] & 15)


def _put(b, off, width, v):
    for k in range(width):
        if off + k < len(b):
            b[off + k] = (v >> (8 * (width - 1 - k))) & 0xFF


def _fix_checksums(b, udp_zero=False):
    """Recompute IPv4 header and ICMP/UDP/TCP checksums over what the (possibly lying)
    length fields and the frame bound, so that parsing goes past the checksum
    (udp_zero: send UDP with no checksum, RFC 768, so a lying length is all that's left)."""
    if len(b) < 34 or b[12:14] != b"\x08\x00" or b[14] >> 4 != 4:
        return
    hl = (b[14] & 15) * 4
    if hl < 20 or 14 + hl > len(b):
        return
    b[24] = b[25] = 0
    _put(b, 24, 2, checksum(b, 14, 14 + hl))
    total = (b[16] << 8) | b[17]
    end = min(14 + total, len(b))
    off = 14 + hl
    if end <= off:
        return
    src = int.from_bytes(b[26:30], "big")
    dst = int.from_bytes(b[30:34], "big")
    proto = b[23]
    if proto == 1 and end - off >= 4:
        b[off + 2] = b[off + 3] = 0
        _put(b, off + 2, 2, checksum(b, off, end))
    elif proto == 17 and end - off >= 8:
        ulen = (b[off + 4] << 8) | b[off + 5]
        uend = off + ulen if 8 <= ulen <= end - off else end
        b[off + 6] = b[off + 7] = 0
        if not udp_zero:
            _put(b, off + 6, 2, checksum(b, off, uend, pseudo_sum(src, dst, 17, uend - off)) or 0xFFFF)
    elif proto == 6 and end - off >= 20:
        b[off + 16] = b[off + 17] = 0
        _put(b, off + 16, 2, checksum(b, off, end, pseudo_sum(src, dst, 6, end - off)))


def _replace_tcp_options(b, opts):
    """Put opts (padded to 4) as the TCP options of a TCP seed and fix the lengths."""
    if len(b) < 54 or b[23] != 6:
        return b
    opts = bytes(opts[:40]) + bytes(-len(opts[:40]) % 4)
    hl = (b[14] & 15) * 4
    t = 14 + hl
    if len(b) < t + 20:  # (a mutated IHL can put the TCP header past the end)
        return b
    old = (b[t + 12] >> 4) * 4
    nb = bytearray(b[:t + 20]) + opts + b[t + old:]
    nb[t + 12] = ((20 + len(opts)) // 4) << 4 | (nb[t + 12] & 0x0F)
    _put(nb, 16, 2, len(nb) - 14)
    return nb


MUTATION = st.one_of(
    st.tuples(st.just("trunc"), st.integers(0, 1600)),
    st.tuples(st.just("flip"), st.integers(0, 1600), st.integers(0, 7)),
    st.tuples(st.just("set"), st.integers(0, 1600), st.integers(0, 255)),
    st.tuples(st.just("lie"), st.sampled_from(LEN_FIELDS), LIES),
    st.tuples(st.just("lie"), st.sampled_from(LEN_FIELDS), LIES),
    st.tuples(st.just("append"), st.binary(max_size=64)),
    st.tuples(st.just("tcp_options"), st.binary(max_size=44)),
)


@st.composite
def mutated_frames(draw):
    b = bytearray(draw(st.sampled_from(SEEDS)))
    fix = draw(st.sampled_from((False, True, True, "udp_zero")))
    for m in draw(st.lists(MUTATION, min_size=1, max_size=4)):
        if m[0] == "trunc":
            del b[m[1] % (len(b) + 1):]
        elif m[0] == "flip" and b:
            b[m[1] % len(b)] ^= 1 << m[2]
        elif m[0] == "set" and b:
            b[m[1] % len(b)] = m[2]
        elif m[0] == "lie":
            _lie(b, m[1], m[2])
        elif m[0] == "append":
            b += m[1]
        elif m[0] == "tcp_options":
            b = _replace_tcp_options(b, m[1])
    if fix:
        _fix_checksums(b, fix == "udp_zero")
    return bytes(b)


ANY_FRAME = st.one_of(mutated_frames(), st.binary(max_size=200))

ETH_REASONS = {"eth_short"}
ARP_REASONS = {"arp_malformed"}
IP_REASONS = {"ip_short", "ip_version", "ip_ihl", "ip_len", "ip_checksum", "ip_fragment"}
ICMP_REASONS = {"icmp_short", "icmp_checksum"}
UDP_REASONS = {"udp_short", "udp_len", "udp_checksum"}
TCP_REASONS = {"tcp_short", "tcp_hlen", "tcp_checksum", "tcp_options"}


def _parse_all(b, end):
    """Run every parser the way the interface chains them, checking each result."""
    e = Ethernet()
    why = e.parse(b, end)
    assert why is None or why in ETH_REASONS
    off = e.payload_off if why is None else 14
    assert off in (14, 18)
    a = Arp()
    why = a.parse(b, off, end)
    assert why is None or why in ARP_REASONS
    if why is None:
        assert a.oper in (1, 2) and a.tha_off + 6 <= end
    ip = IPv4()
    why = ip.parse(b, off, end)
    assert why is None or why in IP_REASONS
    if why is not None:
        return
    assert off + 20 <= ip.payload_off <= ip.payload_end <= end
    p, q = ip.payload_off, ip.payload_end
    m = Icmp()
    why = m.parse(b, p, q)
    assert why is None or why in ICMP_REASONS
    if why is None:
        assert p + 8 == m.payload_off <= m.payload_end == q
    u = Udp()
    why = u.parse(b, p, q, ip.src, ip.dst)
    assert why is None or why in UDP_REASONS
    if why is None:
        assert p + 8 == u.payload_off <= u.payload_end <= q
    t = Tcp()
    why = t.parse(b, p, q, ip.src, ip.dst)
    assert why is None or why in TCP_REASONS
    if why is None:
        assert p + 20 <= t.payload_off <= t.payload_end == q
        assert 0 <= t.sack_n <= 4 and -1 <= t.wscale <= 255 and -1 <= t.mss <= 65535


@settings(max_examples=300, derandomize=True, deadline=None)
@given(data=st.binary(max_size=120), start=st.integers(0, 20))
def test_parsers_survive_random_bytes_at_any_offset(data, start):
    end = len(data)
    checks = (
        (lambda: Ethernet().parse(data, end), ETH_REASONS),
        (lambda: Arp().parse(data, start, end), ARP_REASONS),
        (lambda: IPv4().parse(data, start, end), IP_REASONS),
        (lambda: Icmp().parse(data, start, end), ICMP_REASONS),
        (lambda: Udp().parse(data, start, end, 0xC0000201, 0xC0000202), UDP_REASONS),
        (lambda: Tcp().parse(data, start, end, 0xC0000201, 0xC0000202), TCP_REASONS),
    )
    for fn, reasons in checks:
        why = fn()
        assert why is None or why in reasons, why


@settings(max_examples=800, derandomize=True, deadline=None)
@given(frame=ANY_FRAME)
def test_parsers_survive_mutated_frames(frame):
    _parse_all(frame, len(frame))
    mv = memoryview(bytearray(frame))  # the stack parses in place on memoryviews
    _parse_all(mv, len(frame))


LIE_VALUES = (0, 1, 4, 5, 6, 7, 8, 15, 19, 20, 21, 27, 28, 29, 0xFF, 0xFFFF, -2, -1, 1, 2)


def _every_lie():
    for seed in SEEDS:
        # trailing bytes (Ethernet padding, or past the MTU for the MTU-sized seed)
        for extra in (1, 4, 46):
            yield seed + bytes(extra)
            yield seed + b"\xa5" * extra
        for field in LEN_FIELDS:
            for v in LIE_VALUES:
                for fix in (False, True, "udp_zero"):
                    b = bytearray(seed)
                    _lie(b, field, v)
                    if fix:
                        _fix_checksums(b, fix == "udp_zero")
                    yield bytes(b)


def test_every_lying_length_field_on_every_seed():
    """Systematic: each length-like field of each seed set to values around the edges,
    and each seed with trailing bytes."""
    rig = Rig()
    n = 0
    for f in _every_lie():
        _parse_all(f, len(f))
        rig.inject(f)
        rig.poll()
        rig.out()
        n += 1
    _check_stack(rig)
    assert rig.stats()["rx_frames"] == n


def _tcp_options_frame(opts):
    return bytes(_fix_and_return(_replace_tcp_options(bytearray(bytes(TCP_SYN)), opts)))


def _fix_and_return(b):
    _fix_checksums(b)
    return b


@settings(max_examples=300, derandomize=True, deadline=None)
@given(opts=st.binary(max_size=40))
def test_random_tcp_options_parse_or_are_rejected_as_tcp_options(opts):
    f = _tcp_options_frame(opts)
    ip = IPv4()
    assert ip.parse(f, 14, len(f)) is None
    t = Tcp()
    why = t.parse(f, ip.payload_off, ip.payload_end, ip.src, ip.dst)
    assert why is None or why == "tcp_options", why


def _check_stack(rig):
    st_ = rig.stats()
    assert st_.get("internal_errors", 0) == 0, repr(getattr(rig.stack, "last_error", None))
    tx_drops = sum(st_.get(k, 0) for k in TX_DROP_KEYS)
    assert accounted(st_) - tx_drops == st_["rx_frames"], dict((k, v) for k, v in st_.items() if v)


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frames=st.lists(ANY_FRAME, min_size=1, max_size=10), gaps=st.lists(st.integers(0, 1500), max_size=10),
       handlers=st.booleans())
def test_stack_poll_never_raises_and_counts_every_frame(frames, gaps, handlers):
    rig = Rig(link_kw={"delay_ms": 1})
    if not handlers:
        # an interface without transports still counts UDP and TCP under drop_ reasons
        rig.iface.tcp_input = None
        rig.iface.udp_input = None
    for i, f in enumerate(frames):
        rig.inject(f)
        rig.advance(gaps[i] if i < len(gaps) else 1)
        rig.out()
        _check_stack(rig)
    rig.advance(5000)  # ARP retries, aging, TCP timers run over whatever was left
    # a NIC never hands over an empty frame: recv_into() == 0 means "nothing waits"
    assert rig.stats()["rx_frames"] == len([f for f in frames if f])
    _check_stack(rig)
    # the stack still answers
    rig.out()
    rig.inject(ping_frame(b"alive", ident=0x7777))
    rig.advance(1)  # 1 ms there
    rig.advance(1)  # and 1 ms back
    out = rig.out()
    assert len(out) == 1 and out[0][-5:] == b"alive", out
