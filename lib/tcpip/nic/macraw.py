"""A WIZnet chip's socket 0 in MACRAW mode as a NIC: what the W5500 and W5100S drivers share.

The chip only moves raw Ethernet frames; tcpip does the rest.  ``W5500``
(``w5500.py``) and ``W5100S`` (``w5100s.py``) subclass ``MacrawNIC`` and supply
what differs between the chips:

- ``_header(addr, write)``: the 3-byte SPI header for a transfer at ``addr``;
- ``_HDR_ADDR``: where in that header the 16-bit address (high byte first)
  sits, so the per-frame buffer transfers patch a prebuilt header in place;
- class attributes: ``CHIP`` (name for messages), ``_S0`` (socket 0's register
  block), ``_TX_BUF`` / ``_RX_BUF`` (socket 0's TX / RX memory), ``_BUF_BYTES``
  (its size each way), ``_VERSION_REG`` / ``_VERSION_REG_NAME`` / ``_VERSION``
  (the version register, its name and what it reads), ``_MR_MAC_FILTER``
  (Sn_MR's MAC filter bit);
- ``_configure()``: buffer sizes and interrupt routing at bring-up;
- ``_write_mode()``: socket 0's mode registers before OPEN;
- ``_read_link()``: the PHY status, passed to ``_set_link``.

What is the same on both: MR and SHAR addresses, socket registers at the same
offsets from socket 0's block, commands in Sn_CR that clear when accepted,
free-running 16-bit RX/TX pointers that the host masks and splits at the
buffer end, RX records ``LEN_hi LEN_lo frame`` where LEN counts its own two
bytes, and SPI frames of a 3-byte header then data (so a burst costs 3 + n
bytes).  Facts and section numbers: ``docs/w5500.md`` (W5500
datasheet v1.0.9, [DS]; WIZnet ioLibrary_Driver, [ioLib]; Mongoose's W5500 and
W5100 drivers, [MG]).  Per frame no object is allocated except memoryview
slices of the caller's buffer (MicroPython's ``machine.SPI`` has no start/end
arguments).
"""

from tcpip.compat import const, ticks_ms, ticks_diff, sleep_ms, EIO, EMSGSIZE
from tcpip.wire.ethernet import mac_str
from tcpip.wire.bytes import copy

# Common registers at the same address on both chips.
_MR = const(0x0000)
_SHAR = const(0x0009)

# Socket registers: offsets from socket 0's block [docs/w5500.md section 3].
_Sn_MR = const(0x0000)
_Sn_CR = const(0x0001)
_Sn_IR = const(0x0002)
_Sn_SR = const(0x0003)
_Sn_TX_FSR = const(0x0020)
_Sn_TX_RD = const(0x0022)
_Sn_TX_WR = const(0x0024)
_Sn_RX_RSR = const(0x0026)
_Sn_RX_RD = const(0x0028)
_Sn_IMR = const(0x002C)

_MR_RST = const(0x80)
_MR_MACRAW = const(0x04)

_CMD_OPEN = const(0x01)
_CMD_CLOSE = const(0x10)
_CMD_SEND = const(0x20)
_CMD_RECV = const(0x40)

_SOCK_CLOSED = const(0x00)
_SOCK_MACRAW = const(0x42)

_IR_SEND_OK = const(0x10)
_IR_TIMEOUT = const(0x08)
_IR_RECV = const(0x04)

_MTU_FRAME = const(1514)  # MACRAW MTU, no FCS
_MIN_FRAME = const(60)  # the MAC never hands over a shorter frame (64 minus FCS)

# Frame filter bits: the W5500 has them in Sn_MR, the W5100S in Sn_MR2, at the
# same positions (BCASTB/MBBLK, MMB/MMBLK, MIP6B/IPV6BLK).
_BLOCK_BROADCAST = const(0x40)
_BLOCK_MULTICAST = const(0x20)
_BLOCK_IPV6 = const(0x10)

# rx_quiet while the driver knows frames wait or must read RX_RSR: bool()
# is False, and a C call (cheaper than a Python function on the board).
_NOT_QUIET = bool



