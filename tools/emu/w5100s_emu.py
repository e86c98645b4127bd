"""A register-level WIZnet W5100S as a MACRAW driver sees it, for host tests.

Runs under CPython and the MicroPython unix port (portable subset).  Built on
``w5500_emu.WiznetChip``, what both chips share: the socket register logic (self-clearing
commands, Sn_IR write-1-to-clear, free-running 16-bit pointers, OPEN / RECV /
SEND), the RX ring fed with length-prefixed records from the wire (whole
frame dropped when it does not fit), one frame per SEND, link switch, SEND
stall/timeout modes and torn RX_RSR reads are inherited.  What is W5100S here
(docs/w5500.md section 7 and Q11; WIZnet ioLibrary_Driver
Ethernet/W5100S/w5100s.h, w5100s.c [ioLib]; Mongoose src/drivers/w5100.c [MG]):

- SPI frame: opcode (0xF0 write, 0x0F read), address high, address low, then
  any number of data bytes with the address auto-incremented ([ioLib]
  WIZCHIP_READ_BUF/WRITE_BUF, [MG] w5100_txn).  Any other opcode: the frame's
  data is ignored (counted in ``bad_opcodes``).  What the chip shifts out on
  MISO during the 3 header bytes is not documented; the model sends 0x00.
- One flat address space: common 0x0000-0x00FF, socket n at 0x0400 + 0x100*n
  (4 sockets), TX memory 0x4000-0x5FFF, RX memory 0x6000-0x7FFF.  Addresses are
  physical: a burst runs on linearly (TX memory into RX memory), so the host
  must mask and split; ``strict_bursts`` makes a burst that leaves socket 0's
  buffer an error.
- RMSR/TMSR (0x1A/0x1B, reset 0x55): 2 bits per socket, 1 KB << code, carved
  from socket 0 upward; a socket past the 8 KB end has no memory.
- MR resets to 0x03 (docs/w5500.md section 2), VERR 0x0080 = 0x51, PHYSR 0x003C (bit0 LNK,
  bit1 SPD 1 = 10 Mbit/s, bit2 DUP 1 = half: polarity inferred, see the driver).
- Sn_MR MF = 0x40; Sn_MR2 (0x2F) MBBLK 0x40 / MMBLK 0x20 / IPV6BLK 0x10.
- IR (0x15) bits 0..3 = socket n has an unmasked Sn_IR bit (read-only, clear
  via Sn_IR), bits 7..5 write-1-to-clear; IMR (0x16); INTn low only when
  MR2 (0x30) G_IEN (0x40) is set and IR & IMR != 0 (Q11).
"""

import w5500_emu as _E

# Shared with the W5500 model (socket register offsets are the same on both chips).
MemoryWire = _E.MemoryWire
SOCK_MACRAW = _E.SOCK_MACRAW
Sn_MR = _E.Sn_MR
Sn_IR = _E.Sn_IR
Sn_IMR = _E.Sn_IMR
Sn_DHAR = _E.Sn_DHAR
Sn_TTL = _E.Sn_TTL
Sn_FRAG = _E.Sn_FRAG
Sn_RXBUF_SIZE = _E.Sn_RXBUF_SIZE

MR = 0x0000
SHAR = 0x0009
IR = 0x0015
IMR = 0x0016
RTR = 0x0017
RCR = 0x0019
RMSR = 0x001A
TMSR = 0x001B
PTIMER = 0x0028
MR2 = 0x0030
PMRUR = 0x003A
PHYSR = 0x003C
VERR = 0x0080
COMMON_SIZE = 0x100

SOCKETS = 4
SOCK_BASE = 0x0400
Sn_MR2 = 0x2F
SOCKET_SIZE = 0x40

TX_BASE = 0x4000
RX_BASE = 0x6000
RAM_BYTES = 8192

OP_WRITE = 0xF0
OP_READ = 0x0F
MR_RST = 0x80
MR2_G_IEN = 0x40
SN_MR_MF = 0x40
MR2_MBBLK = 0x40
MR2_MMBLK = 0x20
MR2_IPV6BLK = 0x10


