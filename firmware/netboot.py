"""Bring tcpip up on a board: settings file, board module, NIC, Stack, DHCP or static.

Shared by ``main.py`` (MicroPython) and ``code.py`` (CircuitPython); on a PC
the same functions run with an emulated board (``boards/emulated_w5500.py``).

    import netboot
    net = netboot.start()        # MicroPython: polls in the background afterwards
    net.stack.stats(), net.nic.stats(), net.ifconfig()

Settings come from ``tcpip_config.json`` on the board's filesystem (all keys
optional; missing file = defaults)::

    {"dhcp": true, "dhcp_timeout_ms": 10000,
     "ip": "192.168.1.50", "prefix": 24, "gateway": "192.168.1.1", "dns": [],
     "mac": null, "poll_ms": 10, "stack": {}}

With ``"dhcp": true`` the board asks for a lease and falls back to the static
``ip``/``prefix``/``gateway`` when none arrives within ``dhcp_timeout_ms``.
``"stack"`` holds further ``tcpip.Config`` settings (lib/tcpip/config.py), the
heap the stack takes among them: ``{"tcp_sockets": 2}`` gives back the two
TCP sockets' rings and control blocks (6.2 KB each with the default 2,920-byte
rings), ``{"tcp_rx_bytes": 4096, "tcp_tx_bytes": 4096}`` costs 2.3 KB more per
socket (docs/memory.md has the figures).  On CircuitPython, whose heap has
about 20 KB left once the stack is up, the stack defaults to 3 TCP sockets
with 2 KB rings (``CIRCUITPYTHON_STACK``) instead of 4 with the 2,920-byte
rings of MicroPython boards: about 11 KB back, which serving needs there
(measured on the emulated Feather RP2040: with 18 KB free after start the
status page and the stats ran out of memory).
"""

try:
    import json
except ImportError:  # pragma: no cover
    import ujson as json  # type: ignore

import gc

from tcpip.compat import ticks_ms, ticks_diff, sleep_ms
from tcpip.config import Config
from tcpip.stack import Stack

CONFIG_PATH = "tcpip_config.json"
DEFAULTS = {
    "dhcp": True,
    "dhcp_timeout_ms": 10000,
    "ip": "192.168.1.50",
    "prefix": 24,
    "gateway": "192.168.1.1",
    "dns": [],
    "mac": None,
    "poll_ms": 10,
    "stack": {},
}
# Config settings that have their own keys above
_OWN_KEYS = ("mac", "ip", "prefix", "gateway", "dns")
# "stack" defaults on CircuitPython (its heap, see the module docstring); the
# user's "stack" settings win.  2 KB RX rings there: 2,920-byte ones cost 2.6 KB
# of the heap and bought nothing (quick board bench, emulated Feather RP2040:
# 84.5 kB/s into the board against 87.6 with 2 KB; the CPU is the limit there)
CIRCUITPYTHON_STACK = {"tcp_rx_bytes": 2048, "tcp_tx_bytes": 2048, "tcp_sockets": 3}
_CIRCUITPY = __import__("sys").implementation.name == "circuitpython"


def load_settings(path=CONFIG_PATH):
    """DEFAULTS updated from the JSON file at ``path`` (if it exists)."""
    s = dict(DEFAULTS)
    try:
        with open(path) as f:
            user = json.load(f)
    except OSError:
        return s
    for k in user:
        if k not in DEFAULTS:
            raise ValueError("%s: unknown setting %r" % (path, k))
        s[k] = user[k]
    extra = s["stack"]
    if not isinstance(extra, dict):
        raise ValueError("%s: \"stack\" must be an object of Config settings" % path)
    for k in extra:
        if k in _OWN_KEYS:
            raise ValueError("%s: set %r at the top level, not in \"stack\"" % (path, k))
    return s


def parse_mac(text):
    """'02:00:00:00:00:02' -> 6 bytes."""
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError("mac must look like 02:00:00:00:00:02, got %r" % text)
    return bytes([int(p, 16) for p in parts])


