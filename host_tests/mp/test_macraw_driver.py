"""The MACRAW driver contract, run for each WIZnet chip on its register-level
emulator (tools/emu/w5500_emu.py, tools/emu/w5100s_emu.py): frames both ways byte for
byte, ring wraparound, overflow, resync, link, send timeouts, INTn.

Every scenario takes the chip fixture (``PARAMS``/``fixture``: mprun.py runs
``test_x[w5500]`` and ``test_x[w5100s]``).  What only one chip has stays in
test_w5500_driver.py / test_w5100s_driver.py.  Runs under CPython and the
MicroPython unix port (host_tests/helpers/mprun.py).
"""
from tcpip.compat import ticks_ms, ticks_diff
from macrawhelp import MAC, PEER, BCAST, frame, drain, expect_oserror, fixture  # noqa: F401 (fixture: mprun)

PARAMS = ("w5500", "w5100s")
Sn_SR = 0x03  # socket status: the same offset on both chips
IR_TIMEOUT = 0x08  # Sn_IR TIMEOUT: the same bit on both chips
SOCK_CLOSED = 0x00  # Sn_SR after a reset, on both chips


# ------------------------------------------------------------------ bring-up

def test_bring_up_without_rst_pin_uses_mr_soft_reset(c):
    wire = c.E.MemoryWire()
    chip = c.new_chip(wire)
    chip.common[c.E.RTR] = 0x12  # a value only a reset puts back to 0x07
    if c.MR_DIRTY is not None:
        chip.common[c.E.MR] = c.MR_DIRTY
    c.Driver(c.E.EmuSPI(chip, rst_wired=False), MAC)
    assert chip.common[c.E.RTR] == 0x07
    assert chip.common[c.E.MR] == c.MR_RESET
    assert chip.sock[0][Sn_SR] == c.E.SOCK_MACRAW


def test_bring_up_with_rst_pin_resets_chip(c):
    chip = c.new_chip(c.E.MemoryWire())
    chip.common[c.E.RTR] = 0x12
    c.Driver(c.E.EmuSPI(chip, rst_wired=True), MAC)
    assert chip.common[c.E.RTR] == 0x07


def test_bring_up_fails_with_message_naming_wiring_when_no_chip(c):
    chip = c.new_chip(c.E.MemoryWire())
    parts = c.bad_version(chip)
    # the adapter's describe(): the pins on a board
    expect_oserror(lambda: c.Driver(c.E.EmuSPI(chip), MAC), "emulated " + c.Driver.__name__, *parts)


def test_bring_up_fails_when_shar_reads_back_wrong(c):
    chip = c.new_chip(c.E.MemoryWire())
    parts = c.bad_shar(chip)
    expect_oserror(lambda: c.Driver(c.E.EmuSPI(chip), MAC), *parts)


def test_bring_up_rejects_bad_mac_length(c):
    chip = c.new_chip(c.E.MemoryWire())
    try:
        c.Driver(c.E.EmuSPI(chip), b"\x02\x00")
    except ValueError:
        pass
    else:
        raise AssertionError("no ValueError")


# ------------------------------------------------------------------- frames

def test_frames_both_ways_exact_bytes(c):
    wire, chip, nic = c.make()
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
    # the driver keeps its own copies of TX_WR and RX_RD
    nic._tx_wr = nic._rx_rd = nic._rx_rd0 = ptr & 0xFFFF
    nic._rx_due = False
    f_in = frame(n, seed)
    wire.inbox.append(f_in)
    got = nic.recv_into(buf)
    assert got == n, (ptr, n, got)
    assert bytes(buf[:n]) == f_in, (ptr, n)
    # The driver's RX_RD advanced by LEN (frame + 2) with 16-bit
    # wraparound; the chip frees the record later (it still counts it).
    assert nic._rx_rd == (ptr + n + 2) & 0xFFFF, (ptr, n)
    assert chip.rx_rsr(0) == n + 2 and chip._rx_rd[0] == ptr & 0xFFFF, (ptr, n)
    f_out = frame(n, seed + 1, dst=PEER, src=MAC)
    nic.send(f_out)
    assert wire.outbox[-1] == f_out, (ptr, n)
    assert chip._tx_rd[0] == (ptr + n) & 0xFFFF


def test_wraparound_at_every_offset_near_buffer_end(c):
    wire, chip, nic = c.make()
    buf = bytearray(1514)
    end = c.RX_BYTES
    # Every start offset from 70 bytes before the end to just past it, so the
    # 2-byte header and the frame split at every possible byte.
    for k, ptr in enumerate(range(end - 70, end + 3)):
        _check_at_pointer(chip, wire, nic, ptr, 60, buf, k)
    assert nic.resyncs == 0


