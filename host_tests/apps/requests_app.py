"""HTTP GET of a file through tcpip: adafruit_requests on CPython (via
adafruit_connection_manager and tcpip.SocketPool), micropython-lib ``requests``
(frozen in the unix port, on tcpip through host_tests/helpers/shims/socket.py) on
MicroPython.  Both unchanged.

    <runtime> requests_app.py tap tap0 | packet vb URL

Prints {"event": "done", "bytes": n, "sha256": hex, "ms": t, "library": name}.
"""
import sys
import hashlib
import binascii

from tcpip.compat import ticks_ms, ticks_diff
import apphelp

stack = apphelp.make_stack(sys.argv[1:3], tcp_rx_bytes=16384)
url = sys.argv[3]
import tcpip
try:
    tcpip.getaddrinfo("missing.test", 80)
    nx = None
except OSError as e:  # NXDOMAIN from dnsmasq: EAI_NONAME, as getaddrinfo reports it
    nx = [e.args[0], isinstance(e, tcpip.gaierror)]
h = hashlib.sha256()
n = 0
t0 = ticks_ms()
if sys.implementation.name == "micropython":
    import socket
    assert hasattr(socket, "SocketPool"), "the socket shim is not first on MICROPYPATH"
    import requests
    lib = "micropython-lib requests"
    r = requests.get(url)
    status = r.status_code
    n = apphelp.hash_body(r.raw.read, h)
    r.close()
else:
    import adafruit_requests
    import tcpip
    lib = "adafruit_requests"
    session = adafruit_requests.Session(tcpip.SocketPool(stack))
    r = session.get(url)
    status = r.status_code
    for chunk in r.iter_content(8192):
        h.update(chunk)
        n += len(chunk)
    r.close()
ms = ticks_diff(ticks_ms(), t0)
apphelp.say({"event": "done", "nxdomain": nx, "status": status, "bytes": n, "ms": ms, "library": lib,
             "sha256": binascii.hexlify(h.digest()).decode()})
