"""micropython-lib's iperf3 (PyPI ``uiperf3``, unchanged) as the server on tcpip's
sockets, MicroPython unix port: serves ``count`` iperf3 clients (the Debian
``iperf3 -c`` in the namespace), forward or reverse as each client asks.

    micropython iperf3_app.py packet vb [count [tcp_tx_bytes]]

Two lines of platform glue, not changes to the library: on ``sys.platform ==
"linux"`` uiperf3 assumes sockets with real file descriptors and matches
``select.poll`` results by ``fileno()``; MicroPython's poll on tcpip sockets
(which have none) returns the socket objects, so the board variant of its
``pollable_is_sock`` is used, with the unix port's microsecond ticks.
"""
import sys
import time

import socket  # noqa: F401  host_tests/helpers/shims/socket.py: tcpip's sockets
import apphelp

count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
tx = int(sys.argv[4]) if len(sys.argv) > 4 else 2048
stack = apphelp.make_stack(sys.argv[1:3], tcp_tx_bytes=tx)
import uiperf3  # noqa: E402


def _pollable_is_sock(pollable, sock):
    return sock is not None and pollable[0] is sock


uiperf3.pollable_is_sock = _pollable_is_sock
uiperf3.ticks_us = time.ticks_us
uiperf3.ticks_diff = time.ticks_diff
apphelp.say({"event": "ready"})
for i in range(count):
    uiperf3.server_once()
    apphelp.say({"event": "served", "n": i + 1})
apphelp.say({"event": "done", "stats": {k: stack.stats()[k] for k in
                                        ("tcp_retransmits", "internal_errors")}})
