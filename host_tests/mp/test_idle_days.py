"""Seven idle days on the virtual clock, one store of time stamps per test: the
stack keeps polling (once a minute) but nothing happens for a week, longer
than half the ticks period (6.2 days on the 2**30 clock, 3.1 on 2**29).  A
deadline compared that late looks like the future again unless it was aged
out in time; each store must behave as if the week had passed.
Runs under CPython and MicroPython (host_tests/helpers/mprun.py)."""
from tcpip.config import Config
from tcpip.stack import Stack
from tcpip.compat import ticks_add
from tcpip.wire import arp, ipv4, icmp
from tcpip.wire import dhcp as wdhcp
from framehelp import (Rig, arp_frame, udp_frame, US_MAC, US_IP, PEER_IP, PEER_MAC, ZERO_MAC)
import tcphelp as th
from tcphelp import FakeNic, Peer, RST, ACK, seq_add
import vclock

DAY_MS = 86400000
WEEK_MS = 7 * DAY_MS
MINUTE_MS = 60000


def _idle(poll, now, ms, step_ms=MINUTE_MS):
    """Poll every step_ms for ms; returns the new time."""
    while ms > 0:
        d = step_ms if ms > step_ms else ms
        now = ticks_add(now, d)
        poll(now)
        ms -= d
    return now


def _udp_sent(nic):
    out = []
    for f in nic.sent:
        if len(f) > 42 and f[12:14] == b"\x08\x00" and f[23] == 17:
            n = ((f[38] << 8) | f[39]) - 8
            out.append(((f[34] << 8) | f[35], (f[36] << 8) | f[37], bytes(f[42:42 + n]), f))
    return out


def _dns_answer(query, addr, ttl):
    r = bytearray(query)
    r[2] = 0x81
    r[3] = 0x80
    r[7] = 1
    r += b"\xc0\x0c\x00\x01\x00\x01" + bytes([ttl >> 24, (ttl >> 16) & 255, (ttl >> 8) & 255, ttl & 255])
    r += b"\x00\x04" + bytes([(addr >> 24) & 255, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255])
    return bytes(r)


def _stack():
    nic = FakeNic(US_MAC)
    st = Stack(Config(mac=US_MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.254",
                      dns=["192.0.2.1"]), nic)
    a = st.iface.arp
    i = a.alloc(PEER_IP, 0)
    a.set_valid(i, PEER_MAC, 0, 0)
    return st, nic


def test_dns_answer_is_not_served_a_week_after_its_ttl():
    st, nic = _stack()
    now = vclock.START_MS
    st.poll(now)
    st.dns.start("board.test", now)
    sport, _, query, _ = [s for s in _udp_sent(nic) if s[1] == 53][-1]
    nic.inbox.append(udp_frame(53, sport, _dns_answer(query, ipv4.aton("192.0.2.77"), 300)))
    st.poll(now)
    assert st.dns.result("board.test", now) == ipv4.aton("192.0.2.77")
    now = _idle(st.poll, now, WEEK_MS)
    assert st.dns.result("board.test", now) is None  # expired 300 s in, not back
    st.dns.start("board.test", now)
    assert st.dns.pending_name == "board.test"  # asked again, not answered from the cache


def test_challenge_acks_are_sent_again_after_a_quiet_week():
    # RFC 5961 7: the budget is per second; a week of silence must refill it
    p = Peer()
    c, snd, rcv = p.connect()
    budget = p.cfg.tcp_challenge_acks_per_s
    for k in range(budget + 2):
        p.send(RST, seq_add(rcv, 100 + k))
    assert len(p.out()) == budget  # the budget of this second is spent
    p.advance(WEEK_MS, step_ms=MINUTE_MS)
    p.out()
    # (our ARP entry for the peer aged out meanwhile: the peer asks for us first)
    p.nic.inbox.append(arp_frame(arp.REQUEST, th.PEER_MAC, ipv4.aton(th.PEER_IP), ZERO_MAC, US_IP))
    p.poll()
    p.send(RST, seq_add(rcv, 100))
    a = p.one()
    assert a.is_(ACK) and a.ack == rcv and a.seq == snd
    assert c.state_name() == "ESTABLISHED"


