"""tcpip.nic.w5500 on the register-level emulator (tools/w5500_emu.py).

Runs under CPython and the MicroPython unix port (host_tests/mprun.py).
"""
import w5500_emu as E
from tcpip.nic.w5500 import W5500
from tcpip.compat import ticks_ms, ticks_diff

MAC = b"\x02\x00\x00\x00\x00\x02"
PEER = b"\x02\x00\x00\x00\x00\x01"
BCAST = b"\xff\xff\xff\xff\xff\xff"


def frame(n, seed=0, dst=MAC, src=PEER, ethertype=b"\x08\x00"):
    """An n-byte Ethernet frame whose payload depends on seed."""
    b = bytearray(n)
    b[0:6] = dst
    b[6:12] = src
    b[12:14] = ethertype
    for i in range(14, n):
        b[i] = (i * 7 + seed * 13) & 0xFF
    return bytes(b)


def make(rst=True, intn=True, **kw):
    wire = E.MemoryWire()
    chip = E.W5500(wire)
    chip.strict_bursts = True  # the driver splits at the buffer end itself
    spi = E.EmuSPI(chip, rst_wired=rst, int_wired=intn)
    nic = W5500(spi, MAC, **kw)
    return wire, chip, nic


def drain(nic, buf, limit=1000):
    out = []
    for _ in range(limit):
        n = nic.recv_into(buf)
        if not n:
            break
        out.append(bytes(buf[:n]))
    return out


# ------------------------------------------------------------------ bring-up

def test_bring_up_configures_socket0_macraw_with_all_buffer():
    wire, chip, nic = make()
    assert bytes(chip.common[E.SHAR:E.SHAR + 6]) == MAC
    assert chip.sock[0][E.Sn_RXBUF_SIZE] == 16 and chip.sock[0][E.Sn_TXBUF_SIZE] == 16
    for n in range(1, 8):
        assert chip.sock[n][E.Sn_RXBUF_SIZE] == 0 and chip.sock[n][E.Sn_TXBUF_SIZE] == 0
    assert chip.sock[0][E.Sn_MR] == 0x84  # MACRAW | MFEN
    assert chip.sock[0][E.Sn_SR] == E.SOCK_MACRAW
    assert chip.common[E.SIMR] == 0x01
    assert chip.sock[0][E.Sn_IMR] == 0x04  # RECV only: INTn means a frame
    assert nic.link_up() is True


def test_bring_up_mode_bits_follow_policy():
    wire, chip, nic = make(block_broadcast=True, block_multicast=True, block_ipv6=True)
    assert chip.sock[0][E.Sn_MR] == 0x84 | 0x40 | 0x20 | 0x10
    wire, chip, nic = make(mac_filter=False)
    assert chip.sock[0][E.Sn_MR] == 0x04


def test_bring_up_without_rst_pin_uses_mr_soft_reset():
    wire = E.MemoryWire()
    chip = E.W5500(wire)
    chip.common[E.RTR] = 0x12  # a value only a reset puts back to 0x07
    chip.common[E.MR] = 0x08
    nic = W5500(E.EmuSPI(chip, rst_wired=False), MAC)
    assert chip.common[E.RTR] == 0x07
    assert chip.common[E.MR] == 0x00
    assert chip.sock[0][E.Sn_SR] == E.SOCK_MACRAW


def test_bring_up_with_rst_pin_resets_chip():
    wire = E.MemoryWire()
    chip = E.W5500(wire)
    chip.common[E.RTR] = 0x12
    W5500(E.EmuSPI(chip, rst_wired=True), MAC)
    assert chip.common[E.RTR] == 0x07


def test_bring_up_fails_with_message_naming_wiring_when_no_chip():
    wire = E.MemoryWire()
    chip = E.W5500(wire)
    chip.inject_read_fault(0, E.VERSIONR, 0x00, times=100000)
    try:
        W5500(E.EmuSPI(chip), MAC)
    except OSError as e:
        msg = str(e)
        assert "VERSIONR=0x00" in msg, msg
        assert "emulated W5500" in msg, msg  # the adapter's describe()
    else:
        raise AssertionError("no OSError")


