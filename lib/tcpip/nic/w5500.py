"""WIZnet W5500 in MACRAW mode: the chip moves raw Ethernet frames, tcpip does the rest.

    from tcpip.nic.w5500 import W5500
    from tcpip.nic.w5500_spi import MachineSPI
    nic = W5500(MachineSPI(0, sck=18, mosi=19, miso=16, cs=17, rst=20, int_pin=21),
                mac=b"\\x02\\x00\\x00\\x00\\x00\\x02")
    nic.link_up(), nic.speed_mbps, nic.full_duplex, nic.stats()

Socket 0 owns all 16 KB of RX and TX buffer and is opened in MACRAW with the MAC
filter on.  The driver talks to the chip only through a small SPI adapter (see
``w5500_spi.py``): ``write(header, data)``, ``write_frame(frame)``,
``read(header, data)`` and ``read_two(header, first, second)`` each run one
SPI frame with chip select held low,
``hard_reset()``, ``int_asserted()``,
``irq(handler)``, ``describe()``.  Everything but the W5500's SPI header,
register map and buffer sizes is in ``macraw.py``, shared with the W5100S.

Facts and section numbers: ``docs/w5500.md`` (W5500 datasheet v1.0.9,
[DS]).
"""

from tcpip.compat import const
from tcpip.nic.macraw import MacrawNIC

# An address here is the SPI control byte's block select (BSB[4:0] << 3,
# RWB = 0, OM = 00 [DS p14]) in bits 16..23 above the 16-bit offset, so one
# number names a register or buffer byte in any block.
_COMMON = const(0x00 << 16)
_S0_REGS = const(0x08 << 16)  # socket n's registers are at _S0_REGS + (n << 21)
_S0_TX = const(0x10 << 16)
_S0_RX = const(0x18 << 16)
_RWB_WRITE = const(0x04)

# Common registers [docs/w5500.md section 2].
_SIMR = const(_COMMON + 0x0018)
_PHYCFGR = const(_COMMON + 0x002E)
_VERSIONR = const(_COMMON + 0x0039)

_Sn_RXBUF_SIZE = const(0x001E)  # TXBUF_SIZE follows at 0x001F

_MR_MFEN = const(0x80)


class W5500(MacrawNIC):
    """The W5500 as a NIC (see ``MacrawNIC`` for the constructor and the API)."""

    CHIP = "W5500"
    _S0 = _S0_REGS
    _TX_BUF = _S0_TX
    _RX_BUF = _S0_RX
    _BUF_BYTES = 16384  # socket 0 gets all of it
    _VERSION_REG = _VERSIONR
    _VERSION_REG_NAME = "VERSIONR"
    _VERSION = 0x04
    _MR_MAC_FILTER = _MR_MFEN
    _HDR_ADDR = 0  # the header is offset high, offset low, control

    def _header(self, addr, write):
        # Offset high, offset low, control byte [DS p14].  A buffer address
        # goes out masked to the buffer size: the chip maps any 16-bit
        # pointer to pointer & (size - 1), so this is the same byte.
        h = self._hdr
        h[0] = (addr >> 8) & 0xFF
        h[1] = addr & 0xFF
        h[2] = (addr >> 16) | (_RWB_WRITE if write else 0)
        return h

    def _configure(self):
        # All 16 KB of RX and TX to socket 0, none to sockets 1..7 [DS p31].
        r = self._reg
        for n in range(8):
            kb = 16 if n == 0 else 0
            r[0] = kb
            r[1] = kb
            self._write(_S0_REGS + (n << 21) + _Sn_RXBUF_SIZE, self._r2)
        self._write8(_SIMR, 0x01)  # socket 0's interrupt onto INTn

    def _write_mode(self):
        self._write8(_S0_REGS, self._mode | self._block)  # Sn_MR

    def _read_link(self):
        # PHYCFGR: LNK bit 0, SPD bit 1 (1 = 100 Mbit/s), DPX bit 2 (1 = full).
        v = self._read8(_PHYCFGR)
        return self._set_link(bool(v & 0x01), 100 if v & 0x02 else 10, bool(v & 0x04))
