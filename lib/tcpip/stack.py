"""The Stack: one interface, its transports, and the poll loop that drives them.

    stack = Stack(Config(ip="192.0.2.2", prefix=24, gateway="192.0.2.1"), nic)
    while True:
        wait_ms = stack.poll(ticks_ms())

``poll`` never blocks: it drains at most ``cfg.rx_frames_per_poll`` frames from
the NIC, runs the timers that are due and returns the milliseconds until the
next one (0 when frames may still be waiting).  Time is whatever the caller
passes, so tests run on a virtual clock.

``stack.busy`` is the stack lock (lwIP's LOCK_TCPIP_CORE): above 0 while the
application is inside the stack -- ``poll`` and every socket call that touches
it count it up and down (try/finally, nothing allocated).  A background
poller that can run between any two bytecodes of the application (a board's
``machine.Timer`` or INTn callback through ``micropython.schedule``) must not
enter the stack then: it skips and leaves the retry to its next tick, while
a blocking call polls the stack itself.
"""
from tcpip import compat as _compat
from tcpip.compat import const, ticks_add, ticks_diff, sleep_ms, current_exception, GETATTR_NOT_PROPERTY
from tcpip.compat import BIND_EXCEPTIONS
from tcpip.config import Config
from tcpip.iface import Interface
from tcpip.tcp import Tcp
from tcpip.udp import Udp

LINK_CHECK_MS = const(500)
_ECHOED = const(-2)  # _idle_recv: the frame was an echo request, answered
# Counters of the stack itself and of the DHCP client and DNS resolver (a
# group fixed when the stack is built, so the set of counters never grows;
# bumped by name: all rare).
STAT_KEYS = ("rx_errors", "internal_errors", "drop_tcp_no_handler", "dhcp_declines",
             "dhcp_ignored_short", "dhcp_ignored_malformed", "dhcp_ignored_not_for_us",
             "dhcp_ignored_xid", "dns_ignored_short", "dns_ignored_id",
             "dns_ignored_malformed", "dns_ignored_question")

# The one answer to "which stack is current": the Stack built last, or the one
# set_current() named since (tcpip.start() and tcpip.socket.set_stack() set it).
# Sockets, getaddrinfo and the REPL tools use it when no stack is given.
_current = None


def current():
    """The current Stack (the last built, or the last set_current() named), or None."""
    return _current


def set_current(stack):
    """Make ``stack`` (or None) the one sockets, getaddrinfo and the REPL tools use."""
    global _current
    _current = stack


