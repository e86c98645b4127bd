"""MicroPython board boot: bring tcpip up, keep it polled in the background, return to the REPL.

``make flash BOARD=...`` copies this file, ``netboot`` and the board's part of
``lib/tcpip`` (as .mpy), the board module (as ``tcpip_board.py``) and
``tcpip_config.json`` to the board.
After boot the REPL has ``net``::

    >>> net.ifconfig()                  # ('192.168.1.50', 24, '192.168.1.1', 'dhcp')
    >>> net.stack.stats()               # stack counters
    >>> net.nic.stats()                 # W5500/W5100S counters (SPI bytes, resyncs, ...)
    >>> net.background.stop()           # stop the background poll

The poll runs from a ``machine.Timer`` (every ``poll_ms``) and from the WIZnet chip's
INTn falling edge where the board wires it, both through
``micropython.schedule``, so the board answers ARP and ping while the REPL
waits for input.  Any error here is printed and the REPL still starts.
"""
import sys

import netboot

net = None
try:
    net = netboot.start()
    print("tcpip: %s up, %s, link %s, INTn %s" % (
        net.board.NAME, net.ifconfig(), "up" if net.nic.link_up() else "down",
        "used" if net.background.uses_int else "not wired"))
except Exception as e:  # a broken network must not lock the user out of the REPL
    print("tcpip: not started:", e)
    if hasattr(sys, "print_exception"):
        sys.print_exception(e)
