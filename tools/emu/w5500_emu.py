"""A register-level WIZnet W5500 as a MACRAW driver sees it, for host tests.

Runs under CPython and the MicroPython unix port (portable subset).  Facts and
section numbers refer to ``docs/w5500.md`` (built from the W5500
datasheet v1.0.9, [DS]).  Where the chip's behaviour is inferred rather than
documented, the comment says so.

Pieces:

- ``WiznetChip``: what the W5500 and the W5100S (``w5100s_emu.py``) share --
  socket registers, socket 0's MACRAW RX ring and SEND, filtering, link,
  test knobs and counters; a chip subclass adds its SPI frame, common
  registers, buffer geometry and INTn.
- ``W5500``: the chip.  Its SPI side is ``select()`` (SCSn low),
  ``transfer(out, inp)`` (clock bytes) and ``deselect()`` (SCSn high); its
  Ethernet side is a *wire*, any object with the NIC contract
  (``recv_into(buf) -> n``, ``send(mv)``) -- a TAP, an in-memory link, or
  ``MemoryWire`` below.  ``rst()`` is the RSTn pin, ``intn()`` the INTn level.
- ``EmuSPI``: the host-side adapter that plugs ``tcpip.nic.w5500.W5500``
  into the chip (same interface as the board adapters in
  ``tcpip/nic/w5500_spi.py``).
- ``BusioSPI`` / ``EmuDigitalInOut``: ``busio.SPI`` and
  ``digitalio.DigitalInOut`` look-alikes so that the unmodified Adafruit
  ``adafruit_wiznet5k`` driver can talk to the chip on CPython.
- ``MemoryWire``: a wire made of two lists, for tests.

What is modelled: SPI frames in VDM and FDM (1/2/4 bytes) with the 01 02 03
bytes shifted out during the header (forum #3721); the common register block
(MR with RST, SHAR, PHYCFGR with link/speed/duplex, VERSIONR, IR/IMR/SIR/SIMR,
RTR/RCR, ...); the eight socket register blocks (mode, self-clearing command,
status, Sn_IR write-1-to-clear, buffer sizes, free-running 16-bit pointers);
socket 0 in MACRAW with its RX ring fed with length-prefixed records from the
wire (drop the whole frame when it does not fit, like the chip), MAC filtering
(MFEN, BCASTB, MMB, MIP6B), one frame sent per SEND; link state a test can
switch; fault injection on SPI reads; SEND that stalls or times out.
"""

# Block select (BSB) values [DS p14; docs/w5500.md section 1].
BSB_COMMON = 0

# Common registers [docs/w5500.md section 2].
MR = 0x0000
SHAR = 0x0009
INTLEVEL = 0x0013
IR = 0x0015
IMR = 0x0016
SIR = 0x0017
SIMR = 0x0018
RTR = 0x0019
RCR = 0x001B
PTIMER = 0x001C
PMRU = 0x0026
UIPR = 0x0028
UPORTR = 0x002C
PHYCFGR = 0x002E
VERSIONR = 0x0039
COMMON_SIZE = 0x40

# Socket registers [docs/w5500.md section 3].
Sn_MR = 0x00
Sn_CR = 0x01
Sn_IR = 0x02
Sn_SR = 0x03
Sn_DHAR = 0x06
Sn_TTL = 0x16
Sn_RXBUF_SIZE = 0x1E
Sn_TXBUF_SIZE = 0x1F
Sn_TX_FSR = 0x20
Sn_TX_RD = 0x22
Sn_TX_WR = 0x24
Sn_RX_RSR = 0x26
Sn_RX_RD = 0x28
Sn_RX_WR = 0x2A
Sn_IMR = 0x2C
Sn_FRAG = 0x2D
SOCKET_SIZE = 0x30

# Sn_MR bits and protocols.
MR_RST = 0x80
SN_MR_MACRAW = 0x04
SN_MR_MFEN = 0x80
SN_MR_BCASTB = 0x40
SN_MR_MMB = 0x20
SN_MR_MIP6B = 0x10

# Sn_CR commands.
CMD_OPEN = 0x01
CMD_CLOSE = 0x10
CMD_SEND = 0x20
CMD_RECV = 0x40

# Sn_SR values.
SOCK_CLOSED = 0x00
SOCK_INIT = 0x13
SOCK_UDP = 0x22
SOCK_IPRAW = 0x32
SOCK_MACRAW = 0x42

# Sn_IR bits.
IR_SEND_OK = 0x10
IR_TIMEOUT = 0x08
IR_RECV = 0x04

RAM_BYTES = 16384  # one TX RAM and one RX RAM of 16 KB [DS p31]
MACRAW_MTU = 1514  # largest frame without FCS
MIN_FRAME = 60  # 64 on the wire minus the FCS


