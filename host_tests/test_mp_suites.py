"""Run every scenario of the host_tests/mp suites under CPython and under the
MicroPython unix port, and once more under MicroPython on a clock that wraps at
2**29 (CircuitPython's ``supervisor.ticks_ms``) with the virtual clocks starting
1 s before the wrap.

Each scenario is its own item (``pytest -k zero_window`` runs one; a failure
names it), while each suite still runs in one interpreter per runtime
(helpers/mpsuite.py).
"""
import os
import sys

import pytest

import mpsuite

MICROPYTHON = os.path.join(mpsuite.ROOT, ".venv", "bin", "micropython")
CASES = mpsuite.cases()


def _command(runtime):
    if runtime.startswith("micropython"):
        if not os.path.exists(MICROPYTHON):
            pytest.skip("micropython not installed (run make setup)")
        clock = ["--ticks-period", str(1 << 29)] if runtime.endswith("-ticks29") else []
        return [MICROPYTHON, "-X", "heapsize=4M"], {}, clock
    return [sys.executable], {}, []


@pytest.fixture(scope="module")
def runs(request):
    return mpsuite.Runs(_command, mpsuite.selection(request))


@pytest.mark.parametrize("case", CASES, ids=[mpsuite.case_id(c) for c in CASES])
@pytest.mark.parametrize("runtime", ["cpython", "micropython", "micropython-ticks29"])
def test_scenario(runtime, case, runs):
    runs.check(runtime, *case)
