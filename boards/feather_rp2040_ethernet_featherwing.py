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


def spi(baudrate=BAUDRATE):
    """The SPI adapter (busio.SPI + digitalio) for the FeatherWing's W5500."""
    import board

    from tcpip.nic.w5500_spi import BusioSPI

    return BusioSPI(getattr(board, SCK), getattr(board, MOSI), getattr(board, MISO),
                    getattr(board, CS), rst=None, int_pin=None, baudrate=baudrate)


def nic(mac, **kw):
    """Reset the W5500 (software reset) and open it as a MACRAW NIC."""
    from tcpip.nic.w5500 import W5500

    return W5500(spi(), mac, **kw)


def default_mac():
    """A locally administered MAC derived from the RP2040's unique id."""
    import microcontroller

    uid = microcontroller.cpu.uid
    return bytes([0x02, uid[-5], uid[-4], uid[-3], uid[-2], uid[-1]])