def test_bring_up_fails_when_shar_reads_back_wrong():
    chip = E.W5500(E.MemoryWire())
    chip.inject_read_fault(0, E.SHAR + 1, 0x99)  # a stuck MISO/MOSI bit, say
    try:
        W5500(E.EmuSPI(chip), MAC)
    except OSError as e:
        msg = str(e)
        assert "SHAR read back 02:99:00:00:00:02, wrote 02:00:00:00:00:02" in msg, msg
        assert "emulated W5500" in msg, msg
    else:
        raise AssertionError("no OSError")


def test_bring_up_rejects_bad_mac_length():
    wire = E.MemoryWire()
    chip = E.W5500(wire)
    try:
        W5500(E.EmuSPI(chip), b"\x02\x00")
    except ValueError:
        pass
    else:
        raise AssertionError("no ValueError")


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
    # RX_RD advanced by LEN (frame + 2) with 16-bit wraparound.
    assert chip._rx_rd[0] == (ptr + n + 2) & 0xFFFF, (ptr, n)
    f_out = frame(n, seed + 1, dst=PEER, src=MAC)
    nic.send(f_out)
    assert wire.outbox[-1] == f_out, (ptr, n)
    assert chip._tx_rd[0] == (ptr + n) & 0xFFFF


def test_wraparound_at_every_offset_near_16k_buffer_end():
    wire, chip, nic = make()
    buf = bytearray(1514)
    # Every start offset from 70 bytes before the end to just past it, so the
    # 2-byte header and the frame split at every possible byte.
    for k, ptr in enumerate(range(16384 - 70, 16384 + 3)):
        _check_at_pointer(chip, wire, nic, ptr, 60, buf, k)
    assert nic.resyncs == 0


def test_wraparound_full_size_frames_near_buffer_end():
    wire, chip, nic = make()
    buf = bytearray(1514)
    for k, ptr in enumerate(list(range(16384 - 1518, 16384 - 1510)) +
                            list(range(16384 - 1400, 16384, 173)) +
                            list(range(16384 - 4, 16384 + 2))):
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


def test_burst_of_frames_arriving_during_reads_is_received_in_order():
    wire, chip, nic = make()
    chip.wire_frames_per_select = 1  # one frame lands with every SPI frame
    buf = bytearray(1514)
    frames = [frame(60 + (i * 37) % 1400, i) for i in range(40)]
    wire.inbox.extend(frames)
    got = []
    for _ in range(400):
        n = nic.recv_into(buf)
        if n:
            got.append(bytes(buf[:n]))
    # Frames land faster than they are read, so the ring overflows: every
    # frame is either received intact, in order, or counted as dropped.
    assert chip.rx_overflow_drops > 0
    assert len(got) + chip.rx_overflow_drops == len(frames)
    it = iter(frames)
    for g in got:
        for f in it:
            if f == g:
                break
        else:
            raise AssertionError("frame out of order or corrupt")
    assert nic.resyncs == 0


def test_small_frames_arriving_during_reads_are_all_received():
    wire, chip, nic = make()
    chip.wire_frames_per_select = 1
    buf = bytearray(1514)
    frames = [frame(60 + i % 7, i) for i in range(150)]
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
    first = [frame(60, i) for i in range(4)]  # 4 x 62 = 248 = 0x00F8 in the ring
    wire.inbox.extend(first)
    chip.pump()
    late = frame(100, 9)  # lands mid-read: RSR 0x00F8 -> 0x015E, torn read 0x005E
    wire.inbox.append(late)
    chip.tear_rsr = 1
    got = drain(nic, buf)
    assert chip.tear_rsr == 0
    assert got == first + [late]
    assert nic.resyncs == 0


