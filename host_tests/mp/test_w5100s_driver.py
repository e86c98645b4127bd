"""What only the W5100S has, on its register-level emulator (tools/emu/w5100s_emu.py):
its SPI frame (opcode first), RMSR/TMSR, Sn_MR2, MR2.G_IEN, physical buffer
addresses, the SPI bytes per frame and the boards that carry it.  The MACRAW
contract both chips keep is test_macraw_driver.py.

Runs under CPython and the MicroPython unix port (host_tests/helpers/mprun.py).
"""
import sys

import w5100s_emu as E
from tcpip.nic.w5100s import W5100S
from macrawhelp import MAC, PEER, W5100SChip, frame, drain

S0 = E.SOCK_BASE
make = W5100SChip().make


def _raw_read(chip, addr, n):
    """Read n bytes at addr with a raw W5100S SPI frame (0x0F, addr hi, addr lo)."""
    inp = bytearray(3 + n)
    chip.select()
    chip.transfer(bytes([0x0F, addr >> 8, addr & 0xFF]) + bytes(n), inp)
    chip.deselect()
    return bytes(inp[3:])


# ------------------------------------------------------------------ bring-up

def test_bring_up_configures_socket0_macraw_with_all_8k():
    wire, chip, nic = make()
    assert bytes(chip.common[E.SHAR:E.SHAR + 6]) == MAC
    assert chip.common[E.RMSR] == 0x03 and chip.common[E.TMSR] == 0x03
    assert chip.rx_size(0) == 8192 and chip.tx_size(0) == 8192
    assert chip.rx_size(1) == 0 and chip.tx_size(3) == 0
    assert chip.sock[0][E.Sn_MR] == 0x44  # MACRAW | MF
    assert chip.sock[0][E.Sn_MR2] == 0x00
    assert chip.sock[0][0x03] == E.SOCK_MACRAW
    assert chip.sock[0][E.Sn_IMR] == 0x04  # RECV only: INTn means a frame
    assert chip.common[E.IMR] == 0x01
    assert chip.common[E.MR2] & E.MR2_G_IEN  # INTn wired
    assert nic.link_up() is True and nic.speed_mbps == 100 and nic.full_duplex


def test_bring_up_without_intn_leaves_global_interrupt_off():
    wire, chip, nic = make(intn=False)
    assert chip.common[E.MR2] & E.MR2_G_IEN == 0


def test_bring_up_block_bits_go_to_sn_mr2():
    wire, chip, nic = make(block_broadcast=True, block_multicast=True, block_ipv6=True)
    assert chip.sock[0][E.Sn_MR2] == 0x40 | 0x20 | 0x10
    assert chip.sock[0][E.Sn_MR] == 0x44
    wire, chip, nic = make(mac_filter=False)
    assert chip.sock[0][E.Sn_MR] == 0x04


def test_spi_frames_are_opcode_then_address():
    wire, chip, nic = make()
    assert _raw_read(chip, E.VERR, 1) == b"\x51"
    assert _raw_read(chip, E.SHAR, 6) == MAC  # a multi-byte burst, address auto-incremented
    assert _raw_read(chip, S0 + 0x03, 1) == b"\x42"
    # A W5500-style header (address first) is not a W5100S frame: nothing happens.
    before = chip.bad_opcodes
    chip.select()
    chip.transfer(bytes([0x00, 0x09, 0x04, 0xAA]))
    chip.deselect()
    assert chip.bad_opcodes == before + 1
    assert bytes(chip.common[E.SHAR:E.SHAR + 6]) == MAC


def test_w5500_driver_on_w5100s_fails_cleanly():
    from tcpip.nic.w5500 import W5500

    chip = E.W5100S(E.MemoryWire())
    try:
        W5500(E.EmuSPI(chip), MAC)
    except OSError as e:
        assert "VERSIONR" in str(e)
    else:
        raise AssertionError("no OSError")


# ------------------------------------------------------------------- frames

