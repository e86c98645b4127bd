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
W5100 drivers, [MG]).

Per frame no object is allocated.  MicroPython's ``machine.SPI`` has no
start/end arguments, so a transfer of part of a buffer needs a memoryview
slice, a heap object: the driver keeps views of the caller's receive buffer
for two lengths in use (``_view``), and moves a frame of another length, and
every frame that the chip's buffer end splits, through a bounce buffer of its
own with views of fixed lengths (``tcpip/nic/bounce.py``, loaded only where
the copy is MicroPython's viper loop, and there only once a few transfers
were split at the buffer end: a bulk transfer's; those before it and frames
of other lengths until then use views of the caller's buffer, garbage).
"""

from tcpip.compat import const, ticks_ms, ticks_diff, sleep_ms, EIO, EMSGSIZE, GETATTR_NOT_PROPERTY
from tcpip.wire.ethernet import mac_str
from tcpip.wire import bytes as _bytes
from tcpip.wire.bytes import copy

# The bounce buffer where the copy is MicroPython's viper loop; without it
# (CircuitPython, CPython) a copy makes views anyway, so split transfers use
# views of the caller's buffer and the 1.5 KB are not spent (CircuitPython has
# about 20 KB of heap left once the stack is up).  Made, and its module
# loaded, once _B_AFTER transfers were split at the chip's buffer end (one in
# ~11 full frames: a bulk transfer's); until then views (short-lived
# garbage).  So its 3 KB stay off the heap of an application that moves few
# frames, and are not made in the middle of a short-lived big block either
# (an mbedTLS session on the board needs ~27 KB, a contiguous 16 KB of it:
# host_tests/test_rp2040_tls.py).
_BOUNCE = _bytes.copy_viper is not None
_B_AFTER = const(8)
_b_read = _b_write = None  # (tcpip/nic/bounce.py's, once loaded)

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
        self._r5 = reg[:5]
        self._r6 = reg[:6]
        self._pad = bytearray(_MIN_FRAME)  # short frames are padded here
        self._pad_mv = memoryview(self._pad)
        self._views: list = [None, -1, None, -1, None, 0, 0, 0, -1]  # see _view
        # The bounce buffer and its views of fixed lengths (_read_split,
        # _write_split): made once (_bounce_setup), so no later transfer
        # makes a view; split transfers until then.
        self._bounce = None
        if _BOUNCE:  # (no attribute where there is none: CircuitPython's heap)
            self._b_wait = _B_AFTER
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
        self._tx_pending = 0  # the length of the frame whose SEND is not known done; 0: none
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
        # TX_RD's read as one full-duplex SPI frame (the adapter's
        # write_read): the header and 2 filler bytes out, TX_RD into _reg[3:5]
        self._f_tx_rd = self._h_tx_rd + b"\x00\x00"
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
        self._tx_max = 0  # the longest frame send takes as it is: 1514, 0 with the link down
        # Counters (stats()).
        self.rx_frames = 0
        self.tx_frames = 0
        self.rx_bytes = 0
        self.tx_bytes = 0
        self._spi_b = 0  # spi_bytes and spi_transactions but what sent frames count
        self._spi_t = 0
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
        self._spi_t += 1
        self._spi_b += 3 + len(mv)

    def _write(self, addr, mv):
        self.spi.write(self._header(addr, True), mv)
        self._spi_t += 1
        self._spi_b += 3 + len(mv)

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
        self._tx_pending = 0

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
        self._spi_t += k  # (counted at once: each update costs on the board)
        self._spi_b += 4 * k + 1  # 5 bytes, and 4 more for Sn_IR
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
        # the call when it fits (the same bytes: the next header is in it);
        # no view of that length: the header alone first, then the frame
        # through the bounce buffer (_rx_frame, _read_ring)
        if self._views[0] is buf and self._views[1] == avail - 2:
            buf = self._views[2]
            self._views[5] = 1  # (used: _view's clock)
        else:
            h = self._view(buf, avail - 2)  # (h reused: the view)
            if h is None:
                return self._rx_frame(buf, 0)
            buf = h
        h = self._h_rxb
        rec = (self._rx_rd & self._buf_mask) + self._rxb16  # (the address, first)
        h[self._hdr_at] = rec >> 8
        h[self._hdr_at + 1] = rec & 0xFF
        self.spi.read_two(h, self._r2, buf)
        self._spi_t += 1
        self._spi_b += avail + 3
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
            self._spi_t += 1
            self._spi_b += 5
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
        h = None  # (reused: buf[:n], None when there is no view of that length)
        if self._rx_avail - rec >= 2 and ((self._rx_rd + 2) & self._buf_mask) + rec <= self._buf_mask + 1:
            h = self._view(buf, n)
        if h is None:
            self._read_ring((self._rx_rd + 2) & 0xFFFF, buf, n)
            self._spi_t += 1
            self._spi_b += rec + 1
            return self._rx_done(rec, 0)
        buf = h
        h = self._h_rxb
        n = ((self._rx_rd + 2) & self._buf_mask) + self._rxb16  # (reused: the address)
        h[self._hdr_at] = n >> 8
        h[self._hdr_at + 1] = n & 0xFF
        self.spi.read_two(h, buf, self._r2)
        self._spi_t += 1
        self._spi_b += rec + 3
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
        self._spi_t += 1
        self._spi_b += 5
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
        self._spi_t += 2
        self._spi_b += 9
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
        ptr = buf if len(buf) == n else self._view(buf, n)  # (reused: buf[:n] or None)
        if ptr is None:
            return self._read_split(off, buf, n)
        buf = ptr
        off += self._rxb16
        h = self._h_rxb
        h[self._hdr_at] = off >> 8
        h[self._hdr_at + 1] = off & 0xFF
        self.spi.read(h, buf)  # (_read, inlined)

    def _read_split(self, off, buf, n):
        # The n bytes at off in the RX buffer into buf[:n] without a view of
        # buf (a heap object on MicroPython): a record the buffer end
        # splits, or a length with no view (_view); through the bounce
        # buffer (tcpip/nic/bounce.py) where there is one, else with views.
        # (One transaction of 3 + n bytes is counted by the caller.)
        if self._bounce is None:
            if not _BOUNCE or self._b_wait:
                if _BOUNCE and off + n > self._BUF_BYTES:
                    self._b_wait -= 1
                return self._read_views(off, buf, n)
            self._bounce_setup()
        _b_read(self, off, buf, n)  # type: ignore[misc]  # (set by _bounce_setup)

    def _bounce_setup(self):
        # the bounce buffer, its views and tcpip/nic/bounce.py's functions,
        # once _B_AFTER transfers were split (_BOUNCE)
        global _b_read, _b_write
        from tcpip.nic.bounce import setup, read_split, write_split
        _b_read = read_split
        _b_write = write_split
        setup(self)

    def _read_views(self, off, buf, n):
        # _read_split without the bounce buffer: views of buf (_BOUNCE)
        mv = buf if isinstance(buf, memoryview) else memoryview(buf)
        first = self._BUF_BYTES - off
        if first >= n:
            return self._rx_at(off, mv[:n])
        self._rx_at(off, mv[:first])
        self._rx_at(0, mv[first:n])
        self._spi_t += 1
        self._spi_b += 3

    def _rx_at(self, a, v):
        # one SPI frame: RX memory at offset a into v
        a += self._rxb16
        h = self._h_rxb
        h[self._hdr_at] = a >> 8
        h[self._hdr_at + 1] = a & 0xFF
        self.spi.read(h, v)

    def _view(self, buf, n):
        """buf[:n] for an SPI read of n bytes, or None (the caller reads
        through the bounce buffer instead).  No new view object (a heap
        object on MicroPython) when buf is n long or n is one of the two
        lengths kept; a length is kept (its view made) in place of one not
        used since the clock hand last passed it (the clock algorithm):
        a bulk transfer's frames have two lengths, full segments and ACKs,
        which a frame of a third length now and then does not displace.
        Asked again for the same frame after None, None again."""
        if len(buf) == n:
            return buf
        m = self._views  # [buf, n0, view0, n1, view1, used0, used1, hand, frame refused]
        if m[0] is buf:
            if m[1] == n:
                m[5] = 1
                return m[2]
            if m[3] == n:
                m[6] = 1
                return m[4]
        else:
            m[0] = buf
            m[1] = m[3] = -1
            m[5] = m[6] = 0
        if m[8] == self.rx_frames:
            return None
        i = m[7]  # the slot at the hand, 0 or 1; the hand moves on
        m[7] = 1 - i
        if m[5 + i]:
            m[5 + i] = 0  # (used since the last pass: kept this time)
            m[8] = self.rx_frames
            return None
        v = (buf if isinstance(buf, memoryview) else memoryview(buf))[:n]
        m[1 + 2 * i] = n
        m[2 + 2 * i] = v
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
        # more, in two calls of the adapter: the frame and the last SEND's
        # check (write_read), then TX_WR and SEND (write_frames).  The
        # frame goes into TX memory behind the one the chip may still be
        # sending (the buffer holds many, so no TX_FSR read), and only then
        # is that SEND checked: its wire time overlapped this frame's SPI
        # write.  (TX_RD is the chip's: it reaches TX_WR when SEND is done.)
        n = len(frame)
        if n < _MIN_FRAME or n > self._tx_max:  # (_tx_max: 0 while the link is down)
            return self._send_unusual(frame, n)
        # The SPI counters count a sent frame as the frame's write (3 + n
        # bytes), the check's read (5), TX_WR (5) and SEND (4) through
        # tx_frames and tx_bytes (spi_transactions, spi_bytes), so the common
        # frame updates no SPI counter; a frame without the check takes its
        # read back out.  Then TX_WR past the frame and SEND (not waited
        # for), _tx_commit inline (a call less).
        off = self._tx_wr & self._buf_mask
        if off + n > self._buf_mask + 1:
            if not self._write_split(off, frame, n):  # (checks the last SEND itself)
                return self._tx_again(frame, n)
            self._spi_t -= 1  # (its check, if any, counted by _write_split)
            self._spi_b -= 5
        else:
            off += self._txb16
            h = self._h_txb
            h[self._hdr_at] = off >> 8
            h[self._hdr_at + 1] = off & 0xFF
            if self._tx_pending:
                self.spi.write_read(h, frame, self._f_tx_rd, self._r5)
                if ((self._reg[3] << 8) | self._reg[4]) != self._tx_wr:
                    return self._tx_wait(frame, n)
            else:
                self.spi.write(h, frame)
                self._spi_t -= 1  # (no check)
                self._spi_b -= 5
        off = (self._tx_wr + n) & 0xFFFF  # (off and h reused: a local more would put
        h = self._f_tx_wr  # this frame on the heap, tools/measure/frames.py)
        h[3] = off >> 8
        h[4] = off & 0xFF
        self.spi.write_frames(h, self._f_send)
        self._tx_wr = off
        self._tx_pending = n  # (the frame's length, for _tx_finish; 0: none pending)
        self.tx_frames += 1
        self.tx_bytes += n

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
        # [ioLib] wiz_send_data: the host splits at the buffer end.  Through
        # the bounce buffer (tcpip/nic/bounce.py: no view of frame, a heap
        # object on MicroPython) where there is one, else with views; the
        # last SEND is checked as in send.  False when that SEND failed
        # (_tx_finish counted it; the socket may have been reopened): the
        # frame is to be written again (send's _tx_again).  (Counted here
        # beyond _tx_commit's one transaction of 3 + n bytes.)
        if self._bounce is None:
            if not _BOUNCE or self._b_wait:
                if _BOUNCE:
                    self._b_wait -= 1
                return self._write_views(off, frame, n)
            self._bounce_setup()
        return _b_write(self, off, frame, n)  # type: ignore[misc]  # (set by _bounce_setup)

    def _write_views(self, off, frame, n):
        # _write_split without the bounce buffer (_BOUNCE): views of frame,
        # each part written exactly, then the last SEND checked (as in send)
        mv = frame if isinstance(frame, memoryview) else memoryview(frame)
        first = self._BUF_BYTES - off
        self._tx_at(off, mv[:first])
        self._tx_at(0, mv[first:n])
        self._spi_t += 1
        self._spi_b += 3
        if self._tx_pending and not self._tx_finish():
            self._spi_t += 1  # (those writes, lost: send counts none)
            self._spi_b += n + 3
            return False
        return True

    def _tx_at(self, a, v):
        # one SPI frame: v into TX memory at offset a
        a += self._txb16
        h = self._h_txb
        h[self._hdr_at] = a >> 8
        h[self._hdr_at + 1] = a & 0xFF
        self.spi.write(h, v)

    def _tx_commit(self, n):
        # The frame is in TX memory and the last SEND, if one was
        # pending, found complete (send): one SEND sends TX_RD..TX_WR as one
        # frame and must complete before the next (docs/w5500.md section
        # 5).  The SPI counters take the frame's write (3 + n bytes), that
        # check's read (5), TX_WR (5) and SEND (4) at once.
        # TX_WR past the frame, then SEND (not waited for), in one call of
        # the adapter (straight-line: no Ctrl-C between them).  The
        # driver's copy moves only once SEND is out: interrupted before
        # that, the next frame is written over this one and sent alone.
        wr = (self._tx_wr + n) & 0xFFFF
        f = self._f_tx_wr
        f[3] = wr >> 8
        f[4] = wr & 0xFF
        self.spi.write_frames(f, self._f_send)
        # (the check's reads were counted by _tx_wait and _tx_finish: not
        # the one tx_frames counts)
        self._spi_t -= 1
        self._spi_b -= 5
        self._tx_wr = wr
        self._tx_pending = n
        self.tx_frames += 1
        self.tx_bytes += n

    def _tx_wait(self, frame, n):
        # The last SEND was still running at the first look (counted here).
        self._spi_t += 1
        self._spi_b += 5
        if self._tx_finish():
            return self._tx_commit(n)
        # It failed (counted by _tx_finish), which may have reopened the
        # socket and so moved TX_WR: this frame's write is lost (counted
        # here); it is sent again unless the link went down (lost then,
        # like on a wire).
        self._spi_t += 1
        self._spi_b += 3 + n
        self._tx_again(frame, n)

    def _tx_again(self, frame, n):
        # The last SEND failed while this frame was being written: sent
        # again unless the link went down (lost then, like on a wire).
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
            self._spi_t += 1
            self._spi_b += 5
            if ((r[0] << 8) | r[1]) == self._tx_wr:
                self._tx_pending = 0
                return True
            if t0 < 0:
                t0 = ticks_ms()
            # Sn_CR and Sn_IR are adjacent: TIMEOUT belongs to ARP/TCP timers,
            # not MACRAW, but MG and ioLib treat it as a failed send (docs/w5500.md section 5).
            self.spi.read(self._h_cr_r, self._r2)
            self._spi_t += 1
            self._spi_b += 5
            if r[1] & _IR_TIMEOUT or ticks_diff(ticks_ms(), t0) > self.send_timeout_ms:
                break
        self.tx_bytes -= self._tx_pending
        self._spi_t += 4  # (what tx_frames and tx_bytes counted for it: it was on the bus)
        self._spi_b += self._tx_pending + 17
        self._tx_pending = 0
        if r[1] & _IR_TIMEOUT:
            self._write8(self._S0 + _Sn_IR, _IR_TIMEOUT)
        self.tx_timeouts += 1
        self.tx_frames -= 1
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
            self._tx_max = _MTU_FRAME if up else 0
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

    # spi_transactions (SPI frames the driver made) and spi_bytes (bytes
    # clocked, headers included): a sent frame counts through tx_frames and
    # tx_bytes (send).  Derived by __getattr__ on MicroPython (a property
    # would slow every attribute store on the instance), by properties
    # elsewhere (tcpip.compat.GETATTR_NOT_PROPERTY).
    def _spi_transactions(self):
        return self._spi_t + 4 * self.tx_frames

    def _spi_bytes(self):
        return self._spi_b + self.tx_bytes + 17 * self.tx_frames

    if GETATTR_NOT_PROPERTY:
        def __getattr__(self, name):
            if name == "spi_transactions":
                return self._spi_transactions()
            if name == "spi_bytes":
                return self._spi_bytes()
            raise AttributeError(name)
    else:
        spi_transactions = property(_spi_transactions)
        spi_bytes = property(_spi_bytes)

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
