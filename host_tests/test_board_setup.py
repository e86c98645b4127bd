"""make setup's emulated-board part: rp2040js pinned exactly in tools/emu/rp2040's
lockfile (installed with npm ci, node_modules out of git), littlefs-python
pinned, the Debian tools listed, and a second run with nothing to do."""
import json
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RP2040 = os.path.join(ROOT, "tools", "emu", "rp2040")
RP2040JS = "1.4.1"


def _json(path):
    with open(path) as f:
        return json.load(f)


def test_rp2040js_is_pinned_exactly_in_package_json_and_lockfile():
    pkg = _json(os.path.join(RP2040, "package.json"))
    assert pkg["dependencies"]["rp2040js"] == RP2040JS  # no ^ or ~: npm ci installs this one
    lock = _json(os.path.join(RP2040, "package-lock.json"))
    entry = lock["packages"]["node_modules/rp2040js"]
    assert entry["version"] == RP2040JS and entry["integrity"].startswith("sha512-")
    assert lock["packages"][""]["dependencies"]["rp2040js"] == RP2040JS


def test_node_modules_stay_out_of_git():
    p = subprocess.run(["git", "check-ignore", "-q", "tools/emu/rp2040/node_modules/rp2040js/package.json"],
                       cwd=ROOT, timeout=30)
    assert p.returncode == 0


def test_littlefs_python_is_pinned():
    with open(os.path.join(ROOT, "requirements-board.txt")) as f:
        pins = [x.split("#")[0].strip() for x in f]
    assert any(x.startswith("littlefs-python==") for x in pins)


def test_setup_installs_node_npm_and_the_fat_tools_from_debian():
    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read()
    line = [x for x in text.splitlines() if x.startswith("BOARD_SYSTEM_TOOLS :=")][0]
    for pair in ("node:nodejs", "npm:npm", "mkfs.vfat:dosfstools", "mcopy:mtools"):
        assert pair in line.split()


def test_installed_rp2040js_is_the_pinned_one_and_setup_has_nothing_left_to_do():
    installed = os.path.join(RP2040, "node_modules", "rp2040js", "package.json")
    if not os.path.exists(installed) or shutil.which("node") is None:
        pytest.skip("rp2040js not installed (make setup runs npm ci in tools/emu/rp2040)")
    assert _json(installed)["version"] == RP2040JS
    # make -q: exit 0 when the stamp is newer than the lockfile (a second setup skips npm ci)
    p = subprocess.run(["make", "-q", "tools/emu/rp2040/node_modules/.package-lock.json"], cwd=ROOT,
                       capture_output=True, timeout=60)
    assert p.returncode == 0
