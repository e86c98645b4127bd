"""The firmware path (firmware/netboot.py) on an emulated W5500 board.

netboot -> boards/emulated_w5500.py -> tcpip.nic.w5500 -> tools/emu/w5500_emu.py,
under CPython and the MicroPython unix port.  The wire is a MemoryWire, so the
test is the peer: it injects frames and reads what the board sent.
"""
import sys

import boardpath  # noqa: F401  (firmware/ and boards/ on sys.path)
import netboot  # noqa: E402
import emulated_w5500 as board  # noqa: E402
import w5500_emu as E  # noqa: E402
from framehelp import arp_frame, ping_frame, pad60, PEER_MAC, PEER_IP  # noqa: E402
from tcpip.wire import arp, icmp, ipv4  # noqa: E402
from tcpip.compat import ticks_ms, ticks_diff  # noqa: E402

BOARD_MAC = b"\x02\x00\x00\x00\x00\x02"
BOARD_IP = ipv4.aton("192.0.2.2")


def settings(**kw):
    s = dict(netboot.DEFAULTS)
    s.update({"dhcp": False, "ip": "192.0.2.2", "prefix": 24, "gateway": "192.0.2.1",
              "mac": "02:00:00:00:00:02"})
    s.update(kw)
    return s


def up(**kw):
    wire = E.MemoryWire()
    board.WIRE = wire
    net = netboot.bring_up(board, settings(**kw))
    return wire, net


def run(net, rounds=20):
    for _ in range(rounds):
        net.stack.poll(ticks_ms())


def test_static_bring_up_answers_arp_through_the_emulated_chip():
    wire, net = up()
    assert net.how == "static"
    assert net.ifconfig()[:3] == ("192.0.2.2", 24, "192.0.2.1")
    run(net)
    wire.outbox[:] = []  # gratuitous ARP at link-up is checked elsewhere
    wire.inbox.append(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, b"\x00" * 6, BOARD_IP))
    run(net)
    want = pad60(arp_frame(arp.REPLY, BOARD_MAC, BOARD_IP, PEER_MAC, PEER_IP))
    assert want in wire.outbox, wire.outbox


def test_board_answers_ping_through_the_emulated_chip():
    wire, net = up()
    run(net)
    wire.inbox.append(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, b"\x00" * 6, BOARD_IP))
    run(net)
    wire.outbox[:] = []
    wire.inbox.append(ping_frame(b"hello w5500", eth_dst=BOARD_MAC, dst=BOARD_IP))
    run(net)
    assert len(wire.outbox) == 1
    f = wire.outbox[0]
    assert f[0:6] == PEER_MAC and f[6:12] == BOARD_MAC and f[12:14] == b"\x08\x00"
    assert f[23] == 1  # ICMP
    assert f[26:30] == bytes([192, 0, 2, 2]) and f[30:34] == bytes([192, 0, 2, 1])
    assert f[34] == icmp.ECHO_REPLY
    assert f[42:53] == b"hello w5500"
    assert net.nic.rx_frames >= 2 and net.nic.tx_frames >= 2


def test_gratuitous_arp_when_link_returns():
    wire, net = up()
    run(net)
    board.CHIP.link = False
    t = ticks_ms()
    net.stack.poll(t + 600)
    board.CHIP.link = True
    wire.outbox[:] = []
    net.stack.poll(t + 1200)
    net.stack.poll(t + 1300)
    garp = [f for f in wire.outbox if f[12:14] == b"\x08\x06"]
    assert garp, wire.outbox
    assert garp[0][0:6] == b"\xff" * 6


def test_dhcp_without_server_falls_back_to_static():
    wire, net = up(dhcp=True, dhcp_timeout_ms=300)
    assert net.how == "static"
    assert net.ifconfig()[0] == "192.0.2.2"
    # It did ask: DHCPDISCOVER broadcasts from port 68 went out on the wire.
    assert any(f[0:6] == b"\xff" * 6 and f[12:14] == b"\x08\x00" and f[23] == 17
               for f in wire.outbox)


