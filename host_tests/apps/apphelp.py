"""Shared start-up for the test apps (portable: CPython and MicroPython).

    stack = apphelp.make_stack(sys.argv[1:3])   # "tap tap0" or "packet vb"

The stack gets 192.0.2.2/24, gateway and DNS 192.0.2.1, and becomes the one
tcpip.socket() uses.  ``say(obj)`` prints one JSON line; ``Checks`` runs named
checks and prints {"check": name, "ok": bool, "why": text} per check.
"""
import sys

try:
    import json
except ImportError:
    import ujson as json

from tcpip.config import Config
from tcpip.compat import ticks_ms, ticks_diff
import tcpip

MAC = b"\x02\x00\x00\x00\x00\x02"


def make_nic(kind, ifname):
    if kind == "tap":
        from tcpip.nic.tap import TapNIC
        return TapNIC(ifname, mac=MAC)
    # host_tests/helpers/shims/socket.py (tcpip's sockets as ``socket``) may come first
    # on MICROPYPATH; the packet NIC needs the unix port's own socket module,
    # which MicroPython still offers as ``usocket``.
    saved = sys.modules.get("socket")
    try:
        import usocket
        sys.modules["socket"] = usocket
    except ImportError:
        usocket = None
    from tcpip.nic.packet import PacketNIC
    if usocket is not None:
        if saved is None:
            del sys.modules["socket"]
        else:
            sys.modules["socket"] = saved
    return PacketNIC(ifname, mac=MAC)


def make_stack(args, dhcp=False, **cfg):
    nic = make_nic(args[0], args[1])
    if dhcp:
        c = Config(mac=MAC, ip="0.0.0.0", prefix=0, gateway="0.0.0.0")
    else:
        c = Config(mac=MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.1", dns=["192.0.2.1"])
    for k in cfg:
        setattr(c, k, cfg[k])
    net = tcpip.start(config=c, nic=nic, dhcp=dhcp)
    return net.stack


def say(obj):
    print(json.dumps(obj))
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def hash_body(read, h):
    """Feed ``read(8192)`` into the hash ``h`` until it returns nothing (a
    response body read to its end); the byte count."""
    n = 0
    while True:
        d = read(8192)
        if not d:
            return n
        h.update(d)
        n += len(d)


def pump(stack, ms):
    """Keep the stack polled for ms (answers ARP/ping, runs timers)."""
    from tcpip.socket import _idle
    t0 = ticks_ms()
    while ticks_diff(ticks_ms(), t0) < ms:
        w = stack.poll(ticks_ms())
        _idle(stack, w if w < 10 else 10)


class Checks:
    def __init__(self):
        self.failed = 0

    def run(self, name, fn):
        try:
            r = fn()
            say({"check": name, "ok": True, "info": r})
        except Exception as e:  # report and go on with the next check
            self.failed += 1
            say({"check": name, "ok": False, "why": "%s: %r" % (type(e).__name__, e.args)})
