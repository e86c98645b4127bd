"""Impairment soak over a real wire: the kernel's TCP talks to the
virtual board through tools/robust/harden.py's frame bridge, which loses 2%,
duplicates 1%, reorders 2% and corrupts 0.5% of the frames (tc netem is not
available here).  Three echo clients SHA-256-check 100 kB transfers and a
chargen reader checks RFC 864's pattern for a few seconds; not one byte may be
wrong, the stack must count every frame and raise nothing.  TAP under CPython,
veth + packet NIC under MicroPython.  `make harden` runs it for 60 s."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
sys.path.insert(0, os.path.join(HERE, "helpers"))

import netharness  # noqa: E402
import harden  # noqa: E402


@pytest.mark.parametrize("runtime", netharness.RUNTIMES)
def test_soak_through_impairing_bridge(runtime):
    why = netharness.skip_reason(runtime, tools=("ping", "ethtool"))
    if why:
        pytest.skip(why)
    row = harden.soak_tap(runtime, 12)
    netharness.record("harden_soak_%s" % runtime, {"row": row.cells(), "detail": row.detail})
    assert row.ok, row.cells()
    c = row.detail["clients"]
    assert c["echo_ok"] >= 3 and c["echo_bad"] == 0 and c["chargen_bad"] == 0, c
    b = row.detail["bridge"]
    assert b["lost"] > 0 and b["corrupted"] > 0 and b["reordered"] > 0, b  # the impairments happened
