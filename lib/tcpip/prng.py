"""The fallback random numbers of tcpip.compat: xorshift128, for a runtime
without a working ``os.urandom`` (``compat.random_source`` then starts with
"xorshift128").  tcpip.compat imports this module only in that case, so a
runtime with urandom never loads it.  Not cryptographic: four outputs give
away its state.

Seeded by mixing
  * random.getrandbits(32) x 4 when the build has it: as good as the seed
    MicroPython gave ``random`` at boot (hardware on ports that seed it, such
    as rp2; a fixed value on ports that do not);
  * machine.unique_id() / microcontroller.cpu.uid: unique per board, not
    secret (two boards booted together do not pick the same numbers; it
    hides nothing);
  * 32 reads of ticks_us / ticks_cpu: a few bits at most (boot timing is
    nearly fixed);
and ticks_us is stirred in at every draw, so the times connections open add
some jitter.  ISNs, ports, ids and the cookie secret are then guessable by
whoever learns the seed inputs or sees a few outputs: fine for a bench or a
trusted LAN, not for an exposed board.
"""
from tcpip.compat import const, _time

_M32 = const(0xFFFFFFFF)


def _fmix32(h):
    # MurmurHash3's finaliser: every input bit reaches every output bit
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def _ticks_us():
    f = getattr(_time, "ticks_us", None)
    if f is not None:
        return f()
    f = getattr(_time, "monotonic_ns", None)  # CPython, CircuitPython
    return f() // 1000 if f is not None else 0


def _seed_inputs():
    """(values, names) of the fallback's seed sources found on this runtime."""
    vals = []
    names = []
    try:
        import random as _random
        if hasattr(_random, "getrandbits"):
            for _ in range(4):
                vals.append(_random.getrandbits(32))
            names.append("random.getrandbits")
    except ImportError:
        pass
    uid = None
    try:
        import machine as _machine
        uid = _machine.unique_id()
    except Exception:  # ImportError, AttributeError (unix port)
        try:
            import microcontroller as _mc  # CircuitPython
            uid = _mc.cpu.uid
        except Exception:
            pass
    if uid:
        for i in range(0, len(uid), 4):
            w = 0
            for c in uid[i:i + 4]:
                w = (w << 8) | c
            vals.append(w)
        names.append("unique_id")
    cpu = getattr(_time, "ticks_cpu", None)
    for _ in range(32):
        vals.append((_ticks_us() ^ ((cpu() << 7) if cpu is not None else 0)) & _M32)
    names.append("ticks jitter")
    return vals, names


_xs = None  # xorshift128 state (4 words), seeded on first use


def source():
    """What ``compat.random_source`` says about this generator: its seed inputs."""
    return "xorshift128 (%s)" % ", ".join(_seed_inputs()[1])


def _xorshift_seed():
    vals = _seed_inputs()[0]
    st = [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344]  # pi's digits: not all zero
    for i in range(len(vals)):
        k = i & 3
        st[k] = _fmix32((st[k] ^ vals[i] ^ (i * 0x9E3779B9)) & _M32)
    if not (st[0] | st[1] | st[2] | st[3]):
        st[0] = 1
    return st


def next32():
    global _xs
    st = _xs
    if st is None:
        st = _xs = _xorshift_seed()
    st[3] ^= _fmix32(_ticks_us() & _M32)  # stir in when this draw happens
    if not (st[0] | st[1] | st[2] | st[3]):
        st[3] = 1
    # Marsaglia, "Xorshift RNGs" (2003): xor128
    t = st[0] ^ ((st[0] << 11) & _M32)
    st[0] = st[1]
    st[1] = st[2]
    st[2] = st[3]
    st[3] = st[3] ^ (st[3] >> 19) ^ t ^ (t >> 8)
    return st[3]