def test_settings_file_is_read_and_checked():
    path = "/tmp/tcpip_config_test_w5500.json"
    with open(path, "w") as f:
        f.write('{"dhcp": false, "ip": "192.0.2.9", "poll_ms": 25}')
    s = netboot.load_settings(path)
    assert s["ip"] == "192.0.2.9" and s["poll_ms"] == 25 and s["prefix"] == 24
    with open(path, "w") as f:
        f.write('{"ipp": "192.0.2.9"}')
    try:
        netboot.load_settings(path)
    except ValueError as e:
        assert "ipp" in str(e)
    else:
        raise AssertionError("unknown key accepted")
    assert netboot.load_settings("/tmp/does-not-exist-w5500.json") == netboot.DEFAULTS


def test_stack_settings_size_the_stack_and_wrong_ones_are_named():
    path = "/tmp/tcpip_config_test_w5500_stack.json"
    with open(path, "w") as f:
        f.write('{"dhcp": false, "stack": {"tcp_sockets": 2, "tcp_rx_bytes": 4096}}')
    s = netboot.load_settings(path)
    assert s["stack"] == {"tcp_sockets": 2, "tcp_rx_bytes": 4096}
    wire, net = up(stack=s["stack"])
    assert len(net.stack.tcp.pool) == 2 and net.stack.cfg.tcp_rx_bytes == 4096
    assert len(net.stack.udp.pool) == netboot.Config.udp_sockets  # the rest stays default
    wire2, net2 = up()
    assert len(net2.stack.tcp.pool) == netboot.Config.tcp_sockets
    for text, word in (('{"stack": {"ip": "192.0.2.9"}}', "ip"), ('{"stack": 3}', "stack")):
        with open(path, "w") as f:
            f.write(text)
        try:
            netboot.load_settings(path)
        except ValueError as e:
            assert word in str(e), e
        else:
            raise AssertionError("accepted: " + text)
    try:
        up(stack={"tcp_sockts": 2})
    except ValueError as e:
        assert "tcp_sockts" in str(e)
    else:
        raise AssertionError("unknown Config setting accepted")


class _FakeTimer:
    PERIODIC = 1
    made = []

    def __init__(self, ident):
        self.callback = None
        self.period = None
        self.running = False
        _FakeTimer.made.append(self)

    def init(self, mode=1, period=0, callback=None):
        self.period = period
        self.callback = callback
        self.running = True

    def deinit(self):
        self.running = False


class _FakeMachine:
    Timer = _FakeTimer


class _FakeMicropython:
    queue = []

    @staticmethod
    def schedule(fn, arg):
        if len(_FakeMicropython.queue) >= 4:
            raise RuntimeError("schedule queue full")
        _FakeMicropython.queue.append((fn, arg))


def _with_fake_board_modules(fn):
    saved = {k: sys.modules.get(k) for k in ("machine", "micropython")}
    sys.modules["machine"] = _FakeMachine
    sys.modules["micropython"] = _FakeMicropython
    _FakeMicropython.queue[:] = []
    try:
        return fn()
    finally:
        for k, v in saved.items():
            if v is None:
                del sys.modules[k]
            else:
                sys.modules[k] = v


def _run_scheduled():
    q = _FakeMicropython.queue
    n = 0
    while q:
        f, a = q.pop(0)
        f(a)
        n += 1
    return n


