"""The W5500 emulator at register level: SPI frames, registers, MACRAW ring.

Runs under CPython and the MicroPython unix port.  Byte sequences follow the
datasheet (docs/w5500.md sections 1-5).
"""
import w5500_emu as E

MAC = b"\x02\x00\x00\x00\x00\x02"


def vdm(chip, out, nread=0):
    """One VDM frame with SCSn low: write ``out``, then clock ``nread`` bytes in.
    Returns all MISO bytes."""
    chip.select()
    miso = bytearray(len(out) + nread)
    chip.transfer(out, memoryview(miso)[:len(out)])
    if nread:
        chip.transfer(None, memoryview(miso)[len(out):])
    chip.deselect()
    return bytes(miso)


def rd(chip, addr, ctrl, n):
    return vdm(chip, bytes([addr >> 8, addr & 0xFF, ctrl]), n)[3:]


def wr(chip, addr, ctrl, data):
    vdm(chip, bytes([addr >> 8, addr & 0xFF, ctrl]) + bytes(data))


def macraw_chip(wire=None, mfen=True):
    chip = E.W5500(wire)
    wr(chip, E.SHAR, 0x04, MAC)
    wr(chip, E.Sn_RXBUF_SIZE, 0x0C, b"\x10\x10")
    wr(chip, E.Sn_MR, 0x0C, bytes([0x84 if mfen else 0x04]))
    wr(chip, E.Sn_CR, 0x0C, b"\x01")
    return chip


def test_versionr_read_shows_01_02_03_during_header():
    chip = E.W5500()
    assert vdm(chip, b"\x00\x39\x00", 1) == b"\x01\x02\x03\x04"


def test_reset_values_of_common_registers():
    chip = E.W5500()
    assert rd(chip, E.MR, 0x00, 1) == b"\x00"
    assert rd(chip, E.RTR, 0x00, 3) == b"\x07\xd0\x08"  # RTR then RCR
    assert rd(chip, E.SHAR, 0x00, 6) == bytes(6)
    assert rd(chip, E.PHYCFGR, 0x00, 1)[0] == 0xBF  # 1011 1 + DPX SPD LNK


def test_reset_values_of_socket_registers():
    chip = E.W5500()
    for n in range(8):
        c = 0x08 + 0x20 * n
        assert rd(chip, E.Sn_RXBUF_SIZE, c, 2) == b"\x02\x02"
        assert rd(chip, E.Sn_TX_FSR, c, 2) == b"\x08\x00"
        assert rd(chip, E.Sn_IMR, c, 1) == b"\xff"
        assert rd(chip, E.Sn_TTL, c, 1) == b"\x80"
        assert rd(chip, E.Sn_SR, c, 1) == b"\x00"


def test_burst_write_and_read_auto_increment():
    chip = E.W5500()
    wr(chip, E.SHAR, 0x04, MAC)
    assert rd(chip, E.SHAR, 0x00, 6) == MAC
    assert rd(chip, E.SHAR + 2, 0x00, 3) == MAC[2:5]


def test_fdm_frames_back_to_back_with_cs_held_low():
    chip = E.W5500()
    chip.select()
    # FDM 2 bytes: write SHAR[0:2]; FDM 4: SHAR[2:6]; FDM 1 read of VERSIONR.
    out = bytes([0x00, 0x09, 0x06]) + MAC[:2] + bytes([0x00, 0x0B, 0x07]) + MAC[2:] + \
        bytes([0x00, 0x39, 0x01, 0x00])
    miso = bytearray(len(out))
    chip.transfer(out, miso)
    chip.deselect()
    assert bytes(chip.common[E.SHAR:E.SHAR + 6]) == MAC
    assert miso[-1] == 0x04
    assert miso[-4:-1] == b"\x01\x02\x03"


def test_fdm_read_stops_after_fixed_length():
    chip = E.W5500()
    wr(chip, E.SHAR, 0x04, MAC)
    chip.select()
    miso = bytearray(6)
    chip.transfer(bytes([0x00, 0x09, 0x02, 0, 0, 0]), miso)  # FDM 2: 3 header + 2 data + 1 new header
    chip.deselect()
    assert miso[3:5] == MAC[:2]
    assert miso[5] == 0x01  # the next frame's first header byte


