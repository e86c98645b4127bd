"""An SPI adapter with a W5500 behind it that allocates nothing itself: enough
registers for bring-up and steady MACRAW traffic (a frame always waits, the TX
buffer is always free), so that a test can measure what the driver allocates
per frame on MicroPython.  tools/emu/w5500_emu.py is the faithful model; this one
only has to stay out of the measurement."""
import gc
from tcpip.nic.w5500 import W5500
from tcpip.wire.bytes import copy

FRAME = 1514


class FakeSPI:
    def __init__(self):
        self.common = bytearray(0x40)
        self.common[0x39] = 0x04  # VERSIONR
        self.common[0x2E] = 0x07  # PHYCFGR: link up, 100, full
        self.sock = bytearray(0x40)
        self.rxbuf = bytearray(16384)
        self.rxbuf[0] = (FRAME + 2) >> 8
        self.rxbuf[1] = (FRAME + 2) & 0xFF
        self.rd = 0

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
        if bsb == 3:  # RX buffer: the same frame forever
            copy(data, 0, self.rxbuf, 0, len(data))
            return
        r = self.common if bsb == 0 else self.sock
        if bsb == 1:
            # a frame always waits: RSR = one record, TX free = all
            r[0x20] = 0x40
            r[0x21] = 0
            r[0x26] = (FRAME + 2) >> 8
            r[0x27] = (FRAME + 2) & 0xFF
            r[0x28] = 0
            r[0x29] = 0
        for i in range(len(data)):
            data[i] = r[a + i]

    def hard_reset(self):
        return False

    def int_asserted(self):
        return None

    def irq(self, h):
        return False

    def describe(self):
        return "fake"


def measure(n=200):
    """Heap bytes per call of recv_into and send (full and short frames), after
    a warm-up, with the GC off (MicroPython: gc.mem_alloc)."""
    nic = W5500(FakeSPI(), b"\x02\x00\x00\x00\x00\x02")
    buf = memoryview(bytearray(1518))
    frame = memoryview(bytearray(FRAME))
    ack = memoryview(bytearray(54))
    for _ in range(5):
        nic.recv_into(buf)
        nic.send(frame)
        nic.send(ack)
    out = {}
    for name, fn in (("recv_into", lambda: nic.recv_into(buf)), ("send 1514", lambda: nic.send(frame)),
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