class W5100S(_E.WiznetChip):
    """The chip.  ``W5100S(wire)``.  Same test knobs as ``w5500_emu.WiznetChip``
    (``link``, ``speed_100``, ``full_duplex``, ``wire_frames_per_select``,
    ``send_mode``, ``strict_bursts``, ``tear_rsr``, ``echo``, ...).
    ``inject_read_fault(addr, value, times)`` takes a 16-bit SPI address."""

    COMMON_SIZE = COMMON_SIZE
    SOCKETS = SOCKETS
    SOCKET_SIZE = SOCKET_SIZE
    RAM_BYTES = RAM_BYTES

    def __init__(self, wire=None, link=True):
        self.bad_opcodes = 0
        _E.WiznetChip.__init__(self, wire, link)

    def reset(self):
        """Power-on / RSTn / MR.RST: every register to its reset value."""
        c = self.common
        for i in range(COMMON_SIZE):
            c[i] = 0
        c[MR] = 0x03
        c[RTR] = 0x07
        c[RTR + 1] = 0xD0
        c[RCR] = 0x08
        c[RMSR] = 0x55
        c[TMSR] = 0x55
        c[PTIMER] = 0x28
        c[PMRUR] = 0xFF
        c[PMRUR + 1] = 0xFF
        c[VERR] = 0x51
        self._reset_sockets()
        self._update_int()

    # ------------------------------------------------------ buffer geometry
    def _buf_size(self, n, reg):
        msr = self.common[RMSR] if reg == Sn_RXBUF_SIZE else self.common[TMSR]
        base = 0
        size = 0
        for i in range(n + 1):
            size = 1024 << ((msr >> (2 * i)) & 3)
            if base + size > RAM_BYTES:
                size = 0  # memory used up by the sockets before it
            base += size
        return size

    # -------------------------------------------------------- fault inject
    def inject_read_fault(self, addr, value, times=1):
        """The next ``times`` SPI reads of address ``addr`` return ``value``."""
        self._faults.append([addr & 0xFFFF, value, times])

    # ------------------------------------------------------------------ SPI
    def _header_byte(self, st, b):
        """Opcode, address high, address low; the chip's MISO then is taken as 0x00."""
        if st == 0:
            self._op = b
        elif st == 1:
            self._addr = b << 8
        else:
            self._addr |= b
            if self._op not in (OP_WRITE, OP_READ):
                self.bad_opcodes += 1
        return 0

    def _data(self, out, inp, start, k, fill):
        op = self._op
        addr = self._addr
        self._addr = (addr + k) & 0xFFFF
        if op != OP_WRITE and op != OP_READ:
            if inp is not None:
                for j in range(k):
                    inp[start + j] = 0
            return
        write = op == OP_WRITE
        done = 0
        while done < k:
            a = (addr + done) & 0xFFFF
            if TX_BASE <= a < RX_BASE + RAM_BYTES:
                if a < RX_BASE:
                    ram = self._tx_mv
                    phys = a - TX_BASE
                    sock_size = self.tx_size(0)
                else:
                    ram = self._rx_mv
                    phys = a - RX_BASE
                    sock_size = self.rx_size(0)
                run = RAM_BYTES - phys
                if run > k - done:
                    run = k - done
                if self.strict_bursts and phys < sock_size < phys + (k - done):
                    raise ValueError("SPI burst of %d bytes at 0x%04x runs past socket 0's %d-byte buffer"
                                     % (k - done, a, sock_size))
                if write:
                    if out is not None:
                        ram[phys:phys + run] = memoryview(out)[start + done:start + done + run]
                    else:
                        for j in range(run):
                            ram[phys + j] = fill
                elif inp is not None:
                    memoryview(inp)[start + done:start + done + run] = ram[phys:phys + run]
                done += run
                continue
            if write:
                self._write_byte(a, out[start + done] if out is not None else fill)
            elif inp is not None:
                inp[start + done] = self._read_byte(a)
            done += 1
        if not write and inp is not None and self._faults:
            for f in self._faults:
                off = (f[0] - addr) & 0xFFFF
                if off < k and f[2] > 0:
                    inp[start + off] = f[1]
                    f[2] -= 1
            self._faults = [f for f in self._faults if f[2] > 0]

    # ------------------------------------------------------------ registers
    def _read_byte(self, a):
        if a < COMMON_SIZE:
            if a == PHYSR:
                if not self.link:
                    return 0
                v = 0x01
                if not self.speed_100:
                    v |= 0x02
                if not self.full_duplex:
                    v |= 0x04
                return v
            if a == IR:
                return (self.common[IR] & 0xE0) | self._sir()
            return self.common[a]
        if SOCK_BASE <= a < SOCK_BASE + 0x100 * SOCKETS:
            n = (a - SOCK_BASE) >> 8
            return self._sock_read(n, a & 0xFF)
        return 0

    def _write_byte(self, a, v):
        if a < COMMON_SIZE:
            c = self.common
            if a == MR:
                if v & MR_RST:
                    self.reset()
                else:
                    c[MR] = v
                return
            if a == IR:
                c[IR] &= ~(v & 0xE0) & 0xFF
                self._update_int()
                return
            if a in (PHYSR, VERR):
                return
            c[a] = v
            if a in (IMR, MR2):
                self._update_int()
            return
        if SOCK_BASE <= a < SOCK_BASE + 0x100 * SOCKETS:
            n = (a - SOCK_BASE) >> 8
            self._sock_write(n, a & 0xFF, v)

    def _sir(self):
        v = 0
        for n in range(SOCKETS):
            s = self.sock[n]
            if s[Sn_IR] & s[Sn_IMR]:
                v |= 1 << n
        return v

    def _update_int(self):
        c = self.common
        ir = (c[IR] & 0xE0) | self._sir()
        low = bool(c[MR2] & MR2_G_IEN) and bool(ir & c[IMR])
        was = self._int_low
        self._int_low = low
        if low and not was and self.on_int is not None:
            self.on_int()

    def _filter_mode(self):
        # Filtering as the W5500 model (docs/w5500.md, quirk Q5), with the W5100S bits:
        # MF in Sn_MR, the blocking bits in Sn_MR2 at the W5500's positions.
        s = self.sock[0]
        block = s[Sn_MR2] & (MR2_MBBLK | MR2_MMBLK | MR2_IPV6BLK)
        return block | (_E.SN_MR_MFEN if s[Sn_MR] & SN_MR_MF else 0)

    def stats(self):
        d = _E.WiznetChip.stats(self)
        d["bad_opcodes"] = self.bad_opcodes
        return d