class WiznetChip:
    """What the WIZnet chips modelled here share (the W5500 below, the W5100S in
    w5100s_emu.py): socket registers (self-clearing commands, Sn_IR
    write-1-to-clear, free-running 16-bit pointers, OPEN / CLOSE / RECV / SEND),
    socket 0's RX ring fed with length-prefixed records from the wire (the
    whole frame dropped when it does not fit), one frame per SEND, MAC
    filtering in Sn_MR's layout, link state, SEND stall/timeout, torn RX_RSR
    reads.  A chip subclass gives its sizes (``COMMON_SIZE``, ``SOCKETS``,
    ``RAM_BYTES``), ``reset()``, ``_buf_size()``, its SPI frame
    (``transfer()``), its common registers, ``_sir()``/``_update_int()``
    (INTn) and ``inject_read_fault()``; socket register bytes go through
    ``_sock_read()``/``_sock_write()``.

    Test knobs (plain attributes): ``link`` (bool), ``speed_100``,
    ``full_duplex``, ``wire_frames_per_select`` (frames taken from the wire at
    the start of each SPI frame, like frames arriving while the host works),
    ``pad_rx`` (pad frames shorter than 60 bytes, as a real wire does),
    ``send_mode`` ("ok", "stall": SEND never completes (ioLib #168),
    "timeout": Sn_IR.TIMEOUT instead of SEND_OK), ``send_selects`` (N > 0: a
    SEND completes, its frame taken from TX memory then, only when N more SPI
    frames have begun: a frame still on the wire), ``strict_imr`` (Sn_IR bits
    latch only when their Sn_IMR bit is set, W5200 wording; docs/w5500.md quirk Q7),
    ``echo`` (hub mode: sent frames are also offered back to the RX side),
    ``tear_rsr`` (for the next N reads of S0_RX_RSR a frame from the wire
    lands between its two bytes: a torn 16-bit read, docs/w5500.md quirk Q2),
    ``strict_bursts`` (a buffer burst that runs past the buffer end raises
    instead of wrapping, to prove a driver never relies on the inferred wrap).
    Counters are in ``stats()``.
    """

    COMMON_SIZE = COMMON_SIZE
    SOCKETS = 8
    SOCKET_SIZE = SOCKET_SIZE  # bytes kept per socket register block
    RAM_BYTES = RAM_BYTES

    def __init__(self, wire=None, link=True):
        self.wire = wire
        self.link = link
        self.speed_100 = True
        self.full_duplex = True
        self.wire_frames_per_select = 1
        self.pad_rx = True
        self.send_mode = "ok"
        self.send_selects = 0
        self._send_held = None  # (socket, TX_WR, SPI frames to go) while send_selects holds a SEND
        self.strict_imr = False
        self.echo = False
        self.strict_bursts = False
        self.tear_rsr = 0  # reads of Sn_RX_RSR during which a frame lands (Q2)
        self.on_int = None  # called with no argument when INTn goes low
        self.common = bytearray(self.COMMON_SIZE)
        self.sock = [bytearray(self.SOCKET_SIZE) for _ in range(self.SOCKETS)]
        self.tx_ram = bytearray(self.RAM_BYTES)
        self.rx_ram = bytearray(self.RAM_BYTES)
        self._tx_mv = memoryview(self.tx_ram)
        self._rx_mv = memoryview(self.rx_ram)
        self._frame = bytearray(MACRAW_MTU + 64)  # wire -> chip staging buffer
        self._frame_mv = memoryview(self._frame)
        self._faults = []  # [bsb, addr, value, times]
        # Counters
        self.spi_frames = 0
        self.spi_bytes = 0
        self.rx_frames = 0
        self.rx_overflow_drops = 0
        self.rx_filtered = 0
        self.rx_closed_drops = 0
        self.rx_bytes = 0
        self.tx_frames = 0
        self.tx_bytes = 0
        self.tx_link_down_drops = 0
        self.tx_bad_length = 0
        self.sent = []  # frames sent when no wire is attached (bytes)
        self._selected = False
        self._int_low = False
        self.reset()

    def _reset_sockets(self):
        """Every socket register block to its reset value (the same on both
        chips [docs/w5500.md section 3]), the chip's own pointers to 0, SPI frame phase 0."""
        for s in self.sock:
            for i in range(self.SOCKET_SIZE):
                s[i] = 0
            for i in range(6):
                s[Sn_DHAR + i] = 0xFF
            s[Sn_TTL] = 0x80
            s[Sn_IMR] = 0xFF
            s[Sn_FRAG] = 0x40
        # Internal pointers the host cannot write (TX_RD, RX_WR) and the
        # effective RX_RD (the register only takes effect on RECV, [DS p54]).
        self._tx_rd = [0] * self.SOCKETS
        self._rx_wr = [0] * self.SOCKETS
        self._rx_rd = [0] * self.SOCKETS
        self._state = 0  # SPI frame phase: header bytes first

    def rst(self, level):
        """The RSTn pin: low holds the chip in reset, reset values on release."""
        if not level:
            self.reset()

    # ------------------------------------------------------ buffer geometry
    def _buf_base(self, n, reg):
        # Sizes are carved from socket 0 upward [DS p31].  A configuration
        # that sums past 16 KB (Mongoose's S0=16, S1..S7=2) is accepted; the
        # sockets past the end simply have no memory.
        base = 0
        for i in range(n):
            base += self._buf_size(i, reg)
        return base

    def rx_size(self, n=0):
        return self._buf_size(n, Sn_RXBUF_SIZE)

    def tx_size(self, n=0):
        return self._buf_size(n, Sn_TXBUF_SIZE)

    def rx_rsr(self, n=0):
        """Bytes waiting in socket n's RX buffer (RX_WR - RX_RD, 16-bit)."""
        return (self._rx_wr[n] - self._rx_rd[n]) & 0xFFFF

    def tx_fsr(self, n=0):
        used = (self._reg16(n, Sn_TX_WR) - self._tx_rd[n]) & 0xFFFF
        free = self.tx_size(n) - used
        return free if free > 0 else 0

    def _reg16(self, n, off):
        s = self.sock[n]
        return (s[off] << 8) | s[off + 1]

    def _set16(self, n, off, v):
        s = self.sock[n]
        s[off] = (v >> 8) & 0xFF
        s[off + 1] = v & 0xFF

    # ------------------------------------------------------------------ SPI
    def select(self):
        """SCSn high -> low: a new VDM frame starts [DS p14]."""
        self._selected = True
        self._state = 0
        self.spi_frames += 1
        if self._send_held is not None:
            n, wr, k = self._send_held
            self._send_held = None if k <= 1 else (n, wr, k - 1)
            if k <= 1:
                self._send_now(n, wr)
        self._pull_wire(self.wire_frames_per_select)

    def deselect(self):
        """SCSn low -> high: the frame ends."""
        self._selected = False
        self._state = 0

    def transfer(self, out=None, inp=None, n=None, fill=0):
        """Clock n bytes: MOSI from ``out`` (or ``fill``), MISO into ``inp``: the
        chip's 3 header bytes (``_header_byte``), then data (``_data``) in runs
        the chip's frame allows (``_data_run``, ``_data_done``)."""
        if n is None:
            n = len(out) if out is not None else len(inp)
        self.spi_bytes += n
        i = 0
        while i < n:
            st = self._state
            if st < 3:
                miso = self._header_byte(st, out[i] if out is not None else fill)
                if inp is not None:
                    inp[i] = miso
                self._state = st + 1
                i += 1
                continue
            k = self._data_run(n - i)
            self._data(out, inp, i, k, fill)
            i += k
            self._data_done(k)

    def _data_run(self, k):
        return k  # data bytes up to the end of the transfer belong to this frame

    def _data_done(self, k):
        pass

    # ------------------------------------------------------------ registers
    def _sock_read(self, n, a):
        """Byte ``a`` of socket n's registers, as the host reads it."""
        if a >= SOCKET_SIZE:
            return 0
        if a == Sn_TX_FSR:
            return self.tx_fsr(n) >> 8
        if a == Sn_TX_FSR + 1:
            return self.tx_fsr(n) & 0xFF
        if a == Sn_TX_RD:
            return self._tx_rd[n] >> 8
        if a == Sn_TX_RD + 1:
            return self._tx_rd[n] & 0xFF
        if a == Sn_RX_RSR:
            v = self.rx_rsr(n) >> 8
            if self.tear_rsr > 0 and n == 0:
                # Q2: the counter is not latched; a frame that lands between
                # the two byte reads makes the host see old MSB + new LSB.
                self.tear_rsr -= 1
                self._pull_wire(1)
            return v
        if a == Sn_RX_RSR + 1:
            return self.rx_rsr(n) & 0xFF
        if a == Sn_RX_WR:
            return self._rx_wr[n] >> 8
        if a == Sn_RX_WR + 1:
            return self._rx_wr[n] & 0xFF
        return self.sock[n][a]

    def _sock_write(self, n, a, v):
        """The host writes ``v`` to byte ``a`` of socket n's registers."""
        if a >= SOCKET_SIZE:
            return
        s = self.sock[n]
        if a == Sn_CR:
            self._command(n, v)  # accepted at once: CR reads back 0 (Q1)
            return
        if a == Sn_IR:
            s[Sn_IR] &= ~v & 0xFF  # write 1 to clear
            self._update_int()
            return
        if a in (Sn_SR, Sn_TX_FSR, Sn_TX_FSR + 1, Sn_TX_RD, Sn_TX_RD + 1,
                 Sn_RX_RSR, Sn_RX_RSR + 1, Sn_RX_WR, Sn_RX_WR + 1):
            return  # read-only
        s[a] = v
        if a == Sn_IMR:
            self._update_int()

    def _set_ir(self, n, bit):
        s = self.sock[n]
        if self.strict_imr and not (s[Sn_IMR] & bit):
            return
        s[Sn_IR] |= bit
        self._update_int()

    def intn(self):
        """Level of the INTn pin: 0 when an unmasked interrupt is pending."""
        return 0 if self._int_low else 1

    def _command(self, n, cmd):
        s = self.sock[n]
        if cmd == CMD_OPEN:
            proto = s[Sn_MR] & 0x0F
            # OPEN re-initialises all four pointers [docs/w5500.md section 3].
            self._tx_rd[n] = 0
            self._rx_wr[n] = 0
            self._rx_rd[n] = 0
            self._set16(n, Sn_TX_WR, 0)
            self._set16(n, Sn_RX_RD, 0)
            if proto == SN_MR_MACRAW and n == 0:
                s[Sn_SR] = SOCK_MACRAW
            elif proto == 0x01:
                s[Sn_SR] = SOCK_INIT
            elif proto == 0x02:
                s[Sn_SR] = SOCK_UDP
            elif proto == 0x03:
                s[Sn_SR] = SOCK_IPRAW
            else:
                s[Sn_SR] = SOCK_CLOSED
        elif cmd == CMD_CLOSE:
            s[Sn_SR] = SOCK_CLOSED
        elif cmd == CMD_RECV:
            # RECV makes the host's Sn_RX_RD effective [DS p54].
            self._rx_rd[n] = self._reg16(n, Sn_RX_RD)
        elif cmd == CMD_SEND:
            self._send(n)
        s[Sn_CR] = 0

    # ------------------------------------------------------------------ TX
    def _send(self, n):
        wr = self._reg16(n, Sn_TX_WR)
        if self.send_selects > 0 and self.send_mode == "ok":
            self._send_held = (n, wr, self.send_selects)
            return
        self._send_now(n, wr)

    def _send_now(self, n, wr):
        s = self.sock[n]
        rd = self._tx_rd[n]
        length = (wr - rd) & 0xFFFF
        if self.send_mode == "stall":
            return  # SEND accepted but never completes (Q6)
        if self.send_mode == "timeout":
            self._set_ir(n, IR_TIMEOUT)
            return
        if s[Sn_SR] == SOCK_MACRAW:
            size = self.tx_size(n)
            base = self._buf_base(n, Sn_TXBUF_SIZE)
            # One SEND sends everything between TX_RD and TX_WR as one frame.
            if length < 14 or length > MACRAW_MTU or size == 0:
                self.tx_bad_length += 1
            else:
                f = self._frame_mv
                phys = rd & (size - 1)
                first = size - phys
                if first > length:
                    first = length
                f[0:first] = self._tx_mv[base + phys:base + phys + first]
                if first < length:
                    f[first:length] = self._tx_mv[base:base + length - first]
                out_len = length
                if out_len < MIN_FRAME:  # the MAC pads short frames (inferred)
                    for j in range(out_len, MIN_FRAME):
                        f[j] = 0
                    out_len = MIN_FRAME
                if not self.link:
                    self.tx_link_down_drops += 1
                else:
                    self.tx_frames += 1
                    self.tx_bytes += out_len
                    if self.wire is not None:
                        self.wire.send(f[:out_len])
                    else:
                        self.sent.append(bytes(f[:out_len]))
                    if self.echo:
                        self.deliver(f[:out_len])
        self._tx_rd[n] = wr
        self._set_ir(n, IR_SEND_OK)

    # ------------------------------------------------------------------ RX
    def _pull_wire(self, limit):
        w = self.wire
        if w is None:
            return
        for _ in range(limit):
            got = w.recv_into(self._frame_mv)
            if not got:
                return
            self.deliver(self._frame_mv[:got])

    def pump(self, limit=1000):
        """Take up to ``limit`` frames from the wire now (as time passing does)."""
        self._pull_wire(limit)

    def _filter_mode(self):
        """Socket 0's frame filter in Sn_MR's layout: MFEN, BCASTB, MMB, MIP6B
        (the W5100S model maps its Sn_MR / Sn_MR2 bits onto these)."""
        return self.sock[0][Sn_MR]

    def _accept(self, frame):
        mr = self._filter_mode()
        dst0 = frame[0]
        if mr & SN_MR_MIP6B and len(frame) >= 14 and frame[12] == 0x86 and frame[13] == 0xDD:
            return False
        bcast = dst0 == 0xFF and frame[1] == 0xFF and frame[2] == 0xFF and \
            frame[3] == 0xFF and frame[4] == 0xFF and frame[5] == 0xFF
        if bcast:
            return not (mr & SN_MR_BCASTB)
        if dst0 & 1:  # multicast (Q5)
            ipv4_mc = dst0 == 0x01 and frame[1] == 0x00 and frame[2] == 0x5E
            ipv6_mc = dst0 == 0x33 and frame[1] == 0x33
            if ipv6_mc:
                return True  # passes even with MMB (ESP, observed on hardware)
            if ipv4_mc:
                return not (mr & SN_MR_MMB)
            return not (mr & SN_MR_MFEN)  # non-IP multicast: MFEN drops it
        if mr & SN_MR_MFEN:
            sh = self.common
            for i in range(6):
                if frame[i] != sh[SHAR + i]:
                    return False
        return True

    def deliver(self, frame):
        """A frame arrives from the wire: store ``LEN_hi LEN_lo frame`` in
        socket 0's RX ring, LEN counting its own two bytes [docs/w5500.md section 4].
        Returns True when stored."""
        s = self.sock[0]
        if s[Sn_SR] != SOCK_MACRAW:
            self.rx_closed_drops += 1
            return False
        n = len(frame)
        if n < 14 or n > MACRAW_MTU:
            self.rx_filtered += 1
            return False
        if not self.link:
            self.rx_closed_drops += 1
            return False
        if not self._accept(frame):
            self.rx_filtered += 1
            return False
        pad = 0
        if self.pad_rx and n < MIN_FRAME:
            pad = MIN_FRAME - n
        rec = n + pad + 2
        size = self.rx_size(0)
        if size == 0 or rec > size - self.rx_rsr(0):
            # No room: the whole frame is lost, unread data is never
            # overwritten, no flag is raised (forum #4805; inferred rule).
            self.rx_overflow_drops += 1
            return False
        base = self._buf_base(0, Sn_RXBUF_SIZE)
        mask = size - 1
        wr = self._rx_wr[0]
        ram = self.rx_ram
        ram[base + (wr & mask)] = rec >> 8
        ram[base + ((wr + 1) & mask)] = rec & 0xFF
        p = wr + 2
        phys = p & mask
        first = size - phys
        if first > n:
            first = n
        self._rx_mv[base + phys:base + phys + first] = frame[:first]
        if first < n:
            self._rx_mv[base:base + n - first] = frame[first:n]
        for j in range(pad):
            ram[base + ((p + n + j) & mask)] = 0
        self._rx_wr[0] = (wr + rec) & 0xFFFF
        self.rx_frames += 1
        self.rx_bytes += n + pad
        self._set_ir(0, IR_RECV)
        return True

    # -------------------------------------------------------------- helpers
    def set_pointers(self, n, ptr):
        """Test helper: put all four pointers of an open socket at ``ptr`` as if
        that much traffic had passed (RX_RD register included)."""
        ptr &= 0xFFFF
        self._tx_rd[n] = ptr
        self._rx_wr[n] = ptr
        self._rx_rd[n] = ptr
        self._set16(n, Sn_TX_WR, ptr)
        self._set16(n, Sn_RX_RD, ptr)

    def stats(self):
        return {
            "spi_frames": self.spi_frames, "spi_bytes": self.spi_bytes,
            "rx_frames": self.rx_frames, "rx_bytes": self.rx_bytes,
            "rx_overflow_drops": self.rx_overflow_drops,
            "rx_filtered": self.rx_filtered, "rx_closed_drops": self.rx_closed_drops,
            "tx_frames": self.tx_frames, "tx_bytes": self.tx_bytes,
            "tx_link_down_drops": self.tx_link_down_drops,
            "tx_bad_length": self.tx_bad_length,
        }


