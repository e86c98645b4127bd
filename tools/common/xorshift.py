"""Marsaglia's xorshift32 (13, 17, 5): a small seeded generator whose sequence
is the same under CPython and MicroPython, for tests and tools that must replay
(fuzz sessions, payload patterns).  Not for anything that needs randomness
(tcpip.compat.random32 is the stack's).  Portable; the generator is
lib/tcpip/nic/link.py's, so lib/ must be on the path.

    r = Xorshift32(seed)     # seed 0 becomes 1 (0 is a fixed point)
    r.next()                 # the next 32-bit value; r.s is the state
"""
from tcpip.nic.link import Xorshift32  # noqa: F401  (lib/ keeps the one copy)