def test_short_frame_is_padded_to_60_on_send():
    wire, chip, nic = make()
    f = frame(42, 1, dst=PEER, src=MAC)  # an ARP-sized frame
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


# ------------------------------------------------------------------- filter

def test_mac_filter_passes_own_and_broadcast_drops_others():
    wire, chip, nic = make()
    buf = bytearray(1514)
    wire.inbox.append(frame(60, 1, dst=b"\x02\x99\x99\x99\x99\x99"))
    wire.inbox.append(frame(60, 2, dst=BCAST))
    wire.inbox.append(frame(60, 3))
    wire.inbox.append(frame(60, 4, dst=b"\x01\x80\xc2\x00\x00\x0e"))  # LLDP: non-IP multicast
    chip.pump()
    assert drain(nic, buf) == [frame(60, 2, dst=BCAST), frame(60, 3)]
    assert chip.rx_filtered == 2


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
    chip.wire_frames_per_select = 0  # nothing arrives unless pumped
    buf = bytearray(1514)
    frames = [frame(1514, i) for i in range(12)]
    wire.inbox.extend(frames)
    chip.pump()
    # 16384 // (1514 + 2) = 10 records fit; the 11th and 12th are lost whole.
    assert chip.rx_frames == 10 and chip.rx_overflow_drops == 2
    assert chip.rx_rsr(0) == 10 * 1516
    # A smaller frame still fits into the 1224 bytes left.
    wire.inbox.append(frame(1000, 99))
    wire.inbox.append(frame(300, 98))
    chip.pump()
    assert chip.rx_frames == 11 and chip.rx_overflow_drops == 3
    got = drain(nic, buf)
    assert got == frames[:10] + [frame(1000, 99)]
    assert nic.resyncs == 0
    # After the drain the ring takes frames again.
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
    phys = chip._rx_rd[0] & 0x3FFF
    chip.inject_read_fault(3, phys, bad_hi)
    chip.inject_read_fault(3, phys + 1, bad_lo)
    assert nic.recv_into(buf) == 0
    assert nic.resyncs == 1
    assert chip.sock[0][E.Sn_SR] == E.SOCK_MACRAW
    assert chip.rx_rsr(0) == 0  # OPEN dropped what was queued
    wire.inbox.append(frame(200, 3))
    chip.pump()
    assert drain(nic, buf) == [frame(200, 3)]
    assert nic.resyncs == 1


def test_resync_after_garbage_length_too_big():
    _resync_case(0xFF, 0xFF)


def test_resync_after_garbage_length_too_small():
    _resync_case(0x00, 0x05)


def test_resync_after_length_larger_than_rx_rsr():
    # 1000 bytes is a plausible frame, but only 204 bytes are in the ring.
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
    wire.inbox.append(frame(60, 1))  # lost: no link
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
    chip.send_mode = "stall"  # would cost the whole timeout if the driver waited
    b0 = nic.spi_bytes
    t0 = ticks_ms()
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    assert ticks_diff(ticks_ms(), t0) < 500
    assert nic.tx_link_down == 1 and nic.tx_timeouts == 0
    assert nic.spi_bytes == b0  # not even an SPI transaction


def test_chip_that_reset_itself_is_brought_up_again_on_link_check():
    wire, chip, nic = make()
    buf = bytearray(1514)
    chip.reset()  # brown-out: every register back to its reset value
    assert chip.sock[0][E.Sn_SR] == E.SOCK_CLOSED
    assert nic.link_up() is True
    assert nic.chip_reinits == 1
    assert bytes(chip.common[E.SHAR:E.SHAR + 6]) == MAC
    assert chip.sock[0][E.Sn_SR] == E.SOCK_MACRAW and chip.sock[0][E.Sn_RXBUF_SIZE] == 16
    wire.inbox.append(frame(60, 5))
    assert drain(nic, buf) == [frame(60, 5)]
    assert nic.link_up() is True and nic.chip_reinits == 1