def board_functions(pins):
    """``spi()``, ``nic()`` and ``default_mac()`` for a board file that is its pin
    table (boards/*.py)::

        spi, nic, default_mac = board_functions(globals())

    ``pins`` is the board module's namespace: NAME, RUNTIME ("micropython":
    machine.SPI and Pin numbers; "circuitpython": busio.SPI and ``board`` pin
    names), CHIP (the chip ``nic()`` opens; CHIPS lists every chip the wiring
    takes, CHIP first), SPI_ID (MicroPython), SCK, MOSI, MISO, CS, RST and INT
    (None: not wired, so MR.RST software reset and polling), BAUDRATE.  The
    functions read ``pins`` when called, so a test can replace the module's
    ``spi``.
    """

    def spi(baudrate=None):
        """The SPI adapter for the board's chip (raw bytes: the same for both chips)."""
        if baudrate is None:
            baudrate = pins["BAUDRATE"]
        if pins["RUNTIME"] == "circuitpython":
            import board

            from tcpip.nic.w5500_busio import BusioSPI

            def pin(name):
                return getattr(board, name) if name is not None else None

            return BusioSPI(pin(pins["SCK"]), pin(pins["MOSI"]), pin(pins["MISO"]), pin(pins["CS"]),
                            rst=pin(pins["RST"]), int_pin=pin(pins["INT"]), baudrate=baudrate)
        from tcpip.nic.w5500_spi import MachineSPI

        return MachineSPI(pins["SPI_ID"], pins["SCK"], pins["MOSI"], pins["MISO"], pins["CS"],
                          rst=pins["RST"], int_pin=pins["INT"], baudrate=baudrate)

    def nic(mac, chip=None, **kw):
        """Reset the chip and open it as a MACRAW NIC: tcpip.nic.w5500.W5500 or
        tcpip.nic.w5100s.W5100S, by ``chip`` (default CHIP)."""
        chips = pins.get("CHIPS") or (pins["CHIP"],)
        chip = chip or pins["CHIP"]
        if chip not in chips:
            from tcpip.compat import EOPNOTSUPP

            raise OSError(EOPNOTSUPP, "%s: chip %r is not supported (%s)"
                          % (pins["NAME"], chip, " or ".join(chips)))
        if chip == "W5100S":
            from tcpip.nic.w5100s import W5100S

            return W5100S(pins["spi"](), mac, **kw)
        from tcpip.nic.w5500 import W5500

        return W5500(pins["spi"](), mac, **kw)

    def default_mac():
        """A locally administered MAC derived from the chip's unique id."""
        if pins["RUNTIME"] == "circuitpython":
            import microcontroller

            uid = microcontroller.cpu.uid
        else:
            import machine

            uid = machine.unique_id()
        return bytes([0x02, uid[-5], uid[-4], uid[-3], uid[-2], uid[-1]])

    return spi, nic, default_mac


class Net:
    """What ``start()`` returns: ``stack``, ``nic``, ``board``, ``settings``,
    ``how`` ("dhcp" or "static"), and ``background`` (MicroPython poller)."""

    def __init__(self, stack, nic, board, settings, how):
        self.stack = stack
        self.nic = nic
        self.board = board
        self.settings = settings
        self.how = how
        self.background = None

    def ifconfig(self):
        """(ip, prefix, gateway, how) as the interface has them now."""
        from tcpip.wire.ipv4 import ntoa

        i = self.stack.iface
        return (ntoa(i.ip), i.prefix, ntoa(i.gateway), self.how)

    def poll(self):
        """One stack poll now; returns ms until the next one is due."""
        return self.stack.poll(ticks_ms())


def bring_up(board, settings, wait_dhcp=True):
    """Reset the board's chip, build the Stack, get an address.  Returns a Net."""
    mac = parse_mac(settings["mac"]) if settings.get("mac") else board.default_mac()
    # "stack": further Config settings (a wrong name raises ValueError here,
    # before the chip is touched)
    extra = dict(CIRCUITPYTHON_STACK) if _CIRCUITPY else {}
    extra.update(settings.get("stack") or {})
    cfg = Config(mac=mac, ip=settings["ip"], prefix=settings["prefix"],
                 gateway=settings["gateway"], dns=settings["dns"], **extra)
    nic = board.nic(mac)
    how = "static"
    if settings["dhcp"]:
        # DHCP first: the interface has no address until a lease arrives.
        cfg.ip = "0.0.0.0"
        cfg.gateway = "0.0.0.0"
    stack = Stack(cfg, nic)
    net = Net(stack, nic, board, settings, how)
    if settings["dhcp"]:
        client = stack.start_dhcp(ticks_ms())
        net.how = "dhcp"
        if wait_dhcp:
            t0 = ticks_ms()
            while client.state != "bound":
                if ticks_diff(ticks_ms(), t0) > settings["dhcp_timeout_ms"]:
                    # No lease: static fallback from the settings file.
                    client.stop()
                    stack.iface.configure(settings["ip"], settings["prefix"],
                                          settings["gateway"])
                    net.how = "static"
                    break
                wait = stack.poll(ticks_ms())
                sleep_ms(wait if 0 < wait < 10 else (1 if wait <= 0 else 10))
    return net


# Background polls wait while more C stack than this is in use (bytes,
# micropython.stack_use()): the receive path needs up to about 4.4 KB below
# the poll, and the rp2 port's C stack is 8 KB.
DEFER_STACK_BYTES = 2048