def test_mr_rst_resets_registers_and_self_clears():
    chip = E.W5500()
    wr(chip, E.SHAR, 0x04, MAC)
    wr(chip, E.RCR, 0x04, b"\x03")
    wr(chip, E.MR, 0x04, b"\x80")
    assert rd(chip, E.MR, 0x00, 1) == b"\x00"
    assert rd(chip, E.SHAR, 0x00, 6) == bytes(6)
    assert rd(chip, E.RCR, 0x00, 1) == b"\x08"


def test_mr_keeps_other_bits_like_adafruit_probe_expects():
    chip = E.W5500()
    for v in (0x08, 0x10, 0x00):
        wr(chip, E.MR, 0x04, bytes([v]))
        assert rd(chip, E.MR, 0x00, 1) == bytes([v])


def test_read_only_registers_ignore_writes():
    chip = E.W5500()
    wr(chip, E.VERSIONR, 0x04, b"\x55")
    assert rd(chip, E.VERSIONR, 0x00, 1) == b"\x04"
    wr(chip, E.Sn_SR, 0x0C, b"\x42")
    assert rd(chip, E.Sn_SR, 0x08, 1) == b"\x00"
    wr(chip, E.PHYCFGR, 0x04, b"\xf8")
    assert rd(chip, E.PHYCFGR, 0x00, 1)[0] == 0xFF


def test_phycfgr_reflects_link_speed_duplex():
    chip = E.W5500()
    chip.link = False
    assert rd(chip, E.PHYCFGR, 0x00, 1)[0] & 0x07 == 0
    chip.link = True
    chip.speed_100 = False
    assert rd(chip, E.PHYCFGR, 0x00, 1)[0] & 0x07 == 0x05


def test_open_macraw_socket0_only():
    chip = macraw_chip()
    assert rd(chip, E.Sn_SR, 0x08, 1) == b"\x42"
    assert rd(chip, E.Sn_CR, 0x08, 1) == b"\x00"  # self-cleared
    wr(chip, E.Sn_MR, 0x2C, b"\x04")  # socket 1 cannot do MACRAW
    wr(chip, E.Sn_CR, 0x2C, b"\x01")
    assert rd(chip, E.Sn_SR, 0x28, 1) == b"\x00"
    wr(chip, E.Sn_MR, 0x2C, b"\x02")
    wr(chip, E.Sn_CR, 0x2C, b"\x01")
    assert rd(chip, E.Sn_SR, 0x28, 1) == b"\x22"


def test_rx_record_has_length_counting_itself():
    chip = macraw_chip()
    f = MAC + b"\x02\x00\x00\x00\x00\x01\x08\x00" + bytes(range(50))
    assert chip.deliver(f)
    assert rd(chip, E.Sn_RX_RSR, 0x08, 2) == bytes([0, len(f) + 2])
    assert rd(chip, 0, 0x18, 2 + len(f)) == bytes([0, len(f) + 2]) + f
    assert rd(chip, E.Sn_IR, 0x08, 1)[0] & E.IR_RECV


def test_short_rx_frame_is_padded_to_60():
    chip = macraw_chip()
    f = MAC + b"\x02\x00\x00\x00\x00\x01\x08\x06" + bytes(28)  # 42-byte ARP
    chip.deliver(f)
    assert rd(chip, 0, 0x18, 2) == bytes([0, 62])


def test_rx_rd_takes_effect_only_on_recv():
    chip = macraw_chip()
    chip.deliver(MAC + bytes(54))
    wr(chip, E.Sn_RX_RD, 0x0C, b"\x00\x3e")
    assert rd(chip, E.Sn_RX_RSR, 0x08, 2) == b"\x00\x3e"
    wr(chip, E.Sn_CR, 0x0C, b"\x40")
    assert rd(chip, E.Sn_RX_RSR, 0x08, 2) == b"\x00\x00"
    assert rd(chip, E.Sn_RX_RD, 0x08, 2) == b"\x00\x3e"
    assert rd(chip, E.Sn_RX_WR, 0x08, 2) == b"\x00\x3e"


