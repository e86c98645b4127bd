"""Runtime differences in one place: clock, const, random bytes, errno, sleep, slots.

Every other module in tcpip imports time, os, errno and micropython only through
here, so the same files run on CPython >= 3.11, MicroPython (rp2, unix) and
CircuitPython.

Time is a 30-bit wrapping millisecond counter on every runtime (RP2040's
``ticks_ms`` period), so wraparound bugs show on a PC too.  All timer code uses
``ticks_diff`` / ``ticks_add`` from this module, never plain ``-`` or ``+``.
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

TICKS_PERIOD = const(1 << 30)
TICKS_MAX = const((1 << 30) - 1)
TICKS_HALF = const(1 << 29)

if hasattr(_time, "ticks_ms"):  # MicroPython, and CircuitPython via supervisor below

    def ticks_ms():
        """Milliseconds on the 30-bit wrapping clock."""
        return _time.ticks_ms() & TICKS_MAX

    def sleep_ms(ms):
        _time.sleep_ms(ms)

else:
    try:
        import supervisor as _supervisor  # CircuitPython

        def ticks_ms():
            return _supervisor.ticks_ms() & TICKS_MAX

    except ImportError:  # CPython
        _mono_ns = _time.monotonic_ns

        def ticks_ms():
            return (_mono_ns() // 1000000) & TICKS_MAX

    def sleep_ms(ms):
        _time.sleep(ms / 1000)


def ticks_diff(a, b):
    """Signed a - b on the wrapping clock, in (-2**29, 2**29]."""
    return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF


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


def urandom(n):
    """n random bytes from the runtime's best source."""
    return _os.urandom(n)


def random32():
    """A random 32-bit integer (ISNs, DNS ids, ephemeral ports)."""
    b = _os.urandom(4)
    return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]


def current_exception():
    """Inside an ``except`` block: the exception being handled, or None where
    the runtime cannot say (MicroPython without sys.exc_info).  Lets a hot
    function catch with a bare ``except Exception:``, whose frame is smaller
    than one with ``as e`` (see tools/frames.py)."""
    f = getattr(_sys, "exc_info", None)
    return f()[1] if f is not None else None


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
