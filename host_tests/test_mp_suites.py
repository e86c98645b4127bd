"""Run every host_tests/mp/*.py suite under CPython and under the MicroPython unix
port, and once more under MicroPython on a clock that wraps at 2**29 (CircuitPython's
``supervisor.ticks_ms``) with the virtual clocks starting 1 s before the wrap."""
import glob
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
SUITES = sorted(glob.glob(os.path.join(HERE, "mp", "test_*.py")))


def _run(runtime, suite):
    env = dict(os.environ)
    path = os.path.join(ROOT, "lib") + ":" + os.path.join(ROOT, "tools") + ":" + os.path.join(HERE, "helpers")
    if runtime.startswith("micropython"):
        if not os.path.exists(MICROPYTHON):
            pytest.skip("micropython not installed (run make setup)")
        clock = ["--ticks-period", str(1 << 29)] if runtime.endswith("-ticks29") else []
        cmd = [MICROPYTHON, "-X", "heapsize=4M", os.path.join(HERE, "helpers", "mprun.py")] + clock + [suite]
        env["MICROPYPATH"] = path + ":.frozen"
    else:
        cmd = [sys.executable, os.path.join(HERE, "helpers", "mprun.py"), suite]
        env["PYTHONPATH"] = path
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 0, "%s %s failed:\n%s" % (runtime, os.path.basename(suite), out[-6000:])
    assert " passed, 0 failed" in out


@pytest.mark.parametrize("suite", SUITES, ids=[os.path.basename(s)[:-3] for s in SUITES])
@pytest.mark.parametrize("runtime", ["cpython", "micropython", "micropython-ticks29"])
def test_suite(runtime, suite):
    _run(runtime, suite)