def test_wraparound_full_size_frames_near_buffer_end(c):
    wire, chip, nic = c.make()
    buf = bytearray(1514)
    end = c.RX_BYTES
    for k, ptr in enumerate(list(range(end - 1518, end - 1510)) +
                            list(range(end - 1400, end, 173)) +
                            list(range(end - 4, end + 2)) + list(c.EXTRA_FULL_PTRS)):
        _check_at_pointer(chip, wire, nic, ptr, 1514, buf, k)
    assert nic.resyncs == 0


def test_wraparound_of_16bit_pointers(c):
    wire, chip, nic = c.make()
    buf = bytearray(1514)
    for k, ptr in enumerate(range(65536 - 66, 65536 + 3)):
        _check_at_pointer(chip, wire, nic, ptr & 0xFFFF, 60, buf, k)
    for k, ptr in enumerate((65536 - 1516, 65536 - 1000, 65536 - 3, 65535)):
        _check_at_pointer(chip, wire, nic, ptr, 1514, buf, k)
    assert nic.resyncs == 0


def test_burst_of_frames_arriving_during_reads_is_received_in_order(c):
    wire, chip, nic = c.make()
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


def test_small_frames_arriving_during_reads_are_all_received(c):
    wire, chip, nic = c.make()
    chip.wire_frames_per_select = 1
    buf = bytearray(1514)
    frames = [frame(60 + i % 7, i) for i in range(c.SMALL_FRAMES)]
    wire.inbox.extend(frames)
    got = []
    for _ in range(1000):
        n = nic.recv_into(buf)
        if n:
            got.append(bytes(buf[:n]))
    assert got == frames
    assert nic.resyncs == 0 and chip.rx_overflow_drops == 0


def test_torn_rx_rsr_read_is_reread_until_stable(c):
    wire, chip, nic = c.make()
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


class _Interrupted(Exception):
    pass


class _FailingSPI:
    """The adapter, raising at its ``at``-th call (counted from 0), before the
    transaction (``after`` False: a KeyboardInterrupt at the adapter's first
    branch, a MemoryError) or once it is done (``after`` True)."""

    def __init__(self, spi, at, after):
        self.spi = spi
        self.at = at
        self.after = after
        self.calls = 0

    def _call(self, fn, header, data):
        k = self.calls
        self.calls += 1
        if k == self.at and not self.after:
            raise _Interrupted()
        fn(header, data)
        if k == self.at:
            raise _Interrupted()

    def write(self, header, data):
        self._call(self.spi.write, header, data)

    def write_frame(self, frame):
        self._call(self._frame, frame, None)

    def _frame(self, frame, _):
        self.spi.write_frame(frame)

    def read(self, header, data):
        self._call(self.spi.read, header, data)

    def read_two(self, header, first, second):
        self._call(self._two, header, (first, second))

    def _two(self, header, pair):
        self.spi.read_two(header, pair[0], pair[1])

    # (one call each, as in the adapters: straight-line, so an exception
    # comes before both SPI frames or after both)
    def write_read(self, header, data, out, inp):
        self._call(self._wr, header, (data, out, inp))

    def _wr(self, header, rest):
        self.spi.write_read(header, rest[0], rest[1], rest[2])

    def write_frames(self, first, second):
        self._call(self._frames, first, second)

    def _frames(self, first, second):
        self.spi.write_frames(first, second)

    def int_asserted(self):
        return self.spi.int_asserted()


def _receive_interrupted(c, intn, at, after, tx):
    # a run of frames in the ring, received (and, when tx, a frame sent
    # after each) with an exception out of the at-th SPI call; then more
    # frames: the driver must stay in step with the chip's ring
    wire, chip, nic = c.make(intn=intn)
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    first = [frame(60 + (i * 151) % 1400, i) for i in range(5)]
    wire.inbox.extend(first)
    chip.pump()
    nic.spi = f = _FailingSPI(nic.spi, at, after)
    got = []
    raised = 0
    for _ in range(40):
        try:
            n = nic.recv_into(buf)
            if n:
                got.append(bytes(buf[:n]))
                if tx:
                    nic.send(memoryview(frame(100, len(got), dst=PEER, src=MAC)))
            elif not raised or f.calls > at:
                break
        except _Interrupted:
            raised += 1
    nic.spi = f.spi
    nic.received_in_loop = len(got)
    later = [frame(70 + i, 50 + i) for i in range(4)]
    wire.inbox.extend(later)
    chip.pump()
    nic.link_up()  # (what the stack does every 500 ms: with INTn, a backstop read of RX_RSR)
    got += drain(nic, buf)
    return got, first, later, nic, raised, wire.outbox


