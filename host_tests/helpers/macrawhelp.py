"""The chip fixture and frame helpers of the MACRAW driver suites
(host_tests/mp/test_macraw_driver.py and the per-chip suites): for each WIZnet
chip, its register-level emulator, its driver and what differs between them.
Portable (CPython and MicroPython).
"""
import w5500_emu
import w5100s_emu
from tcpip.nic.w5500 import W5500
from tcpip.nic.w5100s import W5100S

MAC = b"\x02\x00\x00\x00\x00\x02"
PEER = b"\x02\x00\x00\x00\x00\x01"
BCAST = b"\xff\xff\xff\xff\xff\xff"


class Chip:
    """What a scenario needs to know about one chip and its emulator."""

    def make(self, rst=True, intn=True, **kw):
        wire = self.E.MemoryWire()
        chip = self.new_chip(wire)
        chip.strict_bursts = True  # the driver (masks and) splits at the buffer end itself
        nic = self.Driver(self.E.EmuSPI(chip, rst_wired=rst, int_wired=intn), MAC, **kw)
        return wire, chip, nic


class W5500Chip(Chip):
    E = w5500_emu
    Driver = W5500
    RX_BYTES = 16384  # socket 0 has all of the 16 KB RX memory
    SMALL_FRAMES = 150  # 60..66-byte frames landing one per SPI frame, none lost
    OVERFLOW_FIT, OVERFLOW_LOST = 1000, 300  # 1224 bytes left after 10 full records
    MR_DIRTY, MR_RESET = 0x08, 0x00
    EXTRA_FULL_PTRS = ()

    def new_chip(self, wire):
        return w5500_emu.W5500(wire)

    def bad_version(self, chip):
        chip.inject_read_fault(0, w5500_emu.VERSIONR, 0x00, times=100000)
        return ("VERSIONR=0x00",)

    def bad_shar(self, chip):
        chip.inject_read_fault(0, w5500_emu.SHAR + 1, 0x99)  # a stuck MISO/MOSI bit, say
        return ("SHAR read back 02:99:00:00:00:02, wrote 02:00:00:00:00:02", "emulated W5500")

    def inject_rx(self, chip, ptr, value):
        chip.inject_read_fault(3, ptr & 0x3FFF, value)  # BSB 3: socket 0 RX buffer

    def buffers_set(self, chip):
        return chip.sock[0][w5500_emu.Sn_RXBUF_SIZE] == 16


class W5100SChip(Chip):
    E = w5100s_emu
    Driver = W5100S
    RX_BYTES = 8192  # RMSR 0x03: socket 0 has all 8 KB
    SMALL_FRAMES = 80
    OVERFLOW_FIT, OVERFLOW_LOST = 600, 300  # 612 bytes left after 5 full records
    MR_DIRTY, MR_RESET = None, 0x03  # MR resets to 0x03 (docs/w5500.md section 2)
    EXTRA_FULL_PTRS = (3 * 8192 - 700, 5 * 8192 - 1)  # pointers several buffer lengths on

    def new_chip(self, wire):
        return w5100s_emu.W5100S(wire)

    def bad_version(self, chip):
        chip.inject_read_fault(w5100s_emu.VERR, 0x04, times=100000)  # a W5500's version, say
        return ("VERR=0x04", "0x51")

    def bad_shar(self, chip):
        chip.inject_read_fault(w5100s_emu.SHAR + 5, 0x00)
        return ("W5100S SHAR read back 02:00:00:00:00:00, wrote 02:00:00:00:00:02",)

    def inject_rx(self, chip, ptr, value):
        chip.inject_read_fault(w5100s_emu.RX_BASE + (ptr & 0x1FFF), value)  # physical address

    def buffers_set(self, chip):
        return chip.common[w5100s_emu.RMSR] == 0x03


def fixture(name):
    """The chip fixture of the MACRAW driver contract (test_macraw_driver.py)."""
    return W5500Chip() if name == "w5500" else W5100SChip()


def frame(n, seed=0, dst=MAC, src=PEER, ethertype=b"\x08\x00"):
    """An n-byte Ethernet frame whose payload depends on seed."""
    b = bytearray(n)
    b[0:6] = dst
    b[6:12] = src
    b[12:14] = ethertype
    for i in range(14, n):
        b[i] = (i * 7 + seed * 13) & 0xFF
    return bytes(b)


def drain(nic, buf, limit=1000):
    out = []
    for _ in range(limit):
        n = nic.recv_into(buf)
        if not n:
            break
        out.append(bytes(buf[:n]))
    return out


def expect_oserror(fn, *parts):
    """fn() raises OSError whose message has every one of parts."""
    try:
        fn()
    except OSError as e:
        msg = str(e)
        for p in parts:
            assert p in msg, (p, msg)
    else:
        raise AssertionError("no OSError")
