"""Marsaglia's xorshift32 (13, 17, 5): a small seeded generator whose sequence
is the same under CPython and MicroPython, for tests and tools that must replay
(fuzz sessions, payload patterns).  Not for anything that needs randomness
(tcpip.compat.random32 is the stack's).  Portable.

    r = Xorshift32(seed)     # seed 0 becomes 1 (0 is a fixed point)
    r.next()                 # the next 32-bit value; r.s is the state
"""


class Xorshift32:
    def __init__(self, seed=1):
        self.s = (seed & 0xFFFFFFFF) or 1

    def next(self):
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return x