class W5500(WiznetChip):
    """The W5500.  ``W5500(wire)``; ``wire`` may be None (frames go nowhere).
    Its own: the SPI frame (address, control byte with BSB, VDM and FDM),
    the common register block, per-socket buffer size registers, SIR/SIMR
    and INTn, ``inject_read_fault(bsb, addr, value, times)``.  The rest, and
    the test knobs, are ``WiznetChip``'s.
    """

    # ----------------------------------------------------------------- reset
    def reset(self):
        """Power-on / RSTn / MR.RST: every register to its reset value [docs/w5500.md sections 2, 3]."""
        c = self.common
        for i in range(COMMON_SIZE):
            c[i] = 0
        c[RTR] = 0x07
        c[RTR + 1] = 0xD0
        c[RCR] = 0x08
        c[PTIMER] = 0x28
        c[PMRU] = 0xFF
        c[PMRU + 1] = 0xFF
        c[PHYCFGR] = 0xB8  # RST=1, OPMD=0, OPMDC=111 (strap default); status bits live
        c[VERSIONR] = 0x04
        self._reset_sockets()
        for s in self.sock:
            s[Sn_RXBUF_SIZE] = 2
            s[Sn_TXBUF_SIZE] = 2
        self._update_int()

    def _buf_size(self, n, reg):
        kb = self.sock[n][reg]
        if kb not in (0, 1, 2, 4, 8, 16):
            kb = 0  # datasheet: other values are not allowed; treat as no memory
        return kb * 1024

    # -------------------------------------------------------- fault inject
    def inject_read_fault(self, bsb, addr, value, times=1):
        """Make the next ``times`` SPI reads of byte ``addr`` in block ``bsb``
        return ``value`` instead (the chip's state is not changed).  For
        buffer blocks ``addr`` is the physical offset in the socket's buffer."""
        self._faults.append([bsb, addr, value, times])

    def _apply_faults(self, bsb, addr, inp, start, n):
        for f in self._faults:
            if f[0] != bsb or f[3] <= 0:
                continue
            for i in range(n):
                a = addr + i
                if bsb & 3 == 3:
                    a = a & (self.rx_size(bsb >> 2) - 1)
                elif bsb & 3 == 2:
                    a = a & (self.tx_size(bsb >> 2) - 1)
                else:
                    a &= 0xFFFF
                if a == f[1] and f[3] > 0:
                    inp[start + i] = f[2]
                    f[3] -= 1
        self._faults = [f for f in self._faults if f[3] > 0]

    # ------------------------------------------------------------------ SPI
    def _header_byte(self, st, b):
        """Header byte ``st`` (0, 1, 2) of a frame is ``b``; returns what the chip
        shifts out meanwhile.  Frames: 2 address bytes (big-endian), 1 control
        byte (BSB[4:0], RWB, OM[1:0]), then data with the address
        auto-incremented [DS p14]."""
        if st == 0:
            self._addr = b << 8
        elif st == 1:
            self._addr |= b
        else:
            self._ctrl = b
            self._fdm_left = (0, 1, 2, 4)[b & 3]
            self._burst_at = -1  # the data's first address: none yet
        return st + 1  # the chip shifts out 01 02 03 (forum #3721)

    def _data_run(self, k):
        # In FDM (OM != 0) a frame ends after 1, 2 or 4 data bytes and the next
        # byte starts a new header even though SCSn stays low.
        left = self._fdm_left
        return k if not left or k <= left else left

    def _data_done(self, k):
        if self._fdm_left:
            self._fdm_left -= k
            if self._fdm_left == 0:
                self._state = 0  # FDM: next byte is a new header
                self.spi_frames += 1

    def _data(self, out, inp, start, k, fill):
        ctrl = self._ctrl
        bsb = ctrl >> 3
        write = ctrl & 0x04
        addr = self._addr
        self._addr = (addr + k) & 0xFFFF
        if bsb == BSB_COMMON or (bsb & 3) == 1:
            for j in range(k):
                a = (addr + j) & 0xFFFF
                if write:
                    if out is not None:
                        self._reg_write(bsb, a, out[start + j])
                    else:
                        self._reg_write(bsb, a, fill)
                elif inp is not None:
                    inp[start + j] = self._reg_read(bsb, a)
        else:
            n_sock = bsb >> 2
            if (bsb & 3) == 2:
                size = self.tx_size(n_sock)
                base = self._buf_base(n_sock, Sn_TXBUF_SIZE)
                ram = self._tx_mv
            elif (bsb & 3) == 3:
                size = self.rx_size(n_sock)
                base = self._buf_base(n_sock, Sn_RXBUF_SIZE)
                ram = self._rx_mv
            else:  # reserved block: reads 0, writes ignored
                size = 0
                base = 0
                ram = None
            if size == 0 or base + size > RAM_BYTES:
                if not write and inp is not None:
                    for j in range(k):
                        inp[start + j] = 0
                return
            # The chip maps any 16-bit offset to offset & (size - 1), and a
            # burst past the buffer end goes on at its start [docs/w5500.md section 3;
            # inferred].  strict_bursts makes relying on that an error, for
            # the whole SPI frame (several transfers under one chip select).
            if self._burst_at < 0:
                self._burst_at = addr
            first = self._burst_at
            if self.strict_bursts and (first & (size - 1)) + ((addr + k - first) & 0xFFFF) > size:
                raise ValueError("SPI burst of %d bytes at 0x%04x crosses the end of a %d-byte buffer"
                                 % ((addr + k - first) & 0xFFFF, first, size))
            done = 0
            while done < k:
                phys = (addr + done) & (size - 1)
                run = size - phys
                if run > k - done:
                    run = k - done
                if write:
                    if out is not None:
                        ram[base + phys:base + phys + run] = memoryview(out)[start + done:start + done + run]
                    else:
                        for j in range(run):
                            ram[base + phys + j] = fill
                elif inp is not None:
                    memoryview(inp)[start + done:start + done + run] = ram[base + phys:base + phys + run]
                done += run
        if not write and inp is not None and self._faults:
            self._apply_faults(bsb, addr, inp, start, k)

    # ------------------------------------------------------------ registers
    def _reg_read(self, bsb, a):
        if bsb == BSB_COMMON:
            if a >= COMMON_SIZE:
                return 0
            if a == PHYCFGR:
                v = self.common[PHYCFGR] & 0xF8
                if v & 0x80 and self.link:  # PHY held in reset (RST=0) shows no link
                    v |= 0x01
                    if self.speed_100:
                        v |= 0x02
                    if self.full_duplex:
                        v |= 0x04
                return v
            if a == SIR:
                return self._sir()
            return self.common[a]
        return self._sock_read(bsb >> 2, a)

    def _reg_write(self, bsb, a, v):
        if bsb == BSB_COMMON:
            if a >= COMMON_SIZE:
                return
            if a == MR:
                if v & MR_RST:
                    self.reset()  # MR.RST self-clears: MR reads 0x00 afterwards
                else:
                    self.common[MR] = v
                return
            if a == IR:
                self.common[IR] &= ~(v & 0xF0) & 0xFF  # write 1 to clear
                self._update_int()
                return
            if a == PHYCFGR:
                self.common[PHYCFGR] = v & 0xF8  # LNK/SPD/DPX are read-only
                return
            if a in (SIR, VERSIONR) or UIPR <= a < UPORTR + 2:
                return  # read-only
            self.common[a] = v
            if a in (IMR, SIMR):
                self._update_int()
            return
        self._sock_write(bsb >> 2, a, v)

    def _sir(self):
        # SIR bit n: socket n has a pending, unmasked Sn_IR bit (Q7: Sn_IMR
        # gates SIR and INTn, not the latching of Sn_IR).
        v = 0
        for n in range(8):
            s = self.sock[n]
            if s[Sn_IR] & s[Sn_IMR]:
                v |= 1 << n
        return v

    def _update_int(self):
        low = bool((self._sir() & self.common[SIMR]) or
                   (self.common[IR] & self.common[IMR] & 0xF0))
        was = self._int_low
        self._int_low = low
        if low and not was and self.on_int is not None:
            self.on_int()


