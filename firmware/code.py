"""CircuitPython board program: bring tcpip up, then poll it in a loop.

CircuitPython has no ``machine.Timer`` and no pin interrupts, so nothing can
poll in the background while the REPL waits: this file runs a polling loop
(the board answers ARP and ping while it runs).  Ctrl-C stops it and drops to
the REPL, where ``net`` is still there and ``netboot.run_forever(net)``
resumes.  For an application of your own, use asyncio instead and run
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
    print("tcpip: polling stopped; netboot.run_forever(net) resumes it")