def test_rx_ring_wraps_and_buffer_address_uses_low_bits():
    chip = macraw_chip()
    chip.set_pointers(0, 0xFFF0)
    f = MAC + bytes(range(100))[:54]
    chip.deliver(f)
    # The record starts at 0xFFF0 -> physical 0x3FF0 and wraps to 0.
    assert bytes(chip.rx_ram[0x3FF0:0x4000]) == bytes([0, 62]) + f[:14]
    assert bytes(chip.rx_ram[0:46]) == f[14:]
    assert rd(chip, E.Sn_RX_WR, 0x08, 2) == bytes([0x00, 0x2E])
    # A burst read through the end wraps inside the chip (docs/w5500.md section 3).
    assert rd(chip, 0xFFF0, 0x18, 62) == bytes([0, 62]) + f
    assert rd(chip, 0x3FF0, 0x18, 62) == bytes([0, 62]) + f


def test_rx_overflow_drops_whole_frame_and_never_overwrites():
    chip = macraw_chip()
    big = MAC + bytes(1508)
    for _ in range(10):
        assert chip.deliver(big)
    before = bytes(chip.rx_ram)
    assert not chip.deliver(big)
    assert chip.rx_overflow_drops == 1
    assert bytes(chip.rx_ram) == before
    assert chip.rx_rsr(0) == 15160


def test_rsr_never_exceeds_2k_buffer_with_default_sizes():
    chip = E.W5500()
    wr(chip, E.Sn_MR, 0x0C, b"\x04")
    wr(chip, E.Sn_CR, 0x0C, b"\x01")
    big = MAC + bytes(1508)
    assert chip.deliver(big)
    assert not chip.deliver(big)  # 2 KB holds one full-size frame
    assert chip.rx_rsr(0) == 1516


def test_mfen_filtering():
    chip = macraw_chip()
    other = b"\x02\x99\x99\x99\x99\x99"
    tail = b"\x02\x00\x00\x00\x00\x01\x08\x00" + bytes(46)
    assert chip.deliver(MAC + tail)
    assert chip.deliver(b"\xff" * 6 + tail)
    assert not chip.deliver(other + tail)
    assert chip.deliver(b"\x01\x00\x5e\x00\x00\x01" + tail)  # IPv4 multicast
    assert chip.deliver(b"\x33\x33\x00\x00\x00\x01" + tail)  # IPv6 multicast
    assert not chip.deliver(b"\x01\x80\xc2\x00\x00\x0e" + tail)  # non-IP multicast
    open_chip = macraw_chip(mfen=False)
    assert open_chip.deliver(other + tail)


def test_mmb_bcastb_mip6b_block():
    chip = macraw_chip()
    wr(chip, E.Sn_MR, 0x0C, bytes([0x84 | 0x40 | 0x20 | 0x10]))
    tail = b"\x02\x00\x00\x00\x00\x01\x08\x00" + bytes(46)
    assert not chip.deliver(b"\xff" * 6 + tail)
    assert not chip.deliver(b"\x01\x00\x5e\x00\x00\x01" + tail)
    assert chip.deliver(b"\x33\x33\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x01\x08\x00" + bytes(46))
    assert not chip.deliver(MAC + b"\x02\x00\x00\x00\x00\x01\x86\xdd" + bytes(46))


def test_closed_socket_drops_frames():
    chip = E.W5500()
    assert not chip.deliver(MAC + bytes(54))
    assert chip.rx_closed_drops == 1


def test_send_reads_tx_buffer_between_tx_rd_and_tx_wr_with_wrap():
    wire = E.MemoryWire()
    chip = macraw_chip(wire)
    chip.set_pointers(0, 0x3FF8)
    f = b"\x02\x00\x00\x00\x00\x01" + MAC + b"\x08\x00" + bytes(range(60))
    wr(chip, 0x3FF8, 0x14, f)  # one burst through the buffer end
    assert rd(chip, E.Sn_TX_FSR, 0x08, 2) == b"\x40\x00"  # TX_WR not yet moved
    wr(chip, E.Sn_TX_WR, 0x0C, bytes([(0x3FF8 + len(f)) >> 8, (0x3FF8 + len(f)) & 0xFF]))
    assert rd(chip, E.Sn_TX_FSR, 0x08, 2) == bytes([(16384 - len(f)) >> 8, (16384 - len(f)) & 0xFF])
    wr(chip, E.Sn_CR, 0x0C, b"\x20")
    assert wire.outbox == [f]
    assert rd(chip, E.Sn_TX_RD, 0x08, 2) == rd(chip, E.Sn_TX_WR, 0x08, 2)
    assert rd(chip, E.Sn_IR, 0x08, 1)[0] & E.IR_SEND_OK