class Stack:
    def __init__(self, cfg=None, nic=None):
        self.cfg = cfg if cfg is not None else Config()
        self.nic = nic
        self.iface = Interface(self.cfg, nic)
        self.counters = self.iface.counters
        self.link = None  # unknown until the first poll
        self.link_check_ms = 0
        self.now_ms = 0
        self.transports = []  # objects with timers(now_ms) -> ms
        self._rxv = self.iface.rx
        # TCP control blocks and their rings are allocated here, once.
        self.tcp = Tcp(self.cfg, self.iface)
        self.add_transport(self.tcp)
        self.udp = Udp(self.cfg, self.iface)
        self._dns = None  # the Resolver, built by the first use of .dns
        self.counters.group(STAT_KEYS)
        self.dhcp = None  # a DhcpClient once start_dhcp() is called
        self._in_poll = False
        self._took = 0  # the length of a frame poll's first receive took, for _receive
        self._idle_nic = None  # the NIC whose wait (or None) idle() holds in _idle_wait
        self._idle_wait = None
        # the NIC whose rx_quiet the idle shortcut asks (optional in the NIC
        # contract: None when this NIC has none, or not this stack's NIC)
        self._quiet_nic = nic if getattr(nic, "rx_quiet", None) is not None else None
        self.busy = 0  # the stack lock (module docstring)
        self.last_error = None  # the last exception caught inside poll (internal_errors counts them)
        global _current
        _current = self

    def _resolver(self):
        r = self._dns
        if r is None:
            from tcpip.dns import Resolver
            cfg = self.cfg
            r = self._dns = Resolver(self.iface, self.udp, cfg.dns_cache_entries,
                                     cfg.dns_timeout_ms, cfg.dns_retries)
            self.add_transport(r)
        return r

    # ``dns``: the DNS resolver (tcpip/dns.py), loaded and built on first use:
    # a board that never resolves a name keeps its code off the heap.
    if GETATTR_NOT_PROPERTY:  # (see tcpip.compat)
        def __getattr__(self, name):
            if name == "dns":
                return self._resolver()
            raise AttributeError(name)
    else:
        dns = property(_resolver)

    def start_dhcp(self, now_ms=None):
        """Configure the interface by DHCP from now on (RFC 2131); returns the client."""
        from tcpip.dhcp import DhcpClient
        if self.dhcp is None:
            self.dhcp = DhcpClient(self.iface, self.udp, self.cfg.dhcp_retry_ms)
            self.add_transport(self.dhcp)
        self.dhcp.start(self.now_ms if now_ms is None else now_ms)
        return self.dhcp

    def add_transport(self, t):
        """Run ``t.timers(now_ms) -> ms until its next deadline`` at every full
        poll.  A transport that arms a deadline between polls sets
        ``stack.iface.wake_at`` to None, so that the next poll runs the
        timers instead of taking the idle shortcut."""
        self.transports.append(t)
        self.iface.wake_at = None

    def idle(self, ms):
        """Wait up to ms for the NIC (its ``wait`` if it has one) without polling.

        Never past the next deadline the last poll computed, and not at all
        while a poll is due first: an ACK is owed (the application's read
        left a window update for the next poll) or something armed a
        deadline since the last poll (``iface.wake_at`` is None then)."""
        due = self.iface.wake_at
        if due is None or self.tcp.ack_soon:
            return
        due = (due - self.now_ms) & _compat.TICKS_MAX
        if due < ms:
            ms = due
        nic = self.nic
        if self._idle_nic is not nic:
            # looked up once per NIC: each lookup of a bound method is a new
            # heap object on MicroPython, and a serving loop idles often
            self._idle_nic = nic
            self._idle_wait = getattr(nic, "wait", None)
        if self._idle_wait is not None:
            self._idle_wait(ms)
        elif ms > 0:
            sleep_ms(ms)

    def poll(self, now_ms):
        """Receive, run timers, transmit; returns ms until poll is next needed.

        Re-entrant calls (a background timer firing while the application is
        inside poll) return at once instead of corrupting state.  An
        exception poll does not catch (KeyboardInterrupt: Ctrl-C) reaches
        the caller and leaves the stack polling."""
        if self._in_poll:
            return 1
        self._in_poll = True
        # (cleared by the finally on every way out, Ctrl-C included: left
        # set, every later poll would return at once, for good.  A finally,
        # not an except: MicroPython raises a pending Ctrl-C at a branch,
        # and an except's exception match and its end are branches outside
        # it.  The try's level and its three stack slots take poll's frame
        # to 11 words, the most kept off the heap (tools/measure/frames.py):
        # hence no chained comparison and the full poll called after it.
        # An empty poll on the emulated board: 80.2 us, 90.8 before; with
        # its frame on the heap 99.1.)
        try:
            # The common poll first: no deadline due and no frame, decided by
            # one tick subtraction and the NIC's rx_quiet (INTn's level on a
            # WIZnet chip: one C call), or one receive when it has none or is
            # not quiet.  iface.wake_at is when the timers must next run (a
            # full poll sets it), None when something armed a deadline since;
            # one more than LINK_CHECK_MS ahead (or past) is a stale stamp: a
            # full poll then.  (ticks_diff inlined: a Python call costs ~10 us
            # on the board; the receive's try in _idle_recv, off this path.)
            n = self.iface.wake_at
            if n is not None:
                n = (n - now_ms) & _compat.TICKS_MAX
                if n and n <= LINK_CHECK_MS:  # (0 < n, n being masked)
                    if self._quiet_nic is self.nic and self.nic.rx_quiet():
                        self.now_ms = now_ms
                        self.tcp.now_ms = now_ms  # (what Tcp.timers would have set)
                        return n  # (the time left to iface.wake_at)
                    n = self._idle_recv()
                    if n == 0:
                        self.now_ms = now_ms
                        self.tcp.now_ms = now_ms
                        return (self.iface.wake_at - now_ms) & _compat.TICKS_MAX
                    if n > 0:
                        self._took = n  # taken in by the full poll, in its place
                    elif n == _ECHOED:
                        self.now_ms = now_ms
                        self.tcp.now_ms = now_ms
                        return 0  # (more frames may wait)
        finally:
            self._in_poll = False
        # (the full poll sets the flag again at once: no branch, so no
        # scheduled poll and no Ctrl-C, comes between)
        return self._poll(now_ms)

    def _idle_recv(self):
        # the idle shortcut's receive: an error is met again by the full
        # poll's receive, which counts it.  An echo request the interface
        # answers in machine code (Interface.echo_fast) is answered here,
        # five Python calls sooner than through the full poll (about 0.2 ms
        # of a ping on the emulated RP2040): _ECHOED then.  (Looked up on
        # the class: a method not found in the interface's big attribute
        # map costs a long probe there first, 13 us on the board.)
        try:
            n = self.nic.recv_into(self._rxv)
        except Exception:
            return -1
        if n > 0 and self._rxv[23] == 1:
            try:
                if Interface.echo_fast(self.iface, n):
                    return _ECHOED
            except Exception:  # (as _input: a bug must not take the board off the network)
                self._crashed()
                return _ECHOED
        return n

    # poll's work is split in small functions on purpose: MicroPython
    # runs a function whose state (locals, value stack, try levels) exceeds
    # 11 words with a heap-allocated frame, and these run at every poll
    # (tools/measure/frames.py lists the sizes).

    def _poll(self, now_ms):
        # a full poll, holding the stack lock (the idle shortcut in poll only
        # receives, guarded by _in_poll like every re-entrant poll)
        self._in_poll = True
        self.busy += 1
        try:
            return self._run(now_ms)
        finally:
            self._in_poll = False
            self.busy -= 1

    def _run(self, now_ms):
        self.now_ms = now_ms
        due = self.iface.wake_at
        if due is None or not 0 < ((due - now_ms) & _compat.TICKS_MAX) <= LINK_CHECK_MS:
            return self._full(now_ms)  # a deadline has come (or a stale stamp)
        # Frames and no deadline: the timers run only if the frames armed one
        # (anything that does sets iface.wake_at to None).
        if self.tcp.ack_soon:  # ACKs owed since the last poll that nothing carried
            self.tcp.send_soon_acks(now_ms)
        due = self._receive()
        if self.iface.wake_at is None:
            return self._finish(now_ms, due)
        if self.tcp.ack_soon:
            self.iface.wake_at = None  # the next poll sends them
            return 0
        if due:
            return 0  # (frames may still wait: the next poll's receive finds them)
        return (self.iface.wake_at - now_ms) & _compat.TICKS_MAX

    def _full(self, now_ms):
        d = ticks_diff(now_ms, self.link_check_ms)
        if self.link is None or d >= LINK_CHECK_MS or d < 0:  # d < 0: a stale stamp
            self._check_link(now_ms)
        if self.tcp.ack_soon:  # ACKs owed since the last poll that nothing carried
            self.tcp.send_soon_acks(now_ms)
        return self._finish(now_ms, self._receive())

    def _finish(self, now_ms, busy):
        # the timers, and the next wake-up: the earliest deadline (the link
        # check's included), now when frames may still wait
        d = ticks_diff(now_ms, self.link_check_ms)
        if d < 0 or d > LINK_CHECK_MS:
            d = LINK_CHECK_MS  # (a stale stamp: the next full poll checks)
        self.iface.wake_at = now_ms  # a layer whose timers already ran may arm one: None then
        wait = self._timers(now_ms)
        if LINK_CHECK_MS - d < wait:
            wait = LINK_CHECK_MS - d
        if busy or wait < 0 or self.tcp.ack_soon or self.iface.wake_at is None:
            wait = 0
        self.iface.wake_at = ticks_add(now_ms, wait)
        return wait

    def _receive(self):
        """Drain up to cfg.rx_frames_per_poll frames (the first the one poll
        took already, if it took one); True when more may wait."""
        k = self.cfg.rx_frames_per_poll
        n = self._took
        self._took = 0
        while k:
            if not n:
                if self._quiet_nic is self.nic and self.nic.rx_quiet():
                    return False  # (as in poll: no receive, and no try, when quiet)
                n = self._recv()
                if not n:
                    return False
            self._input(n)
            n = 0
            k -= 1
        return True

    def _recv(self):
        try:
            return self.nic.recv_into(self._rxv)
        except OSError:
            self.counters.add("rx_errors")
        except Exception:  # a driver bug must not take the board off the network
            self._crashed()
        return 0

    # _input and _timer take the time from self.now_ms (_run set it): an
    # ``except Exception`` takes 6 stack slots and its try level 3 words,
    # so a third local would make their frames 12 words, on the heap at
    # every frame and every timer (tools/measure/frames.py).

    def _input(self, n):
        try:
            self.iface.input(n, self.now_ms)
        except Exception:  # a bug must not take the board off the network
            self._crashed()

    def _timers(self, now_ms):
        wait = self.iface.timers(now_ms)
        ts = self.transports
        i = 0
        while i < len(ts):  # (a while loop: a for loop's iterator would make the frame too big)
            w = self._timer(ts[i])
            i += 1
            if w < wait:
                wait = w
        return wait

    def _timer(self, t):
        try:
            return t.timers(self.now_ms)
        except Exception:
            self._crashed()
            return 1000

    def _crashed(self, e=None):
        self.counters.add("internal_errors")
        self.last_error = current_exception() if e is None else e

    def _check_link(self, now_ms):
        self.link_check_ms = now_ms
        try:
            up = bool(self.nic.link_up())
        except OSError:
            up = False
        if up != self.link:
            if up:
                self.counters.add("link_up_events")
                # RFC 5227 2.3: announce our address when the link (re)appears
                self.iface.announce_pending = True
            elif self.link is not None:
                self.counters.add("link_down_events")
            self.link = up

    def stats(self):
        """Every counter by name, in a new dict (the layers' STAT_KEYS say what
        they mean; ``stack.counters.get(name)`` reads one without a dict)."""
        return self.counters.dict()


if BIND_EXCEPTIONS:
    # CircuitPython (no sys.exc_info; frames on the pystack, see tcpip.compat):
    # handlers that bind the exception, so stack.last_error names it there too
    # (their own module: a MicroPython board does not load their code).
    from tcpip import stack_bind as _bind
    Stack._recv = _bind.recv
    Stack._input = _bind.input_
    Stack._timer = _bind.timer