class EmuSPI:
    """Host-side SPI adapter: connects ``tcpip.nic.w5500.W5500`` to a ``W5500``
    emulator.  The same calls as the board adapters in
    ``tcpip/nic/w5500_spi.py``."""

    def __init__(self, chip, rst_wired=True, int_wired=True):
        self.chip = chip
        self.rst_wired = rst_wired
        self.int_wired = int_wired
        self._handler = None

    def write(self, header, data):
        c = self.chip
        c.select()
        c.transfer(header)
        c.transfer(data)
        c.deselect()

    def write_frame(self, frame):
        c = self.chip
        c.select()
        c.transfer(frame)
        c.deselect()

    def read(self, header, data):
        c = self.chip
        c.select()
        c.transfer(header)
        c.transfer(None, data)
        c.deselect()

    def write_read(self, header, data, out, inp):
        self.write(header, data)
        c = self.chip
        c.select()
        c.transfer(out, inp)
        c.deselect()

    def write_frames(self, first, second):
        self.write_frame(first)
        self.write_frame(second)

    def read_two(self, header, first, second):
        c = self.chip
        c.select()
        c.transfer(header)
        c.transfer(None, first)
        c.transfer(None, second)
        c.deselect()

    def hard_reset(self):
        if not self.rst_wired:
            return False
        self.chip.rst(0)
        self.chip.rst(1)
        return True

    def int_asserted(self):
        if not self.int_wired:
            return None
        # Reading the pin takes time like a chip select does: frames that
        # arrive per select arrive per pin read too (a driver that trusts
        # INTn may read the pin without selecting the chip at all).
        c = self.chip
        c.pump(c.wire_frames_per_select)
        return c.intn() == 0

    def irq(self, handler):
        if not self.int_wired:
            return False
        self._handler = handler
        self.chip.on_int = self._fire
        return True

    def _fire(self):
        if self._handler is not None:
            self._handler(self)

    def describe(self):
        return "emulated W5500 (tools/emu/w5500_emu.py)"


