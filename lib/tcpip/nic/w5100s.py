"""WIZnet W5100S in MACRAW mode: the chip moves raw Ethernet frames, tcpip does the rest.

    from tcpip.nic.w5100s import W5100S
    from tcpip.nic.w5500_spi import MachineSPI
    nic = W5100S(MachineSPI(0, sck=18, mosi=19, miso=16, cs=17, rst=20, int_pin=21),
                 mac=b"\\x02\\x00\\x00\\x00\\x00\\x02")
    nic.link_up(), nic.speed_mbps, nic.full_duplex, nic.stats()

Same contract, counters and driver logic as ``tcpip.nic.w5500.W5500`` (both
are ``macraw.MacrawNIC``) and the same SPI adapters (``w5500_spi.py``: they
move raw bytes).  What differs on this chip (docs/w5500.md section
7 and Q11; WIZnet ioLibrary_Driver Ethernet/W5100S/w5100s.h and w5100s.c,
[ioLib]; Mongoose src/drivers/w5100.c, [MG]):

- SPI frame: ``0xF0`` (write) or ``0x0F`` (read), 16-bit address, data.  One
  frame may carry many data bytes with the address auto-incremented: ioLib's
  ``WIZCHIP_READ_BUF``/``WRITE_BUF`` send the 3-byte header once and then the
  whole buffer inside one chip-select, and Mongoose's ``w5100_txn`` does the
  same.  So a burst costs 3 + n bytes, like on the W5500.
- One flat address space: common registers 0x0000, socket n at 0x0400 + 0x100*n,
  TX memory 0x4000-0x5FFF, RX memory 0x6000-0x7FFF (8 KB each).  The address
  is physical: the host masks the pointer and splits at the buffer end itself
  ([ioLib] ``wiz_send_data``/``wiz_recv_data``).
- Buffer sizes in RMSR (0x001A) / TMSR (0x001B), 2 bits per socket,
  size = 1 KB << code; 0x03 gives socket 0 all 8 KB.
- VERR (0x0080) reads 0x51; link in PHYSR (0x003C) bit 0.
- Sn_MR: MACRAW 0x04, MAC filter MF = 0x40; broadcast / multicast / IPv6
  blocking live in Sn_MR2 (0x2F): MBBLK 0x40, MMBLK 0x20, IPV6BLK 0x10.
- Interrupts: IR (0x0015) bit n = socket n, IMR (0x0016) masks it, and INTn only
  moves when MR2 (0x0030) G_IEN (0x40) is set (Q11).
"""

from tcpip.compat import const
from tcpip.nic.macraw import MacrawNIC

_OP_WRITE = const(0xF0)
_OP_READ = const(0x0F)

# Common registers [ioLib w5100s.h].
_IMR = const(0x0016)
_RMSR = const(0x001A)  # TMSR follows at 0x001B
_MR2 = const(0x0030)
_PHYSR = const(0x003C)
_VERR = const(0x0080)

_S0_REGS = const(0x0400)
_Sn_MR2 = const(0x002F)
_TX_BASE = const(0x4000)
_RX_BASE = const(0x6000)

_MR2_G_IEN = const(0x40)
_MR_MF = const(0x40)
_MSR_S0_8K = const(0x03)  # socket 0: code 3 = 8 KB; sockets 1..3 get no memory left


class W5100S(MacrawNIC):
    """The W5100S as a NIC (see ``MacrawNIC`` for the constructor and the API)."""

    CHIP = "W5100S"
    _S0 = _S0_REGS
    _TX_BUF = _TX_BASE
    _RX_BUF = _RX_BASE
    _BUF_BYTES = 8192
    _VERSION_REG = _VERR
    _VERSION_REG_NAME = "VERR"
    _VERSION = 0x51
    _MR_MAC_FILTER = _MR_MF
    _HDR_ADDR = 1  # the header is opcode, address high, address low

    def _header(self, addr, write):
        h = self._hdr
        h[0] = _OP_WRITE if write else _OP_READ
        h[1] = (addr >> 8) & 0xFF
        h[2] = addr & 0xFF
        return h

    def _configure(self):
        # RMSR and TMSR are adjacent: one burst gives socket 0 all 8 KB.
        r = self._reg
        r[0] = _MSR_S0_8K
        r[1] = _MSR_S0_8K
        self._write(_RMSR, self._r2)
        # Socket 0 onto IR/INTn, and INTn enabled globally only when it is
        # wired (Q11).
        self._write8(_IMR, 0x01)
        mr2 = self._read8(_MR2)
        if self._int:
            mr2 |= _MR2_G_IEN
        else:
            mr2 &= ~_MR2_G_IEN & 0xFF
        self._write8(_MR2, mr2)

    def _write_mode(self):
        self._write8(_S0_REGS, self._mode)  # Sn_MR
        self._write8(_S0_REGS + _Sn_MR2, self._block)

    def _read_link(self):
        # PHYSR bit1 SPD, bit2 DUP [ioLib w5100s.h]; polarity inferred from
        # WIZnet's newer chips (W6100: 1 = 10 Mbit/s, 1 = half).
        v = self._read8(_PHYSR)
        return self._set_link(bool(v & 0x01), 10 if v & 0x02 else 100, not (v & 0x04))