def test_sn_ir_write_one_to_clear_and_sir_intn():
    chip = macraw_chip()
    wr(chip, E.SIMR, 0x04, b"\x01")
    chip.deliver(MAC + bytes(54))
    assert rd(chip, E.SIR, 0x00, 1) == b"\x01"
    assert chip.intn() == 0
    wr(chip, E.Sn_IR, 0x0C, b"\x10")  # clearing another bit changes nothing
    assert rd(chip, E.Sn_IR, 0x08, 1) == b"\x04"
    wr(chip, E.Sn_IR, 0x0C, b"\x04")
    assert rd(chip, E.Sn_IR, 0x08, 1) == b"\x00"
    assert rd(chip, E.SIR, 0x00, 1) == b"\x00"
    assert chip.intn() == 1


def test_sn_imr_gates_intn_not_latching_unless_strict():
    chip = macraw_chip()
    wr(chip, E.SIMR, 0x04, b"\x01")
    wr(chip, E.Sn_IMR, 0x0C, b"\x10")
    chip.deliver(MAC + bytes(54))
    assert rd(chip, E.Sn_IR, 0x08, 1) == b"\x04"
    assert chip.intn() == 1
    strict = macraw_chip()
    strict.strict_imr = True
    wr(strict, E.Sn_IMR, 0x0C, b"\x10")
    strict.deliver(MAC + bytes(54))
    assert rd(strict, E.Sn_IR, 0x08, 1) == b"\x00"


def test_ir_write_one_to_clear():
    chip = E.W5500()
    chip.common[E.IR] = 0xF0
    wr(chip, E.IR, 0x04, b"\x80")
    assert rd(chip, E.IR, 0x00, 1) == b"\x70"


def test_read_fault_injection_changes_only_the_read():
    chip = E.W5500()
    chip.inject_read_fault(0, E.VERSIONR, 0x51)
    assert rd(chip, E.VERSIONR, 0x00, 1) == b"\x51"
    assert rd(chip, E.VERSIONR, 0x00, 1) == b"\x04"


def test_rst_pin_resets():
    chip = E.W5500()
    wr(chip, E.SHAR, 0x04, MAC)
    chip.rst(0)
    chip.rst(1)
    assert rd(chip, E.SHAR, 0x00, 6) == bytes(6)


def test_mongoose_buffer_sizes_are_accepted():
    # S0 = 16 KB and S1..S7 left at 2 KB (sum 30 KB) must still work for S0.
    chip = E.W5500()
    wr(chip, E.Sn_RXBUF_SIZE, 0x0C, b"\x10\x10")
    wr(chip, E.Sn_MR, 0x0C, b"\x04")
    wr(chip, E.Sn_CR, 0x0C, b"\x01")
    assert chip.deliver(MAC + bytes(1508))
    assert rd(chip, 0, 0x18, 2) == bytes([0x05, 0xEC])
    assert rd(chip, 0, 0x38, 4) == bytes(4)  # socket 1 RX has no memory left


def test_buffer_address_high_bits_ignored_with_2k_sockets():
    # Default 2 KB per socket: offset & 0x7FF, socket 1's TX RAM follows socket 0's.
    chip = E.W5500()
    wr(chip, 0x8010, 0x14, b"\xaa\xbb")  # Adafruit's 0x8000 + offset form
    assert chip.tx_ram[0x10:0x12] == b"\xaa\xbb"
    assert rd(chip, 0x0010, 0x10, 2) == b"\xaa\xbb"
    assert rd(chip, 0x0810, 0x10, 2) == b"\xaa\xbb"
    wr(chip, 0x0005, 0x34, b"\xcc")  # socket 1 TX buffer (BSB 00110)
    assert chip.tx_ram[2048 + 5] == 0xCC


def test_strict_bursts_reject_a_burst_through_the_buffer_end():
    chip = macraw_chip()
    chip.strict_bursts = True
    assert rd(chip, 0x3FFE, 0x18, 2) == b"\x00\x00"
    try:
        rd(chip, 0x3FFF, 0x18, 2)
    except ValueError as e:
        assert "crosses" in str(e)
    else:
        raise AssertionError("burst through the end accepted")