class BusioSPI:
    """A ``busio.SPI`` look-alike wired to the emulator (for the Adafruit
    driver on CPython).  Chip select comes from ``EmuDigitalInOut``."""

    def __init__(self, chip):
        self.chip = chip
        self._locked = False
        self.frequency = 0

    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def configure(self, baudrate=100000, polarity=0, phase=0, bits=8):
        assert self._locked, "configure() needs the lock (busio contract)"
        assert polarity == phase, "W5500 supports SPI mode 0 and 3 only"
        self.frequency = baudrate

    def write(self, buf, start=0, end=None):
        assert self._locked
        if end is None:
            end = len(buf)
        self.chip.transfer(memoryview(bytes(buf))[start:end])

    def readinto(self, buf, start=0, end=None, write_value=0):
        assert self._locked
        if end is None:
            end = len(buf)
        self.chip.transfer(None, memoryview(buf)[start:end], fill=write_value)

    def write_readinto(self, out, inp, out_start=0, out_end=None, in_start=0, in_end=None):
        assert self._locked
        if out_end is None:
            out_end = len(out)
        if in_end is None:
            in_end = len(inp)
        self.chip.transfer(memoryview(bytes(out))[out_start:out_end], memoryview(inp)[in_start:in_end])


class EmuDigitalInOut:
    """A ``digitalio.DigitalInOut`` look-alike for the SCSn or RSTn pin."""

    def __init__(self, chip, role="cs"):
        self.chip = chip
        self.role = role
        self._value = True

    def switch_to_output(self, value=False, drive_mode=None):
        self.value = value

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        v = bool(v)
        if self.role == "cs":
            if self._value and not v:
                self.chip.select()
            elif v and not self._value:
                self.chip.deselect()
        elif self.role == "rst":
            self.chip.rst(1 if v else 0)
        self._value = v