def test_receive_interrupted_at_any_spi_call_keeps_the_ring_in_step(c):
    # Ctrl-C (or a MemoryError caught further up) inside recv_into, e.g.
    # between the RX_RD write and RECV, must not desynchronise the ring:
    # at most the frame being received when it struck is lost, nothing is
    # duplicated, no resync
    for intn in (True, False):
        for after in (False, True):
            for at in range(0, 24):
                got, first, later, nic, raised, _ = _receive_interrupted(c, intn, at, after, False)
                where = (intn, after, at, raised, nic.resyncs, len(got))
                assert nic.resyncs == 0, where
                assert got[-len(later):] == later, where
                seen = got[:-len(later)]
                assert len(seen) >= len(first) - raised, where
                it = iter(first)
                for g in seen:  # in order, each at most once
                    for f in it:
                        if f == g:
                            break
                    else:
                        raise AssertionError("frame out of order or duplicated: %r" % (where,))


def test_send_interrupted_at_any_spi_call_sends_only_whole_frames(c):
    # each frame received is answered with a sent one; an exception before
    # any SPI call (the adapters have no branch after raising CS, where a
    # KeyboardInterrupt could strike once a SEND is out) loses at most that
    # frame, and never glues two into one
    for at in range(0, 18):  # (every adapter call the loop makes)
        got, first, later, nic, raised, out = _receive_interrupted(c, True, at, False, True)
        assert raised == 1 and nic.resyncs == 0 and nic.tx_timeouts == 0, (at, raised)
        assert got[-len(later):] == later, at
        # (a frame received later, after the link check's backstop read, is not answered)
        assert len(out) >= nic.received_in_loop - 1, (at, len(out), nic.received_in_loop)
        sent = [frame(100, k, dst=PEER, src=MAC) for k in range(1, 20)]
        for o in out:
            assert o in sent, (at, len(o))


class _TraceSPI:
    """The adapter, recording each SPI transaction as (kind, header, data
    length): kind "w" write, "f" write_frame (header = the first 3 bytes),
    "r" read."""

    def __init__(self, spi):
        self.spi = spi
        self.log = []

    def write(self, header, data):
        self.log.append(("w", bytes(header), len(data)))
        self.spi.write(header, data)

    def write_frame(self, frame):
        self.log.append(("f", bytes(frame[:3]), len(frame) - 3))
        self.spi.write_frame(frame)

    def read(self, header, data):
        self.log.append(("r", bytes(header), len(data)))
        self.spi.read(header, data)

    def read_two(self, header, first, second):
        self.log.append(("r2", bytes(header), len(first), len(second)))
        self.spi.read_two(header, first, second)

    def write_read(self, header, data, out, inp):
        self.log.append(("w", bytes(header), len(data)))
        self.log.append(("r", bytes(out[:3]), len(inp) - 3))  # (logged as a read: header, data)
        self.spi.write_read(header, data, out, inp)

    def write_frames(self, first, second):
        self.log.append(("f", bytes(first[:3]), len(first) - 3))
        self.log.append(("f", bytes(second[:3]), len(second) - 3))
        self.spi.write_frames(first, second)

    def int_asserted(self):
        return self.spi.int_asserted()


def _traced(nic):
    t = _TraceSPI(nic.spi)
    nic.spi = t
    return t


def _named(nic, log):
    # the driver's own prebuilt headers name the register transactions
    names = {bytes(nic._h_tx_rd): "TX_RD", bytes(nic._f_tx_wr[:3]): "TX_WR",
             bytes(nic._f_send[:3]): "Sn_CR", bytes(nic._f_irq_clear[:3]): "Sn_IR",
             bytes(nic._h_rsr): "RX_RSR", bytes(nic._f_rx_rd[:3]): "RX_RD"}
    return [(e[0], names.get(e[1], "buffer")) + e[2:] for e in log]