class MacrawNIC:
    """A NIC: ``mac``, ``recv_into(buf)``, ``send(mv)``, ``link_up()``,
    ``wait(ms)`` (what ``Stack.idle`` calls), ``rx_quiet``.

    ``rx_quiet``: None when INTn is not wired; else a callable, true when no
    frame waits (INTn high and nothing left of the last RX_RSR read), so
    that ``Stack.poll`` can skip ``recv_into`` (a Python call) when idle.
    The driver rebinds it as its receive state changes (to INTn's own
    level read, or to one that is always false): read it at each use.

    ``W5500(spi, mac, block_broadcast=False, block_multicast=False,
    block_ipv6=False, mac_filter=True, send_timeout_ms=20)`` (``W5100S`` the
    same).  ``spi`` is an adapter from ``tcpip.nic.w5500_spi`` (or the
    emulators' ``EmuSPI`` on a PC).  The constructor resets and configures the
    chip and raises ``OSError(EIO, ...)`` naming the pins when no chip answers.
    """

    # Set by each chip's subclass (annotations only: nothing stored here).
    CHIP: str
    _S0: int
    _TX_BUF: int
    _RX_BUF: int
    _BUF_BYTES: int
    _VERSION_REG: int
    _VERSION_REG_NAME: str
    _VERSION: int
    _MR_MAC_FILTER: int
    _HDR_ADDR: int

    def __init__(self, spi, mac, block_broadcast=False, block_multicast=False,
                 block_ipv6=False, mac_filter=True, send_timeout_ms=20):
        self.spi = spi
        if len(mac) != 6:
            raise ValueError("mac must be 6 bytes")
        self.mac = bytes(mac)
        self._mode = _MR_MACRAW | (self._MR_MAC_FILTER if mac_filter else 0)
        self._block = ((_BLOCK_BROADCAST if block_broadcast else 0) |
                       (_BLOCK_MULTICAST if block_multicast else 0) |
                       (_BLOCK_IPV6 if block_ipv6 else 0))
        self.send_timeout_ms = send_timeout_ms
        # Preallocated SPI header and register buffers, with fixed views.
        self._hdr = bytearray(3)
        self._reg = bytearray(8)
        reg = memoryview(self._reg)
        self._r1 = reg[:1]
        self._r2 = reg[:2]
        self._r6 = reg[:6]
        self._pad = bytearray(_MIN_FRAME)  # short frames are padded here
        self._pad_mv = memoryview(self._pad)
        self._views: list = [None, -1, None, -1, None]  # see _view
        self._int = spi.int_asserted() is not None
        # INTn's level, high (truthy) when nothing is pending: the adapter's
        # int_level (the pin's own read, a C call on MicroPython) where it
        # has one, else through int_asserted (a Python call more a receive)
        self._int_high = getattr(spi, "int_level", None) or self._int_high_slow
        # Bytes known to be waiting (from one RX_RSR read), the driver's
        # RX_RD (where the next record starts) and the next record's length
        # when read ahead (0: not read): a run of frames costs one RSR read
        # and one SPI frame per record.
        self._rx_avail = 0
        self._rx_rd = 0
        self._rx_next = 0
        self._rx_rd0 = 0  # RX_RD as the chip has it (until RECV): RX_RSR counts from it
        # What was read is freed (RX_RD and RECV: two SPI frames) once this
        # much is read, a quarter of the chip's buffer: the chip keeps at
        # least the rest for arriving frames.
        self._rx_free_bytes = self._BUF_BYTES // 4
        # Reads to free, done at the next receive before anything else (so
        # not between a frame and the caller's answer to it); set until
        # both writes are done, so a receive interrupted between them
        # (Ctrl-C, a MemoryError) writes them again (see _rx_release).
        self._rx_due = False
        # With INTn wired: clear Sn_IR's RECV before the next RX_RSR read
        # (see recv_into; never without INTn).
        self._ir_clear = self._int
        # With INTn wired its level says whether RECV is pending; RX_RSR is
        # read anyway after bring-up and at every link check (a backstop).
        self._rx_check = True
        # rx_quiet (class docstring): the pin's level while nothing is
        # known to wait and no RX_RSR read is due, else never quiet.
        self._quiet_fn = self._int_high if self._int else None
        self._busy_fn = _NOT_QUIET if self._int else None
        self.rx_quiet: object = self._busy_fn  # (a callable or None)
        # TX: the driver owns TX_WR, so it keeps a copy; a SEND is checked
        # for completion when the next frame needs the chip (or by tx_flush).
        self._tx_wr = 0
        self._tx_pending = False
        self._tx_len = 0
        # Headers of the fixed transactions, built once (no _header() call
        # per frame), and their 2-byte data buffers.
        s0 = self._S0
        self._h_rsr = self._fixed_header(s0 + _Sn_RX_RSR, False)
        self._h_rx_rd = self._fixed_header(s0 + _Sn_RX_RD, True)
        self._h_tx_rd = self._fixed_header(s0 + _Sn_TX_RD, False)
        self._h_tx_wr = self._fixed_header(s0 + _Sn_TX_WR, True)
        self._h_cr_w = self._fixed_header(s0 + _Sn_CR, True)
        self._h_cr_r = self._fixed_header(s0 + _Sn_CR, False)
        self._h_ir_w = self._fixed_header(s0 + _Sn_IR, True)
        # Register writes of the per-frame path as whole SPI frames (header
        # and data in one buffer, handed to the adapter's write_frame: one
        # SPI write instead of two); the pointer frames are patched in place.
        self._f_recv = self._h_cr_w + bytes([_CMD_RECV])
        self._f_send = self._h_cr_w + bytes([_CMD_SEND])
        self._f_irq_clear = self._h_ir_w + bytes([_IR_RECV])
        self._f_rx_rd = bytearray(self._h_rx_rd + b"\x00\x00")
        self._f_tx_wr = bytearray(self._h_tx_wr + b"\x00\x00")
        # Headers of the per-frame buffer transfers (a write to TX memory, a
        # read of RX memory): built once, their address patched per frame
        # at _hdr_at (no _header() call per transfer).
        self._hdr_at = self._HDR_ADDR
        self._h_txb = bytearray(self._header(self._TX_BUF, True))
        self._h_rxb = bytearray(self._header(self._RX_BUF, False))
        self._buf_mask = self._BUF_BYTES - 1  # (an instance attribute: found first)
        self._txb16 = self._TX_BUF & 0xFFFF  # the buffers' 16-bit base addresses
        self._rxb16 = self._RX_BUF & 0xFFFF
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

    # ------------------------------------------------------ chip specifics
    def _header(self, addr, write):
        """The SPI header (3 bytes, in a buffer reused by the next call) for a transfer at ``addr``."""
        raise NotImplementedError

    def _configure(self):
        """Buffer sizes and interrupt routing, at bring-up."""
        raise NotImplementedError

    def _write_mode(self):
        """Socket 0's mode registers, before OPEN."""
        raise NotImplementedError

    def _read_link(self):
        """Read the PHY status; return ``self._set_link(up, speed_mbps, full_duplex)``."""
        raise NotImplementedError

    def _fixed_header(self, addr, write):
        return bytes(self._header(addr, write))

    # ------------------------------------------------------------ SPI access
    def _read(self, addr, mv):
        self.spi.read(self._header(addr, False), mv)
        self.spi_transactions += 1
        self.spi_bytes += 3 + len(mv)

    def _write(self, addr, mv):
        self.spi.write(self._header(addr, True), mv)
        self.spi_transactions += 1
        self.spi_bytes += 3 + len(mv)

    def _read8(self, addr):
        self._read(addr, self._r1)
        return self._reg[0]

    def _write8(self, addr, value):
        self._reg[0] = value
        self._write(addr, self._r1)

    def _command(self, cmd):
        # Sn_CR clears once the chip has accepted the command (Q1); bounded.
        cr = self._S0 + _Sn_CR
        self._write8(cr, cmd)
        for _ in range(100):
            if self._read8(cr) == 0:
                return True
        return False

    # --------------------------------------------------------------- bring-up
    def bring_up(self):
        """Reset the chip and open socket 0 in MACRAW with all buffer memory (docs/w5500.md section 6)."""
        spi = self.spi
        if not spi.hard_reset():
            # No RSTn wired: software reset, MR.RST self-clears when done.
            self._write8(_MR, _MR_RST)
            t0 = ticks_ms()
            while self._read8(_MR) & _MR_RST:
                if ticks_diff(ticks_ms(), t0) > 100:
                    break
                sleep_ms(1)
        # Some units read the version as 0 right after reset (ESP): poll it.
        t0 = ticks_ms()
        while True:
            version = self._read8(self._VERSION_REG)
            if version == self._VERSION or ticks_diff(ticks_ms(), t0) > 200:
                break
            sleep_ms(2)
        if version != self._VERSION:
            raise OSError(EIO, "no %s found: %s=0x%02x, expected 0x%02x; check %s" % (
                self.CHIP, self._VERSION_REG_NAME, version, self._VERSION, spi.describe()))
        r = self._reg
        for i in range(6):
            r[i] = self.mac[i]
        self._write(_SHAR, self._r6)
        self._read(_SHAR, self._r6)
        if bytes(self._r6) != self.mac:
            raise OSError(EIO, "%s SHAR read back %s, wrote %s: check MOSI in %s"
                          % (self.CHIP, mac_str(self._r6), mac_str(self.mac), spi.describe()))
        # Interrupts: only RECV drives INTn, so INTn high means "nothing
        # arrived".  SEND completion is read from TX_RD, not from SEND_OK
        # (which the W5500 latches whatever the mask, Q7), and TIMEOUT
        # latches the same way.
        self._write8(self._S0 + _Sn_IMR, _IR_RECV)
        self._configure()
        self._open()
        self._read_link()

    def _open(self):
        s0 = self._S0
        self._command(_CMD_CLOSE)
        self._write8(s0 + _Sn_IR, 0xFF)
        self._write_mode()
        self._command(_CMD_OPEN)
        # OPEN completes before the next transaction in practice (Q1, MG).
        sr = _SOCK_CLOSED
        for _ in range(10):
            sr = self._read8(s0 + _Sn_SR)
            if sr == _SOCK_MACRAW:
                break
        if sr != _SOCK_MACRAW:
            raise OSError(EIO, "%s socket 0 did not open in MACRAW (Sn_SR=0x%02x)"
                          % (self.CHIP, sr))
        self._rx_avail = 0
        self._rx_next = 0
        self._rx_due = False  # (OPEN reset RX_RD: nothing of the old ring is freed)
        self._ir_clear = self._int
        self._rx_check = True
        self.rx_quiet = self._busy_fn
        # OPEN re-initialises the pointers: read TX_WR and RX_RD again
        # (docs/w5500.md section 3), one burst: TX_WR, RX_RSR, RX_RD.
        r = self._reg
        self._read(s0 + _Sn_TX_WR, self._r6)
        self._tx_wr = (r[0] << 8) | r[1]
        self._rx_rd = self._rx_rd0 = (r[4] << 8) | r[5]
        self._tx_pending = False

    def _resync(self):
        # A length that cannot be right: we lost track of the record
        # boundaries.  Close and reopen socket 0 (OPEN resets the pointers,
        # dropping what was queued) and carry on, like ESP's drain (W5100S
        # forum #5549: corrupt MACRAW header).
        self.resyncs += 1
        self._open()

    # ------------------------------------------------------------------- RX
    # A run of records (what one RX_RSR read showed) costs the RX_RSR read
    # (with INTn wired, before every other one the Sn_IR clear), then one
    # SPI frame per record: its header and frame together when the run is one record
    # that fits the caller's buffer (an ACK, a ping request), else the frame
    # and the next record's header together (a longer run's first header
    # alone).  What is read is freed (RX_RD, RECV) only once a quarter of
    # the chip's buffer is read, and then at the next receive before its
    # reads: not between a frame and the caller's answer to it.  The
    # functions stay small: a MicroPython frame over 11 words is a heap
    # allocation.

    def recv_into(self, buf):
        """Copy one received Ethernet frame (no FCS) into ``buf``; return its
        length, or 0 when nothing waits.  Never blocks."""
        if self._rx_avail:
            if self._rx_due:
                self._rx_release(self._rx_rd)
            if self._rx_next:
                return self._rx_frame(buf, self._rx_next)
            return self._rx_whole(buf)
        # INTn high (and no backstop read due): nothing arrived, decided
        # here without a call (the empty receive runs at every poll)
        if self._int and not self._rx_check and self._int_high():
            return 0
        # How many bytes wait: RX_RSR, which counts from the chip's RX_RD,
        # less what the driver read and has not freed yet (here, not in a
        # function of its own: one call less per run).
        if self._rx_due:
            self._rx_release(self._rx_rd)
        k = 1  # SPI transactions: RX_RSR's read, and Sn_IR's write before it with INTn
        if self._int:
            # (INTn was low: RECV was raised since it was last cleared;
            # unless _rx_check forced a read, after bring-up and at every
            # link check, a backstop for a missed level, Q4.)
            self._rx_check = False
            # Clear RECV before reading RX_RSR so a frame that lands after
            # the read raises INTn again (Q3, ESP's order); on the W5100S
            # this also releases the IRQ line (Q11).  Every other refill
            # only: the first after a quiet one reads RX_RSR at once (the
            # frame that pulled INTn low waits: a clear first only delays
            # it), and the next one clears.  No wake-up is lost: rx_quiet
            # is INTn's level, low until a clear, and every RSR read after
            # a clear counts what arrived before it.  (A read without a
            # clear that finds nothing clears and looks again at once
            # rather than leave INTn low for the next poll.)
            if self._ir_clear:
                self.spi.write_frame(self._f_irq_clear)
                k = 2
            self._ir_clear = k == 1
        self.spi.read(self._h_rsr, self._r2)
        self.spi_transactions += k  # (counted at once: each update costs on the board)
        self.spi_bytes += 4 * k + 1  # 5 bytes, and 4 more for Sn_IR
        # Not re-read: RX_RSR only grows behind our back, so a read torn by
        # an arriving frame can only under-read; _rx_frame looks again
        # when a record seems to run past it.
        k = ((self._reg[0] << 8) | self._reg[1]) - ((self._rx_rd - self._rx_rd0) & 0xFFFF)
        if k <= 0:
            self.rx_quiet = self._quiet_fn  # (_rx_check is off and nothing is due)
            if self._ir_clear:
                return self.recv_into(buf)  # (RECV not cleared before this read: clear, look again)
            return 0
        self.rx_quiet = self._busy_fn
        self._rx_avail = k  # (k reused: the bytes waiting)
        return self._rx_whole(buf)

    def _rx_whole(self, buf):
        # The run's first record, its header not read yet.  When the run
        # could be one record that fits buf (62..1516 bytes, and the chip's
        # buffer does not end inside it), its header and the run in one SPI
        # frame; else _rx_frame reads the header alone first.
        avail = self._rx_avail
        if not (_MIN_FRAME + 2 <= avail <= _MTU_FRAME + 2 and avail <= len(buf) + 2
                and (self._rx_rd & self._buf_mask) + avail <= self._buf_mask + 1):
            return self._rx_frame(buf, 0)
        # Record = LEN_hi LEN_lo frame; LEN counts its own 2 bytes
        # [docs/w5500.md section 4]: the header and avail - 2 bytes after it.
        # (few locals, some reused: a MicroPython frame over 11 words is a
        # heap allocation)
        # buf[:avail - 2], the last view made (as _view keeps it) without
        # the call when it fits (the same bytes: the next header is in it)
        if self._views[0] is buf and self._views[1] == avail - 2:
            buf = self._views[2]
        else:
            buf = self._view(buf, avail - 2)
        h = self._h_rxb
        rec = (self._rx_rd & self._buf_mask) + self._rxb16  # (the address, first)
        h[self._hdr_at] = rec >> 8
        h[self._hdr_at + 1] = rec & 0xFF
        self.spi.read_two(h, self._r2, buf)
        self.spi_transactions += 1
        self.spi_bytes += avail + 3
        rec = (self._reg[0] << 8) | self._reg[1]
        if rec == avail:
            # The run was this record (the usual case): _rx_done inline,
            # one call less.
            self._rx_rd = rec = (self._rx_rd + rec) & 0xFFFF
            self._rx_avail = 0
            self._rx_due = ((rec - self._rx_rd0) & 0xFFFF) >= self._rx_free_bytes
            if not self._rx_check:
                self.rx_quiet = self._quiet_fn  # (the run is read)
            self.rx_frames += 1
            self.rx_bytes += avail - 2
            return avail - 2
        if _MIN_FRAME + 2 <= rec <= avail - 2:
            # Several records: this one's frame is buf[:rec - 2] and the
            # next one's header came right after it.
            avail = (buf[rec - 2] << 8) | buf[rec - 1]  # (reused: that header)
            return self._rx_done(rec, avail)
        return self._rx_frame(buf, rec)  # (checked there: re-read or resync)

    def _rx_frame(self, buf, rec):
        # A record: its header (rec; 0 when not read yet: read here alone),
        # then its frame, and in the same SPI frame the next record's
        # header when the run has one and the chip's buffer does not end
        # before it.
        if not rec:
            self._read_ring(self._rx_rd, self._r2, 2)
            self.spi_transactions += 1
            self.spi_bytes += 5
            rec = (self._reg[0] << 8) | self._reg[1]
        n = rec - 2
        if n < _MIN_FRAME or n > _MTU_FRAME or (rec > self._rx_avail and rec > self._rx_reread()):
            self._resync()
            return 0
        if n > len(buf):  # larger than the caller's buffer: skipped, counted
            self._rx_done(rec, 0)
            self.rx_frames -= 1
            self.rx_bytes -= n
            self.rx_drop_too_big += 1
            return 0
        if self._rx_avail - rec < 2 or ((self._rx_rd + 2) & self._buf_mask) + rec > self._buf_mask + 1:
            self._read_ring((self._rx_rd + 2) & 0xFFFF, buf, n)
            self.spi_transactions += 1
            self.spi_bytes += rec + 1
            return self._rx_done(rec, 0)
        buf = self._view(buf, n)
        h = self._h_rxb
        n = ((self._rx_rd + 2) & self._buf_mask) + self._rxb16  # (reused: the address)
        h[self._hdr_at] = n >> 8
        h[self._hdr_at + 1] = n & 0xFF
        self.spi.read_two(h, buf, self._r2)
        self.spi_transactions += 1
        self.spi_bytes += rec + 3
        return self._rx_done(rec, (self._reg[0] << 8) | self._reg[1])

    def _rx_done(self, rec, nxt):
        # The record is read: the driver's RX_RD past it and the next
        # header (0: not read), in straight-line code (no branch, where a
        # KeyboardInterrupt could leave them apart).
        rd = (self._rx_rd + rec) & 0xFFFF
        self._rx_rd = rd
        self._rx_next = nxt
        self._rx_avail -= rec
        self._rx_due = ((rd - self._rx_rd0) & 0xFFFF) >= self._rx_free_bytes
        if self._rx_avail == 0 and not self._rx_check:
            self.rx_quiet = self._quiet_fn  # (the run is read)
        self.rx_frames += 1
        self.rx_bytes += rec - 2
        return rec - 2

    def _rx_reread(self):
        # RX_RSR again, as bytes left after what the driver read since the
        # last release (the chip counts from its RX_RD).
        r = self._reg
        self.spi.read(self._h_rsr, self._r2)
        self.spi_transactions += 1
        self.spi_bytes += 5
        self._rx_avail = ((r[0] << 8) | r[1]) - ((self._rx_rd - self._rx_rd0) & 0xFFFF)
        return self._rx_avail

    def _rx_release(self, rd):
        # RX_RD then RECV frees what was read [DS p54].  Sn_CR is not
        # polled for the chip to accept RECV: it does within a few of its
        # clocks, long before the next SPI transaction.  An exception between
        # the two writes (KeyboardInterrupt is raised at a branch, such as
        # the adapter's; a MemoryError caught by the caller's caller) would
        # leave RX_RD written and RECV not: the chip's RX_RSR then still
        # counts from the old RX_RD, which _rx_rd0 keeps until both writes
        # are done; _rx_due stays set, and the next receive does them again
        # first (writing both twice is harmless).
        # (Two SPI frames of 5 and 4 bytes, prebuilt: the pointer patched in.)
        f = self._f_rx_rd
        f[3] = rd >> 8
        f[4] = rd & 0xFF
        self.spi.write_frame(f)
        self.spi.write_frame(self._f_recv)
        self.spi_transactions += 2
        self.spi_bytes += 9
        self._rx_rd0 = rd
        self._rx_due = False

    def _read_ring(self, ptr, buf, n):
        # The buffer address is ptr masked to the buffer size; split at the
        # buffer end rather than rely on a burst wrapping inside the chip (the
        # W5100S does not, the W5500 is not documented to) ([ioLib]
        # wiz_recv_data, [MG] w5100_rx).
        # (kept small: a MicroPython frame over 11 words is a heap allocation;
        # counted by the caller, as one transaction of 3 + n bytes)
        off = ptr & self._buf_mask
        if off + n > self._buf_mask + 1:
            return self._read_split(off, buf, n)
        if len(buf) != n:
            buf = self._view(buf, n)
        off += self._rxb16
        h = self._h_rxb
        h[self._hdr_at] = off >> 8
        h[self._hdr_at + 1] = off & 0xFF
        self.spi.read(h, buf)  # (_read, inlined)

    def _read_split(self, off, buf, n):
        # (two SPI frames: one transaction and header more than the caller counts)
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        first = self._BUF_BYTES - off
        self.spi.read(self._header(self._RX_BUF + off, False), mv[:first])
        self.spi.read(self._header(self._RX_BUF, False), mv[first:n])
        self.spi_transactions += 1
        self.spi_bytes += 3

    def _view(self, buf, n):
        """buf[:n] for an SPI read of n bytes, without a new view object (a
        heap object on MicroPython) when buf is n long or (buf, n) is one of
        the last two asked for: a bulk transfer's frames have two lengths."""
        if len(buf) == n:
            return buf
        m = self._views  # [buf, n0, view0, n1, view1]
        if m[0] is buf:
            if m[1] == n:
                return m[2]
            if m[3] == n:
                return m[4]
        else:
            m[0] = buf
            m[1] = m[3] = -1
        v = (buf if isinstance(buf, memoryview) else memoryview(buf))[:n]
        m[3] = m[1]
        m[4] = m[2]
        m[1] = n
        m[2] = v
        return v

    def pending(self):
        """True when the chip may have a frame: INTn asserted, or no INTn
        wired (then only a read of RX_RSR can tell)."""
        if self._rx_avail:
            return True
        a = self.spi.int_asserted()
        return True if a is None else a

    def wait(self, ms):
        """Return once a frame may be waiting or after ``ms`` milliseconds
        (``Stack.idle`` and blocking sockets call this): with INTn wired the
        pin is watched, so a frame ends the wait within tens of microseconds
        instead of at the end of a sleep; without INTn, sleep ``ms``."""
        if ms <= 0 or self._rx_avail:
            return
        if not self._int:
            sleep_ms(ms)
            return
        if self._rx_check:
            return  # RX_RSR is to be read at the next receive anyway
        high = self._int_high
        t0 = ticks_ms()
        while high() and ticks_diff(ticks_ms(), t0) < ms:
            pass

    def _int_high_slow(self):
        return not self.spi.int_asserted()

    # ------------------------------------------------------------------- TX
    def send(self, frame):
        """Transmit one Ethernet frame (14..1514 bytes, no FCS).  Frames under
        60 bytes are padded.  Returns once the chip has the frame and the SEND
        command; that SEND is checked for completion when the next frame goes
        out (or by ``tx_flush()``), so the SPI write of one frame overlaps the
        wire time of the one before.  A SEND the chip does not complete
        within ``send_timeout_ms`` is counted in ``tx_timeouts`` (and taken
        back out of ``tx_frames``) and the frame is lost, like on a wire; the
        socket is then reopened when the link is up (ioLib #168)."""
        # The common frame (60..1514 bytes, link up) in one function and
        # one call of _tx_commit: on the board every bytecode and call shows
        # (docs/performance.md).  Per frame four SPI transactions and no
        # more: the frame, the last SEND's check, TX_WR, SEND.  The frame
        # goes into TX memory behind the one the chip may still be sending
        # (the buffer holds many, so no TX_FSR read), and only then is that
        # SEND checked: its wire time overlapped this frame's SPI write.
        n = len(frame)
        if n < _MIN_FRAME or n > _MTU_FRAME or not self._link:
            return self._send_unusual(frame, n)
        off = self._tx_wr & self._buf_mask
        if off + n > self._buf_mask + 1:
            self._write_split(off, frame, n)
        else:
            off += self._txb16
            h = self._h_txb
            h[self._hdr_at] = off >> 8
            h[self._hdr_at + 1] = off & 0xFF
            self.spi.write(h, frame)  # (counted by _tx_commit)
        self._tx_commit(frame, n)

    def _send_unusual(self, frame, n):
        if n > _MTU_FRAME or n < 14:
            raise OSError(EMSGSIZE, "%s MACRAW frame must be 14..1514 bytes, got %d"
                          % (self.CHIP, n))
        if not self._link:
            # Link down at the last link_up(): SEND may never complete then
            # (ESP, esp-idf #6233), so do not issue it; the frame is lost.
            if self._tx_pending:
                self._tx_finish()
            self.tx_link_down += 1
            return
        self.send(self._padded(frame, n))  # (a short frame: 60 bytes)

    def _padded(self, frame, n):
        p = self._pad
        copy(p, 0, frame, 0, n)  # (no slice object, unlike p_mv[:n] = frame)
        for i in range(n, _MIN_FRAME):
            p[i] = 0
        return self._pad_mv

    def _write_split(self, off, frame, n):
        # [ioLib] wiz_send_data: the host splits at the buffer end.  (Two
        # SPI frames: one transaction and header more than _tx_commit counts.)
        mv = frame if isinstance(frame, memoryview) else memoryview(frame)
        first = self._BUF_BYTES - off
        self.spi.write(self._header(self._TX_BUF + off, True), mv[:first])
        self.spi.write(self._header(self._TX_BUF, True), mv[first:n])
        self.spi_transactions += 1
        self.spi_bytes += 3

    def _tx_commit(self, frame, n):
        # One SEND sends TX_RD..TX_WR as one frame and must complete before
        # the next (docs/w5500.md section 5): the chip moves TX_RD up to
        # TX_WR when it has [DS Sn_TX_RD].  One read, inline; _tx_wait
        # waits when it is not done yet.  The SPI counters take the frame's
        # write (3 + n bytes), this read (5), TX_WR (5) and SEND (4) at once.
        if self._tx_pending:  # (it stays set through the check's read: counted below)
            r = self._reg
            self.spi.read(self._h_tx_rd, self._r2)
            if ((r[0] << 8) | r[1]) != self._tx_wr:
                return self._tx_wait(frame, n)
        # TX_WR past the frame, then SEND (not waited for).  The driver's
        # copy moves only once SEND is out: interrupted before that, the next
        # frame is written over this one and sent alone.
        wr = (self._tx_wr + n) & 0xFFFF
        f = self._f_tx_wr
        f[3] = wr >> 8
        f[4] = wr & 0xFF
        self.spi.write_frame(f)
        self.spi.write_frame(self._f_send)
        # the frame (3 + n bytes), TX_WR (5), SEND (4), and the check's read
        # (5) when one was pending (True counts 1; no local for it: one
        # more would put this frame on the heap, tools/measure/frames.py)
        self.spi_transactions += 3 + self._tx_pending
        self.spi_bytes += n + 12 + 5 * self._tx_pending
        self._tx_wr = wr
        self._tx_pending = True
        self._tx_len = n
        self.tx_frames += 1
        self.tx_bytes += n

    def _tx_wait(self, frame, n):
        # The last SEND was still running at the first look (counted here).
        self.spi_transactions += 1
        self.spi_bytes += 5
        if self._tx_finish():
            return self._tx_commit(frame, n)  # (nothing pending now: no read)
        # It failed (counted by _tx_finish), which may have reopened the
        # socket and so moved TX_WR: this frame's write is lost (counted
        # here); it is sent again unless the link went down (lost then,
        # like on a wire).
        self.spi_transactions += 1
        self.spi_bytes += 3 + n
        if not self._link:
            self.tx_link_down += 1
            return
        self.send(frame)

    def tx_flush(self):
        """Wait (at most ``send_timeout_ms``) for the last frame's SEND to
        complete; False when it did not (counted as in ``send``)."""
        return self._tx_finish() if self._tx_pending else True

    def _tx_finish(self):
        # The chip moves TX_RD up to TX_WR when SEND completes [DS Sn_TX_RD].
        r = self._reg
        t0 = -1  # the clock is read only once SEND is found still running
        while True:
            self.spi.read(self._h_tx_rd, self._r2)
            self.spi_transactions += 1
            self.spi_bytes += 5
            if ((r[0] << 8) | r[1]) == self._tx_wr:
                self._tx_pending = False
                return True
            if t0 < 0:
                t0 = ticks_ms()
            # Sn_CR and Sn_IR are adjacent: TIMEOUT belongs to ARP/TCP timers,
            # not MACRAW, but MG and ioLib treat it as a failed send (docs/w5500.md section 5).
            self.spi.read(self._h_cr_r, self._r2)
            self.spi_transactions += 1
            self.spi_bytes += 5
            if r[1] & _IR_TIMEOUT or ticks_diff(ticks_ms(), t0) > self.send_timeout_ms:
                break
        self._tx_pending = False
        if r[1] & _IR_TIMEOUT:
            self._write8(self._S0 + _Sn_IR, _IR_TIMEOUT)
        self.tx_timeouts += 1
        self.tx_frames -= 1
        self.tx_bytes -= self._tx_len
        self._tx_recover()
        return False

    def _tx_recover(self):
        # SEND_OK never came: when the link is down the frame is just lost;
        # otherwise the socket may be wedged (Q6), so reopen it.
        if self._read_link():
            self._resync()

    # ----------------------------------------------------------------- link
    def link_up(self):
        """The PHY's link bit; also refreshes ``speed_mbps`` and ``full_duplex``.

        The stack calls this about every 500 ms, so it also checks that socket
        0 is still open in MACRAW: a chip that reset itself (brown-out, ESD)
        comes back with every register at its reset value and is brought up
        again (counted in ``chip_reinits``)."""
        self._rx_check = True
        self.rx_quiet = self._busy_fn
        if self._read8(self._S0 + _Sn_SR) != _SOCK_MACRAW:
            self.chip_reinits += 1
            try:
                self.bring_up()
            except OSError:
                self._rx_avail = 0
                return self._set_link(False, 0, False)
        return self._read_link()

    def _set_link(self, up, speed_mbps, full_duplex):
        if not up:
            speed_mbps = 0
            full_duplex = False
        self.speed_mbps = speed_mbps
        self.full_duplex = full_duplex
        if up != self._link:
            self.link_changes += 1
            self._link = up
        return up

    # ------------------------------------------------------------ interrupts
    def irq(self, handler):
        """Call ``handler(nic)`` from the INTn falling edge (on MicroPython a
        soft IRQ, run from the scheduler: it may poll the stack).  Returns
        False when INTn is not wired; then poll instead.  ``irq(None)``
        detaches the handler."""
        if handler is None:
            return self.spi.irq(None)
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