class MemoryWire:
    """A wire of two queues: ``inbox`` (frames the chip will receive) and
    ``outbox`` (frames the chip sent, as bytes)."""

    def __init__(self):
        self.inbox = []
        self.outbox = []

    def recv_into(self, buf):
        if not self.inbox:
            return 0
        f = self.inbox.pop(0)
        n = len(f)
        memoryview(buf)[:n] = f
        return n

    def send(self, mv):
        self.outbox.append(bytes(mv))

    def link_up(self):
        return True


class EmulatedBoardNIC:
    """The driver on an emulated chip, as one NIC object for host runners
    (tools/vboard/vboard_run.py ``--nic w5500``)::

        nic = EmulatedBoardNIC(PacketNIC("vb"), mac)   # or TapNIC("tap0")
        stack = Stack(cfg, nic); poller.register(nic.fileno(), POLLIN)

    ``fileno()`` is the wire's, so a runner can sleep until a frame arrives;
    ``recv_into`` lets the chip take what arrived first.  ``stats()`` merges
    driver and chip counters (``spi_bytes`` etc.)."""

    def __init__(self, wire, mac, **kw):
        from tcpip.nic.w5500 import W5500 as Driver

        self.wire = wire
        self.chip = W5500(wire)
        self.chip.wire_frames_per_select = 4
        self.driver = Driver(EmuSPI(self.chip), mac, **kw)
        self.mac = self.driver.mac

    def fileno(self):
        return self.wire.fileno()

    def recv_into(self, buf):
        n = self.driver.recv_into(buf)
        if not n:
            self.chip.pump(16)
            n = self.driver.recv_into(buf)
        return n

    def send(self, frame):
        self.driver.send(frame)

    def link_up(self):
        return self.driver.link_up()

    def pending(self):
        """True when a frame already waits in the chip (INTn asserted): the
        chip takes frames off the wire during any SPI access, so the wire's
        fd alone can sleep through one (tools/vboard/vboard_run.py checks this)."""
        return self.driver.pending()

    def stats(self):
        d = self.driver.stats()
        for k, v in self.chip.stats().items():
            d["chip_" + k] = v
        return d


