"""adafruit_ntp (PyPI, unchanged) on tcpip.SocketPool asks chronyd for the time
(CPython: adafruit_ntp uses time.monotonic_ns).  The stack is configured by
DHCP (tcpip.start with dhcp=True) and finds the server by name (ntp.test) from
the DNS server the lease names.

    python ntp_app.py tap tap0
"""
import sys
import time

import tcpip
import adafruit_ntp
import apphelp

t0 = time.monotonic()
stack = apphelp.make_stack(sys.argv[1:3], dhcp=True)
dhcp_ms = (time.monotonic() - t0) * 1000
ntp = adafruit_ntp.NTP(tcpip.SocketPool(stack), server="ntp.test", tz_offset=0, socket_timeout=2)
t0 = time.monotonic()
utc_ns = ntp.utc_ns
ms = (time.monotonic() - t0) * 1000
apphelp.say({"event": "done", "ifconfig": list(tcpip.ifconfig()), "dhcp_ms": dhcp_ms, "utc_ns": utc_ns, "host_ns": time.time_ns(), "ms": ms,
             "datetime": list(ntp.datetime)[:6], "stats": {"udp_tx": stack.stats()["udp_tx"]}})
