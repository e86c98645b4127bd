"""What a poll and a frame cost.  Stack.poll's idle shortcut: with no frame
waiting and no deadline due, a poll is one receive and no timers (no receive
at all when the NIC's rx_quiet says nothing waits: a W5500 with INTn wired);
whatever arms a deadline between polls is still served on time.  The classes whose
instances take stores per frame keep those stores cheap (CPython and
MicroPython, virtual time)."""
import sys
from tcpip.compat import ticks_add
from tcpip.iface import IP_PAYLOAD_OFF, QUEUED
from tcpip.wire import arp, ipv4, icmp
from framehelp import (Rig, arp_frame, ipv4_frame, ping_frame, icmp_echo,
                       US_MAC, PEER_MAC, US_IP, PEER_IP, OTHER_IP, ZERO_MAC)


class _Count:
    """Wraps a bound method (set as an instance attribute over it), counting calls."""

    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


def _watch(rig):
    st = rig.stack
    timers = [_Count(st.iface.timers)]
    st.iface.timers = timers[0]
    for t in st.transports:
        timers.append(_Count(t.timers))
        t.timers = timers[-1]
    recv = _Count(st.nic.recv_into)
    st.nic.recv_into = recv
    return timers, recv


def _step_until_out(rig, limit_ms):
    """Advance 1 ms at a time (one poll each) until the stack sends; returns
    (ms waited, frames)."""
    for ms in range(1, limit_ms + 1):
        rig.now = ticks_add(rig.now, 1)
        rig.link.now_ms = rig.now
        rig.poll()
        out = rig.out()
        if out:
            return ms, out
    return None, []


def test_idle_poll_is_one_receive_and_no_timers():
    rig = Rig()
    first = rig.poll()  # the full poll after settling sets the next wake-up
    timers, recv = _watch(rig)
    for k in range(1, 6):
        rig.now = ticks_add(rig.now, 1)
        assert rig.poll() == first - k  # the time left to the same deadline
    assert recv.calls == 5
    assert [t.calls for t in timers] == [0] * len(timers)
    assert rig.out() == []


def test_idle_poll_runs_the_timers_once_their_deadline_comes():
    rig = Rig()
    wait = rig.poll()
    assert 0 < wait <= 500
    timers, recv = _watch(rig)
    rig.now = ticks_add(rig.now, wait - 1)
    rig.poll()
    assert [t.calls for t in timers] == [0] * len(timers)
    rig.now = ticks_add(rig.now, 1)
    rig.poll()
    assert [t.calls for t in timers] == [1] * len(timers)


def test_arp_retry_armed_between_polls_goes_out_on_time():
    rig = Rig(arp_retry_ms=50)
    rig.poll()  # idle from here: the next full poll is up to 500 ms away
    tx = rig.iface.tx
    tx[IP_PAYLOAD_OFF:IP_PAYLOAD_OFF + 4] = b"data"
    assert rig.iface.send_ip(OTHER_IP, ipv4.PROTO_UDP, 4, rig.now) == QUEUED
    req = arp_frame(arp.REQUEST, US_MAC, US_IP, ZERO_MAC, OTHER_IP)
    assert rig.out() == [req]
    assert _step_until_out(rig, 600) == (50, [req])


def test_tcp_retransmission_armed_between_polls_goes_out_on_time():
    rig = Rig(tcp_rto_initial_ms=50)
    rig.learn()
    rig.poll()
    c = rig.stack.tcp.open(ipv4.ntoa(PEER_IP), 40000)
    syn = rig.out()
    assert len(syn) == 1
    ms, again = _step_until_out(rig, 600)
    assert ms == 50 and again == syn  # the same SYN, 50 ms later
    c.abort()


def test_frame_found_by_the_idle_check_counts_toward_frames_per_poll():
    rig = Rig(rx_frames_per_poll=2)
    rig.learn()
    rig.poll()
    for k in range(3):
        rig.inject(ping_frame(b"k", seq=k))
    assert rig.poll() == 0  # frames may still wait
    replies = [ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, k, b"k"),
                          eth_dst=PEER_MAC, eth_src=US_MAC) for k in range(3)]
    assert rig.out() == replies[:2]
    rig.poll()
    assert rig.out() == replies[2:]


def test_frame_that_arms_no_deadline_runs_no_timers():
    rig = Rig()
    rig.learn()
    wait = rig.poll()
    timers, recv = _watch(rig)
    rig.now = ticks_add(rig.now, 1)
    out = rig.step(ping_frame(b"idle?"))
    assert out == [ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, 1, b"idle?"),
                              eth_dst=PEER_MAC, eth_src=US_MAC)]
    assert [t.calls for t in timers] == [0] * len(timers)
    assert rig.poll() == wait - 1  # the same deadline as before the frame