class Background:
    """MicroPython: poll the stack from ``machine.Timer`` and the INTn edge
    while the REPL is idle.  ``stop()`` ends it.

    The timer tick goes through ``micropython.schedule``, so the poll runs
    outside IRQ context.  The INTn handler is registered soft (``hard=False``),
    so MicroPython already runs it from its scheduler and it polls at once:
    scheduling again from there waited for the idle REPL's next wake-up, the
    next timer tick (an echo request then waited ~8 ms for its reply).

    Either callback runs between two bytecodes of the main program, possibly
    in the middle of its socket call or its own ``stack.poll``: it polls only
    when the stack lock is free (``stack.busy``, see ``tcpip.stack``) and
    otherwise counts ``skipped`` and leaves the retry to the next tick (the
    main program's blocking calls poll the stack themselves meanwhile)."""

    def __init__(self, net, period_ms=10):
        import machine
        import micropython

        self.net = net
        self.polls = 0
        self.deferred = 0
        self.skipped = 0  # ticks or edges that found the stack busy
        self.errors = 0
        self._stack_use = getattr(micropython, "stack_use", None)
        self.last_error = None
        self._pending = False
        self._stopped = False
        self._schedule = micropython.schedule
        # Bound methods made once: scheduling them allocates nothing per tick.
        self._run_cb = self._run
        self._kick_cb = self._kick
        self.timer = machine.Timer(-1)
        self.timer.init(mode=machine.Timer.PERIODIC, period=period_ms, callback=self._kick_cb)
        # INTn, where the board wires it, gets frames handled without waiting
        # for the next tick; the timer stays as the backstop (docs/w5500.md, quirk Q4).
        self.uses_int = bool(net.nic.irq(self._edge))

    def _kick(self, _source):
        if self._pending:
            return
        self._pending = True
        try:
            self._schedule(self._run_cb, 0)
        except RuntimeError:  # schedule queue full: the next tick retries
            self._pending = False

    def _run(self, _arg):
        self._pending = False
        self._poll()

    def _edge(self, _nic):
        self._poll()

    def _poll(self):
        if self._stopped:  # a tick scheduled before stop()
            return
        if self._stack_use is not None and self._stack_use() > DEFER_STACK_BYTES:
            # Deep in the main program's C stack (mbedTLS's handshake calling
            # a socket's read or write): a full poll on top of that overran the
            # 8 KB C stack of the rp2 port ("maximum recursion depth exceeded"
            # in the receive path, a frame lost).  The socket's own wait loop
            # polls the stack meanwhile; the next tick tries again.
            self.deferred += 1
            return
        stack = self.net.stack
        if stack.busy:  # the main program is inside the stack: the next tick retries
            self.skipped += 1
            return
        try:
            for _ in range(8):  # frames still waiting: go on, bounded
                wait = stack.poll(ticks_ms())
                self.polls += 1
                if wait != 0:
                    return
        except Exception as e:  # keep the board on the network
            self.errors += 1
            self.last_error = e
            return
        self._kick(None)  # still more: let the REPL run first

    def stop(self):
        """Stop polling: the timer and the INTn handler.  Sockets and
        ``stack.poll`` hold the stack lock, so they need not stop this; code
        that works below them (``Connection`` objects, ``stack.iface``)
        without holding ``stack.busy`` must: a poll from here runs between any
        two bytecodes of the main program."""
        self._stopped = True
        self.timer.deinit()
        if self.uses_int:
            self.net.nic.irq(None)


def run_forever(net, max_sleep_ms=10):
    """CircuitPython (no background timers): poll in a loop; Ctrl-C returns
    to the REPL.  From asyncio code use ``poll_task`` instead.

    Between polls it waits with ``Stack.idle`` until the next deadline, at
    most max_sleep_ms: with the NIC's INTn wired a frame ends the wait at
    once; without it the whole wait is slept (the chip buffers the frames)."""
    stack = net.stack
    while True:
        wait = stack.poll(ticks_ms())
        if wait > 0:
            stack.idle(wait if wait < max_sleep_ms else max_sleep_ms)


async def poll_task(net, max_sleep_ms=10):
    """An asyncio task that keeps the stack polled (CircuitPython or MicroPython)."""
    import asyncio

    stack = net.stack
    while True:
        wait = stack.poll(ticks_ms())
        ms = wait if 0 < wait < max_sleep_ms else max_sleep_ms
        await asyncio.sleep(ms / 1000)


def start(board=None, settings=None, background=True):
    """Bring tcpip up from ``tcpip_board.py`` and ``tcpip_config.json``.
    On MicroPython also starts the background poller (``net.background``)."""
    if board is None:
        import tcpip_board as board  # type: ignore  # boards/<BOARD>.py, copied by make flash
    if settings is None:
        settings = load_settings()
    # The imports leave garbage all over the heap.  Collected now, the stack's
    # buffers fill those holes and one large free block stays: mbedTLS needs
    # about 17 KB in one piece for a TLS socket (without this, 9 KB was the
    # largest block left on a W5500-EVB-Pico).
    gc.collect()
    net = bring_up(board, settings)
    if background:
        net.background = Background(net, settings["poll_ms"])
    return net
