"""The IPv4 identification field against nmap, on the virtual board in its own
namespace (192.0.2.0/24), both runtimes: nmap's ipidseq script (the check an
idle scan starts with) must not find an incrementing sequence.  Every datagram
the stack sends is atomic (DF set), so RFC 6864 4.1 lets the ID be anything:
it is 0, which nmap reports as "All zeros" (TI=Z CI=Z II=Z under -O)."""
import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
sys.path.insert(0, os.path.join(HERE, "helpers"))

import netharness  # noqa: E402
import harden  # noqa: E402


@pytest.mark.parametrize("runtime", netharness.RUNTIMES)
def test_nmap_ipidseq_finds_no_incremental_ip_id(runtime):
    why = netharness.skip_reason(runtime, tools=("nmap", "curl"))
    if why:
        pytest.skip(why)
    board = harden.Board(runtime)
    try:
        # port 7 open (echo), 81 closed: SYN,ACK and RST answers are both probed
        p = board.run(["nmap", "-n", "-Pn", "-p", "7,81", "--max-retries", "1",
                       "--script", "ipidseq", harden.STACK_IP], timeout=120)
        m = re.search(r"ipidseq: (.+)", p.stdout)
        assert m, p.stdout[-1500:] + p.stderr[-500:]
        verdict = m.group(1).strip()
        netharness.record("ipidseq_%s" % runtime, {"ipidseq": verdict})
        assert "Incremental" not in verdict, p.stdout[-1500:]
        assert verdict == "All zeros", p.stdout[-1500:]
    finally:
        board.close()
