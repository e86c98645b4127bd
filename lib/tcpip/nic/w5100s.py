"""WIZnet W5100S in MACRAW mode: the chip moves raw Ethernet frames, tcpip does the rest.

    from tcpip.nic.w5100s import W5100S
    from tcpip.nic.w5500_spi import MachineSPI
    nic = W5100S(MachineSPI(0, sck=18, mosi=19, miso=16, cs=17, rst=20, int_pin=21),
                 mac=b"\\x02\\x00\\x00\\x00\\x00\\x02")
    nic.link_up(), nic.speed_mbps, nic.full_duplex, nic.stats()

Same contract and counters as ``tcpip.nic.w5500.W5500`` and the same SPI
adapters (``w5500_spi.py``: they move raw bytes).  What differs on this chip
(shared/reference/w5500.md section 7 and Q11; WIZnet ioLibrary_Driver
Ethernet/W5100S/w5100s.h and w5100s.c, [ioLib]; Mongoose src/drivers/w5100.c, [MG]):

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

Kept standalone rather than sharing a base class with ``w5500.py``: the two
drivers differ in every address and in the RX/TX address computation, and the
W5500 driver is tested and committed; the RX/TX logic below follows it line by
line so the two stay easy to compare.
"""

from tcpip.compat import const, ticks_ms, ticks_diff, sleep_ms, EIO, EMSGSIZE

_OP_WRITE = const(0xF0)
_OP_READ = const(0x0F)

# Common registers [ioLib w5100s.h].
_MR = const(0x0000)
_SHAR = const(0x0009)
_IMR = const(0x0016)
_RMSR = const(0x001A)  # TMSR follows at 0x001B
_MR2 = const(0x0030)
_PHYSR = const(0x003C)
_VERR = const(0x0080)

# Socket 0 registers (same offsets as the W5500's socket block).
_Sn_MR = const(0x0400)
_Sn_CR = const(0x0401)
_Sn_IR = const(0x0402)
_Sn_SR = const(0x0403)
_Sn_TX_FSR = const(0x0420)
_Sn_TX_WR = const(0x0424)
_Sn_RX_RSR = const(0x0426)
_Sn_RX_RD = const(0x0428)
_Sn_IMR = const(0x042C)
_Sn_MR2 = const(0x042F)

_TX_BASE = const(0x4000)
_RX_BASE = const(0x6000)

_MR_RST = const(0x80)
_MR2_G_IEN = const(0x40)
_MR_MACRAW = const(0x04)
_MR_MF = const(0x40)
_MR2_MBBLK = const(0x40)
_MR2_MMBLK = const(0x20)
_MR2_IPV6BLK = const(0x10)

_CMD_OPEN = const(0x01)
_CMD_CLOSE = const(0x10)
_CMD_SEND = const(0x20)
_CMD_RECV = const(0x40)

_SOCK_CLOSED = const(0x00)
_SOCK_MACRAW = const(0x42)

_IR_SEND_OK = const(0x10)
_IR_TIMEOUT = const(0x08)
_IR_RECV = const(0x04)

_VERSION = const(0x51)
_MSR_S0_8K = const(0x03)  # socket 0: code 3 = 8 KB; sockets 1..3 get no memory left
_BUF_BYTES = const(8192)
_BUF_MASK = const(8191)
_MTU_FRAME = const(1514)
_MIN_FRAME = const(60)


def _hex(b):
    return ":".join(["%02x" % x for x in b])


