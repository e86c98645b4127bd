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


def spi(baudrate=BAUDRATE):
    """The SPI adapter for the chip on the HAT (raw bytes; works for both chips)."""
    from tcpip.nic.w5500_spi import MachineSPI

    return MachineSPI(SPI_ID, SCK, MOSI, MISO, CS, rst=RST, int_pin=INT, baudrate=baudrate)


def nic(mac, chip=CHIP, **kw):
    """Reset the chip and open it as a MACRAW NIC: a tcpip.nic.w5100s.W5100S
    (the HAT's chip), or with ``chip="W5500"`` a tcpip.nic.w5500.W5500."""
    if chip == "W5100S":
        from tcpip.nic.w5100s import W5100S

        return W5100S(spi(), mac, **kw)
    if chip == "W5500":
        from tcpip.nic.w5500 import W5500

        return W5500(spi(), mac, **kw)
    from tcpip.compat import EOPNOTSUPP

    raise OSError(EOPNOTSUPP, "%s: chip %r is not supported (W5100S or W5500)" % (NAME, chip))


def default_mac():
    """A locally administered MAC derived from the RP2040's flash unique id."""
    import machine

    uid = machine.unique_id()
    return bytes([0x02, uid[-5], uid[-4], uid[-3], uid[-2], uid[-1]])
