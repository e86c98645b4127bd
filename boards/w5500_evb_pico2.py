"""WIZnet W5500-EVB-Pico2: RP2350A + W5500 on SPI0, MicroPython.

MicroPython has no board definition for it (docs/w5500.md section 7): flash the
RPI_PICO2 build; this file passes the pins explicitly.

Pins from the WIZnet schematic (docs/w5500.md section 7):
SCK GP18, MOSI GP19, MISO GP16, CS GP17, RSTn GP20, INTn GP21.

    import tcpip_board as board          # this file, as copied by `make flash`
    nic = board.nic(mac)                 # a tcpip.nic.w5500.W5500, chip reset and open
"""

NAME = "WIZnet W5500-EVB-Pico2"
RUNTIME = "micropython"
CHIP = "W5500"
SPI_ID = 0
SCK = 18
MOSI = 19
MISO = 16
CS = 17
RST = 20
INT = 21
# MicroPython >= 1.24 runs the rp2 peripheral clock at 48 MHz, so this request
# gives 12 MHz on the wire (docs/w5500.md section 9); the W5500 takes up to 80 MHz.
BAUDRATE = 20000000


from netboot import board_functions  # noqa: E402  (firmware/netboot.py: on every board)

spi, nic, default_mac = board_functions(globals())
