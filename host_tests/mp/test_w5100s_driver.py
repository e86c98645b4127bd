"""tcpip.nic.w5100s on the register-level emulator (tools/w5100s_emu.py).

Runs under CPython and the MicroPython unix port (host_tests/helpers/mprun.py).
"""
import sys

import w5100s_emu as E
from tcpip.nic.w5100s import W5100S
from tcpip.compat import ticks_ms, ticks_diff

MAC = b"\x02\x00\x00\x00\x00\x02"
PEER = b"\x02\x00\x00\x00\x00\x01"
BCAST = b"\xff\xff\xff\xff\xff\xff"
S0 = E.SOCK_BASE


def frame(n, seed=0, dst=MAC, src=PEER, ethertype=b"\x08\x00"):
    b = bytearray(n)
    b[0:6] = dst
    b[6:12] = src
    b[12:14] = ethertype
    for i in range(14, n):
        b[i] = (i * 7 + seed * 13) & 0xFF
    return bytes(b)


def make(rst=True, intn=True, **kw):
    wire = E.MemoryWire()
    chip = E.W5100S(wire)
    chip.strict_bursts = True  # the driver masks and splits at the buffer end itself
    nic = W5100S(E.EmuSPI(chip, rst_wired=rst, int_wired=intn), MAC, **kw)
    return wire, chip, nic


def drain(nic, buf, limit=1000):
    out = []
    for _ in range(limit):
        n = nic.recv_into(buf)
        if not n:
            break
        out.append(bytes(buf[:n]))
    return out


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


def test_bring_up_without_rst_pin_uses_mr_soft_reset():
    wire = E.MemoryWire()
    chip = E.W5100S(wire)
    chip.common[E.RTR] = 0x12
    W5100S(E.EmuSPI(chip, rst_wired=False), MAC)
    assert chip.common[E.RTR] == 0x07
    assert chip.common[E.MR] == 0x03  # W5100S MR reset value (reference 2)
    assert chip.sock[0][0x03] == E.SOCK_MACRAW


def test_bring_up_fails_with_message_naming_wiring_when_no_chip():
    wire = E.MemoryWire()
    chip = E.W5100S(wire)
    chip.inject_read_fault(E.VERR, 0x04, times=100000)  # a W5500's version, say
    try:
        W5100S(E.EmuSPI(chip), MAC)
    except OSError as e:
        msg = str(e)
        assert "VERR=0x04" in msg and "0x51" in msg, msg
        assert "emulated W5100S" in msg, msg  # the adapter's describe(): the pins on a board
    else:
        raise AssertionError("no OSError")


def test_bring_up_fails_when_shar_reads_back_wrong():
    chip = E.W5100S(E.MemoryWire())
    chip.inject_read_fault(E.SHAR + 5, 0x00)
    try:
        W5100S(E.EmuSPI(chip), MAC)
    except OSError as e:
        msg = str(e)
        assert "W5100S SHAR read back 02:00:00:00:00:00, wrote 02:00:00:00:00:02" in msg, msg
    else:
        raise AssertionError("no OSError")


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

def test_frames_both_ways_exact_bytes():
    wire, chip, nic = make()
    buf = bytearray(1514)
    sizes = (60, 61, 100, 590, 1000, 1513, 1514)
    for i, n in enumerate(sizes):
        wire.inbox.append(frame(n, i))
    got = drain(nic, buf)
    assert got == [frame(n, i) for i, n in enumerate(sizes)]
    for i, n in enumerate(sizes):
        nic.send(memoryview(frame(n, i, dst=PEER, src=MAC)))
    assert wire.outbox == [frame(n, i, dst=PEER, src=MAC) for i, n in enumerate(sizes)]
    assert nic.rx_frames == len(sizes) and nic.tx_frames == len(sizes)


def _check_at_pointer(chip, wire, nic, ptr, n, buf, seed):
    chip.set_pointers(0, ptr)
    nic._tx_wr = ptr & 0xFFFF  # the driver keeps its own copy of TX_WR
    f_in = frame(n, seed)
    wire.inbox.append(f_in)
    got = nic.recv_into(buf)
    assert got == n, (ptr, n, got)
    assert bytes(buf[:n]) == f_in, (ptr, n)
    assert chip.rx_rsr(0) == 0, (ptr, n)
    assert chip._rx_rd[0] == (ptr + n + 2) & 0xFFFF, (ptr, n)
    f_out = frame(n, seed + 1, dst=PEER, src=MAC)
    nic.send(f_out)
    assert wire.outbox[-1] == f_out, (ptr, n)
    assert chip._tx_rd[0] == (ptr + n) & 0xFFFF