# Classes whose instances take attribute stores per frame or per poll.  On
# MicroPython a class with a property makes every store on its instances
# look the name up in the class first (+12-19 us a store on the emulated
# board; a parsed IPv4 and TCP header take ~30 stores a segment): there
# derived attributes come from __getattr__.  On CPython __getattr__ stops
# the interpreter specialising attribute loads (~3x slower): there they are
# properties (tcpip.compat.GETATTR_NOT_PROPERTY).
def _per_frame_classes():
    from tcpip.wire import ethernet, arp, ipv4, icmp, udp as wudp, tcp as wtcp
    from tcpip import iface, stack, tcp, udp
    from tcpip.nic import macraw, w5500, w5100s
    return [ethernet.Ethernet, arp.Arp, ipv4.IPv4, icmp.Icmp, wudp.Udp, wtcp.Tcp,
            iface.Interface, iface.Counters, iface.ArpCache, stack.Stack, tcp.Tcp, udp.Udp,
            macraw.MacrawNIC, w5500.W5500, w5100s.W5100S]


def test_per_frame_classes_keep_attribute_stores_cheap():
    micropython = sys.implementation.name != "cpython"
    for cls in _per_frame_classes():
        for name, value in cls.__dict__.items():
            kind = type(value).__name__
            where = "%s.%s" % (cls.__name__, name)
            assert name not in ("__setattr__", "__delattr__"), where
            if micropython:
                assert kind != "property", where + " is a property"
            else:
                assert name != "__getattr__", where


def _w5500_stack(intn):
    # the real driver on the register-level emulator, under a Stack
    import w5500_emu
    from tcpip.config import Config
    from tcpip.nic.w5500 import W5500
    from tcpip.stack import Stack
    wire = w5500_emu.MemoryWire()
    chip = w5500_emu.W5500(wire)
    chip.wire_frames_per_select = 0  # frames arrive when the test pumps them
    nic = W5500(w5500_emu.EmuSPI(chip, int_wired=intn), US_MAC)
    st = Stack(Config(mac=US_MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.254"), nic)
    now = vclock_start()
    st.poll(now)  # the full polls after bring-up: link check, RX_RSR read
    st.poll(now)
    return wire, chip, nic, st, now


def vclock_start():
    import vclock
    return vclock.START_MS


def _count_idle_polls(st, now, k):
    # k idle polls, 1 ms apart: (recv_into calls, _idle_recv calls, full
    # polls, SPI transactions)
    nic = st.nic
    recv = _Count(nic.recv_into)
    nic.recv_into = recv
    idle = _Count(st._idle_recv)
    st._idle_recv = idle
    full = _Count(st._poll)
    st._poll = full
    t0 = nic.spi_transactions
    for _ in range(k):
        now = ticks_add(now, 1)
        st.poll(now)
    del nic.recv_into, st._idle_recv, st._poll
    return recv.calls, idle.calls, full.calls, nic.spi_transactions - t0


def test_idle_poll_on_a_w5500_with_intn_is_no_receive_and_no_spi_transaction():
    # rx_quiet (INTn high): the idle shortcut decides without entering the
    # driver's receive at all
    wire, chip, nic, st, now = _w5500_stack(intn=True)
    assert nic.rx_quiet()
    assert _count_idle_polls(st, now, 5) == (0, 0, 0, 0)


def test_idle_poll_on_a_w5500_takes_a_frame_once_intn_falls():
    wire, chip, nic, st, now = _w5500_stack(intn=True)
    wire.inbox.append(ping_frame(b"quiet?", eth_dst=US_MAC))
    chip.pump()
    assert not nic.rx_quiet()
    recv, idle, full, txns = _count_idle_polls(st, now, 1)
    # the shortcut's receive finds the frame (RX_RSR, then the record: RECV
    # is not cleared first); the full poll that takes it in asks rx_quiet,
    # and as INTn is still low, one more receive clears RECV and finds
    # nothing
    assert (recv, idle, full, txns) == (2, 1, 1, 2 + 4 + 2), txns  # (+ the reply's 4)
    reply = ipv4_frame(US_IP, PEER_IP, ipv4.PROTO_ICMP, icmp_echo(icmp.ECHO_REPLY, 0x1234, 1, b"quiet?"),
                       eth_dst=PEER_MAC, eth_src=US_MAC)
    # (after the gratuitous ARP of the first poll; padded to 60 bytes)
    assert len(wire.outbox) == 2 and wire.outbox[1] == reply + bytes(60 - len(reply))
    assert nic.rx_quiet()


def test_idle_poll_on_a_w5500_without_intn_is_one_rx_rsr_read():
    wire, chip, nic, st, now = _w5500_stack(intn=False)
    assert nic.rx_quiet is None
    assert _count_idle_polls(st, now, 5) == (5, 5, 0, 5)


def test_frames_beyond_frames_per_poll_on_a_w5500_wait_for_the_next_poll():
    # rx_quiet is false while frames of the last RX_RSR read wait (whatever
    # INTn says): none is left behind
    wire, chip, nic, st, now = _w5500_stack(intn=True)
    st.cfg.rx_frames_per_poll = 2
    for k in range(3):
        wire.inbox.append(ping_frame(b"k", seq=k, eth_dst=US_MAC))
    chip.pump()
    now = ticks_add(now, 1)
    assert st.poll(now) == 0  # frames may still wait
    assert len(wire.outbox) == 3 and not nic.rx_quiet()
    st.poll(now)
    assert len(wire.outbox) == 4 and nic.rx_quiet()
