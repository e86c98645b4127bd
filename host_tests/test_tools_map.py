"""tools/ is grouped by purpose: toolpath.GROUPS names every folder holding
modules, module names stay unique across folders (they are imported by bare
name), tools/README.md names every file, and the portable modules import
through toolpath on both runtimes."""
import os
import subprocess
import sys

import pytest
import toolpath  # tools/toolpath.py (conftest puts tools/ on sys.path)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOOLS = os.path.join(ROOT, "tools")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
# imported by the host_tests/mp suites or boards under MicroPython
PORTABLE = ("w5500_emu", "w5100s_emu", "services", "httpstatus", "memreport", "nullnic", "xorshift")


def _groups():
    return sorted(d for d in os.listdir(TOOLS) if os.path.isdir(os.path.join(TOOLS, d)) and not d.startswith("__"))


def _modules(group):
    return sorted(f[:-3] for f in os.listdir(os.path.join(TOOLS, group)) if f.endswith(".py"))


def test_toolpath_names_every_folder_that_holds_modules():
    with_modules = [g for g in _groups() if _modules(g)]
    assert sorted(toolpath.GROUPS) == with_modules
    for d in toolpath.dirs(ROOT):
        assert os.path.isdir(d), d


def test_module_names_are_unique_across_tools_folders():
    seen = {}
    for g in _groups():
        for m in _modules(g):
            assert m not in seen, "tools/%s/%s.py and tools/%s/%s.py: one shadows the other" % (g, m, seen[m], m)
            seen[m] = g
    assert "toolpath" not in seen


def test_readme_names_every_file_under_its_folder():
    with open(os.path.join(TOOLS, "README.md")) as f:
        text = f.read()
    sections = {}
    for part in text.split("\n## ")[1:]:
        sections[part.split("/", 1)[0]] = part
    assert sorted(sections) == _groups()
    for name in os.listdir(TOOLS):
        if os.path.isfile(os.path.join(TOOLS, name)) and name != "README.md":
            assert "`%s`" % name in text.split("\n## ")[0], "tools/README.md: tools/%s is not listed" % name
    for g in _groups():
        for name in sorted(os.listdir(os.path.join(TOOLS, g))):
            if name in ("__pycache__", "node_modules"):
                continue
            shown = name + "/" if os.path.isdir(os.path.join(TOOLS, g, name)) else name
            assert "`%s`" % shown in sections[g], "tools/README.md: tools/%s/%s is not listed" % (g, shown)


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_portable_modules_import_through_toolpath(runtime):
    code = ("import sys; sys.path.append('tools'); import toolpath; toolpath.add('.'); "
            "sys.path.append('lib'); import %s; print('ok')" % ", ".join(PORTABLE))
    if runtime == "micropython":
        if not os.path.exists(MICROPYTHON):
            pytest.skip("micropython not installed (run make setup)")
        cmd = [MICROPYTHON, "-c", code]
    else:
        cmd = [sys.executable, "-c", code]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("MICROPYPATH", None)
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stdout + p.stderr
