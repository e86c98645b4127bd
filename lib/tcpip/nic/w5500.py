"""WIZnet W5500 in MACRAW mode: the chip moves raw Ethernet frames, tcpip does the rest.

    from tcpip.nic.w5500 import W5500
    from tcpip.nic.w5500_spi import MachineSPI
    nic = W5500(MachineSPI(0, sck=18, mosi=19, miso=16, cs=17, rst=20, int_pin=21),
                mac=b"\\x02\\x00\\x00\\x00\\x00\\x02")
    nic.link_up(), nic.speed_mbps, nic.full_duplex, nic.stats()

Socket 0 owns all 16 KB of RX and TX buffer and is opened in MACRAW with the MAC
filter on.  The driver talks to the chip only through a small SPI adapter (see
``w5500_spi.py``): ``write(header, data)`` and ``read(header, data)`` each run one
SPI frame with chip select held low, ``hard_reset()``, ``int_asserted()``,
``irq(handler)``, ``describe()``.

Facts and section numbers: ``shared/reference/w5500.md`` (W5500 datasheet v1.0.9,
[DS]).  Per frame no object is allocated except memoryview slices of the caller's
buffer (MicroPython's ``machine.SPI`` has no start/end arguments).
"""

from tcpip.compat import const, ticks_ms, ticks_diff, sleep_ms, EIO, EMSGSIZE

# SPI control byte: BSB[4:0] << 3 | RWB << 2 | OM (VDM = 00) [DS p14].
_CTRL_COMMON_R = const(0x00)
_CTRL_COMMON_W = const(0x04)
_CTRL_S0_R = const(0x08)
_CTRL_S0_W = const(0x0C)
_CTRL_S0_TX_W = const(0x14)
_CTRL_S0_RX_R = const(0x18)

# Common registers [reference 2].
_MR = const(0x0000)
_SHAR = const(0x0009)
_SIMR = const(0x0018)
_PHYCFGR = const(0x002E)
_VERSIONR = const(0x0039)

# Socket registers [reference 3].
_Sn_MR = const(0x0000)
_Sn_CR = const(0x0001)
_Sn_IR = const(0x0002)
_Sn_SR = const(0x0003)
_Sn_RXBUF_SIZE = const(0x001E)
_Sn_TX_FSR = const(0x0020)
_Sn_TX_WR = const(0x0024)
_Sn_RX_RSR = const(0x0026)
_Sn_RX_RD = const(0x0028)
_Sn_IMR = const(0x002C)

_MR_RST = const(0x80)
_MR_MACRAW = const(0x04)
_MR_MFEN = const(0x80)
_MR_BCASTB = const(0x40)
_MR_MMB = const(0x20)
_MR_MIP6B = const(0x10)

_CMD_OPEN = const(0x01)
_CMD_CLOSE = const(0x10)
_CMD_SEND = const(0x20)
_CMD_RECV = const(0x40)

_SOCK_CLOSED = const(0x00)
_SOCK_MACRAW = const(0x42)

_IR_SEND_OK = const(0x10)
_IR_TIMEOUT = const(0x08)
_IR_RECV = const(0x04)

_VERSION = const(0x04)
_BUF_BYTES = const(16384)  # socket 0 gets all of it
_BUF_MASK = const(16383)
_MTU_FRAME = const(1514)  # MACRAW MTU, no FCS
_MIN_FRAME = const(60)  # the MAC never hands over a shorter frame (64 minus FCS)


def _hex(b):
    return ":".join(["%02x" % x for x in b])