class _NullWire:
    def recv_into(self, buf):
        return 0

    def send(self, mv):
        pass


def spi_bytes_one_frame(chip, nic, size, out):
    """SPI bytes the driver ``nic`` spends on one ``size``-byte frame each way
    (one frame waiting, no INTn) into ``out["rx_spi_bytes_SIZE"]`` and
    ``out["tx_spi_bytes_SIZE"]``; returns the frame."""
    f = bytearray(size)
    f[0:6] = nic.mac
    f[12] = 0x08
    chip.deliver(f)
    b0 = nic.spi_bytes
    nic.recv_into(bytearray(1514))
    out["rx_spi_bytes_%d" % size] = nic.spi_bytes - b0
    b0 = nic.spi_bytes
    nic.send(f)
    out["tx_spi_bytes_%d" % size] = nic.spi_bytes - b0
    return f


def bench(seconds_per_case=1.0):
    """Driver cost on the emulator: SPI bytes per frame and frames/s, RX and TX.

    ``python tools/emu/w5500_emu.py bench`` or ``micropython tools/emu/w5500_emu.py bench``
    (with lib/ on the path).  Frames/s here include the emulator's own work,
    so they are a lower bound for the driver alone."""
    import sys
    from tcpip.compat import ticks_ms, ticks_diff
    from tcpip.nic.w5500 import W5500 as Driver

    mac = b"\x02\x00\x00\x00\x00\x02"
    chip = W5500(_NullWire())
    chip.wire_frames_per_select = 0
    nic = Driver(EmuSPI(chip, int_wired=False), mac)
    buf = bytearray(1514)
    out = {"runtime": sys.implementation.name}
    for size in (60, 1514):
        f = spi_bytes_one_frame(chip, nic, size, out)
        # RX frames/s: fill the ring (untimed), drain it (timed).
        per_fill = 16384 // (size + 2)
        n = 0
        spent = 0
        while spent < seconds_per_case * 1000:
            for _ in range(per_fill):
                chip.deliver(f)
            t0 = ticks_ms()
            while nic.recv_into(buf):
                n += 1
            spent += ticks_diff(ticks_ms(), t0)
        out["rx_frames_per_s_%d" % size] = int(n * 1000 / spent)
        n = 0
        mv = memoryview(f)
        t0 = ticks_ms()
        while ticks_diff(ticks_ms(), t0) < seconds_per_case * 1000:
            for _ in range(50):
                nic.send(mv)
            n += 50
        out["tx_frames_per_s_%d" % size] = int(n * 1000 / ticks_diff(ticks_ms(), t0))
    return out