def test_send_is_four_spi_transactions_the_frame_first_then_the_last_send_checked(c):
    # the frame's SPI write overlaps the wire time of the frame before: the
    # previous SEND is checked only once this frame is in TX memory
    wire, chip, nic = c.make()
    nic.send(frame(1514, 1, dst=PEER, src=MAC))
    t = _traced(nic)
    b0 = nic.spi_bytes
    nic.send(frame(1514, 2, dst=PEER, src=MAC))
    assert _named(nic, t.log) == [("w", "buffer", 1514), ("r", "TX_RD", 2),
                                  ("f", "TX_WR", 2), ("f", "Sn_CR", 1)]
    assert nic.spi_bytes - b0 == 3 + 1514 + 5 + 5 + 4
    assert wire.outbox == [frame(1514, k, dst=PEER, src=MAC) for k in (1, 2)]


def test_receive_spi_transactions_per_frame_and_per_empty_receive(c):
    # with INTn: nothing at all while the pin is high; a frame is one
    # RX_RSR read and its record header and frame in one SPI frame: no
    # interrupt clear before it, nothing freed between the frame and the
    # caller's answer to it.  The receive after it clears RECV and reads
    # RX_RSR again.  Without INTn an empty receive is one RX_RSR read.
    buf = bytearray(1514)
    for intn in (True, False):
        wire, chip, nic = c.make(intn=intn)
        chip.wire_frames_per_select = 0
        assert nic.recv_into(buf) == 0  # (the read after bring-up)
        t = _traced(nic)
        assert nic.recv_into(buf) == 0
        assert _named(nic, t.log) == ([] if intn else [("r", "RX_RSR", 2)])
        wire.inbox.append(frame(1000, 1))
        chip.pump()
        del t.log[:]
        assert nic.recv_into(buf) == 1000 and bytes(buf[:1000]) == frame(1000, 1)
        assert _named(nic, t.log) == [("r", "RX_RSR", 2), ("r2", "buffer", 2, 1000)], intn
        del t.log[:]
        assert nic.recv_into(buf) == 0
        head = [("f", "Sn_IR", 1)] if intn else []
        assert _named(nic, t.log) == head + [("r", "RX_RSR", 2)], intn
        assert chip.intn() == 1 or not intn


def test_a_run_of_records_is_one_spi_frame_each_after_the_first_header(c):
    # a run too long for the caller's buffer: the first header alone, then
    # each frame with the next record's header (the last one without)
    buf = bytearray(1514)
    wire, chip, nic = c.make(intn=False)
    chip.wire_frames_per_select = 0
    sizes = (200, 1400, 60, 300)
    wire.inbox.extend([frame(n, i) for i, n in enumerate(sizes)])
    chip.pump()
    t = _traced(nic)
    assert drain(nic, buf) == [frame(n, i) for i, n in enumerate(sizes)]
    assert _named(nic, t.log) == [("r", "RX_RSR", 2), ("r", "buffer", 2),
                                  ("r2", "buffer", 200, 2), ("r2", "buffer", 1400, 2),
                                  ("r2", "buffer", 60, 2), ("r", "buffer", 300),
                                  ("r", "RX_RSR", 2)]


def test_a_short_run_is_read_whole_and_the_next_header_taken_from_it(c):
    # two records whose run fits the caller's buffer: the first burst reads
    # the run from the first header on, the next frame then alone
    buf = bytearray(1514)
    wire, chip, nic = c.make(intn=False)
    chip.wire_frames_per_select = 0
    wire.inbox.extend([frame(60, 1), frame(70, 2)])
    chip.pump()
    t = _traced(nic)
    assert drain(nic, buf) == [frame(60, 1), frame(70, 2)]
    assert _named(nic, t.log) == [("r", "RX_RSR", 2), ("r2", "buffer", 2, 60 + 2 + 70),
                                  ("r", "buffer", 70), ("r", "RX_RSR", 2)]


def test_what_is_read_is_freed_at_the_next_receive_once_a_quarter_of_the_buffer(c):
    # RX_RD and RECV go out once a quarter of the chip's buffer is read,
    # first thing in the receive after the frame that crossed it; until
    # then the chip keeps counting what was read
    buf = bytearray(1514)
    wire, chip, nic = c.make(intn=True)
    chip.wire_frames_per_select = 0
    quarter = c.RX_BYTES // 4
    k = quarter // 1002 + 1  # 1000-byte frames (1002-byte records) to cross it
    read = 0
    for i in range(k):
        wire.inbox.append(frame(1000, i))
        chip.pump()
        t = _traced(nic)
        assert nic.recv_into(buf) == 1000 and bytes(buf[:1000]) == frame(1000, i)
        read += 1002
        assert "RX_RD" not in [e[1] for e in _named(nic, t.log)], i
        assert chip.rx_rsr(0) == read and chip._rx_rd[0] == 0, i
    wire.inbox.append(frame(60, 99))
    chip.pump()
    t = _traced(nic)
    assert nic.recv_into(buf) == 60 and bytes(buf[:60]) == frame(60, 99)
    assert [e for e in _named(nic, t.log) if e[1] != "Sn_IR"] == [
        ("f", "RX_RD", 2), ("f", "Sn_CR", 1), ("r", "RX_RSR", 2), ("r2", "buffer", 2, 60)]
    assert chip._rx_rd[0] == read and chip.rx_rsr(0) == 62


