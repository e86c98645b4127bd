"""Static check: the board-facing code type-checks against the boards' own APIs.

- MicroPython paths (nic/macraw.py, nic/w5500*.py, nic/w5100s.py, boards/*.py for
  MicroPython, firmware/main.py, firmware/netboot.py) against micropython-rp2-stubs (machine, micropython, rp2)
  with micropython-stdlib-stubs as the standard library.
- CircuitPython paths (nic/w5500_busio.py's BusioSPI, the Feather board,
  firmware/code.py) against circuitpython-stubs (busio, digitalio, board).

mypy runs with ``--no-site-packages`` and a search path built from just the
stub packages of the runtime in question, so a module that does not exist on
that runtime (``machine`` on CircuitPython, ``busio`` on MicroPython) is an
error.  The stubs' own internal errors are ignored (they are not ours).
The two ``test_catches_*`` cases prove the check bites: a misspelled
``machine.SPI`` attribute and a wrong ``busio.SPI`` call must fail.
"""
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SITE = sysconfig.get_paths()["purelib"]
MYPY = [sys.executable, "-m", "mypy"]

MP_FILES = ["lib/tcpip/nic/macraw.py", "lib/tcpip/nic/w5500.py", "lib/tcpip/nic/w5500_spi.py",
            "lib/tcpip/nic/w5100s.py",
            "boards/w5500_evb_pico.py", "boards/w5500_evb_pico2.py", "boards/w5100s_evb_pico.py",
            "boards/pico_wiznet_ethernet_hat.py", "firmware/main.py", "firmware/netboot.py"]
CP_FILES = ["lib/tcpip/nic/w5500_busio.py", "boards/feather_rp2040_ethernet_featherwing.py",
            "firmware/code.py"]


def _dist_top_levels(dist_prefix):
    """Top-level names installed by the distribution whose dist-info starts with dist_prefix."""
    for d in os.listdir(SITE):
        if d.startswith(dist_prefix) and d.endswith(".dist-info"):
            with open(os.path.join(SITE, d, "RECORD")) as f:
                names = {line.split(",")[0].split("/")[0] for line in f if line.strip()}
            return sorted(n for n in names if not n.endswith(".dist-info") and
                          n not in ("__pycache__", "LICENSE.md", "README.md", "pyproject.toml",
                                    "..", "stdlib", "stubs") and not n.startswith(".."))
    pytest.fail("%s is not installed (pip install -r requirements-board.txt)" % dist_prefix)


def _stub_tree(tmp, runtime):
    """A directory of symlinks to one runtime's stubs; returns (mypy_path, typeshed, stub_modules)."""
    path = os.path.join(tmp, runtime, "path")
    os.makedirs(path)
    mods = []
    if runtime == "micropython":
        entries = _dist_top_levels("micropython_rp2_stubs") + ["_mpy_shed"]
        for e in entries:
            os.symlink(os.path.join(SITE, e), os.path.join(path, e))
            mods.append(e[:-4] if e.endswith(".pyi") else e)
        typeshed = os.path.join(tmp, runtime, "typeshed")
        os.makedirs(os.path.join(typeshed, "stubs"))
        os.symlink(os.path.join(SITE, "stdlib"), os.path.join(typeshed, "stdlib"))
        import mypy
        ext = os.path.join(os.path.dirname(mypy.__file__), "typeshed", "stubs", "mypy-extensions")
        os.symlink(ext, os.path.join(typeshed, "stubs", "mypy-extensions"))
    else:
        for e in _dist_top_levels("circuitpython_stubs"):
            name = e[:-6] if e.endswith("-stubs") else e
            if name.endswith(".pyi"):
                name = name[:-4]
            os.symlink(os.path.join(SITE, e), os.path.join(path, name if os.path.isdir(os.path.join(SITE, e)) else e))
            mods.append(name)
        typeshed = None
    return path, typeshed, mods