def test_phy_held_in_reset_reads_link_down():
    wire, chip, nic = make()
    chip.common[E.PHYCFGR] = 0x78  # RST bit 0: PHY in reset
    assert nic.link_up() is False


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
    assert nic.resyncs == 1  # link up: socket reopened
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
    assert chip.sock[0][E.Sn_IR] & E.IR_TIMEOUT == 0
    chip.send_mode = "ok"
    nic.send(frame(100, 2, dst=PEER, src=MAC))
    assert nic.tx_flush() is True
    assert nic.tx_frames == 1
    assert chip.intn() == 1  # SEND_OK (left set) does not hold INTn


def test_send_timeout_with_link_down_does_not_reopen():
    wire, chip, nic = make(send_timeout_ms=3)
    chip.send_mode = "stall"
    chip.link = False
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    assert nic.tx_flush() is False
    assert nic.tx_timeouts == 1 and nic.resyncs == 0


# --------------------------------------------------------------- interrupts

def test_intn_asserts_on_receive_and_clears_after_drain():
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
    assert edges == [nic]
    assert len(drain(nic, buf)) == 2
    assert chip.intn() == 1 and nic.pending() is False
    nic.send(frame(60, 3, dst=PEER, src=MAC))
    assert chip.intn() == 1  # SEND_OK is masked out of INTn


def test_without_intn_pending_is_always_true():
    wire, chip, nic = make(intn=False)
    assert nic.irq(lambda n: None) is False
    assert nic.pending() is True


# ---------------------------------------------------------------- counters

def test_spi_bytes_counted_by_driver_match_the_chip():
    wire, chip, nic = make()
    before_chip = chip.spi_bytes
    before_nic = nic.spi_bytes
    buf = bytearray(1514)
    wire.inbox.append(frame(1514, 1))
    drain(nic, buf)
    nic.send(frame(1514, 2, dst=PEER, src=MAC))
    assert nic.spi_bytes - before_nic == chip.spi_bytes - before_chip


def test_spi_overhead_per_frame_is_small():
    wire, chip, nic = make(intn=False)
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    wire.inbox.append(frame(60, 1))
    chip.pump()
    b0 = nic.spi_bytes
    assert nic.recv_into(buf) == 60
    rx = nic.spi_bytes - b0
    b0 = nic.spi_bytes
    nic.send(frame(60, 1, dst=PEER, src=MAC))
    tx = nic.spi_bytes - b0
    # RX: RSR+RD burst 7, header 5, frame 3+n, RX_RD 5, RECV 4.
    assert rx == 60 + 24, rx
    # Frames behind the first in one RSR reading skip the RSR read, and
    # RX_RD + RECV go once, after the last of them.
    wire.inbox.append(frame(60, 2))
    wire.inbox.append(frame(60, 3))
    chip.pump()
    b0 = nic.spi_bytes
    assert nic.recv_into(buf) == 60
    assert nic.spi_bytes - b0 == 60 + 15, nic.spi_bytes - b0
    b0 = nic.spi_bytes
    assert nic.recv_into(buf) == 60
    assert nic.spi_bytes - b0 == 60 + 17, nic.spi_bytes - b0
    assert bytes(buf[:60]) == frame(60, 3)
    # TX: frame 3+n, TX_WR 5, SEND 4; no TX_FSR read, no wait for SEND_OK.
    assert tx == 60 + 12, tx
    # The next send first checks that one completed: TX_RD 5.
    b0 = nic.spi_bytes
    nic.send(frame(60, 2, dst=PEER, src=MAC))
    assert nic.spi_bytes - b0 == 60 + 17, nic.spi_bytes - b0