def test_send_after_a_send_that_never_completed_goes_out_whole(c):
    # the next frame is already in TX memory when the last SEND is found
    # stuck; the socket is reopened (which moves TX_WR) and the frame
    # written again, not lost
    wire, chip, nic = c.make(send_timeout_ms=5)
    chip.send_mode = "stall"
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    chip.send_mode = "ok"
    nic.send(frame(200, 2, dst=PEER, src=MAC))
    assert nic.tx_timeouts == 1 and nic.resyncs == 1
    assert wire.outbox == [frame(200, 2, dst=PEER, src=MAC)]
    assert nic.tx_frames == 1 and nic.tx_flush() is True


def test_short_frame_is_padded_to_60_on_send(c):
    wire, chip, nic = c.make()
    f = frame(42, 1, dst=PEER, src=MAC)  # an ARP-sized frame
    nic.send(f)
    assert wire.outbox[-1] == f + bytes(18)


def test_send_rejects_oversize_frame(c):
    wire, chip, nic = c.make()
    expect_oserror(lambda: nic.send(bytes(1515)), "1515")
    assert chip.tx_frames == 0


def test_frame_larger_than_callers_buffer_is_dropped_and_counted(c):
    wire, chip, nic = c.make()
    wire.inbox.append(frame(200, 1))
    wire.inbox.append(frame(60, 2))
    small = bytearray(100)
    assert nic.recv_into(small) == 0
    assert nic.rx_drop_too_big == 1
    assert nic.recv_into(small) == 60
    assert bytes(small[:60]) == frame(60, 2)


# ------------------------------------------------------------------- filter

def test_mac_filter_passes_own_and_broadcast_drops_others(c):
    wire, chip, nic = c.make()
    buf = bytearray(1514)
    wire.inbox.append(frame(60, 1, dst=b"\x02\x99\x99\x99\x99\x99"))
    wire.inbox.append(frame(60, 2, dst=BCAST))
    wire.inbox.append(frame(60, 3))
    wire.inbox.append(frame(60, 4, dst=b"\x01\x80\xc2\x00\x00\x0e"))  # LLDP: non-IP multicast
    chip.pump()
    assert drain(nic, buf) == [frame(60, 2, dst=BCAST), frame(60, 3)]
    assert chip.rx_filtered == 2


def test_block_broadcast_drops_broadcast(c):
    wire, chip, nic = c.make(block_broadcast=True)
    buf = bytearray(1514)
    wire.inbox.append(frame(60, 2, dst=BCAST))
    wire.inbox.append(frame(60, 3))
    chip.pump()
    assert drain(nic, buf) == [frame(60, 3)]


# ----------------------------------------------------------------- overflow

def test_rx_overflow_drops_whole_frames_and_driver_recovers(c):
    wire, chip, nic = c.make()
    chip.wire_frames_per_select = 0  # nothing arrives unless pumped
    buf = bytearray(1514)
    fit = c.RX_BYTES // (1514 + 2)  # W5500: 10 records fit; W5100S: 5
    frames = [frame(1514, i) for i in range(fit + 2)]
    wire.inbox.extend(frames)
    chip.pump()
    # the last two are lost whole
    assert chip.rx_frames == fit and chip.rx_overflow_drops == 2
    assert chip.rx_rsr(0) == fit * 1516
    # A smaller frame still fits into what is left; the next one does not.
    left = c.RX_BYTES - fit * 1516
    assert c.OVERFLOW_FIT + 2 <= left < c.OVERFLOW_FIT + 2 + c.OVERFLOW_LOST + 2
    wire.inbox.append(frame(c.OVERFLOW_FIT, 99))
    wire.inbox.append(frame(c.OVERFLOW_LOST, 98))
    chip.pump()
    assert chip.rx_frames == fit + 1 and chip.rx_overflow_drops == 3
    assert drain(nic, buf) == frames[:fit] + [frame(c.OVERFLOW_FIT, 99)]
    assert nic.resyncs == 0
    # After the drain the ring takes frames again.
    wire.inbox.append(frame(60, 7))
    chip.pump()
    assert drain(nic, buf) == [frame(60, 7)]


