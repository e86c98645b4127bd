"""tcpip: a TCP/IP stack in portable Python for Ethernet microcontroller boards.

    >>> import tcpip
    >>> net = tcpip.start()                  # board: boards/ + tcpip_config.json, DHCP
    >>> tcpip.ifconfig()
    ('192.168.1.50', '255.255.255.0', '192.168.1.1', '192.168.1.1')
    >>> tcpip.ping("192.168.1.1")
    >>> s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_STREAM)
    >>> s.connect(tcpip.getaddrinfo("example.org", 80)[0][-1])
    >>> tcpip.netstat()
    >>> tcpip.trace(True)                   # one line per packet in and out

``tcpip.socket`` is both the socket constructor (call it) and the socket
module (``tcpip.socket.AF_INET``, ``tcpip.socket.SocketPool``, the class
itself is ``tcpip.socket.socket``), so ``import tcpip.socket as socket`` code
written for a ``socket`` module works too.  ``tcpip.SocketPool(stack)`` is the
CircuitPython-style pool for adafruit_requests / minimqtt / ntp.
``tcpip.aio`` has the asyncio helpers.

On a PC (CPython or the MicroPython unix port) build the NIC yourself::

    from tcpip.nic.tap import TapNIC
    net = tcpip.start(config=tcpip.Config(ip="192.0.2.2", prefix=24, gateway="192.0.2.1"),
                      nic=TapNIC("tap0"))
"""
# Importing the package loads the settings class and the socket module's
# names, not the stack: the layers (tcpip.stack and what it imports) load when
# a Stack is built, so a driver or a wire/ parser imports on its own.
from tcpip.config import Config  # noqa: F401
from tcpip import socket as _socket_module
from tcpip.socket import (AF_INET, SOCK_STREAM, SOCK_DGRAM, IPPROTO_IP, IPPROTO_TCP,  # noqa: F401
                          IPPROTO_UDP, SOL_SOCKET, SO_REUSEADDR, SO_BROADCAST, SO_KEEPALIVE,
                          TCP_NODELAY, SHUT_RD, SHUT_WR, SHUT_RDWR, getaddrinfo, SocketPool,
                          gaierror, timeout, set_stack, get_stack)

__version__ = "0.1.0"


# Functions, not the class and function of tcpip/stack.py: a module-level
# __getattr__ would load them lazily too, but MicroPython then no longer falls
# back to importing a submodule for ``from tcpip import ring``.

def Stack(cfg=None, nic=None):  # noqa: N802 - the class's name, loaded on first use
    """Build a ``tcpip.stack.Stack(cfg, nic)`` (tcpip/stack.py loads on first use)."""
    from tcpip.stack import Stack as _Stack
    return _Stack(cfg, nic)


def current():
    """The current Stack, or None: ``tcpip.stack.current()``."""
    import tcpip.stack
    return tcpip.stack.current()


# The REPL helpers live in tcpip/repl.py and load on first use, so a board that
# never calls them keeps that code (and tcpip/tracer.py) off its heap.

def ping(*args, **kw):
    """ICMP echo like the ping command: ``tcpip.repl.ping``."""
    from tcpip import repl
    return repl.ping(*args, **kw)


def netstat(*args, **kw):
    """Print the socket table: ``tcpip.repl.netstat``."""
    from tcpip import repl
    return repl.netstat(*args, **kw)


def ifconfig(*args, **kw):
    """Get or set (ip, netmask, gateway, dns): ``tcpip.repl.ifconfig``."""
    from tcpip import repl
    return repl.ifconfig(*args, **kw)


def stats(*args, **kw):
    """Print the stack's counters: ``tcpip.repl.stats``."""
    from tcpip import repl
    return repl.stats(*args, **kw)


def trace(*args, **kw):
    """One line per packet in and out, optionally pcap: ``tcpip.repl.trace``."""
    from tcpip import repl
    return repl.trace(*args, **kw)


class _SocketModule:
    """``tcpip.socket``: call it to make a socket; its attributes are those of
    the socket module (lib/tcpip/socket.py)."""

    def __init__(self, mod):
        self._module = mod

    def __getattr__(self, name):
        return getattr(self._module, name)

    def __call__(self, af=AF_INET, type=SOCK_STREAM, proto=0, stack=None):
        return self._module.socket(af, type, proto, stack)

    def __repr__(self):
        return "<tcpip.socket: call for a socket; module attributes inside>"


# Importing the submodule set ``tcpip.socket`` to the module; rebind it to the
# callable view (later imports of tcpip.socket find it in sys.modules and keep
# this attribute).
socket = _SocketModule(_socket_module)


class HostNet:
    """What ``start()`` returns on a PC: ``stack``, ``nic``, ``how``, ``ifconfig()``, ``poll()``."""

    def __init__(self, stack, nic, how):
        self.stack = stack
        self.nic = nic
        self.how = how

    def ifconfig(self, config=None):
        return ifconfig(config, stack=self.stack)

    def poll(self):
        from tcpip.compat import ticks_ms
        return self.stack.poll(ticks_ms())


def start(board=None, config=None, nic=None, dhcp=None, background=True, dhcp_timeout_ms=10000):
    """Bring the network up and make it the one ``socket()``, ``ping()``... use.

    On a board (``nic`` not given): delegates to ``firmware/netboot.py``'s
    ``start(board, settings, background)`` -- ``board`` is a module from
    boards/ (default ``tcpip_board``), ``config`` a settings dict like
    tcpip_config.json (default: that file).  Returns netboot's ``Net``.

    On a PC: ``config`` is a ``Config`` and ``nic`` a NIC (TapNIC, PacketNIC);
    ``dhcp=True`` (default when config.ip is 0.0.0.0) waits up to
    ``dhcp_timeout_ms`` for a lease.  Returns a ``HostNet``.
    """
    if nic is None:
        try:
            import netboot  # firmware/netboot.py, copied to the board by make flash
        except ImportError:
            raise OSError(19, "no NIC given and no netboot module (firmware/netboot.py) on the path")
        net = netboot.start(board, config, background)
        set_stack(net.stack)
        return net
    from tcpip.compat import ticks_ms, ticks_diff
    from tcpip.socket import _idle
    from tcpip.stack import Stack as _Stack
    cfg = config if config is not None else Config(mac=getattr(nic, "mac", None) or b"\x02\x00\x00\x00\x00\x02")
    st = _Stack(cfg, nic)
    set_stack(st)
    if dhcp is None:
        dhcp = st.iface.ip == 0
    how = "static"
    if dhcp:
        client = st.start_dhcp(ticks_ms())
        how = "dhcp"
        t0 = ticks_ms()
        while client.state != "bound":
            if ticks_diff(ticks_ms(), t0) > dhcp_timeout_ms:
                raise OSError(110, "no DHCP lease within %d ms" % dhcp_timeout_ms)
            w = st.poll(ticks_ms())
            _idle(st, w if w < 20 else 20)
    return HostNet(st, nic, how)