def _mypy(tmp_path, runtime, files, extra_dirs=()):
    stubs, typeshed, mods = _stub_tree(str(tmp_path), runtime)
    cfg = os.path.join(str(tmp_path), runtime + ".ini")
    quiet = ",".join(sorted(set(m + ".*" for m in mods) | set(mods)))
    with open(cfg, "w") as f:
        f.write("[mypy]\npython_version = 3.12\ncheck_untyped_defs = True\n"
                "follow_imports = silent\nno_site_packages = True\n"
                "warn_unused_configs = False\nimplicit_optional = True\n")
        if typeshed:
            f.write("custom_typeshed_dir = %s\n" % typeshed)
        f.write("\n[mypy-%s]\nignore_errors = True\n" % quiet)
    env = dict(os.environ)
    env["MYPYPATH"] = ":".join([stubs, os.path.join(ROOT, "lib"), os.path.join(ROOT, "boards"),
                                os.path.join(ROOT, "firmware")] + list(extra_dirs))
    cmd = MYPY + ["--config-file", cfg, "--cache-dir", os.path.join(str(tmp_path), "cache")] + files
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout + p.stderr


def _errors_except_other_runtime(out, other_modules):
    # netboot.py's board_functions holds both
    # runtimes' pins; each runtime lacks the other's modules, and that import
    # is the one expected complaint in those files.  (netboot.py is checked
    # against MicroPython only: its Background poller is MicroPython's;
    # test_board_deploy.py runs its CircuitPython pin path.)
    lines = [ln for ln in out.splitlines() if ": error:" in ln]
    return [ln for ln in lines if not (("w5500_spi.py" in ln or "netboot.py" in ln) and
                                       "import-not-found" in ln and
                                       any('"%s"' % m in ln for m in other_modules))]


def test_micropython_paths_typecheck_against_rp2_stubs(tmp_path):
    rc, out = _mypy(tmp_path, "micropython", MP_FILES)
    assert ("checked %d source files" % len(MP_FILES) in out
            or "no issues found in %d source files" % len(MP_FILES) in out), out
    assert not _errors_except_other_runtime(out, ("busio", "digitalio", "board", "microcontroller")), out


def test_circuitpython_paths_typecheck_against_circuitpython_stubs(tmp_path):
    rc, out = _mypy(tmp_path, "circuitpython", CP_FILES)
    assert ("checked %d source files" % len(CP_FILES) in out
            or "no issues found in %d source files" % len(CP_FILES) in out), out
    assert not _errors_except_other_runtime(out, ("machine",)), out


def _mutant(tmp_path, src, old, new):
    """A copy of src with one edit, in a folder of its own; returns its path."""
    d = os.path.join(str(tmp_path), "mutant")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(ROOT, src)) as f:
        text = f.read()
    assert old in text, old
    dst = os.path.join(d, os.path.basename(src).replace(".py", "_mutant.py"))
    with open(dst, "w") as f:
        f.write(text.replace(old, new, 1))
    return dst


def test_catches_misspelled_machine_spi_attribute(tmp_path):
    bad = _mutant(tmp_path, "lib/tcpip/nic/w5500_spi.py", "firstbit=machine.SPI.MSB",
                  "firstbit=machine.SPI.MSBFIRST")
    rc, out = _mypy(tmp_path, "micropython", [bad])
    assert rc != 0 and "MSBFIRST" in out, out


def test_catches_misspelled_machine_class(tmp_path):
    bad = _mutant(tmp_path, "lib/tcpip/nic/w5500_spi.py", "self._spi = machine.SPI(",
                  "self._spi = machine.SPII(")
    rc, out = _mypy(tmp_path, "micropython", [bad])
    assert rc != 0 and "SPII" in out, out


def test_catches_wrong_busio_call(tmp_path):
    bad = _mutant(tmp_path, "lib/tcpip/nic/w5500_busio.py",
                  "self._spi.readinto(data)  # clocks out 0x00 while reading (the busio default)",
                  "self._spi.readinto(data, fill=0)")
    rc, out = _mypy(tmp_path, "circuitpython", [bad])
    assert rc != 0 and "fill" in out, out


def test_catches_machine_on_circuitpython(tmp_path):
    rc, out = _mypy(tmp_path, "circuitpython", ["firmware/main.py", "firmware/netboot.py"])
    assert rc != 0 and '"machine"' in out, out


@pytest.fixture(autouse=True)
def _need_mypy():
    if shutil.which("mypy") is None and not os.path.exists(os.path.join(os.path.dirname(sys.executable), "mypy")):
        pytest.fail("mypy is not installed (pip install -r requirements-board.txt)")
