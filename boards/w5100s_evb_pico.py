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


def spi(baudrate=BAUDRATE):
    """The SPI adapter for this board's W5100S (the W5500 adapters move raw bytes)."""
    from tcpip.nic.w5500_spi import MachineSPI

    return MachineSPI(SPI_ID, SCK, MOSI, MISO, CS, rst=RST, int_pin=INT, baudrate=baudrate)


def nic(mac, **kw):
    """Reset the W5100S and open it as a MACRAW NIC (see tcpip.nic.w5100s.W5100S)."""
    from tcpip.nic.w5100s import W5100S

    return W5100S(spi(), mac, **kw)


def default_mac():
    """A locally administered MAC derived from the RP2040's flash unique id."""
    import machine

    uid = machine.unique_id()
    return bytes([0x02, uid[-5], uid[-4], uid[-3], uid[-2], uid[-1]])
