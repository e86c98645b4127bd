"""CircuitPython board program: bring tcpip up, then poll it in a loop.

CircuitPython has no ``machine.Timer`` and no pin interrupts, so nothing can
poll in the background while the REPL waits: this file runs a polling loop
(the board answers ARP and ping while it runs).  Ctrl-C stops it; the REPL
that a key then opens starts with a fresh heap (CircuitPython ends code.py's
VM), so bring the stack up there again with ``import netboot; net =
netboot.start(background=False)`` and poll with ``netboot.run_forever(net)``.
Stay in one REPL mode: leaving the raw REPL for the friendly one (or back)
also starts a fresh VM.  For an application of your own, use asyncio instead and run
``netboot.poll_task(net)`` as a task next to yours.

Copied to the CIRCUITPY drive by ``make flash BOARD=feather_rp2040_ethernet_featherwing``
together with ``netboot.py``, ``tcpip_board.py``, ``tcpip_config.json`` and
``lib/tcpip``.
"""
import netboot

net = netboot.start(background=False)
print("tcpip: %s up, %s, link %s" % (net.board.NAME, net.ifconfig(),
                                     "up" if net.nic.link_up() else "down"))
try:
    netboot.run_forever(net)
except KeyboardInterrupt:
    print("tcpip: polling stopped; in the REPL: import netboot; net = netboot.start(background=False)")