class EmuSPI(_E.EmuSPI):
    """The SPI adapter for ``tcpip.nic.w5100s.W5100S`` on the emulator."""

    def describe(self):
        return "emulated W5100S (tools/emu/w5100s_emu.py)"


class EmulatedBoardNIC(_E.EmulatedBoardNIC):
    """``w5500_emu.EmulatedBoardNIC`` with a W5100S chip and driver."""

    def __init__(self, wire, mac, **kw):
        from tcpip.nic.w5100s import W5100S as Driver

        self.wire = wire
        self.chip = W5100S(wire)
        self.chip.wire_frames_per_select = 4
        self.driver = Driver(EmuSPI(self.chip), mac, **kw)
        self.mac = self.driver.mac


class EmulatedBoard:
    """A board module stand-in for firmware/netboot.py: ``nic(mac)`` builds the
    real W5100S driver on an emulated chip wired to ``wire``."""

    NAME = "Emulated W5100S (tools/emu/w5100s_emu.py)"
    CHIP_NAME = "W5100S"

    def __init__(self, wire, mac=b"\x02\x00\x00\x00\x00\x02"):
        self.wire = wire
        self.mac = mac
        self.CHIP = None  # the emulated chip once nic() ran (as in boards/emulated_w5500.py)

    def nic(self, mac, **kw):
        from tcpip.nic.w5100s import W5100S as Driver

        self.CHIP = W5100S(self.wire)
        return Driver(EmuSPI(self.CHIP), mac, **kw)

    def default_mac(self):
        return self.mac


def spi_bytes_per_frame():
    """SPI bytes the driver spends on one frame each way, 60 and 1514 bytes
    (no INTn, one frame waiting)."""
    from tcpip.nic.w5100s import W5100S as Driver

    chip = W5100S(_E._NullWire())
    chip.wire_frames_per_select = 0
    nic = Driver(EmuSPI(chip, int_wired=False), b"\x02\x00\x00\x00\x00\x02")
    out = {}
    for size in (60, 1514):
        _E.spi_bytes_one_frame(chip, nic, size, out)
    return out


def serve(argv):
    """``w5500_emu.serve`` with the W5100S board: firmware/netboot.py +
    tcpip.nic.w5100s + this emulator with a real wire.

        micropython tools/emu/w5100s_emu.py serve --nic packet --if vb
        python tools/emu/w5100s_emu.py serve --nic tap --if tap0 --serve echo,discard

    Prints ``ready`` when up; on SIGINT prints one JSON stats line and returns."""
    return _E.serve(argv, "w5100s_emu", EmulatedBoard)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "bytes":
        print(spi_bytes_per_frame())
    elif len(sys.argv) > 1 and sys.argv[1] == "serve":
        sys.exit(serve(sys.argv[2:]))
    else:
        print("usage: w5100s_emu.py bytes | serve [--nic tap|packet] [--if NAME] [--ip A.B.C.D]")
