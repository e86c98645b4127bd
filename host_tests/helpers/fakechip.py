"""An SPI adapter with a W5500 behind it that allocates nothing itself: enough
registers for bring-up and steady MACRAW traffic (a frame always waits, the TX
buffer is always free), so that a test can measure what the driver allocates
per frame on MicroPython.  tools/emu/w5500_emu.py is the faithful model; this one
only has to stay out of the measurement."""
import gc
from tcpip.nic.w5500 import W5500
from tcpip.wire.bytes import copy

FRAME = 1514
# Received records of 1024 bytes tile the 16 KB RX buffer: no read is split
# at its end (a split costs two views, measured apart from the common case).
RX_FRAME = 1022


class FakeSPI:
    """``records``: how many records each RX_RSR read shows (1: the header
    and frame in one read; 2: a run, the frame and the next header)."""

    def __init__(self, records=1):
        self.records = records
        self.common = bytearray(0x40)
        self.common[0x39] = 0x04  # VERSIONR
        self.common[0x2E] = 0x07  # PHYCFGR: link up, 100, full
        self.sock = bytearray(0x40)
        self.rxbuf = bytearray(16384)
        self.rxbuf[0] = (RX_FRAME + 2) >> 8
        self.rxbuf[1] = (RX_FRAME + 2) & 0xFF
        # RX_RSR counts from the RX_RD of the last RECV: one record more
        # than the driver read since (reads of the RX buffer end at seen)
        self.rd = 0
        self.seen = 0
        self.rx_frame = RX_FRAME

    def set_rx_frame(self, n):
        """Received frames are n bytes long from now on."""
        self.rx_frame = n
        self.rxbuf[0] = (n + 2) >> 8
        self.rxbuf[1] = (n + 2) & 0xFF

    def _reg(self, h):
        bsb = h[2] >> 3
        return self.common if bsb == 0 else (self.sock if bsb == 1 else None)

    def write(self, header, data):
        a = (header[0] << 8) | header[1]
        bsb = header[2] >> 3
        o = 0  # data starts at data[o]
        if data is None:  # (write_frame) the whole frame in header: no view, nothing allocated
            data = header
            o = 3
        n = len(data) - o
        if bsb == 0:
            for i in range(n):
                self.common[a + i] = data[o + i]
            if a == 0 and data[o] & 0x80:
                self.common[0] = 0  # reset done at once
        elif bsb == 1:
            for i in range(n):
                self.sock[a + i] = data[o + i]
            if a == 1:  # Sn_CR
                cmd = data[o]
                if cmd == 0x01:
                    self.sock[3] = 0x42  # SOCK_MACRAW
                elif cmd == 0x10:
                    self.sock[3] = 0
                elif cmd == 0x40:  # RECV
                    self.rd = (self.sock[0x28] << 8) | self.sock[0x29]
                elif cmd == 0x20:
                    self.sock[2] |= 0x10  # SEND_OK
                    self.sock[0x22] = self.sock[0x24]  # TX_RD catches up with TX_WR
                    self.sock[0x23] = self.sock[0x25]
                self.sock[1] = 0
            if a == 2:
                self.sock[2] &= ~data[o] & 0xFF  # write 1 to clear

    def write_frame(self, frame):
        self.write(frame, None)

    def read(self, header, data):
        a = (header[0] << 8) | header[1]
        bsb = header[2] >> 3
        if bsb == 3:  # RX buffer: a record at every address
            copy(data, 0, self.rxbuf, 0, len(data))
            self.seen = (a + len(data)) & 0x3FFF
            return
        r = self.common if bsb == 0 else self.sock
        if bsb == 1:
            # a frame always waits: RSR = one record, TX free = all
            r[0x20] = 0x40
            r[0x21] = 0
            rsr = self.records * (self.rx_frame + 2) + ((self.seen - self.rd) & 0x3FFF)
            r[0x26] = rsr >> 8
            r[0x27] = rsr & 0xFF
        for i in range(len(data)):
            data[i] = r[a + i]

    def write_read(self, header, data, out, inp):
        # (only the driver's TX_RD check: its register bytes after the header)
        self.write(header, data)
        inp[3] = self.sock[0x22]
        inp[4] = self.sock[0x23]

    def write_frames(self, first, second):
        self.write(first, None)
        self.write(second, None)

    def read_two(self, header, first, second):
        # (the RX buffer only) first, then second, as one burst
        a = (header[0] << 8) | header[1]
        k = len(first)
        copy(first, 0, self.rxbuf, 0, k)
        copy(second, 0, self.rxbuf, k, len(second))
        self.seen = (a + k + len(second)) & 0x3FFF

    def hard_reset(self):
        return False

    def int_asserted(self):
        return None

    def irq(self, h):
        return False

    def describe(self):
        return "fake"


def _bulk_warmup(nic, step):
    """step() until the driver has made its bounce buffer (after a few
    transfers the chip's buffer end split: a bulk transfer's), where it
    makes one (MicroPython)."""
    from tcpip.nic import macraw
    for _ in range(2000):
        if nic._bounce is not None or not macraw._BOUNCE:
            return
        step()
    raise AssertionError("no bounce buffer after 2000 steps")


def measure_lengths(pattern, rounds=20):
    """Heap bytes per received frame when the frames' lengths follow
    pattern, round after round (after 3 rounds of warm-up; GC off)."""
    spi = FakeSPI()
    nic = W5500(spi, b"\x02\x00\x00\x00\x00\x02")
    buf = memoryview(bytearray(1518))
    total = 0

    def one_round():
        for n in pattern:
            spi.set_rx_frame(n)
            nic.recv_into(buf)

    _bulk_warmup(nic, one_round)
    for r in range(rounds + 3):
        gc.collect()
        gc.disable()
        m0 = gc.mem_alloc()
        for n in pattern:
            spi.set_rx_frame(n)
            nic.recv_into(buf)
        m1 = gc.mem_alloc()
        gc.enable()
        if r >= 3:
            total += m1 - m0
    return total / float(rounds * len(pattern))


def measure(n=200):
    """Heap bytes per call of recv_into and send (full and short frames), after
    a warm-up, with the GC off (MicroPython: gc.mem_alloc)."""
    nic = W5500(FakeSPI(), b"\x02\x00\x00\x00\x00\x02")
    run = W5500(FakeSPI(records=2), b"\x02\x00\x00\x00\x00\x02")
    buf = memoryview(bytearray(1518))
    frame = memoryview(bytearray(FRAME))
    ack = memoryview(bytearray(54))
    for _ in range(5):
        nic.recv_into(buf)
        run.recv_into(buf)
        nic.send(frame)
        nic.send(ack)
    _bulk_warmup(nic, lambda: nic.send(frame))
    out = {}
    for name, fn in (("recv_into", lambda: nic.recv_into(buf)),
                     ("recv_into run", lambda: run.recv_into(buf)), ("send 1514", lambda: nic.send(frame)),
                     ("send 54", lambda: nic.send(ack))):
        gc.collect()
        gc.disable()
        m0 = gc.mem_alloc()
        for _ in range(n):
            fn()
        m1 = gc.mem_alloc()
        gc.enable()
        out[name] = (m1 - m0) / n
    return out