def test_wraparound_at_every_offset_near_8k_buffer_end():
    wire, chip, nic = make()
    buf = bytearray(1514)
    for k, ptr in enumerate(range(8192 - 70, 8192 + 3)):
        _check_at_pointer(chip, wire, nic, ptr, 60, buf, k)
    assert nic.resyncs == 0


def test_wraparound_full_size_frames_near_8k_buffer_end():
    wire, chip, nic = make()
    buf = bytearray(1514)
    for k, ptr in enumerate(list(range(8192 - 1518, 8192 - 1510)) +
                            list(range(8192 - 1400, 8192, 173)) +
                            list(range(8192 - 4, 8192 + 2)) +
                            [3 * 8192 - 700, 5 * 8192 - 1]):
        _check_at_pointer(chip, wire, nic, ptr, 1514, buf, k)
    assert nic.resyncs == 0


def test_wraparound_of_16bit_pointers():
    wire, chip, nic = make()
    buf = bytearray(1514)
    for k, ptr in enumerate(range(65536 - 66, 65536 + 3)):
        _check_at_pointer(chip, wire, nic, ptr & 0xFFFF, 60, buf, k)
    for k, ptr in enumerate((65536 - 1516, 65536 - 1000, 65536 - 3, 65535)):
        _check_at_pointer(chip, wire, nic, ptr, 1514, buf, k)
    assert nic.resyncs == 0


def test_tx_bytes_land_at_masked_physical_addresses():
    wire, chip, nic = make()
    chip.set_pointers(0, 8192 * 3 - 10)  # offset 8182: 10 bytes at the end, rest at 0x4000
    nic._tx_wr = 8192 * 3 - 10  # the driver keeps its own copy of TX_WR
    f = frame(100, 5, dst=PEER, src=MAC)
    nic.send(f)
    assert bytes(chip.tx_ram[8182:8192]) == f[:10]
    assert bytes(chip.tx_ram[0:90]) == f[10:]
    assert wire.outbox[-1] == f


def test_small_frames_arriving_during_reads_are_all_received():
    wire, chip, nic = make()
    chip.wire_frames_per_select = 1
    buf = bytearray(1514)
    frames = [frame(60 + i % 7, i) for i in range(80)]
    wire.inbox.extend(frames)
    got = []
    for _ in range(1000):
        n = nic.recv_into(buf)
        if n:
            got.append(bytes(buf[:n]))
    assert got == frames
    assert nic.resyncs == 0 and chip.rx_overflow_drops == 0


def test_torn_rx_rsr_read_is_reread_until_stable():
    wire, chip, nic = make()
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    first = [frame(60, i) for i in range(4)]
    wire.inbox.extend(first)
    chip.pump()
    late = frame(100, 9)
    wire.inbox.append(late)
    chip.tear_rsr = 1
    got = drain(nic, buf)
    assert chip.tear_rsr == 0
    assert got == first + [late]
    assert nic.resyncs == 0


def test_short_frame_is_padded_to_60_on_send():
    wire, chip, nic = make()
    f = frame(42, 1, dst=PEER, src=MAC)
    nic.send(f)
    assert wire.outbox[-1] == f + bytes(18)


def test_send_rejects_oversize_frame():
    wire, chip, nic = make()
    try:
        nic.send(bytes(1515))
    except OSError as e:
        assert "1515" in str(e)
    else:
        raise AssertionError("no OSError")
    assert chip.tx_frames == 0


def test_frame_larger_than_callers_buffer_is_dropped_and_counted():
    wire, chip, nic = make()
    wire.inbox.append(frame(200, 1))
    wire.inbox.append(frame(60, 2))
    small = bytearray(100)
    assert nic.recv_into(small) == 0
    assert nic.rx_drop_too_big == 1
    assert nic.recv_into(small) == 60
    assert bytes(small[:60]) == frame(60, 2)


