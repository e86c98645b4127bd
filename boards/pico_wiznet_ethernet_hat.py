"""Raspberry Pi Pico + WIZnet Ethernet HAT, MicroPython (board RPI_PICO).

Pins (same footprint as the WIZnet EVB boards; docs/w5500.md
section 7): SCK GP18, MOSI GP19, MISO GP16, CS GP17, RSTn GP20, INTn GP21
(WIZnet's own examples use pins up to GP20 only).

The WIZnet Ethernet HAT carries a **W5100S**, not a W5500 (docs/w5500.md section 7),
so ``nic()`` returns a ``tcpip.nic.w5100s.W5100S`` (MACRAW, 8 KB buffers, VERR
0x51).  Put a W5500 module (e.g. WIZ850io) on these pins and pass
``chip="W5500"`` to use the same wiring with the W5500 driver.

    import tcpip_board as board          # this file, as copied by `make flash`
    nic = board.nic(mac)                 # a tcpip.nic.w5100s.W5100S, chip reset and open
"""

NAME = "Raspberry Pi Pico + WIZnet Ethernet HAT"
RUNTIME = "micropython"
CHIP = "W5100S"
CHIPS = ("W5100S", "W5500")  # nic(mac, chip="W5500"): a W5500 module on these pins
SPI_ID = 0
SCK = 18
MOSI = 19
MISO = 16
CS = 17
RST = 20
INT = 21
# The W5100S takes up to 70 MHz (docs/w5500.md section 7); MicroPython >= 1.24 gives
# 12 MHz for this request (docs/w5500.md section 9).
BAUDRATE = 20000000


from netboot import board_functions  # noqa: E402  (firmware/netboot.py: on every board)

spi, nic, default_mac = board_functions(globals())
