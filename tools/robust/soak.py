"""Impairment soak: two stacks over the in-memory link (nic/link.py) on virtual time.

    python tools/robust/soak.py [--seconds S] [--seeds N] [--first SEED] [--bytes N]
    micropython tools/robust/soak.py --seeds 20

Per seed: one connection, ``--bytes`` (1 MB) each way at once under loss 5%,
reordering 5%, duplication 1%, corruption 1% (RX/TX rings of 2, 4, 8 or 16 KB
and a one-way delay of 1-5 ms, chosen by the seed); every byte must arrive exactly
once and in order, both sides then close, no RST may be sent, and both control
block pools must be full again after TIME-WAIT.  Runs ``--seeds`` seeds, or
keeps going with new seeds until ``--seconds`` of wall time have passed (the
long ``make soak``).  Prints one line per seed and exits 1 on the first failure.
Portable: CPython and the MicroPython unix port.
"""
import sys
import time

try:
    _HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
except NameError:  # pragma: no cover
    _HERE = "tools/robust"
for _p in (_HERE + "/../../lib", _HERE + "/../../host_tests/helpers"):
    if _p not in sys.path:
        sys.path.append(_p)

from tcphelp import Pair, Pump  # noqa: E402  (shared with the scenario tests)

IMPAIR = {"loss": 0.05, "reorder": 0.05, "duplicate": 0.01, "corrupt": 0.01, "delay_ms": 1}
RINGS = (2048, 4096, 8192, 16384)


def soak_one(seed, nbytes=1000000, limit_ms=3600000):
    """Run one seed; returns a dict of results (raises AssertionError on failure)."""
    # ring sizes and delay vary with the seed: small rings exercise persist and
    # SWS avoidance, big ones fast retransmit and NewReno recovery
    ring = RINGS[seed % len(RINGS)]
    # TIME-WAIT (2 MSL = 10 s) outlasts the peer's FIN retransmissions under 5% loss
    cfg = {"tcp_msl_ms": 5000, "tcp_rx_bytes": ring, "tcp_tx_bytes": ring}
    impair = dict(IMPAIR)
    impair["delay_ms"] = 1 + seed % 5
    pair = Pair(seed=seed, cfg_a=cfg, cfg_b=dict(cfg), **impair)
    # ARP has no checksum: a bit flipped in an ARP reply (which a real NIC's FCS
    # would have dropped) poisons the cache for minutes.  Corrupt only after
    # the stacks know each other; TCP segments are what this soak is about.
    pair.link.corrupt = 0.0
    ca, cb = pair.connect(port=5001 + seed % 1000)
    pair.link.corrupt = impair["corrupt"]
    up = Pump(ca, cb, nbytes, seed=seed)
    down = Pump(cb, ca, nbytes, seed=seed + 7)

    def each():
        up.step()
        down.step()
    pair.each = each
    t0 = pair.t
    ok = pair.run(lambda: up.done() and down.done(), limit_ms)
    assert ok, "seed %d: stalled at up %d/%d down %d/%d (%s / %s, errors %d / %d)" % (
        seed, up.got, nbytes, down.got, nbytes, ca.state_name(), cb.state_name(), ca.error, cb.error)
    assert up.ok and down.ok, "seed %d: corrupted or reordered data delivered" % seed
    assert up.got == nbytes and down.got == nbytes, "seed %d: extra bytes" % seed
    transfer_ms = pair.t - t0
    pair.each = None
    assert ca.error == 0 and cb.error == 0, "seed %d: errors %d / %d" % (seed, ca.error, cb.error)
    ca.close()
    cb.close()
    closed = pair.run(lambda: pair.a.tcp.free_blocks() == len(pair.a.tcp.pool)
                      and pair.b.tcp.free_blocks() == len(pair.b.tcp.pool), 600000)
    assert closed, "seed %d: did not close cleanly (%s / %s)" % (seed, ca.state_name(), cb.state_name())
    sa = pair.a.stats()
    sb = pair.b.stats()
    # A RST may answer a late duplicate after its connection is gone (RFC 9293
    # 3.10.7.1); none may ever be accepted by a live connection.
    assert sa["tcp_resets_rx"] == 0 and sb["tcp_resets_rx"] == 0, "seed %d: a RST reset a connection" % seed
    assert ca.error == 0 and cb.error == 0, "seed %d: errors %d / %d" % (seed, ca.error, cb.error)
    assert sa.get("internal_errors", 0) == 0 and sb.get("internal_errors", 0) == 0, \
        "seed %d: exception inside poll: %r" % (seed, getattr(pair.a, "last_error", None)
                                                or getattr(pair.b, "last_error", None))
    return {"seed": seed, "ring": ring, "virtual_ms": transfer_ms, "link": pair.link.counts,
            "retransmits": sa["tcp_retransmits"] + sb["tcp_retransmits"],
            "fast_retransmits": sa["tcp_fast_retransmits"] + sb["tcp_fast_retransmits"],
            "rto_timeouts": sa["tcp_rto_timeouts"] + sb["tcp_rto_timeouts"]}


def main(argv):
    seconds = None
    seeds = 20
    first = 1
    nbytes = 1000000
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--seconds", "--seeds", "--first", "--bytes") and i + 1 < len(argv):
            v = int(argv[i + 1])
            if a == "--seconds":
                seconds = v
            elif a == "--seeds":
                seeds = v
            elif a == "--first":
                first = v
            else:
                nbytes = v
            i += 2
        else:
            print("usage: soak.py [--seconds S] [--seeds N] [--first SEED] [--bytes N]")
            return 2
    start = time.time()
    seed = first
    done = 0
    while True:
        if seconds is None and done >= seeds:
            break
        if seconds is not None and time.time() - start >= seconds and done >= 1:
            break
        try:
            r = soak_one(seed, nbytes)
        except AssertionError as e:
            print("FAIL %s" % e)
            return 1
        print("ok seed %d: %d bytes each way, rings %d, in %d virtual ms; link %s; retransmits %d "
              "(fast %d, timeouts %d)" % (seed, nbytes, r["ring"], r["virtual_ms"], r["link"],
                                          r["retransmits"], r["fast_retransmits"], r["rto_timeouts"]))
        seed += 1
        done += 1
    print("%d seeds passed in %d s" % (done, time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
