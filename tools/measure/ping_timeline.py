"""Where a board ping's time goes, from the chip's side: the SPI transactions between the request and the reply.

    FIRMWARE_DIR=... .venv/bin/python tools/measure/ping_timeline.py [--pings 10] [--full]

Runs ``bench_board.py --quick`` (``--full``: the 300 kB run) for
rp2040-micropython with the emulator's chip front end watched from the host:
the simulated time each SPI transaction ends (chip select going high, which
the firmware reports with the board's clock) and the time each echo request
reaches the chip and its reply leaves it.  Nothing runs on the board for
it, so the figures are the bench's own (no marks, unlike ``boardprof.py
--ping-profile``).  For each of the last ``--pings`` pings one line: the
microseconds from the request's arrival to the end of each transaction, with
the first three bytes the firmware clocked out in it (the W5500's address
and control byte: ``0026 08`` reads Sn_RX_RSR, ``xxxx 18`` reads RX memory,
``xxxx 14`` writes TX memory, ``0022 08`` reads Sn_TX_RD, ``0024 0c`` writes
Sn_TX_WR), then the reply's departure (SEND's own write, ``0001 0c``, ends
after it).

Host-only (tools/emu/rp2040_board.py's ``Board``); docs/performance.md has a
reading of it.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_board as bb  # noqa: E402  (tools/measure/bench_board.py)

RB = bb.RB


def watch(log):
    """Wrap the emulated board's chip-select and wire hooks to append
    (kind, sim_ns, first bytes) to ``log``; returns a function undoing it."""
    cs_high = RB.Board._cs_high
    exchange = RB.Board._exchange
    recv_into = RB._TimedWire.recv_into
    send = RB._TimedWire.send
    first = [b""]  # what the open transaction clocked out first (a read's header)

    def _exchange(self, p):
        if not first[0]:
            first[0] = bytes(p[4:7])
        return exchange(self, p)

    def _cs_high(self, p):
        r = cs_high(self, p)
        log.append(("spi", self.sim_ns, first[0] or bytes(p[12:15])))
        first[0] = b""
        return r

    def _recv_into(self, buf):
        n = recv_into(self, buf)
        if n and self._echo(buf, n, 8) is not None:
            log.append(("request", self.board.sim_ns, b""))
        return n

    def _send(self, mv):
        if self._echo(mv, len(mv), 0) is not None:
            log.append(("reply", self.board.sim_ns, b""))
        return send(self, mv)

    RB.Board._cs_high = _cs_high
    RB.Board._exchange = _exchange
    RB._TimedWire.recv_into = _recv_into
    RB._TimedWire.send = _send

    def undo():
        RB.Board._cs_high = cs_high
        RB.Board._exchange = exchange
        RB._TimedWire.recv_into = recv_into
        RB._TimedWire.send = send
    return undo


def pings(log, count):
    """[[(us after the request, first bytes hex or 'reply'), ...]] for the last ``count`` requests."""
    starts = [i for i, e in enumerate(log) if e[0] == "request"]
    out = []
    for i in starts[-count:]:
        t0 = log[i][1]
        row = []
        for kind, t, head in log[i + 1:]:
            if kind == "request":
                break
            if kind == "reply":
                row.append((round((t - t0) / 1000.0, 1), "reply"))
                break
            if head:  # (a transaction's end; an empty one only releases chip select)
                row.append((round((t - t0) / 1000.0, 1), head.hex()))
        out.append(row)
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pings", type=int, default=10)
    ap.add_argument("--full", action="store_true", help="the 300 kB bench instead of --quick")
    ap.add_argument("--out", default="/tmp/ping_timeline_bench.json", help="bench_board's own JSON")
    a = ap.parse_args(argv)
    log = []
    undo = watch(log)
    try:
        rc = bb.main(["--runtimes", "rp2040-micropython", "--out", a.out] + ([] if a.full else ["--quick"]))
    finally:
        undo()
    for row in pings(log, a.pings):
        print("  ".join("%7.1f %s" % (t, h) for t, h in row))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