def test_tx_bytes_land_at_masked_physical_addresses():
    wire, chip, nic = make()
    chip.set_pointers(0, 8192 * 3 - 10)  # offset 8182: 10 bytes at the end, rest at 0x4000
    nic._tx_wr = 8192 * 3 - 10  # the driver keeps its own copy of TX_WR
    f = frame(100, 5, dst=PEER, src=MAC)
    nic.send(f)
    assert bytes(chip.tx_ram[8182:8192]) == f[:10]
    assert bytes(chip.tx_ram[0:90]) == f[10:]
    assert wire.outbox[-1] == f


# --------------------------------------------------------------- interrupts

def test_intn_needs_mr2_g_ien_and_ir_names_socket0():
    # INTn on receive and after the drain: test_macraw_driver.py, both chips.
    wire, chip, nic = make()
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    wire.inbox.append(frame(60, 1))
    wire.inbox.append(frame(60, 2))
    chip.pump()
    assert chip.intn() == 0 and nic.pending() is True
    assert _raw_read(chip, E.IR, 1) == b"\x01"  # IR.S0_INT
    assert len(drain(nic, buf)) == 2
    assert chip.intn() == 1 and nic.pending() is False
    # Without MR2.G_IEN the pin stays high even with IR.S0_INT set (Q11).
    chip.common[E.MR2] = 0
    wire.inbox.append(frame(60, 4))
    chip.pump()
    assert chip.intn() == 1


# ---------------------------------------------------------------- counters

def test_spi_bytes_per_frame():
    wire, chip, nic = make(intn=False)
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    for n in (60, 1514):
        wire.inbox.append(frame(n, 1))
        chip.pump()
        c0 = chip.spi_bytes
        b0 = nic.spi_bytes
        assert nic.recv_into(buf) == n
        rx = nic.spi_bytes - b0
        assert rx == chip.spi_bytes - c0
        # RSR 5, LEN and frame in one burst 3+2+n (RX_RD 5 and RECV 4 once
        # a quarter of the buffer is read: at the next receive).
        assert rx == n + 10, (n, rx)
        b0 = nic.spi_bytes
        nic.send(frame(n, 1, dst=PEER, src=MAC))
        tx = nic.spi_bytes - b0
        # [TX_RD 5: the last SEND done,] frame 3+n, TX_WR 5, SEND 4.
        assert tx == n + (12 if n == 60 else 17), (n, tx)


# ------------------------------------------------------------------ boards

def _boards_on_path():
    f = E.__file__  # <root>/tools/emu/w5100s_emu.py, absolute or relative
    root = (f[:f.rfind("/")] if "/" in f else ".") + "/../.."
    for d in ("/boards", "/firmware"):  # a board file imports netboot
        if root + d not in sys.path:
            sys.path.append(root + d)


def test_ethernet_hat_board_returns_w5100s_driver():
    _boards_on_path()
    import pico_wiznet_ethernet_hat as hat

    chip = E.W5100S(E.MemoryWire())
    hat.spi = lambda baudrate=0: E.EmuSPI(chip)
    nic = hat.nic(MAC)
    assert isinstance(nic, W5100S) and hat.CHIP == "W5100S"
    assert chip.sock[0][0x03] == E.SOCK_MACRAW
    try:
        hat.nic(MAC, chip="W5300")
    except OSError as e:
        assert "W5300" in str(e)
    else:
        raise AssertionError("no OSError")


def test_w5100s_evb_pico_board_returns_w5100s_driver():
    _boards_on_path()
    import w5100s_evb_pico as evb

    assert (evb.SPI_ID, evb.SCK, evb.MOSI, evb.MISO, evb.CS, evb.RST, evb.INT) == \
        (0, 18, 19, 16, 17, 20, 21)
    chip = E.W5100S(E.MemoryWire())
    evb.spi = lambda baudrate=0: E.EmuSPI(chip)
    assert isinstance(evb.nic(MAC), W5100S)