def test_spi_transactions_per_frame_are_few():
    wire, chip, nic = make(intn=True)
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    assert nic.recv_into(buf) == 0  # after bring-up: one RX_RSR read anyway
    t0 = nic.spi_transactions
    for _ in range(10):
        assert nic.recv_into(buf) == 0
    # INTn high: an empty receive reads nothing over SPI.
    assert nic.spi_transactions == t0
    wire.inbox.append(frame(1514, 1))
    chip.pump()
    t0 = nic.spi_transactions
    assert nic.recv_into(buf) == 1514
    # Sn_IR clear, RSR+RD, header, frame, RX_RD, RECV.
    assert nic.spi_transactions - t0 == 6
    nic.send(frame(1514, 2, dst=PEER, src=MAC))
    t0 = nic.spi_transactions
    nic.send(frame(1514, 3, dst=PEER, src=MAC))
    # TX_RD (the last SEND done), frame, TX_WR, SEND.
    assert nic.spi_transactions - t0 == 4
    assert wire.outbox[-2:] == [frame(1514, 2, dst=PEER, src=MAC), frame(1514, 3, dst=PEER, src=MAC)]


def test_intn_level_missed_is_caught_at_the_next_link_check():
    wire, chip, nic = make(intn=True)
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    assert nic.recv_into(buf) == 0  # the read after bring-up
    wire.inbox.append(frame(60, 1))
    chip.pump()
    chip.sock[0][E.Sn_IR] = 0  # as if the RECV level had been lost (Q4)
    chip._update_int()
    assert chip.intn() == 1 and chip.rx_rsr(0) == 62
    assert nic.recv_into(buf) == 0  # INTn is trusted between link checks
    nic.link_up()
    assert nic.recv_into(buf) == 60


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
    assert st["rx_frames"] == 1 and st["chip_tx_frames"] == 1
    assert st["spi_bytes"] == st["chip_spi_bytes"]


def test_driver_allocates_nothing_per_received_frame():
    # MicroPython: the length and payload reads reuse views of the stack's
    # RX buffer; only a frame that wraps the chip's 16 KB ring (one in ~11
    # full frames) needs two new views, on either side.
    import sys
    if sys.implementation.name != "micropython":
        return  # CPython has no gc.mem_alloc
    import fakechip
    r = fakechip.measure()
    assert r["recv_into"] == 0, r
    assert r["send 54"] < 1, r  # short frames are padded in place
    assert r["send 1514"] < 8, r  # the TX ring wrap's two views, every ~11 frames


def _clock_stepping(step_ms):
    # A clock that moves step_ms at every read (a wait loop reads it each turn).
    from tcpip import compat
    t = [0]

    def clock():
        t[0] += step_ms
        return t[0]
    saved = compat._clock
    compat.set_clock(clock, compat.TICKS_PERIOD)
    return t, lambda: compat.set_clock(saved, compat.TICKS_PERIOD)


def test_wait_returns_when_intn_shows_a_frame():
    wire, chip, nic = make(intn=True)
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    assert nic.recv_into(buf) == 0  # the backstop read after bring-up
    t, restore = _clock_stepping(1)
    try:
        nic.wait(50)  # nothing arrives: the whole wait
        waited = t[0]
        wire.inbox.append(frame(60, 1))
        chip.pump()
        t[0] = 0
        nic.wait(10000)  # INTn low: back at once
        early = t[0]
    finally:
        restore()
    assert waited >= 50, waited
    assert early <= 2, early
    assert nic.recv_into(buf) == 60


def test_wait_returns_at_once_while_frames_are_known_or_a_backstop_read_is_due():
    wire, chip, nic = make(intn=True)
    chip.wire_frames_per_select = 0
    t, restore = _clock_stepping(1)
    try:
        nic.wait(10000)  # after bring-up RX_RSR is read anyway: no wait
        assert t[0] <= 1, t[0]
    finally:
        restore()


def test_wait_sleeps_without_intn():
    import tcpip.nic.macraw as M
    wire, chip, nic = make(intn=False)
    slept = []
    saved = M.sleep_ms
    M.sleep_ms = slept.append
    try:
        nic.wait(7)
        nic.wait(0)
    finally:
        M.sleep_ms = saved
    assert slept == [7]
