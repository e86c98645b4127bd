"""WIZnet W5100S-EVB-Pico: RP2040 + W5100S on SPI0, MicroPython (board W5100S_EVB_PICO).

Pins from the WIZnet schematic (docs/w5500.md section 7; pin-compatible
with the W5500-EVB-Pico): SCK GP18, MOSI GP19, MISO GP16, CS GP17, RSTn GP20, INTn GP21.

    import tcpip_board as board          # this file, as copied by `make flash`
    nic = board.nic(mac)                 # a tcpip.nic.w5100s.W5100S, chip reset and open
"""

NAME = "WIZnet W5100S-EVB-Pico"
RUNTIME = "micropython"
CHIP = "W5100S"
SPI_ID = 0
SCK = 18
MOSI = 19
MISO = 16
CS = 17
RST = 20
INT = 21
# The W5100S takes up to 70 MHz (docs/w5500.md section 7); MicroPython >= 1.24 runs
# the rp2 peripheral clock at 48 MHz, so this request gives 12 MHz (section 9).
BAUDRATE = 20000000


from netboot import board_functions  # noqa: E402  (firmware/netboot.py: on every board)

spi, nic, default_mac = board_functions(globals())
