"""The Stack: one interface, its transports, and the poll loop that drives them.

    stack = Stack(Config(ip="192.0.2.2", prefix=24, gateway="192.0.2.1"), nic)
    while True:
        wait_ms = stack.poll(ticks_ms())

``poll`` never blocks: it drains at most ``cfg.rx_frames_per_poll`` frames from
the NIC, runs the timers that are due and returns the milliseconds until the
next one (0 when frames may still be waiting).  Time is whatever the caller
passes, so tests run on a virtual clock.
"""
from tcpip.compat import ticks_diff
from tcpip.config import Config
from tcpip.iface import Interface

LINK_CHECK_MS = 500


class Stack:
    def __init__(self, cfg=None, nic=None):
        self.cfg = cfg if cfg is not None else Config()
        self.nic = nic
        self._stats = {}
        self.iface = Interface(self.cfg, nic, self._stats)
        self.link = None  # unknown until the first poll
        self.link_check_ms = 0
        self.now_ms = 0
        self.transports = []  # objects with timers(now_ms) -> ms
        self._rxv = memoryview(self.iface.rx)

    def add_transport(self, t):
        self.transports.append(t)

    def poll(self, now_ms):
        """Receive, run timers, transmit; returns ms until poll is next needed."""
        self.now_ms = now_ms
        iface = self.iface
        nic = self.nic
        if self.link is None or ticks_diff(now_ms, self.link_check_ms) >= LINK_CHECK_MS:
            self._check_link(now_ms)
        busy = False
        rx = self._rxv
        for _ in range(self.cfg.rx_frames_per_poll):
            try:
                n = nic.recv_into(rx)
            except OSError:
                n = 0
                self._stats["rx_errors"] = self._stats.get("rx_errors", 0) + 1
            if not n:
                break
            try:
                iface.input(n, now_ms)
            except Exception as e:  # a bug must not take the board off the network
                self._count_crash(e)
        else:
            busy = True
        wait = iface.timers(now_ms)
        for t in self.transports:
            try:
                w = t.timers(now_ms)
            except Exception as e:
                self._count_crash(e)
                w = 1000
            if w < wait:
                wait = w
        link_wait = LINK_CHECK_MS - ticks_diff(now_ms, self.link_check_ms)
        if link_wait < wait:
            wait = link_wait
        if busy or wait < 0:
            wait = 0
        return wait

    def _count_crash(self, e):
        st = self._stats
        st["internal_errors"] = st.get("internal_errors", 0) + 1
        self.last_error = e

    def _check_link(self, now_ms):
        self.link_check_ms = now_ms
        try:
            up = bool(self.nic.link_up())
        except OSError:
            up = False
        if up != self.link:
            if up:
                self._stats["link_up_events"] += 1
                # RFC 5227 2.3: announce our address when the link (re)appears
                self.iface.announce_pending = True
            elif self.link is not None:
                self._stats["link_down_events"] += 1
            self.link = up

    def stats(self):
        """A copy of every counter (see iface.STAT_KEYS for what they mean)."""
        return dict(self._stats)
