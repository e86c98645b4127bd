"""tcpip.compat's random numbers (CPython and MicroPython): os.urandom when the
runtime has a working one, else a seeded xorshift128, so a build without
os.urandom still starts a Stack (it used to fail inside ``Stack()``).

The fallback is exercised by importing fresh copies of the modules with an
``os`` that has no urandom (or one that raises, as CircuitPython's does on a
board without an RNG); the modules already loaded are put back afterwards.
"""
import sys
from nullnic import NullNIC


class _OsWithoutUrandom:
    pass


class _OsWhoseUrandomRaises:
    def urandom(self, n):
        raise NotImplementedError("no hardware RNG")


def _fresh_tcpip(fake_os):
    """Import tcpip.compat, tcpip.config and tcpip.stack anew with ``fake_os``
    as ``os``; returns (compat, config, stack, restore)."""
    saved = {}
    for k in list(sys.modules):
        if k == "os" or k == "tcpip" or k.startswith("tcpip."):
            saved[k] = sys.modules[k]
            del sys.modules[k]
    sys.modules["os"] = fake_os

    def restore():
        for k in list(sys.modules):
            if k == "os" or k == "tcpip" or k.startswith("tcpip."):
                del sys.modules[k]
        for k in saved:
            sys.modules[k] = saved[k]

    try:
        import tcpip.compat as compat
        import tcpip.config as config
        import tcpip.stack as stack
    except Exception:
        restore()
        raise
    return compat, config, stack, restore


def test_runtime_urandom_is_used_when_present():
    from tcpip import compat
    assert compat.random_source == "os.urandom"
    b = compat.urandom(16)
    assert isinstance(b, bytes) and len(b) == 16
    assert 0 <= compat.random32() <= 0xFFFFFFFF


def test_with_os_urandom_the_fallback_generator_is_not_loaded():
    # tcpip/prng.py loads only without a working urandom: its code stays off the heap
    from tcpip import compat
    import tcpip.stack  # noqa: F401
    assert compat.random_source == "os.urandom"
    assert "tcpip.prng" not in sys.modules


def _check_fallback(compat):
    assert "tcpip.prng" in sys.modules
    assert compat.random_source.startswith("xorshift128 (")
    assert "ticks jitter" in compat.random_source
    for n in (0, 1, 3, 4, 5, 16, 33):
        b = compat.urandom(n)
        assert isinstance(b, bytes) and len(b) == n
    vals = [compat.random32() for _ in range(1000)]
    assert all(0 <= v <= 0xFFFFFFFF for v in vals)
    assert len(set(vals)) >= 999
    ones = 0
    for v in vals:
        while v:
            ones += v & 1
            v >>= 1
    assert 0.47 < ones / 32000 < 0.53  # each bit about half the time
    assert compat.urandom(16) != compat.urandom(16)


def test_without_os_urandom_compat_falls_back_to_seeded_xorshift():
    compat, config, stack, restore = _fresh_tcpip(_OsWithoutUrandom())
    try:
        _check_fallback(compat)
    finally:
        restore()


def test_os_urandom_that_raises_counts_as_missing():
    compat, config, stack, restore = _fresh_tcpip(_OsWhoseUrandomRaises())
    try:
        _check_fallback(compat)
    finally:
        restore()


def test_without_os_urandom_a_stack_starts_and_opens_a_connection():
    compat, config, stack, restore = _fresh_tcpip(_OsWithoutUrandom())
    try:
        s = stack.Stack(config.Config(ip="192.0.2.2", prefix=24, gateway="192.0.2.1"), NullNIC())
        assert bytes(s.tcp.cookie_buf[:16]) != bytes(16)  # the SYN-cookie secret was drawn
        c = s.tcp.open("192.0.2.1", 7)
        assert c is not None
        s.poll(0)
    finally:
        restore()
    from tcpip import compat as original
    assert original.random_source == "os.urandom"