def test_background_polls_from_timer_via_schedule_and_at_once_on_intn():
    def body():
        wire, net = up()
        bg = netboot.Background(net, period_ms=10)
        timer = _FakeTimer.made[-1]
        assert timer.running and timer.period == 10
        assert bg.uses_int is True  # the emulated board wires INTn
        # A timer tick schedules one poll; a second tick before it ran does not.
        timer.callback(timer)
        timer.callback(timer)
        assert len(_FakeMicropython.queue) == 1
        assert _run_scheduled() >= 1 and bg.polls >= 1
        # A frame raises INTn: the edge handler (a soft IRQ on the board,
        # already run from the scheduler) polls at once, nothing scheduled.
        wire.outbox[:] = []
        wire.inbox.append(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, b"\x00" * 6, BOARD_IP))
        board.CHIP.pump()
        assert _FakeMicropython.queue == []
        want = pad60(arp_frame(arp.REPLY, BOARD_MAC, BOARD_IP, PEER_MAC, PEER_IP))
        assert want in wire.outbox, wire.outbox
        assert bg.errors == 0
        bg.stop()
        assert not timer.running
        # Stopped: a frame's INTn edge no longer polls (the main program
        # polls itself now; a poll from the edge would cut into its calls).
        polls = bg.polls
        wire.inbox.append(arp_frame(arp.REQUEST, PEER_MAC, PEER_IP, b"\x00" * 6, BOARD_IP))
        board.CHIP.pump()
        assert bg.polls == polls and _FakeMicropython.queue == []
    _with_fake_board_modules(body)


class _SchedulerSPI(E.EmuSPI):
    """EmuSPI where MicroPython's scheduler gets a turn after every SPI call,
    i.e. between two bytecodes of the driver, as on a board while the main
    program is inside a socket call: a pending soft INTn edge runs there, and
    every ``tick_every`` calls a machine.Timer tick is scheduled and run.  The
    host at the other end of the wire (``peer``) is polled there too."""

    def __init__(self, chip, tick_every):
        E.EmuSPI.__init__(self, chip)
        self.tick_every = tick_every
        self.calls = 0
        self.edge_pending = False
        self.timer = None
        self.peer = None
        self._in_scheduler = False

    def _fire(self):
        self.edge_pending = True  # a soft IRQ: run at the next bytecode boundary

    def write(self, header, data):
        E.EmuSPI.write(self, header, data)
        self._between_bytecodes()

    def read(self, header, data):
        E.EmuSPI.read(self, header, data)
        self._between_bytecodes()

    def _between_bytecodes(self):
        self.calls += 1
        if self.peer is not None:
            self.peer()
        if self._in_scheduler:  # callbacks do not preempt each other
            return
        self._in_scheduler = True
        try:
            if self.edge_pending and self._handler is not None:
                self.edge_pending = False
                self._handler(self)
            if self.timer is not None and self.calls % self.tick_every == 0:
                self.timer.callback(self.timer)
                _run_scheduled()
        finally:
            self._in_scheduler = False


class _DiscardPeer:
    """A tcpip Stack on the far end of a SlotWire serving discard on port 9
    and checking the byte pattern i % 251 of everything it reads."""

    def __init__(self, end):
        from tcpip.config import Config
        from tcpip.stack import Stack
        from memreport import MAC_B

        self.stack = Stack(Config(mac=MAC_B, ip="192.0.2.1", prefix=24,
                                  gateway="192.0.2.2"), end)
        self.listener = self.stack.tcp.listen(9)
        self.conn = None
        self.buf = bytearray(1460)
        self.got = 0
        self.bad = 0
        self.eof = False

    def poll(self):
        self.stack.poll(ticks_ms())
        if self.conn is None:
            self.conn = self.stack.tcp.accept(self.listener)
            if self.conn is None:
                return
        while True:
            n = self.conn.recv_into(self.buf)
            if n == 0:
                self.eof = True
            if n <= 0:
                return
            for k in range(n):
                if self.buf[k] != (self.got + k) % 251:
                    self.bad += 1
                    break
            self.got += n


