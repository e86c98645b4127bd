"""Hostile traffic against the virtual board, both runtimes: the
bounded (--quick) versions of tools/robust/harden.py's attacks -- nmap -sS/-sT/-sU
(and -sV/-O under CPython), SYN floods (scapy, random sources and ports in
192.0.2.0/24; hping3), RFC 5961 blind attacks on a live kernel connection, an
ARP flood, ping -f with fragmented pings, odd IPv4 and socket exhaustion.
Every row must say "nothing lost": the stack answered as designed, counted
every frame, raised nothing, kept its pool and served echo right after.
Namespaces are named hard*; everything runs in 192.0.2.0/24."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
sys.path.insert(0, os.path.join(HERE, "helpers"))

import netharness  # noqa: E402
import harden  # noqa: E402

SLOW_SCANS = ("nmap-sV", "nmap-O")  # 10-25 s each: CPython here, both runtimes in make harden


@pytest.mark.parametrize("runtime", netharness.RUNTIMES)
def test_hostile_traffic_nothing_lost(runtime):
    why = netharness.skip_reason(runtime, tools=("nmap", "hping3", "curl", "ping"))
    if why:
        pytest.skip(why)
    names = [n for n, _ in harden.ATTACKS if runtime == "cpython" or n not in SLOW_SCANS]
    rows = harden.run_attacks(runtime, names, quick=True)
    netharness.record("harden_%s" % runtime, {"rows": [r.cells() for r in rows]})
    table = harden.table(rows, markdown=False)
    assert len(rows) == len(names) + 1, table  # every attack ran, plus the final stats row
    bad = [r.cells() for r in rows if not r.ok]
    assert not bad, "attacks where something was lost:\n" + table