# ------------------------------------------------------------------- resync

def _resync_case(c, bad_hi, bad_lo):
    wire, chip, nic = c.make()
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    wire.inbox.append(frame(100, 1))
    wire.inbox.append(frame(100, 2))
    chip.pump()
    c.inject_rx(chip, chip._rx_rd[0], bad_hi)
    c.inject_rx(chip, chip._rx_rd[0] + 1, bad_lo)
    assert nic.recv_into(buf) == 0
    assert nic.resyncs == 1
    assert chip.sock[0][Sn_SR] == c.E.SOCK_MACRAW
    assert chip.rx_rsr(0) == 0  # OPEN dropped what was queued
    wire.inbox.append(frame(200, 3))
    chip.pump()
    assert drain(nic, buf) == [frame(200, 3)]
    assert nic.resyncs == 1


def test_resync_after_garbage_length_too_big(c):
    _resync_case(c, 0xFF, 0xFF)


def test_resync_after_garbage_length_too_small(c):
    _resync_case(c, 0x00, 0x05)


def test_resync_after_length_larger_than_rx_rsr(c):
    # 1000 bytes is a plausible frame, but only 204 bytes are in the ring.
    _resync_case(c, 0x03, 0xEA)


# --------------------------------------------------------------------- link

def test_link_down_and_up(c):
    wire, chip, nic = c.make()
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


def test_send_while_link_known_down_drops_at_once(c):
    wire, chip, nic = c.make(send_timeout_ms=1000)
    chip.link = False
    assert nic.link_up() is False
    chip.send_mode = "stall"  # would cost the whole timeout if the driver waited
    b0 = nic.spi_bytes
    t0 = ticks_ms()
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    assert ticks_diff(ticks_ms(), t0) < 500
    assert nic.tx_link_down == 1 and nic.tx_timeouts == 0
    assert nic.spi_bytes == b0  # not even an SPI transaction


def test_chip_that_reset_itself_is_brought_up_again_on_link_check(c):
    wire, chip, nic = c.make()
    buf = bytearray(1514)
    chip.reset()  # brown-out: every register back to its reset value
    assert chip.sock[0][Sn_SR] == SOCK_CLOSED
    assert nic.link_up() is True
    assert nic.chip_reinits == 1
    assert bytes(chip.common[c.E.SHAR:c.E.SHAR + 6]) == MAC
    assert chip.sock[0][Sn_SR] == c.E.SOCK_MACRAW and c.buffers_set(chip)
    wire.inbox.append(frame(60, 5))
    assert drain(nic, buf) == [frame(60, 5)]
    assert nic.link_up() is True and nic.chip_reinits == 1


# --------------------------------------------------------------------- send

def test_send_timeout_when_send_ok_never_comes_is_bounded_and_recovers(c):
    wire, chip, nic = c.make(send_timeout_ms=5)
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


def test_send_timeout_bit_is_counted_and_cleared(c):
    wire, chip, nic = c.make()
    chip.send_mode = "timeout"
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    assert nic.tx_flush() is False
    assert nic.tx_timeouts == 1 and nic.tx_frames == 0
    assert chip.sock[0][c.E.Sn_IR] & IR_TIMEOUT == 0
    chip.send_mode = "ok"
    nic.send(frame(100, 2, dst=PEER, src=MAC))
    assert nic.tx_flush() is True
    assert nic.tx_frames == 1
    assert chip.intn() == 1  # SEND_OK (left set) does not hold INTn


def test_send_timeout_with_link_down_does_not_reopen(c):
    wire, chip, nic = c.make(send_timeout_ms=3)
    chip.send_mode = "stall"
    chip.link = False
    nic.send(frame(100, 1, dst=PEER, src=MAC))
    assert nic.tx_flush() is False
    assert nic.tx_timeouts == 1 and nic.resyncs == 0


# --------------------------------------------------------------- interrupts

def test_intn_asserts_on_receive_and_clears_after_drain(c):
    wire, chip, nic = c.make()
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