def test_background_poll_between_bytecodes_of_a_socket_send_waits_for_the_stack_lock():
    # The timer's scheduled poll and the INTn handler run between any two
    # bytecodes of the main program -- here after every SPI call of the
    # driver, in the middle of a blocking sendall.  They must leave the stack
    # (the chip's TX buffer, the connection) to the socket call that holds
    # it: every byte arrives in order, and they poll again once it returned.
    import memreport
    import tcpip.socket as socket
    from tcpip.nic.w5500 import W5500

    wire = memreport.SlotWire(8)
    peer = _DiscardPeer(wire.b)

    class SchedBoard:
        spi = None

        def nic(self, mac):
            self.spi = _SchedulerSPI(E.W5500(wire.a), tick_every=3)
            self.spi.peer = peer.poll
            return W5500(self.spi, mac)

        def default_mac(self):
            return BOARD_MAC

    def body():
        b = SchedBoard()
        net = netboot.bring_up(b, settings(ip="192.0.2.2", gateway="192.0.2.1"))
        bg = netboot.Background(net, period_ms=10)
        b.spi.timer = _FakeTimer.made[-1]
        assert bg.uses_int
        total = 40000
        chunk = bytearray(1000)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, stack=net.stack)
        s.settimeout(20)
        s.connect(("192.0.2.1", 9))
        sent = 0
        while sent < total:
            for k in range(len(chunk)):
                chunk[k] = (sent + k) % 251
            s.sendall(chunk)
            sent += len(chunk)
        s.close()
        polls = bg.polls
        # The REPL is idle now: only the background polls the board.
        t0 = ticks_ms()
        ticks = 0
        while (ticks < 3 or not peer.eof) and ticks_diff(ticks_ms(), t0) < 5000:
            ticks += 1
            b.spi.timer.callback(b.spi.timer)
            _run_scheduled()
            peer.poll()
        assert bg.errors == 0, bg.last_error
        # every frame the board sent was whole (a frame written into the
        # chip's TX buffer over another one arrives with a bad type or sum)
        drops = sorted((k, v) for k, v in peer.stack.stats().items() if v and k.startswith("drop_"))
        assert drops == [], drops
        assert peer.bad == 0 and peer.got == total and peer.eof, (peer.got, peer.bad, peer.eof)
        # it did fire inside the socket calls (96 times since the peer's RX
        # ring holds two full segments: sendall waits less than with 2 KB)
        assert bg.skipped > 50, bg.skipped
        assert bg.polls > polls  # and polled once they had returned
        assert net.stack.busy == 0
        assert net.stack.stats()["internal_errors"] == 0
        bg.stop()
    _with_fake_board_modules(body)
    memreport.release(peer.stack)


def test_circuitpython_boards_default_to_3_sockets_with_2kb_rings_and_settings_still_win():
    saved = netboot._CIRCUITPY
    try:
        netboot._CIRCUITPY = False
        wire, net = up()
        assert net.stack.cfg.tcp_tx_bytes == netboot.Config.tcp_tx_bytes
        assert net.stack.cfg.tcp_rx_bytes == netboot.Config.tcp_rx_bytes == 2920
        netboot._CIRCUITPY = True
        wire, net = up()
        assert net.stack.cfg.tcp_tx_bytes == 2048 and len(net.stack.tcp.pool) == 3
        assert net.stack.cfg.tcp_rx_bytes == 2048
        wire, net = up(stack={"tcp_tx_bytes": 4096, "tcp_sockets": 4})
        assert net.stack.cfg.tcp_tx_bytes == 4096 and len(net.stack.tcp.pool) == 4
    finally:
        netboot._CIRCUITPY = saved


def test_run_forever_waits_with_stack_idle_until_the_next_deadline_at_most_max_sleep():
    # CircuitPython's loop: between polls Stack.idle (which returns at a
    # frame where INTn is wired), not a fixed sleep
    class Stop(Exception):
        pass

    class FakeStack:
        def __init__(self):
            self.waits = [0, 7, 50]
            self.idled = []

        def poll(self, now_ms):
            if not self.waits:
                raise Stop()
            return self.waits.pop(0)

        def idle(self, ms):
            self.idled.append(ms)

    class FakeNet:
        pass

    net = FakeNet()
    net.stack = FakeStack()
    try:
        netboot.run_forever(net, max_sleep_ms=10)
    except Stop:
        pass
    assert net.stack.idled == [7, 10]