def test_mac_filter_passes_own_and_broadcast_drops_others():
    wire, chip, nic = make()
    buf = bytearray(1514)
    wire.inbox.append(frame(60, 1, dst=b"\x02\x99\x99\x99\x99\x99"))
    wire.inbox.append(frame(60, 2, dst=BCAST))
    wire.inbox.append(frame(60, 3))
    chip.pump()
    assert drain(nic, buf) == [frame(60, 2, dst=BCAST), frame(60, 3)]
    assert chip.rx_filtered == 1


def test_block_broadcast_drops_broadcast():
    wire, chip, nic = make(block_broadcast=True)
    buf = bytearray(1514)
    wire.inbox.append(frame(60, 2, dst=BCAST))
    wire.inbox.append(frame(60, 3))
    chip.pump()
    assert drain(nic, buf) == [frame(60, 3)]


# ----------------------------------------------------------------- overflow

def test_rx_overflow_drops_whole_frames_and_driver_recovers():
    wire, chip, nic = make()
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    frames = [frame(1514, i) for i in range(7)]
    wire.inbox.extend(frames)
    chip.pump()
    # 8192 // (1514 + 2) = 5 records fit; the 6th and 7th are lost whole.
    assert chip.rx_frames == 5 and chip.rx_overflow_drops == 2
    assert chip.rx_rsr(0) == 5 * 1516
    wire.inbox.append(frame(600, 99))  # 602 <= 612 bytes left: fits
    wire.inbox.append(frame(300, 98))  # 302 > 10 bytes left: lost
    chip.pump()
    assert chip.rx_frames == 6 and chip.rx_overflow_drops == 3
    assert drain(nic, buf) == frames[:5] + [frame(600, 99)]
    assert nic.resyncs == 0
    wire.inbox.append(frame(60, 7))
    chip.pump()
    assert drain(nic, buf) == [frame(60, 7)]


# ------------------------------------------------------------------- resync

def _resync_case(bad_hi, bad_lo):
    wire, chip, nic = make()
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    wire.inbox.append(frame(100, 1))
    wire.inbox.append(frame(100, 2))
    chip.pump()
    addr = E.RX_BASE + (chip._rx_rd[0] & 0x1FFF)
    chip.inject_read_fault(addr, bad_hi)
    chip.inject_read_fault(addr + 1, bad_lo)
    assert nic.recv_into(buf) == 0
    assert nic.resyncs == 1
    assert chip.sock[0][0x03] == E.SOCK_MACRAW
    assert chip.rx_rsr(0) == 0
    wire.inbox.append(frame(200, 3))
    chip.pump()
    assert drain(nic, buf) == [frame(200, 3)]
    assert nic.resyncs == 1


def test_resync_after_garbage_length_too_big():
    _resync_case(0xFF, 0xFF)


def test_resync_after_garbage_length_too_small():
    _resync_case(0x00, 0x05)


def test_resync_after_length_larger_than_rx_rsr():
    _resync_case(0x03, 0xEA)


# --------------------------------------------------------------------- link

def test_link_down_and_up():
    wire, chip, nic = make()
    buf = bytearray(1514)
    assert nic.link_up() and nic.speed_mbps == 100 and nic.full_duplex
    changes = nic.link_changes
    chip.link = False
    assert nic.link_up() is False
    assert nic.speed_mbps == 0
    assert nic.link_changes == changes + 1
    wire.inbox.append(frame(60, 1))
    chip.pump()
    assert nic.recv_into(buf) == 0
    chip.link = True
    chip.speed_100 = False
    chip.full_duplex = False
    assert nic.link_up() is True
    assert nic.speed_mbps == 10 and nic.full_duplex is False
    assert nic.link_changes == changes + 2
    wire.inbox.append(frame(60, 2))
    assert drain(nic, buf) == [frame(60, 2)]
    nic.send(frame(60, 3, dst=PEER, src=MAC))
    assert wire.outbox[-1] == frame(60, 3, dst=PEER, src=MAC)


def test_send_while_link_known_down_drops_at_once():
    wire, chip, nic = make(send_timeout_ms=1000)
    chip.link = False
    assert nic.link_up() is False
    chip.send_mode = "stall"
    b0 = nic.spi_bytes
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    assert nic.tx_link_down == 1 and nic.tx_timeouts == 0
    assert nic.spi_bytes == b0


