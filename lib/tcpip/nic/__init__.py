"""Network interface drivers.

A NIC is four things::

    nic.mac                 # 6-byte bytes, the station address
    nic.recv_into(buf)      # -> n: copy one whole Ethernet frame (no FCS) into buf,
                            #    0 when nothing waits; never blocks
    nic.send(frame_mv)      # transmit one whole frame (a memoryview, 14..1514 bytes)
    nic.link_up()           # -> bool

Drivers: ``w5500`` and ``w5100s`` (WIZnet chips in MACRAW mode over SPI, boards;
their shared logic is ``macraw``, their SPI adapters ``w5500_spi``), ``tap`` (Linux
TAP, CPython), ``packet`` (Linux AF_PACKET raw socket, MicroPython unix port and
CPython; both on ``hostnic``), ``link`` (in-memory wire with impairments on
virtual time, tests).
"""