def test_arp_entry_is_not_used_a_week_later():
    rig = Rig()
    rig.learn(PEER_IP, PEER_MAC)
    rig.now = _idle(lambda t: _rig_poll(rig, t), rig.now, WEEK_MS)
    rig.out()
    assert rig.iface.arp.entries() == []  # aged out (arp_timeout_ms), not back
    tx = rig.iface.tx
    tx[34:38] = b"data"
    rig.iface.send_ip(PEER_IP, ipv4.PROTO_UDP, 4, rig.now)
    out = rig.out()
    assert out and out[0][12:14] == b"\x08\x06", out  # asks again first
    assert out[0] == arp_frame(arp.REQUEST, US_MAC, US_IP, ZERO_MAC, PEER_IP)


def _rig_poll(rig, t):
    rig.now = t
    rig.link.now_ms = t
    rig.poll()


def test_icmp_error_budget_refills_after_a_quiet_week():
    rig = Rig(icmp_rate_per_s=2)
    rig.learn(PEER_IP, PEER_MAC)
    for k in range(4):
        rig.inject(udp_frame(1000, 3000 + k, b"x"))
    rig.poll()
    assert rig.stats()["icmp_errors_tx"] == 2
    rig.now = _idle(lambda t: _rig_poll(rig, t), rig.now, WEEK_MS)
    rig.out()
    rig.learn(PEER_IP, PEER_MAC)
    out = rig.step(udp_frame(1000, 4000, b"x"))
    assert len(out) == 1 and out[0][23] == ipv4.PROTO_ICMP and out[0][34] == icmp.DEST_UNREACH


def test_dhcp_lease_of_eight_days_renews_at_t1_through_an_idle_week():
    # Elapsed lease time is summed poll to poll, so a lease longer than half
    # the ticks period renews on time (T1 = 4 days, T2 = 7 days) and does not
    # expire early or jump back at a wrap.
    st, nic = _stack()
    now = vclock.START_MS
    c = st.start_dhcp(now)
    c.probe_ms = 0
    m = wdhcp.DhcpReply()
    m.xid = c.xid
    m.msg_type = wdhcp.OFFER
    m.yiaddr = ipv4.aton("192.0.2.50")
    m.server_id = PEER_IP
    c._handle(m, now)
    m.msg_type = wdhcp.ACK
    m.subnet = 0xFFFFFF00
    m.router = PEER_IP
    m.lease_s = 8 * 86400
    c._handle(m, now)
    assert c.state == "bound" and st.iface.ip == ipv4.aton("192.0.2.50")
    nic.sent = []
    states = []

    def poll(t):
        st.poll(t)
        if not states or states[-1][1] != c.state:
            states.append((k[0], c.state))
    k = [0]
    for day in range(7):
        for _ in range(24 * 60):
            k[0] += 1
            now = ticks_add(now, MINUTE_MS)
            poll(now)
    # minutes since the lease: renewing from 4 days, rebinding from 7 days
    assert [s for _, s in states] == ["bound", "renewing", "rebinding"], states
    assert states[1][0] == 4 * 24 * 60, states
    assert states[2][0] == 7 * 24 * 60, states
    assert st.iface.ip == ipv4.aton("192.0.2.50")  # never unconfigured
    # T1: the unicast renewal waits for the server's ARP entry (nobody answers
    # here); T2: the broadcast REQUEST goes out
    asked = [f for f in nic.sent if f[12:14] == b"\x08\x06" and f[38:42] == bytes([192, 0, 2, 1])]
    assert asked, "no renewal attempt at T1"
    rebind = [x for x in _udp_sent(nic) if x[1] == 67]
    assert rebind and rebind[0][3][30:34] == b"\xff\xff\xff\xff", rebind


def test_tcp_connection_idle_for_a_week_still_exchanges_data():
    # TCP's timer deadlines (retransmission, delayed ACK, keepalive off) are
    # all re-armed from the current time: a week of silence leaves none stale
    p = Peer()
    c, snd, rcv = p.connect()
    p.advance(WEEK_MS, step_ms=MINUTE_MS)
    p.out()
    p.nic.inbox.append(arp_frame(arp.REQUEST, th.PEER_MAC, ipv4.aton(th.PEER_IP), ZERO_MAC, US_IP))
    p.poll()
    p.send(ACK | th.PSH, rcv, snd, data=b"abc")
    p.advance(500)
    a = p.one()
    assert a.is_(ACK) and a.ack == seq_add(rcv, 3)
    assert c.send(b"yo") == 2
    p.poll()
    d = p.one()
    assert d.seq == snd and d.data == b"yo"
    p.send(ACK, seq_add(rcv, 3), seq_add(snd, 2))
    p.advance(5000)
    p.none()  # acknowledged: nothing retransmitted
    assert c.state_name() == "ESTABLISHED"