class W5500:
    """A NIC: ``mac``, ``recv_into(buf)``, ``send(mv)``, ``link_up()``.

    ``W5500(spi, mac, block_broadcast=False, block_multicast=False,
    block_ipv6=False, mac_filter=True, send_timeout_ms=20)``.  ``spi`` is an
    adapter from ``tcpip.nic.w5500_spi`` (or ``tools/w5500_emu.EmuSPI`` on a
    PC).  The constructor resets and configures the chip and raises
    ``OSError(EIO, ...)`` naming the pins when no W5500 answers.
    """

    def __init__(self, spi, mac, block_broadcast=False, block_multicast=False,
                 block_ipv6=False, mac_filter=True, send_timeout_ms=20):
        self.spi = spi
        if len(mac) != 6:
            raise ValueError("mac must be 6 bytes")
        self.mac = bytes(mac)
        mode = _MR_MACRAW
        if mac_filter:
            mode |= _MR_MFEN
        if block_broadcast:
            mode |= _MR_BCASTB
        if block_multicast:
            mode |= _MR_MMB
        if block_ipv6:
            mode |= _MR_MIP6B
        self._mode = mode
        self.send_timeout_ms = send_timeout_ms
        # Preallocated SPI header and register buffers, with fixed views.
        self._hdr = bytearray(3)
        self._hdr_mv = memoryview(self._hdr)
        self._reg = bytearray(8)
        reg = memoryview(self._reg)
        self._r1 = reg[:1]
        self._r2 = reg[:2]
        self._r4 = reg[:4]
        self._r6 = reg[:6]
        self._pad = bytearray(_MIN_FRAME)  # short frames are padded here
        self._pad_mv = memoryview(self._pad)
        self._int = spi.int_asserted() is not None
        # Frames known to be waiting (from one stable RX_RSR read) and the
        # driver's copy of RX_RD: a burst of frames costs one RSR read.
        self._rx_avail = 0
        self._rx_rd = 0
        self.speed_mbps = 0
        self.full_duplex = False
        self._link = False
        # Counters (stats()).
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
    def _header(self, addr, ctrl):
        h = self._hdr
        h[0] = addr >> 8
        h[1] = addr & 0xFF
        h[2] = ctrl
        return self._hdr_mv

    def _read(self, addr, ctrl, mv):
        self.spi.read(self._header(addr, ctrl), mv)
        self.spi_transactions += 1
        self.spi_bytes += 3 + len(mv)

    def _write(self, addr, ctrl, mv):
        self.spi.write(self._header(addr, ctrl), mv)
        self.spi_transactions += 1
        self.spi_bytes += 3 + len(mv)

    def _read8(self, addr, ctrl):
        self._read(addr, ctrl, self._r1)
        return self._reg[0]

    def _write8(self, addr, ctrl, value):
        self._reg[0] = value
        self._write(addr, ctrl, self._r1)

    def _write16(self, addr, ctrl, value):
        r = self._reg
        r[0] = (value >> 8) & 0xFF
        r[1] = value & 0xFF
        self._write(addr, ctrl, self._r2)

    def _command(self, cmd):
        # Sn_CR clears once the chip has accepted the command (Q1); bounded.
        self._write8(_Sn_CR, _CTRL_S0_W, cmd)
        for _ in range(100):
            if self._read8(_Sn_CR, _CTRL_S0_R) == 0:
                return True
        return False

    # --------------------------------------------------------------- bring-up
    def bring_up(self):
        """Reset the chip and open socket 0 in MACRAW (reference 6 table)."""
        spi = self.spi
        if not spi.hard_reset():
            # No RSTn wired: software reset, MR.RST self-clears when done.
            self._write8(_MR, _CTRL_COMMON_W, _MR_RST)
            t0 = ticks_ms()
            while self._read8(_MR, _CTRL_COMMON_R) & _MR_RST:
                if ticks_diff(ticks_ms(), t0) > 100:
                    break
                sleep_ms(1)
        # Some units read VERSIONR as 0 right after reset (ESP): poll it.
        t0 = ticks_ms()
        while True:
            version = self._read8(_VERSIONR, _CTRL_COMMON_R)
            if version == _VERSION or ticks_diff(ticks_ms(), t0) > 200:
                break
            sleep_ms(2)
        if version != _VERSION:
            raise OSError(EIO, "no W5500 found: VERSIONR=0x%02x, expected 0x04; check %s"
                          % (version, spi.describe()))
        r = self._reg
        for i in range(6):
            r[i] = self.mac[i]
        self._write(_SHAR, _CTRL_COMMON_W, self._r6)
        self._read(_SHAR, _CTRL_COMMON_R, self._r6)
        if bytes(self._r6) != self.mac:
            raise OSError(EIO, "W5500 SHAR read back %s, wrote %s: check MOSI in %s"
                          % (_hex(self._r6), _hex(self.mac), spi.describe()))
        # All 16 KB of RX and TX to socket 0, none to sockets 1..7 [DS p31].
        for n in range(8):
            kb = 16 if n == 0 else 0
            r[0] = kb
            r[1] = kb
            self._write(_Sn_RXBUF_SIZE, _CTRL_S0_W + (n << 5), self._r2)
        # Interrupts: RECV drives INTn; SEND_OK is unmasked too because some
        # chips only latch unmasked bits (Q7).  The driver clears SEND_OK at once.
        self._write8(_Sn_IMR, _CTRL_S0_W, _IR_RECV | _IR_SEND_OK)
        self._write8(_SIMR, _CTRL_COMMON_W, 0x01)
        self._open()
        self._read_link()

    def _open(self):
        self._command(_CMD_CLOSE)
        self._write8(_Sn_IR, _CTRL_S0_W, 0xFF)
        self._write8(_Sn_MR, _CTRL_S0_W, self._mode)
        self._command(_CMD_OPEN)
        # OPEN completes before the next transaction in practice (Q1, MG).
        sr = _SOCK_CLOSED
        for _ in range(10):
            sr = self._read8(_Sn_SR, _CTRL_S0_R)
            if sr == _SOCK_MACRAW:
                break
        if sr != _SOCK_MACRAW:
            raise OSError(EIO, "W5500 socket 0 did not open in MACRAW (Sn_SR=0x%02x)" % sr)
        self._rx_avail = 0

    def _resync(self):
        # A length that cannot be right: we lost track of the record
        # boundaries.  Close and reopen socket 0 (OPEN resets the pointers,
        # dropping what was queued) and carry on.
        self.resyncs += 1
        self._open()

    # ------------------------------------------------------------------- RX
    def recv_into(self, buf):
        """Copy one received Ethernet frame (no FCS) into ``buf``; return its
        length, or 0 when nothing waits.  Never blocks."""
        if self._rx_avail == 0:
            if self._int:
                # Clear RECV before draining so a frame that lands meanwhile
                # raises INTn again (Q3, ESP's order).
                self._write8(_Sn_IR, _CTRL_S0_W, _IR_RECV)
            # RX_RSR and RX_RD are adjacent: one burst reads both.  The
            # chip does not latch 16-bit counters, so re-read RSR until two
            # successive values agree [DS Sn_RX_RSR; reference 3].  A zero
            # needs no second look: a torn read of a growing counter only
            # under-reads, and the frame is still there next time.
            r = self._reg
            self._read(_Sn_RX_RSR, _CTRL_S0_R, self._r4)
            rsr = (r[0] << 8) | r[1]
            if rsr == 0:
                return 0
            rd = (r[2] << 8) | r[3]
            for _ in range(8):
                self._read(_Sn_RX_RSR, _CTRL_S0_R, self._r2)
                v = (r[0] << 8) | r[1]
                if v == rsr:
                    break
                rsr = v
            self._rx_rd = rd
            self._rx_avail = rsr
        rd = self._rx_rd
        avail = self._rx_avail
        # Record = LEN_hi LEN_lo frame; LEN counts its own 2 bytes [reference 4].
        r = self._reg
        self._read_ring(rd, self._r2, 2)
        rec = (r[0] << 8) | r[1]
        n = rec - 2
        if n < _MIN_FRAME or n > _MTU_FRAME or rec > avail:
            self._resync()
            return 0
        rd2 = (rd + rec) & 0xFFFF
        if n <= len(buf):
            self._read_ring((rd + 2) & 0xFFFF, buf, n)
        else:
            self.rx_drop_too_big += 1
        self._write16(_Sn_RX_RD, _CTRL_S0_W, rd2)
        self._command(_CMD_RECV)
        self._rx_rd = rd2
        self._rx_avail = avail - rec
        if n > len(buf):
            return 0
        self.rx_frames += 1
        self.rx_bytes += n
        return n

    def _read_ring(self, ptr, buf, n):
        # The address phase carries the raw 16-bit pointer; the chip maps it
        # to ptr & (size - 1).  Split at the buffer end rather than rely on
        # bursts wrapping inside the chip (inferred, not documented).
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        first = _BUF_BYTES - (ptr & _BUF_MASK)
        if first >= n:
            self._read(ptr, _CTRL_S0_RX_R, mv[:n])
        else:
            self._read(ptr, _CTRL_S0_RX_R, mv[:first])
            self._read((ptr + first) & 0xFFFF, _CTRL_S0_RX_R, mv[first:n])

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
        ``send_timeout_ms`` is counted in ``tx_timeouts`` and lost, like on a
        wire; the socket is reopened when the link is up (ioLib #168)."""
        n = len(frame)
        if n > _MTU_FRAME or n < 14:
            raise OSError(EMSGSIZE, "W5500 MACRAW frame must be 14..1514 bytes, got %d" % n)
        if not self._link:
            # Link down at the last link_up(): SEND may never complete then
            # (ESP, esp-idf #6233), so do not wait for it; the frame is lost.
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
        # TX_FSR, TX_RD, TX_WR in one burst.  FSR only grows behind our back,
        # and a torn read of a growing counter never over-reads, so one read
        # that shows room is enough; otherwise read again until it does.
        while True:
            self._read(_Sn_TX_FSR, _CTRL_S0_R, self._r6)
            fsr = (r[0] << 8) | r[1]
            if fsr >= n:
                break
            if ticks_diff(ticks_ms(), t0) > self.send_timeout_ms:
                self.tx_fsr_timeouts += 1
                self._tx_recover()
                return
        wr = (r[4] << 8) | r[5]
        mv = frame if isinstance(frame, memoryview) else memoryview(frame)
        first = _BUF_BYTES - (wr & _BUF_MASK)
        if first >= n:
            self._write(wr, _CTRL_S0_TX_W, mv)
        else:
            self._write(wr, _CTRL_S0_TX_W, mv[:first])
            self._write((wr + first) & 0xFFFF, _CTRL_S0_TX_W, mv[first:n])
        self._write16(_Sn_TX_WR, _CTRL_S0_W, (wr + n) & 0xFFFF)
        self._write8(_Sn_CR, _CTRL_S0_W, _CMD_SEND)
        # Sn_CR and Sn_IR are adjacent: one 2-byte read shows both.
        while True:
            self._read(_Sn_CR, _CTRL_S0_R, self._r2)
            ir = r[1]
            if r[0] == 0 and ir & (_IR_SEND_OK | _IR_TIMEOUT):
                break
            if ticks_diff(ticks_ms(), t0) > self.send_timeout_ms:
                self.tx_timeouts += 1
                self._tx_recover()
                return
        self._write8(_Sn_IR, _CTRL_S0_W, ir & (_IR_SEND_OK | _IR_TIMEOUT))
        if ir & _IR_SEND_OK:
            self.tx_frames += 1
            self.tx_bytes += n
        else:
            # TIMEOUT belongs to ARP/TCP timers, not MACRAW, but MG and
            # ioLib treat it as a failed send (reference 5).
            self.tx_timeouts += 1

    def _tx_recover(self):
        # SEND_OK never came: when the link is down the frame is just lost;
        # otherwise the socket may be wedged (Q6), so reopen it.
        if self._read_link():
            self._resync()

    # ----------------------------------------------------------------- link
    def link_up(self):
        """PHYCFGR.LNK; also refreshes ``speed_mbps`` and ``full_duplex``.

        The stack calls this about every 500 ms, so it also checks that socket
        0 is still open in MACRAW: a chip that reset itself (brown-out, ESD)
        comes back with every register at its reset value and is brought up
        again (counted in ``chip_reinits``)."""
        if self._read8(_Sn_SR, _CTRL_S0_R) != _SOCK_MACRAW:
            self.chip_reinits += 1
            try:
                self.bring_up()
            except OSError:
                self._rx_avail = 0
                return self._set_link(False, 0)
        return self._read_link()

    def _read_link(self):
        v = self._read8(_PHYCFGR, _CTRL_COMMON_R)
        return self._set_link(bool(v & 0x01), v)

    def _set_link(self, up, v):
        if up:
            self.speed_mbps = 100 if v & 0x02 else 10
            self.full_duplex = bool(v & 0x04)
        else:
            self.speed_mbps = 0
            self.full_duplex = False
        if up != self._link:
            self.link_changes += 1
            self._link = up
        return up

    # ------------------------------------------------------------ interrupts
    def irq(self, handler):
        """Call ``handler(nic)`` from the INTn falling edge (an IRQ context on
        a board: schedule the real work).  Returns False when INTn is not
        wired; then poll instead."""
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
