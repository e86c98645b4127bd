"""Runtime differences in one place: clock, const, random bytes, errno, sleep, slots.

Every other module in tcpip imports time, os, errno and micropython only through
here, so the same files run on CPython >= 3.11, MicroPython (rp2, unix) and
CircuitPython.

Time is a wrapping millisecond counter whose period comes from the clock
source: 2**30 for MicroPython's ``time.ticks_ms`` (RP2040) and for the CPython
clock (so wraparound bugs show on a PC too), 2**29 for CircuitPython's
``supervisor.ticks_ms``.  All timer code uses ``ticks_diff`` / ``ticks_add``
from this module, never plain ``-`` or ``+``; they work modulo the period, so
a deadline must lie less than half a period (3.1 days on a 2**29 clock) away,
and a stored time stamp must be renewed or aged out before it gets that old.
``set_clock`` changes the source (tests, other boards).
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


try:
    import errno as _errno
except ImportError:  # pragma: no cover
    import uerrno as _errno

import time as _time
import os as _os
import sys as _sys
from array import array as _array

_MICROPYTHON = _sys.implementation.name in ("micropython", "circuitpython")
# Derived attributes of per-frame objects (a parsed header's ``seq``, ...):
# on MicroPython a class with a property makes every attribute store on its
# instances look the name up in the class first (+12-19 us a store on the
# board), so such classes compute them in __getattr__ there; on CPython
# __getattr__ stops the interpreter specialising attribute loads (~3x
# slower), so they are properties there.
GETATTR_NOT_PROPERTY = _MICROPYTHON

# The clock's period and the masks derived from it (module variables, not
# const(): set_clock changes them; read them as compat.TICKS_MAX, a name
# imported from here keeps the value it had).  TICKS_MAX and TICKS_HALF are
# small ints even on a 32-bit port.
TICKS_PERIOD = 1 << 30
TICKS_MAX = (1 << 30) - 1
TICKS_HALF = 1 << 29

if hasattr(_time, "ticks_ms"):  # MicroPython: period 2**30 (2**62 on 64-bit unix: masked)
    _clock = _time.ticks_ms
    if _time.ticks_add(0, -1) < TICKS_MAX:  # a port whose clock wraps sooner: its period
        TICKS_MAX = _time.ticks_add(0, -1)
        TICKS_PERIOD = TICKS_MAX + 1
        TICKS_HALF = TICKS_PERIOD >> 1

    def sleep_ms(ms):
        _time.sleep_ms(ms)

else:
    try:
        import supervisor as _supervisor  # CircuitPython

        # supervisor.ticks_ms wraps at 2**29 (its first wrap comes about 65 s
        # after power-on): with a 2**30 mask, each wrap would look like a jump
        # of 2**29 ms
        _clock = _supervisor.ticks_ms
        TICKS_PERIOD = 1 << 29
        TICKS_MAX = (1 << 29) - 1
        TICKS_HALF = 1 << 28

    except ImportError:  # CPython
        _mono_ns = _time.monotonic_ns

        def _clock():
            return _mono_ns() // 1000000

    def sleep_ms(ms):
        _time.sleep(ms / 1000)


def set_clock(fn=None, period=1 << 30):
    """Read time from ``fn()`` (milliseconds; None: keep the current source),
    a counter that wraps at ``period`` (a power of two, 2**8 .. 2**30)."""
    global _clock, TICKS_PERIOD, TICKS_MAX, TICKS_HALF
    if period & (period - 1) or not (1 << 8) <= period <= (1 << 30):
        raise ValueError("clock period must be a power of two from 2**8 to 2**30")
    if fn is not None:
        _clock = fn
    TICKS_PERIOD = period
    TICKS_MAX = period - 1
    TICKS_HALF = period >> 1


def ticks_ms():
    """Milliseconds on the wrapping clock, in [0, TICKS_PERIOD)."""
    return _clock() & TICKS_MAX


def ticks_diff(a, b):
    """Signed a - b on the wrapping clock, in [-TICKS_HALF, TICKS_HALF)."""
    h = TICKS_HALF
    return ((a - b + h) & TICKS_MAX) - h


def ticks_add(t, delta_ms):
    """t + delta_ms on the wrapping clock."""
    return (t + delta_ms) & TICKS_MAX


def uint32_slots(n):
    """n zeroed slots for unsigned 32-bit numbers (a TCP control block's fields).

    MicroPython: ``array('I')``, 4 bytes a slot instead of an attribute's map
    slot.  CPython: a list, whose subscripts the interpreter specialises (an
    array's are slower there than the attributes they replace); memory does
    not matter on a PC, and the fuzz invariants check the values stay unsigned.
    """
    if _MICROPYTHON:
        return _array("I", bytes(4 * n))
    return [0] * n


# Random numbers: ISNs (RFC 6528), ephemeral ports (RFC 6056), DNS ids (RFC
# 5452), DHCP xids, the SYN-cookie secret.  Two sources, chosen at import:
#
# - ``os.urandom`` when the runtime has one that works (``random_source`` is
#   "os.urandom"): the OS's CSPRNG on CPython and the unix port; on the rp2
#   port the ring oscillator's random bit (hardware noise, not a certified
#   TRNG, but nothing an attacker can predict); CircuitPython's port RNG.
# - otherwise (a build without it, or one whose urandom raises, as
#   CircuitPython does on boards without an RNG): tcpip/prng.py's seeded
#   xorshift128, which is NOT cryptographic (its notes say how it is seeded
#   and what that is good for), imported only then, so a board with a working
#   urandom does not keep its code on the heap.  ``random_source`` says
#   "xorshift128 (...)" with the seed inputs it found.


def _working_urandom():
    f = getattr(_os, "urandom", None)
    if f is None:
        return None
    try:
        f(1)
    except Exception:  # NotImplementedError (CircuitPython without an RNG), OSError
        return None
    return f


_urandom = _working_urandom()
_next32 = None  # the fallback's next 32-bit number (tcpip.prng), when there is no urandom
random_source = "os.urandom"
if _urandom is None:
    from tcpip.prng import next32 as _next32, source as _source

    random_source = _source()


def urandom(n):
    """n random bytes from the runtime's best source (see ``random_source``
    and the notes above it for how strong each is)."""
    if _urandom is not None:
        return _urandom(n)
    b = bytearray(n)
    for i in range(0, n, 4):
        v = _next32()
        for j in range(i, min(i + 4, n)):
            b[j] = v & 0xFF
            v >>= 8
    return bytes(b)


def random32():
    """A random 32-bit integer (ISNs, DNS ids, ephemeral ports)."""
    if _urandom is None:
        return _next32()
    b = _urandom(4)
    return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]


def current_exception():
    """Inside an ``except`` block: the exception being handled, or None where
    the runtime cannot say (MicroPython without sys.exc_info).  Lets a hot
    function catch with a bare ``except Exception:``, whose frame is smaller
    than one with ``as e`` (see tools/measure/frames.py)."""
    f = getattr(_sys, "exc_info", None)
    return f()[1] if f is not None else None


# CircuitPython has no sys.exc_info, so current_exception() cannot name the
# exception there; its call frames always live on the pystack (never on the
# heap), so a handler that binds it (``except Exception as e``: one more
# local and a handler level, 12 B of pystack) costs nothing else.  Where this
# is true the stack catches with ``as e`` (tcpip/stack_bind.py).
BIND_EXCEPTIONS = not hasattr(_sys, "exc_info") and _sys.implementation.name == "circuitpython"


def _e(name, default):
    return getattr(_errno, name, default)


# Linux / CPython values; MicroPython uses the same numbers.
EPERM = _e("EPERM", 1)
EACCES = _e("EACCES", 13)
EIO = _e("EIO", 5)
ENODEV = _e("ENODEV", 19)
EAGAIN = _e("EAGAIN", 11)
ENOMEM = _e("ENOMEM", 12)
EINVAL = _e("EINVAL", 22)
EPIPE = _e("EPIPE", 32)
EADDRINUSE = _e("EADDRINUSE", 98)
EADDRNOTAVAIL = _e("EADDRNOTAVAIL", 99)
ENETUNREACH = _e("ENETUNREACH", 101)
ECONNABORTED = _e("ECONNABORTED", 103)
ECONNRESET = _e("ECONNRESET", 104)
ENOBUFS = _e("ENOBUFS", 105)
EISCONN = _e("EISCONN", 106)
ENOTCONN = _e("ENOTCONN", 107)
ETIMEDOUT = _e("ETIMEDOUT", 110)
ECONNREFUSED = _e("ECONNREFUSED", 111)
EHOSTUNREACH = _e("EHOSTUNREACH", 113)
EALREADY = _e("EALREADY", 114)
EINPROGRESS = _e("EINPROGRESS", 115)
EOPNOTSUPP = _e("EOPNOTSUPP", 95)
EMSGSIZE = _e("EMSGSIZE", 90)
EDESTADDRREQ = _e("EDESTADDRREQ", 89)
EBADF = _e("EBADF", 9)