def test_rx_quiet_is_true_only_when_a_receive_would_find_nothing_without_spi(c):
    # Stack.poll skips recv_into when rx_quiet() is true: it must then be
    # exactly the receive's own no-SPI "nothing waits" answer
    wire, chip, nic = c.make(intn=True)
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)

    def quiet():
        if not nic.rx_quiet():
            return False
        t0 = nic.spi_transactions
        assert nic.recv_into(buf) == 0 and nic.spi_transactions == t0
        return True

    assert not quiet()  # RX_RSR is read once after bring-up
    assert nic.recv_into(buf) == 0 and quiet()
    wire.inbox.extend([frame(60, 1), frame(70, 2)])
    chip.pump()
    assert not quiet()  # INTn low
    assert nic.recv_into(buf) == 60
    assert not quiet()  # the second frame of that RX_RSR read waits
    assert nic.recv_into(buf) == 70
    assert chip.intn() == 0 and not quiet()  # RECV not cleared before that read
    assert nic.recv_into(buf) == 0 and chip.intn() == 1 and quiet()
    nic.link_up()
    assert not quiet()  # the link check's backstop RX_RSR read is due
    assert nic.recv_into(buf) == 0 and quiet()
    # a run read after a clear of RECV: INTn high, yet the run's second
    # frame waits (every other RX_RSR read follows a clear: one of these
    # rounds has it)
    cleared = 0
    for k in range(3):
        wire.inbox.append(frame(80, k))
        chip.pump()
        assert nic.recv_into(buf) == 80
        wire.inbox.extend([frame(60, k), frame(70, k)])
        chip.pump()
        assert nic.recv_into(buf) == 60
        cleared += chip.intn()
        assert not quiet()
        assert nic.recv_into(buf) == 70
        while not quiet():
            assert nic.recv_into(buf) == 0
    assert cleared
    wire2, chip2, nic2 = c.make(intn=False)
    assert nic2.rx_quiet is None  # without INTn only a read of RX_RSR can tell


def test_quiet_only_when_nothing_unread_or_intn_low_with_frames_landing_at_any_spi_frame(c):
    # the receive right after a quiet spell reads RX_RSR without clearing
    # RECV first: whenever rx_quiet() is true, either nothing is left
    # unread in the chip or INTn is low (no lost wake-up), and every frame
    # arrives
    wire, chip, nic = c.make(intn=True)
    buf = bytearray(1514)
    frames = [frame(60 + (i * 53) % 300, i) for i in range(60)]
    got = []
    for step in range(3000):
        chip.wire_frames_per_select = 1 if step % 7 < 3 else 0
        for _ in range(step % 3 + 1 if step % 11 == 0 else 0):  # 1..3 frames at a time
            if len(wire.inbox) + len(got) < len(frames):
                wire.inbox.append(frames[len(got) + len(wire.inbox)])
        if nic.rx_quiet():
            unread = chip.rx_rsr(0) - ((nic._rx_rd - chip._rx_rd[0]) & 0xFFFF)
            assert unread == 0 or chip.intn() == 0, (step, unread)
            if not wire.inbox and len(got) == len(frames):
                break
            chip.pump(chip.wire_frames_per_select)  # (time passes while the board idles)
            continue
        n = nic.recv_into(buf)
        if n:
            got.append(bytes(buf[:n]))
    assert got == frames and nic.resyncs == 0


def test_without_intn_pending_is_always_true(c):
    wire, chip, nic = c.make(intn=False)
    assert nic.irq(lambda n: None) is False
    assert nic.pending() is True


def test_intn_level_missed_is_caught_at_the_next_link_check(c):
    wire, chip, nic = c.make(intn=True)
    chip.wire_frames_per_select = 0
    buf = bytearray(1514)
    assert nic.recv_into(buf) == 0  # the read after bring-up
    wire.inbox.append(frame(60, 1))
    chip.pump()
    chip.sock[0][c.E.Sn_IR] = 0  # as if the RECV level had been lost (Q4)
    chip._update_int()
    assert chip.intn() == 1 and chip.rx_rsr(0) == 62
    assert nic.recv_into(buf) == 0  # INTn is trusted between link checks
    nic.link_up()
    assert nic.recv_into(buf) == 60


# ---------------------------------------------------------------- counters

def test_spi_bytes_counted_by_driver_match_the_chip(c):
    wire, chip, nic = c.make()
    before_chip = chip.spi_bytes
    before_nic = nic.spi_bytes
    buf = bytearray(1514)
    wire.inbox.append(frame(1514, 1))
    drain(nic, buf)
    nic.send(frame(1514, 2, dst=PEER, src=MAC))
    assert nic.spi_bytes - before_nic == chip.spi_bytes - before_chip


