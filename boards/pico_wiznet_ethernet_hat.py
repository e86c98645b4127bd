"""Raspberry Pi Pico + WIZnet Ethernet HAT, MicroPython (board RPI_PICO).

Pins (same footprint as the WIZnet EVB boards; shared/reference/w5500.md
section 7): SCK GP18, MOSI GP19, MISO GP16, CS GP17, RSTn GP20, INTn GP21
(WIZnet's own examples use pins up to GP20 only).

The WIZnet Ethernet HAT carries a **W5100S**, not a W5500 (reference section 7):
different SPI framing (0xF0/0x0F + 16-bit address, no block select), 8 KB
buffers and VERR 0x51.  tcpip's MACRAW driver supports the W5500 only, so
``nic()`` refuses with a clear error instead of failing the VERSIONR check.
Put a W5500 module (e.g. WIZ850io) on these pins and pass ``chip="W5500"`` to
use the same wiring with the W5500 driver.
"""

NAME = "Raspberry Pi Pico + WIZnet Ethernet HAT"
RUNTIME = "micropython"
CHIP = "W5100S"
SPI_ID = 0
SCK = 18
MOSI = 19
MISO = 16
CS = 17
RST = 20
INT = 21
BAUDRATE = 20000000


def spi(baudrate=BAUDRATE):
    """The SPI adapter for the chip on the HAT."""
    from tcpip.nic.w5500_spi import MachineSPI

    return MachineSPI(SPI_ID, SCK, MOSI, MISO, CS, rst=RST, int_pin=INT, baudrate=baudrate)


def nic(mac, chip=CHIP, **kw):
    """A tcpip.nic.w5500.W5500 on these pins; OSError(EOPNOTSUPP) for the HAT's W5100S."""
    from tcpip.compat import EOPNOTSUPP

    if chip != "W5500":
        raise OSError(EOPNOTSUPP, "%s has a %s; tcpip's MACRAW driver supports the W5500 only"
                      % (NAME, chip))
    from tcpip.nic.w5500 import W5500

    return W5500(spi(), mac, **kw)


def default_mac():
    """A locally administered MAC derived from the RP2040's flash unique id."""
    import machine

    uid = machine.unique_id()
    return bytes([0x02, uid[-5], uid[-4], uid[-3], uid[-2], uid[-1]])
