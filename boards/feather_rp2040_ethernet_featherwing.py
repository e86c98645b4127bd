"""Adafruit Feather RP2040 + Ethernet FeatherWing (W5500), CircuitPython.

Pins (docs/w5500.md section 7): SCK = board.SCK (GP18),
MOSI = board.MOSI (GP19), MISO = board.MISO (GP20), CS = board.D10 (GP10, as in
Adafruit's example).  The FeatherWing's RSTn and IRQ are solder pads not wired
to a GPIO, so the driver uses the MR.RST software reset and polls.

    import tcpip_board as board
    nic = board.nic(mac)
"""

NAME = "Adafruit Feather RP2040 + Ethernet FeatherWing"
RUNTIME = "circuitpython"
CHIP = "W5500"
SCK = "SCK"
MOSI = "MOSI"
MISO = "MISO"
CS = "D10"
RST = None  # pad, not wired
INT = None  # pad, not wired
BAUDRATE = 8000000  # Adafruit's library default; the W5500 takes more


from netboot import board_functions  # noqa: E402  (firmware/netboot.py: on every board)

spi, nic, default_mac = board_functions(globals())
