"""DHCP + DNS client run for the dnsmasq tests; portable (CPython and micropython).

    <runtime> dhcp_dns_app.py NIC IFNAME SECONDS [--static] [name ...]

Gets an address by DHCP, resolves each name, then keeps polling until SECONDS
have passed so lease renewals can be observed.  Prints one JSON object per
event line: {"event": "bound", ...}, {"event": "resolved", "name":..,
"address":..} or {"event": "error", "name":.., "errno":..}, and at the end
{"event": "done", "dhcp": {...}, "stats": {...}}.
"""
import sys
import select

try:
    import json
except ImportError:
    import ujson as json

from tcpip.compat import ticks_ms, ticks_diff
from tcpip.config import Config
from tcpip.stack import Stack
from tcpip.wire.ipv4 import ntoa


def say(obj):
    print(json.dumps(obj))
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


class _Static:
    state = "bound"
    renewals = 0
    lease_s = 0
    t1_s = 0

    def info(self):
        return {"state": "static"}


def main(argv):
    kind, ifname, seconds = argv[0], argv[1], int(argv[2])
    names = argv[3:]
    static = names and names[0] == "--static"
    if static:
        names = names[1:]
    mac = b"\x02\x00\x00\x00\x00\x22"
    if kind == "tap":
        from tcpip.nic.tap import TapNIC
        nic = TapNIC(ifname, mac=mac)
    else:
        from tcpip.nic.packet import PacketNIC
        nic = PacketNIC(ifname, mac=mac)
    stack = Stack(Config(mac=mac, ip="0.0.0.0", prefix=0, gateway="0.0.0.0"), nic)
    poller = select.poll()
    poller.register(nic.fileno(), select.POLLIN)
    start = ticks_ms()
    if static:
        # No DHCP: fixed address, DNS server 192.0.2.1 (the kernel, which has none).
        stack.iface.configure("192.0.2.2", 24, "192.0.2.1")
        stack.cfg.dns.append("192.0.2.1")
        dhcp = _Static()
    else:
        dhcp = stack.start_dhcp(start)
    state = None
    renewals = 0
    todo = list(names)
    current = None
    while ticks_diff(ticks_ms(), start) < seconds * 1000:
        now = ticks_ms()
        wait = stack.poll(now)
        if dhcp.state != state:
            state = dhcp.state
            if state == "bound":
                say({"event": "bound", "ip": ntoa(stack.iface.ip), "prefix": stack.iface.prefix,
                     "gateway": ntoa(stack.iface.gateway), "dns": stack.cfg.dns,
                     "lease_s": dhcp.lease_s, "t1_s": dhcp.t1_s, "renewals": dhcp.renewals})
            else:
                say({"event": "state", "state": state})
        if dhcp.renewals != renewals:
            renewals = dhcp.renewals
            say({"event": "renewed", "renewals": renewals, "ip": ntoa(stack.iface.ip)})
        if state == "bound" and (todo or current):
            if current is None:
                current = todo.pop(0)
                try:
                    stack.dns.start(current, now)
                except OSError as e:
                    say({"event": "error", "name": current, "errno": e.args[0]})
                    current = None
            if current is not None:
                try:
                    addr = stack.dns.result(current, now)
                    if addr is not None:
                        say({"event": "resolved", "name": current, "address": ntoa(addr)})
                        current = None
                except OSError as e:
                    say({"event": "error", "name": current, "errno": e.args[0]})
                    current = None
        if wait > 50:
            wait = 50
        if wait > 0:
            poller.poll(wait)
    say({"event": "done", "dhcp": dhcp.info(), "stats": stack.stats()})


main(sys.argv[1:])
