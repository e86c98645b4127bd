"""An in-memory Ethernet wire between two endpoints, on virtual time.

    link = Link(seed=7, loss=0.05, reorder=0.05, duplicate=0.01, corrupt=0.01,
                delay_ms=5)
    a = Stack(cfg_a, link.a); b = Stack(cfg_b, link.b)
    link.now_ms = t      # the test's clock; frames are delivered when due

Each end is a NIC (mac, recv_into, send, link_up).  Impairments draw from a
seeded xorshift generator, so a run is identical under CPython and MicroPython.
Queues are bounded (``queue_frames`` per direction; a full queue drops, like a
switch).  ``capture`` (if set) sees every frame handed to the wire:
``capture(end_index, frame_bytes, now_ms)``.  For tests, not for boards.

``now_ms`` is on the same wrapping clock as the stack (compat.ticks_add),
so a test can run the link across the 2**30 wrap.  A frame is lost when either
end's ``up`` is False (cable pulled at either side) or ``link.up`` is False.
"""
from tcpip.compat import ticks_add, ticks_diff


class Xorshift32:
    """Marsaglia's xorshift32 (13, 17, 5): the same sequence under CPython and
    MicroPython (tools/common/xorshift.py gives it to tests and tools).  Seed 0
    becomes 1 (0 is a fixed point); ``s`` is the state."""

    def __init__(self, seed=1):
        self.s = (seed & 0xFFFFFFFF) or 1

    def next(self):
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return x


class _Rng(Xorshift32):
    def __init__(self, seed):
        Xorshift32.__init__(self, seed * 2654435761 + 1)

    def chance(self, p):
        return p > 0 and self.next() < int(p * 4294967296)

    def below(self, n):
        return self.next() % n if n > 0 else 0


class LinkEnd:
    def __init__(self, link, index, mac):
        self.link = link
        self.index = index
        self.mac = mac
        self.queue = []  # (due_ms, seq, frame) for frames travelling *to* this end
        self.up = True
        self.sent = 0
        self.received = 0

    def send(self, frame):
        self.sent += 1
        self.link._carry(self, bytes(frame))

    def recv_into(self, buf):
        q = self.queue
        if not q:
            return 0
        now = self.link.now_ms
        best = -1
        for i in range(len(q)):
            if ticks_diff(q[i][0], now) > 0:
                continue  # not due yet
            if best < 0:
                best = i
                continue
            d = ticks_diff(q[i][0], q[best][0])
            if d < 0 or (d == 0 and q[i][1] < q[best][1]):
                best = i
        if best < 0:
            return 0
        frame = q.pop(best)[2]
        n = len(frame)
        if n > len(buf):
            n = len(buf)  # truncated like a NIC with a short buffer
        buf[:n] = frame[:n]
        self.received += 1
        return n

    def link_up(self):
        return self.up and self.link.up

    def pending(self):
        return len(self.queue)

    def next_due(self):
        """Virtual time of the earliest frame waiting for this end, or None."""
        best = None
        for f in self.queue:
            if best is None or ticks_diff(f[0], best) < 0:
                best = f[0]
        return best


class Link:
    def __init__(self, seed=1, loss=0.0, duplicate=0.0, reorder=0.0, corrupt=0.0,
                 delay_ms=0, reorder_ms=20, queue_frames=256,
                 mac_a=b"\x02\x00\x00\x00\x00\x0a", mac_b=b"\x02\x00\x00\x00\x00\x0b"):
        self.rng = _Rng(seed)
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.corrupt = corrupt
        self.delay_ms = delay_ms
        self.reorder_ms = reorder_ms
        self.queue_frames = queue_frames
        self.now_ms = 0
        self.up = True
        self.seq = 0
        self.a = LinkEnd(self, 0, mac_a)
        self.b = LinkEnd(self, 1, mac_b)
        self.capture = None
        self.counts = {"carried": 0, "lost": 0, "duplicated": 0, "reordered": 0,
                       "corrupted": 0, "overflow": 0, "link_down": 0}

    def _carry(self, src, frame):
        c = self.counts
        if self.capture:
            self.capture(src.index, frame, self.now_ms)
        dst = self.b if src is self.a else self.a
        if not (self.up and src.up and dst.up):
            c["link_down"] += 1
            return
        rng = self.rng
        if rng.chance(self.loss):
            c["lost"] += 1
            return
        copies = 2 if rng.chance(self.duplicate) else 1
        if copies == 2:
            c["duplicated"] += 1
        for _ in range(copies):
            f = frame
            if rng.chance(self.corrupt):
                c["corrupted"] += 1
                b = bytearray(f)
                i = rng.below(len(b))
                b[i] ^= 1 << rng.below(8)
                f = bytes(b)
            due = ticks_add(self.now_ms, self.delay_ms)
            if rng.chance(self.reorder):
                c["reordered"] += 1
                due = ticks_add(due, 1 + rng.below(self.reorder_ms))
            if len(dst.queue) >= self.queue_frames:
                c["overflow"] += 1
                continue
            self.seq += 1
            dst.queue.append((due, self.seq, f))
            c["carried"] += 1

    def next_due(self):
        a = self.a.next_due()
        b = self.b.next_due()
        if a is None:
            return b
        if b is None:
            return a
        return a if ticks_diff(a, b) < 0 else b