def test_chip_that_reset_itself_is_brought_up_again_on_link_check():
    wire, chip, nic = make()
    buf = bytearray(1514)
    chip.reset()
    assert nic.link_up() is True
    assert nic.chip_reinits == 1
    assert bytes(chip.common[E.SHAR:E.SHAR + 6]) == MAC and chip.common[E.RMSR] == 0x03
    wire.inbox.append(frame(60, 5))
    assert drain(nic, buf) == [frame(60, 5)]


# --------------------------------------------------------------------- send

def test_send_timeout_when_send_ok_never_comes_is_bounded_and_recovers():
    wire, chip, nic = make(send_timeout_ms=5)
    chip.send_mode = "stall"
    t0 = ticks_ms()
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    assert nic.tx_frames == 1  # handed to the chip; completion is checked later
    assert nic.tx_flush() is False
    took = ticks_diff(ticks_ms(), t0)
    assert took < 500, took
    assert nic.tx_timeouts == 1 and nic.tx_frames == 0
    assert nic.resyncs == 1
    assert wire.outbox == []
    chip.send_mode = "ok"
    nic.send(frame(100, 2, dst=PEER, src=MAC))
    assert wire.outbox == [frame(100, 2, dst=PEER, src=MAC)]
    assert nic.tx_frames == 1


def test_send_timeout_bit_is_counted_and_cleared():
    wire, chip, nic = make()
    chip.send_mode = "timeout"
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    assert nic.tx_flush() is False
    assert nic.tx_timeouts == 1 and nic.tx_frames == 0
    assert chip.sock[0][E.Sn_IR] & 0x08 == 0
    chip.send_mode = "ok"
    nic.send(frame(100, 2, dst=PEER, src=MAC))
    assert nic.tx_flush() is True
    assert nic.tx_frames == 1
    assert chip.intn() == 1  # SEND_OK (left set) does not hold INTn


# --------------------------------------------------------------- interrupts

def test_intn_asserts_on_receive_only_with_g_ien_and_clears_after_drain():
    wire, chip, nic = make()
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    edges = []
    assert nic.irq(lambda n: edges.append(n)) is True
    assert nic.pending() is False
    wire.inbox.append(frame(60, 1))
    wire.inbox.append(frame(60, 2))
    chip.pump()
    assert chip.intn() == 0 and nic.pending() is True
    assert _raw_read(chip, E.IR, 1) == b"\x01"  # IR.S0_INT
    assert edges == [nic]
    assert len(drain(nic, buf)) == 2
    assert chip.intn() == 1 and nic.pending() is False
    nic.send(frame(60, 3, dst=PEER, src=MAC))
    assert chip.intn() == 1
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
        # RSR+RD 7, LEN 5, frame 3+n, RX_RD 5, RECV 4.
        assert rx == n + 24, (n, rx)
        b0 = nic.spi_bytes
        nic.send(frame(n, 1, dst=PEER, src=MAC))
        tx = nic.spi_bytes - b0
        # [TX_RD 5: the last SEND done,] frame 3+n, TX_WR 5, SEND 4.
        assert tx == n + (12 if n == 60 else 17), (n, tx)


def test_emulated_board_nic_wraps_driver_chip_and_wire():
    wire = E.MemoryWire()
    wire.fileno = lambda: 42
    nic = E.EmulatedBoardNIC(wire, MAC)
    assert nic.fileno() == 42 and nic.mac == MAC and nic.link_up()
    buf = bytearray(1514)
    wire.inbox.append(frame(70, 1))
    assert nic.recv_into(buf) == 70 and bytes(buf[:70]) == frame(70, 1)
    nic.send(frame(70, 2, dst=PEER, src=MAC))
    assert wire.outbox == [frame(70, 2, dst=PEER, src=MAC)]
    st = nic.stats()
    assert st["spi_bytes"] == st["chip_spi_bytes"]


# ------------------------------------------------------------------ boards

def _boards_on_path():
    f = E.__file__  # <root>/tools/w5100s_emu.py, absolute or relative
    tools = f[:f.rfind("/")] if "/" in f else "."
    root = tools[:tools.rfind("/")] if "/" in tools else (".." if tools == "." else ".")
    if root + "/boards" not in sys.path:
        sys.path.append(root + "/boards")


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