def _emulated_w5500_board(wire, mac):
    import emulated_w5500 as board  # boards/emulated_w5500.py

    board.WIRE = wire
    return board


def serve(argv, prog="w5500_emu", board_for=_emulated_w5500_board):
    """The firmware path on a PC: firmware/netboot.py + a board (default
    boards/emulated_w5500.py: tcpip.nic.w5500 on this emulator) with a real
    wire behind the chip.

        micropython tools/emu/w5500_emu.py serve --nic packet --if vb   (MicroPython, veth)
        python tools/emu/w5500_emu.py serve --nic tap --if tap0         (CPython, TAP)
        options: --ip 192.0.2.2 --prefix 24 --gateway 192.0.2.1 --mac 02:00:00:00:00:02
                 --serve echo,discard (tools/vboard/services.py: echo, discard, chargen, udpecho)

    ``board_for(wire, mac)`` returns a board module or stand-in (``nic(mac)``,
    ``default_mac()``, and the emulated chip as ``CHIP`` once ``nic`` ran);
    w5100s_emu.py passes its W5100S board.  Run inside a namespace from
    tools/vboard/netns.py.  Prints ``ready`` when the stack is up, then polls
    (waiting on the wire's fd, at most 20 ms); SIGINT prints one line
    ``{"stats": {...}, "nic": {...}, "chip": {...}}`` and returns."""
    import sys
    import select

    try:
        import json
    except ImportError:  # pragma: no cover
        import ujson as json
    here = __file__[:__file__.rfind("/")] if "/" in __file__ else "."
    root = here + "/../.."  # this file is tools/emu/w5500_emu.py
    for d in (root + "/lib", root + "/firmware", root + "/boards", root + "/tools"):
        if d not in sys.path:
            sys.path.append(d)
    import toolpath
    toolpath.add(root)
    import netboot
    from tcpip.compat import ticks_ms

    opts = {"nic": "packet" if sys.implementation.name == "micropython" else "tap",
            "if": None, "ip": "192.0.2.2", "prefix": "24", "gateway": "192.0.2.1",
            "mac": "02:00:00:00:00:02", "serve": ""}
    i = 0
    while i < len(argv):
        key = argv[i][2:]
        if not argv[i].startswith("--") or key not in opts or i + 1 >= len(argv):
            print("%s serve: bad argument %r" % (prog, argv[i]))
            return 2
        opts[key] = argv[i + 1]
        i += 2
    mac = netboot.parse_mac(opts["mac"])
    wire_mac = mac  # the wire end takes every frame; the chip filters by SHAR
    if opts["nic"] == "tap":
        from tcpip.nic.tap import TapNIC
        wire = TapNIC(opts["if"] or "tap0", mac=wire_mac)
    else:
        from tcpip.nic.packet import PacketNIC
        wire = PacketNIC(opts["if"] or "vb", mac=wire_mac)
    board = board_for(wire, mac)
    settings = dict(netboot.DEFAULTS)
    settings.update({"dhcp": False, "ip": opts["ip"], "prefix": int(opts["prefix"]),
                     "gateway": opts["gateway"], "mac": opts["mac"]})
    net = netboot.bring_up(board, settings)
    chip = board.CHIP
    chip.wire_frames_per_select = 4
    svc = None
    if opts["serve"]:
        import services
        svc = services.start(net.stack, opts["serve"])
    print("ready")
    try:
        sys.stdout.flush()
    except AttributeError:
        pass
    poller = select.poll()
    poller.register(wire.fileno(), select.POLLIN)
    wait_fn = poller.ipoll if hasattr(poller, "ipoll") else poller.poll
    try:
        while True:
            wait = net.stack.poll(ticks_ms())
            if svc is not None:
                svc.run()
            if wait > 20:
                wait = 20
            if wait > 0 and net.nic.pending():
                wait = 0  # a frame already waits in the chip (INTn), not on the wire
            if wait > 0:
                for _ in wait_fn(wait):
                    break
            chip.pump(16)  # frames that arrived while we slept
    except KeyboardInterrupt:
        pass
    print(json.dumps({"stats": net.stack.stats(), "nic": net.nic.stats(), "chip": chip.stats()}))
    return 0


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "bench":
        print(bench())
    elif len(sys.argv) > 1 and sys.argv[1] == "serve":
        sys.exit(serve(sys.argv[2:]))
    else:
        print("usage: w5500_emu.py bench | serve [--nic tap|packet] [--if NAME] [--ip A.B.C.D]")
