"""What only the W5500 has, on its register-level emulator (tools/emu/w5500_emu.py):
its buffer and mode registers, PHYCFGR, the SPI bytes and transactions per
frame, and no allocation per frame.  The MACRAW contract both chips keep is
test_macraw_driver.py.

Runs under CPython and the MicroPython unix port (host_tests/helpers/mprun.py).
"""
import w5500_emu as E
from macrawhelp import MAC, PEER, W5500Chip, frame

make = W5500Chip().make


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


# --------------------------------------------------------------------- link

def test_phy_held_in_reset_reads_link_down():
    wire, chip, nic = make()
    chip.common[E.PHYCFGR] = 0x78  # RST bit 0: PHY in reset
    assert nic.link_up() is False


# ---------------------------------------------------------------- counters

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
    # RX: RSR 5, then header and frame in one burst 3+2+n (RX_RD and RECV,
    # 9 bytes, once a quarter of the buffer is read).
    assert rx == 60 + 10, rx
    # Two records in one RSR reading (124 bytes, within the caller's
    # buffer): the first burst reads both, the next one the second frame
    # alone (its header came with the first).
    wire.inbox.append(frame(60, 2))
    wire.inbox.append(frame(60, 3))
    chip.pump()
    b0 = nic.spi_bytes
    assert nic.recv_into(buf) == 60
    assert nic.spi_bytes - b0 == 5 + 3 + 124, nic.spi_bytes - b0
    b0 = nic.spi_bytes
    assert nic.recv_into(buf) == 60
    assert nic.spi_bytes - b0 == 3 + 60, nic.spi_bytes - b0
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
    # RSR, then header and frame (the first receive after a quiet one
    # clears RECV only when RSR reads 0; RX_RD and RECV later: once a
    # quarter of the buffer is read, at the next receive).
    assert nic.spi_transactions - t0 == 2
    t0 = nic.spi_transactions
    assert nic.recv_into(buf) == 0  # Sn_IR clear, RSR: quiet again
    assert nic.spi_transactions - t0 == 2 and chip.intn() == 1
    nic.send(frame(1514, 2, dst=PEER, src=MAC))
    t0 = nic.spi_transactions
    nic.send(frame(1514, 3, dst=PEER, src=MAC))
    # TX_RD (the last SEND done), frame, TX_WR, SEND.
    assert nic.spi_transactions - t0 == 4
    assert wire.outbox[-2:] == [frame(1514, 2, dst=PEER, src=MAC), frame(1514, 3, dst=PEER, src=MAC)]


def test_driver_allocates_nothing_per_received_frame():
    # MicroPython: the length and payload reads reuse views of the stack's
    # RX buffer, for a record read whole and for a run (a frame and the
    # next header); a frame that the chip's 16 KB TX buffer end splits
    # (one in ~11 full frames) goes through the driver's bounce buffer, no
    # view made.  (The fake's received records tile the ring: none split.)
    import sys
    if sys.implementation.name != "micropython":
        return  # CPython has no gc.mem_alloc
    import fakechip
    r = fakechip.measure()
    assert r["recv_into"] == 0 and r["recv_into run"] == 0, r
    assert r["send 54"] < 1, r  # short frames are padded in place
    assert r["send 1514"] == 0, r  # (was 2 views every ~11 frames, at the TX ring's end)


def test_frames_of_a_third_length_now_and_then_allocate_nothing():
    # MicroPython: the receive buffer's views are kept for the two lengths
    # in use (full segments and ACKs); a frame of another length now and
    # then (a short segment, a window update) goes through the bounce
    # buffer, not a new view (which used to displace one of the two, and
    # the next frame of that length made it again).  Records of varying
    # length also end in the middle of the ring's end: split reads too.
    import sys
    if sys.implementation.name != "micropython":
        return  # CPython has no gc.mem_alloc
    import fakechip
    assert fakechip.measure_lengths((1022, 60, 1022, 60, 999, 1022, 60, 61, 1022, 60)) == 0


def test_a_frame_split_at_the_tx_buffer_end_waits_for_the_last_send():
    # The part before the buffer end is written with bytes before it (a
    # fixed-length view of the driver's bounce buffer), over the frame
    # before: that one must be on the wire first.  Here a SEND completes
    # only 3 SPI frames later; every frame still goes out whole.
    wire, chip, nic = make()
    chip.send_selects = 3
    t0, b0, f0, c0 = nic.spi_transactions, nic.spi_bytes, chip.spi_frames, chip.spi_bytes
    sizes = (1514, 1200, 1514, 61, 1514, 999, 1514, 1514, 700, 1514, 1514, 1514, 1514)
    sent = []
    for k in range(4):
        for i, n in enumerate(sizes):
            f = frame(n, 20 * k + i, dst=PEER, src=MAC)
            sent.append(f)
            nic.send(f)
    assert nic.tx_flush() is True
    # (the driver's counters still add up to what the chip saw)
    assert (nic.spi_transactions - t0, nic.spi_bytes - b0) == (chip.spi_frames - f0, chip.spi_bytes - c0)
    chip.select()  # (SPI frames: the last SEND completes)
    chip.deselect()
    chip.select()
    chip.deselect()
    chip.select()
    chip.deselect()
    assert nic.tx_timeouts == 0 and nic.resyncs == 0
    assert wire.outbox == sent


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