class W5100S:
    """A NIC: ``mac``, ``recv_into(buf)``, ``send(mv)``, ``link_up()``.

    ``W5100S(spi, mac, block_broadcast=False, block_multicast=False,
    block_ipv6=False, mac_filter=True, send_timeout_ms=20)``.  ``spi`` is an
    adapter from ``tcpip.nic.w5500_spi`` (or ``tools/w5100s_emu.EmuSPI`` on a
    PC).  The constructor resets and configures the chip and raises
    ``OSError(EIO, ...)`` naming the pins when no W5100S answers.
    """

    def __init__(self, spi, mac, block_broadcast=False, block_multicast=False,
                 block_ipv6=False, mac_filter=True, send_timeout_ms=20):
        self.spi = spi
        if len(mac) != 6:
            raise ValueError("mac must be 6 bytes")
        self.mac = bytes(mac)
        self._mode = _MR_MACRAW | (_MR_MF if mac_filter else 0)
        mode2 = 0
        if block_broadcast:
            mode2 |= _MR2_MBBLK
        if block_multicast:
            mode2 |= _MR2_MMBLK
        if block_ipv6:
            mode2 |= _MR2_IPV6BLK
        self._mode2 = mode2
        self.send_timeout_ms = send_timeout_ms
        self._hdr = bytearray(3)
        self._hdr_mv = memoryview(self._hdr)
        self._reg = bytearray(8)
        reg = memoryview(self._reg)
        self._r1 = reg[:1]
        self._r2 = reg[:2]
        self._r4 = reg[:4]
        self._r6 = reg[:6]
        self._pad = bytearray(_MIN_FRAME)
        self._pad_mv = memoryview(self._pad)
        self._int = spi.int_asserted() is not None
        self._rx_avail = 0
        self._rx_rd = 0
        self.speed_mbps = 0
        self.full_duplex = False
        self._link = False
        self.rx_frames = 0
        self.tx_frames = 0
        self.rx_bytes = 0
        self.tx_bytes = 0
        self.spi_bytes = 0
        self.spi_transactions = 0
        self.resyncs = 0
        self.rx_drop_too_big = 0
        self.tx_timeouts = 0
        self.tx_fsr_timeouts = 0
        self.link_changes = 0
        self.chip_reinits = 0
        self.tx_link_down = 0
        self.bring_up()

    # ------------------------------------------------------------ SPI access
    def _header(self, op, addr):
        h = self._hdr
        h[0] = op
        h[1] = (addr >> 8) & 0xFF
        h[2] = addr & 0xFF
        return self._hdr_mv

    def _read(self, addr, mv):
        self.spi.read(self._header(_OP_READ, addr), mv)
        self.spi_transactions += 1
        self.spi_bytes += 3 + len(mv)

    def _write(self, addr, mv):
        self.spi.write(self._header(_OP_WRITE, addr), mv)
        self.spi_transactions += 1
        self.spi_bytes += 3 + len(mv)

    def _read8(self, addr):
        self._read(addr, self._r1)
        return self._reg[0]

    def _write8(self, addr, value):
        self._reg[0] = value
        self._write(addr, self._r1)

    def _write16(self, addr, value):
        r = self._reg
        r[0] = (value >> 8) & 0xFF
        r[1] = value & 0xFF
        self._write(addr, self._r2)

    def _command(self, cmd):
        # Sn_CR clears once the chip has accepted the command (Q1); bounded.
        self._write8(_Sn_CR, cmd)
        for _ in range(100):
            if self._read8(_Sn_CR) == 0:
                return True
        return False

    # --------------------------------------------------------------- bring-up
    def bring_up(self):
        """Reset the chip and open socket 0 in MACRAW with all 8 KB each way."""
        spi = self.spi
        if not spi.hard_reset():
            self._write8(_MR, _MR_RST)
            t0 = ticks_ms()
            while self._read8(_MR) & _MR_RST:
                if ticks_diff(ticks_ms(), t0) > 100:
                    break
                sleep_ms(1)
        t0 = ticks_ms()
        while True:
            version = self._read8(_VERR)
            if version == _VERSION or ticks_diff(ticks_ms(), t0) > 200:
                break
            sleep_ms(2)
        if version != _VERSION:
            raise OSError(EIO, "no W5100S found: VERR=0x%02x, expected 0x51; check %s"
                          % (version, spi.describe()))
        r = self._reg
        for i in range(6):
            r[i] = self.mac[i]
        self._write(_SHAR, self._r6)
        self._read(_SHAR, self._r6)
        if bytes(self._r6) != self.mac:
            raise OSError(EIO, "W5100S SHAR read back %s, wrote %s: check MOSI in %s"
                          % (_hex(self._r6), _hex(self.mac), spi.describe()))
        # RMSR and TMSR are adjacent: one burst gives socket 0 all 8 KB.
        r[0] = _MSR_S0_8K
        r[1] = _MSR_S0_8K
        self._write(_RMSR, self._r2)
        # RECV and SEND_OK unmasked (as on the W5500 driver, Q7); socket 0 onto
        # IR/INTn, and INTn enabled globally only when it is wired (Q11).
        self._write8(_Sn_IMR, _IR_RECV | _IR_SEND_OK)
        self._write8(_IMR, 0x01)
        mr2 = self._read8(_MR2)
        if self._int:
            mr2 |= _MR2_G_IEN
        else:
            mr2 &= ~_MR2_G_IEN & 0xFF
        self._write8(_MR2, mr2)
        self._open()
        self._read_link()

    def _open(self):
        self._command(_CMD_CLOSE)
        self._write8(_Sn_IR, 0xFF)
        self._write8(_Sn_MR, self._mode)
        self._write8(_Sn_MR2, self._mode2)
        self._command(_CMD_OPEN)
        sr = _SOCK_CLOSED
        for _ in range(10):
            sr = self._read8(_Sn_SR)
            if sr == _SOCK_MACRAW:
                break
        if sr != _SOCK_MACRAW:
            raise OSError(EIO, "W5100S socket 0 did not open in MACRAW (Sn_SR=0x%02x)" % sr)
        self._rx_avail = 0

    def _resync(self):
        # A length that cannot be right: reopen socket 0 (OPEN resets the
        # pointers and drops what was queued), like the W5500 driver and
        # ESP's drain (W5100S forum #5549: corrupt MACRAW header).
        self.resyncs += 1
        self._open()

    # ------------------------------------------------------------------- RX
    def recv_into(self, buf):
        """Copy one received Ethernet frame (no FCS) into ``buf``; return its
        length, or 0 when nothing waits.  Never blocks."""
        if self._rx_avail == 0:
            if self._int:
                # Clear RECV before draining so INTn rises again for a frame
                # that lands meanwhile (Q3); on the W5100S this also
                # releases the IRQ line (Q11).
                self._write8(_Sn_IR, _IR_RECV)
            r = self._reg
            # RX_RSR and RX_RD are adjacent; RSR is not latched, so re-read it
            # until two values agree ([ioLib] getSn_RX_RSR).
            self._read(_Sn_RX_RSR, self._r4)
            rsr = (r[0] << 8) | r[1]
            if rsr == 0:
                return 0
            rd = (r[2] << 8) | r[3]
            for _ in range(8):
                self._read(_Sn_RX_RSR, self._r2)
                v = (r[0] << 8) | r[1]
                if v == rsr:
                    break
                rsr = v
            self._rx_rd = rd
            self._rx_avail = rsr
        rd = self._rx_rd
        avail = self._rx_avail
        r = self._reg
        self._read_ring(rd, self._r2, 2)
        rec = (r[0] << 8) | r[1]
        n = rec - 2  # LEN counts its own two bytes (reference 4)
        if n < _MIN_FRAME or n > _MTU_FRAME or rec > avail:
            self._resync()
            return 0
        rd2 = (rd + rec) & 0xFFFF
        if n <= len(buf):
            self._read_ring((rd + 2) & 0xFFFF, buf, n)
        else:
            self.rx_drop_too_big += 1
        self._write16(_Sn_RX_RD, rd2)
        self._command(_CMD_RECV)
        self._rx_rd = rd2
        self._rx_avail = avail - rec
        if n > len(buf):
            return 0
        self.rx_frames += 1
        self.rx_bytes += n
        return n

    def _read_ring(self, ptr, buf, n):
        # Physical address = RX base + (ptr & mask); split at the buffer end
        # ([ioLib] wiz_recv_data, [MG] w5100_rx).
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        off = ptr & _BUF_MASK
        first = _BUF_BYTES - off
        if first >= n:
            self._read(_RX_BASE + off, mv[:n])
        else:
            self._read(_RX_BASE + off, mv[:first])
            self._read(_RX_BASE, mv[first:n])

    def pending(self):
        """True when the chip may have a frame: INTn asserted, or no INTn
        wired (then only a read of RX_RSR can tell)."""
        if self._rx_avail:
            return True
        a = self.spi.int_asserted()
        return True if a is None else a

    # ------------------------------------------------------------------- TX
    def send(self, frame):
        """Transmit one Ethernet frame (14..1514 bytes, no FCS).  Frames under
        60 bytes are padded.  A frame the chip does not confirm within
        ``send_timeout_ms`` is counted in ``tx_timeouts`` and lost; the socket
        is reopened when the link is up (ioLib #168)."""
        n = len(frame)
        if n > _MTU_FRAME or n < 14:
            raise OSError(EMSGSIZE, "W5100S MACRAW frame must be 14..1514 bytes, got %d" % n)
        if not self._link:
            self.tx_link_down += 1
            return
        if n < _MIN_FRAME:
            p = self._pad
            p_mv = self._pad_mv
            p_mv[:n] = frame
            for i in range(n, _MIN_FRAME):
                p[i] = 0
            frame = p_mv
            n = _MIN_FRAME
        r = self._reg
        t0 = ticks_ms()
        # TX_FSR, TX_RD, TX_WR in one burst; FSR only grows behind our back.
        while True:
            self._read(_Sn_TX_FSR, self._r6)
            fsr = (r[0] << 8) | r[1]
            if fsr >= n:
                break
            if ticks_diff(ticks_ms(), t0) > self.send_timeout_ms:
                self.tx_fsr_timeouts += 1
                self._tx_recover()
                return
        wr = (r[4] << 8) | r[5]
        mv = frame if isinstance(frame, memoryview) else memoryview(frame)
        off = wr & _BUF_MASK
        first = _BUF_BYTES - off
        if first >= n:
            self._write(_TX_BASE + off, mv)
        else:
            # [ioLib] wiz_send_data: the host splits at the buffer end.
            self._write(_TX_BASE + off, mv[:first])
            self._write(_TX_BASE, mv[first:n])
        self._write16(_Sn_TX_WR, (wr + n) & 0xFFFF)
        self._write8(_Sn_CR, _CMD_SEND)
        while True:
            self._read(_Sn_CR, self._r2)  # Sn_CR and Sn_IR are adjacent
            ir = r[1]
            if r[0] == 0 and ir & (_IR_SEND_OK | _IR_TIMEOUT):
                break
            if ticks_diff(ticks_ms(), t0) > self.send_timeout_ms:
                self.tx_timeouts += 1
                self._tx_recover()
                return
        self._write8(_Sn_IR, ir & (_IR_SEND_OK | _IR_TIMEOUT))
        if ir & _IR_SEND_OK:
            self.tx_frames += 1
            self.tx_bytes += n
        else:
            self.tx_timeouts += 1  # [MG] w5100_tx treats TIMEOUT as an error

    def _tx_recover(self):
        if self._read_link():
            self._resync()

    # ----------------------------------------------------------------- link
    def link_up(self):
        """PHYSR.LNK; also refreshes ``speed_mbps`` and ``full_duplex``, and
        brings the chip up again when socket 0 is no longer in MACRAW (a chip
        that reset itself; counted in ``chip_reinits``)."""
        if self._read8(_Sn_SR) != _SOCK_MACRAW:
            self.chip_reinits += 1
            try:
                self.bring_up()
            except OSError:
                self._rx_avail = 0
                return self._set_link(False, 0)
        return self._read_link()

    def _read_link(self):
        v = self._read8(_PHYSR)
        return self._set_link(bool(v & 0x01), v)

    def _set_link(self, up, v):
        if up:
            # PHYSR bit1 SPD, bit2 DUP [ioLib w5100s.h]; polarity inferred
            # from WIZnet's newer chips (W6100: 1 = 10 Mbit/s, 1 = half).
            self.speed_mbps = 10 if v & 0x02 else 100
            self.full_duplex = not (v & 0x04)
        else:
            self.speed_mbps = 0
            self.full_duplex = False
        if up != self._link:
            self.link_changes += 1
            self._link = up
        return up

    # ------------------------------------------------------------ interrupts
    def irq(self, handler):
        """Call ``handler(nic)`` from the INTn falling edge.  Returns False
        when INTn is not wired; then poll instead."""
        nic = self

        def _edge(_pin):
            handler(nic)

        return self.spi.irq(_edge)

    def stats(self):
        """Counters: frames, bytes, SPI traffic, resyncs, timeouts."""
        return {
            "rx_frames": self.rx_frames, "tx_frames": self.tx_frames,
            "rx_bytes": self.rx_bytes, "tx_bytes": self.tx_bytes,
            "spi_bytes": self.spi_bytes, "spi_transactions": self.spi_transactions,
            "resyncs": self.resyncs, "rx_drop_too_big": self.rx_drop_too_big,
            "tx_timeouts": self.tx_timeouts, "tx_fsr_timeouts": self.tx_fsr_timeouts,
            "link_changes": self.link_changes, "chip_reinits": self.chip_reinits,
            "tx_link_down": self.tx_link_down,
        }
