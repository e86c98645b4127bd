"""tools/measure/hotpath.py measures a TCP segment's cost under callgrind (make hotpath).

A short run checks that it reports every figure, and keeps a bound on the
heap-allocated MicroPython call frames per 1460 B of payload delivered (36
when this was written, 24 with header prediction in Tcp.input; the count per
segment moves with the ring sizes, which
set the segments' sizes; see tools/measure/frames.py): an instruction
count is exact, so a change that adds big frames to the per-segment path fails
here.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MP32 = os.path.join(ROOT, ".build", "mp32", "micropython")
MAX_HEAP_FRAMES_PER_FULL_SEGMENT = 27


def test_hotpath_reports_instructions_and_heap_frames(tmp_path):
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (make setup installs it as root)")
    runtimes = "cpython,mp64" + (",mp32" if os.path.exists(MP32) else "")
    out = tmp_path / "hotpath.json"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "measure", "hotpath.py"), "--segments", "60",
                        "--runtimes", runtimes, "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(out.read_text())
    assert r["segments"] == 60
    assert 50000 < r["cpython"]["instructions_per_segment"] < 5000000, r["cpython"]
    assert r["cpython"]["cprofile_top"] and "tcpip" in json.dumps(r["cpython"]["cprofile_top"])
    for rt in runtimes.split(",")[1:]:
        x = r[rt]
        assert 100000 < x["instructions_per_segment"] < 20000000, (rt, x)
        assert 0 < x["heap_frames_per_segment"], (rt, x)
        assert 0 < x["heap_frames_per_full_segment"] <= MAX_HEAP_FRAMES_PER_FULL_SEGMENT, (rt, x)
        assert x["payload_per_segment"] > 0, (rt, x)
        assert 0 <= x["gc_alloc_share"] < 1, (rt, x)