def test_spi_counters_match_the_chip_across_wraps_drops_and_runs(c):
    # the driver counts a frame's transactions at once (fewer updates per
    # frame on the board): they still add up to what the chip saw, through
    # buffer-end splits both ways, a frame too big for the caller, a run of
    # frames from one RX_RSR read, empty receives and a link check
    for intn in (True, False):
        wire, chip, nic = c.make(intn=intn)
        t0, b0 = nic.spi_transactions, nic.spi_bytes
        f0, c0 = chip.spi_frames, chip.spi_bytes
        buf = bytearray(1514)
        small = bytearray(100)
        for k, ptr in enumerate(range(c.RX_BYTES - 40, c.RX_BYTES + 2, 7)):
            _check_at_pointer(chip, wire, nic, ptr, 300, buf, k)
        chip.wire_frames_per_select = 0
        wire.inbox.extend([frame(200, 1), frame(60, 2), frame(1514, 3)])
        chip.pump()
        assert nic.recv_into(small) == 0  # too big for the caller: dropped
        assert nic.recv_into(buf) == 60 and nic.recv_into(buf) == 1514
        assert nic.recv_into(buf) == 0 and nic.recv_into(buf) == 0
        nic.link_up()
        nic.send(frame(70, 4, dst=PEER, src=MAC))
        assert nic.tx_flush() is True
        where = (intn, nic.spi_transactions - t0, chip.spi_frames - f0)
        assert nic.spi_transactions - t0 == chip.spi_frames - f0, where
        assert nic.spi_bytes - b0 == chip.spi_bytes - c0, where


def test_emulated_board_nic_wraps_driver_chip_and_wire(c):
    wire = c.E.MemoryWire()
    wire.fileno = lambda: 42
    nic = c.E.EmulatedBoardNIC(wire, MAC)
    assert nic.fileno() == 42 and nic.mac == MAC and nic.link_up()
    buf = bytearray(1514)
    wire.inbox.append(frame(70, 1))
    assert nic.recv_into(buf) == 70 and bytes(buf[:70]) == frame(70, 1)
    nic.send(frame(70, 2, dst=PEER, src=MAC))
    assert wire.outbox == [frame(70, 2, dst=PEER, src=MAC)]
    st = nic.stats()
    assert st["rx_frames"] == 1 and st["chip_tx_frames"] == 1
    assert st["spi_bytes"] == st["chip_spi_bytes"]


# ------------------------------------------------------------- with the stack

def test_a_ctrl_c_during_the_idle_polls_frame_read_leaves_the_stack_receiving(c):
    # The board's services loop, stopped by Ctrl-C while Stack.poll's idle
    # shortcut read a frame from the chip (test_bench_board's allocation
    # test, 1 run in 3): the next connection's SYNs then waited in the
    # chip's RX buffer, INTn low, and no poll took them in again (the
    # stack's re-entrancy flag stayed set).  Here an echo request whose
    # read is interrupted (read again by the next receive: the driver had
    # not moved past it), then one more: both answered.
    from tcpip.compat import ticks_add
    from tcpip.config import Config
    from tcpip.stack import Stack
    from framehelp import ping_frame, US_IP
    wire, chip, nic = c.make()
    st = Stack(Config(mac=MAC, ip="192.0.2.2", prefix=24, gateway="192.0.2.254"), nic)
    now = 1000
    st.poll(now)  # (the first, full poll: link check, gratuitous ARP)
    now = ticks_add(now, 1)
    st.poll(now)
    del wire.outbox[:]
    assert st.iface.wake_at is not None  # (no deadline due: the next poll is the idle shortcut)
    spi = nic.spi
    read_two = spi.read_two

    def interrupted(header, first, second):
        spi.read_two = read_two
        read_two(header, first, second)
        raise KeyboardInterrupt  # (the Ctrl-C pending since the transfer, raised at its next branch)

    spi.read_two = interrupted
    wire.inbox.append(ping_frame(b"lost", eth_dst=MAC, dst=US_IP))
    chip.pump()
    try:
        st.poll(ticks_add(now, 1))
        raise AssertionError("not interrupted")
    except KeyboardInterrupt:
        pass
    wire.inbox.append(ping_frame(b"again", eth_dst=MAC, dst=US_IP))
    chip.pump()
    for _ in range(60):  # 600 ms: a link check's backstop read of RX_RSR included
        now = ticks_add(now, 10)
        st.poll(now)
    # (the replies' ICMP data: from byte 42 to the IPv4 total length's end)
    got = [f[42:14 + ((f[16] << 8) | f[17])] for f in wire.outbox]
    assert got == [b"lost", b"again"], wire.outbox
