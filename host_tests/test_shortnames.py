"""tools/deploy/shortnames.py: the board set's short private names (make ... NAMES=1)."""
import os
import subprocess
import sys

import pytest
import shortnames  # tools/deploy/shortnames.py (conftest puts the tools folders on sys.path)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")

# A package that uses private names across modules, in strings, from outside
# modules and in the ways Python binds names.
PKG = {
    "tcpip/__init__.py": '"""Docstring naming _helper stays."""\nfrom tcpip.a import Thing, _helper\n',
    "tcpip/a.py": (
        "import sys as _sys\n"
        "_LIMIT = 3  # comment naming _LIMIT stays\n"
        "\n"
        "\n"
        "def _helper(_count=2):\n"
        "    return [_item * _LIMIT for _item in range(_count)]\n"
        "\n"
        "\n"
        "class Thing:\n"
        "    _shared = 5\n"
        "\n"
        "    def __init__(self):\n"
        "        self._value = 1\n"
        "        self._by_name = 7  # getattr below uses the name as text\n"
        "\n"
        "    def _bump(self, by):\n"
        "        self._value += by + self._shared\n"
        "        return self._value\n"
        "\n"
        "    def run(self):\n"
        "        try:\n"
        "            raise ValueError('x')\n"
        "        except ValueError as _err:\n"
        "            kind = type(_err).__name__\n"
        "        return (self._bump(1), getattr(self, '_by_name'), kind,\n"
        "                _sys.__name__, hasattr(_sys, '_no_such_thing'))\n"
    ),
    "tcpip/b.py": (
        "from tcpip.a import Thing, _helper\n"
        "from tcpip import a as _a_mod\n"
        "\n"
        "\n"
        "def main():\n"
        "    t = Thing()\n"
        "    t._bump(_a_mod._LIMIT)\n"
        "    return _helper(), _helper(_count=3), t.run(), t._value\n"
    ),
}


def _write(root, files):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def _run(python, lib):
    code = "import sys\nsys.path.insert(0, %r)\nimport tcpip.b\nprint(tcpip.b.main())\n" % str(lib)
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_renamed_package_behaves_the_same_and_keeps_its_layout(tmp_path):
    _write(tmp_path / "lib", PKG)
    mapping = shortnames.build(str(tmp_path / "lib"), str(tmp_path / "out"),
                               map_path=str(tmp_path / "names.map"))
    for name in ("_helper", "_LIMIT", "_value", "_bump", "_shared", "_count", "_item", "_err", "_sys", "_a_mod"):
        assert name in mapping, name
        assert len(mapping[name]) < len(name)
    assert "_by_name" not in mapping  # named in a string (getattr)
    assert "_no_such_thing" not in mapping  # not defined in the package
    assert len(set(mapping.values())) == len(mapping)
    for rel, text in PKG.items():
        new = (tmp_path / "out" / rel).read_text()
        assert len(new.splitlines()) == len(text.splitlines())
        for name in mapping:
            for line in new.splitlines():
                code = line.split("#")[0]
                if '"""' not in code:
                    assert name + "(" not in code and "." + name not in code, (rel, line)
    assert "comment naming _LIMIT stays" in (tmp_path / "out" / "tcpip/a.py").read_text()
    assert '"""Docstring naming _helper stays."""' in (tmp_path / "out" / "tcpip/__init__.py").read_text()
    assert _run(sys.executable, tmp_path / "out") == _run(sys.executable, tmp_path / "lib")
    back = shortnames.read_map(str(tmp_path / "names.map"))
    assert back == {v: k for k, v in mapping.items()}
    assert shortnames.unmap("in %s: %s.%s" % (mapping["_bump"], "Thing", mapping["_value"]), back) \
        == "in _bump: Thing._value"


def test_renamed_package_behaves_the_same_on_micropython(tmp_path):
    if not os.path.exists(MICROPYTHON):
        pytest.skip("no MicroPython unix port in .venv (make setup)")
    _write(tmp_path / "lib", PKG)
    shortnames.build(str(tmp_path / "lib"), str(tmp_path / "out"))
    assert _run(MICROPYTHON, tmp_path / "out") == _run(MICROPYTHON, tmp_path / "lib")


def test_short_names_never_take_a_name_that_stays():
    # Short names of 3 characters or fewer stay as they are; more than 52
    # names to rename reach the 3-character short names, among them the ones
    # that stay (_ab, _ac): renamed and kept names must not meet.
    lines = ["_ab = 1", "_ac = 2", "_zz = 3"]
    lines += ["_long_name_%02d = %d" % (i, i) for i in range(70)]
    lines += ["print(_ab, _ac, _zz, %s)" % ", ".join("_long_name_%02d" % i for i in range(70))]
    text = "\n".join(lines) + "\n"
    mapping = shortnames.plan({"tcpip/x.py": text})
    assert not {"_ab", "_ac", "_zz"} & set(mapping)
    assert not {"_ab", "_ac", "_zz"} & set(mapping.values())
    assert len(set(mapping.values())) == len(mapping) == 70
    ns_before, ns_after = {}, {}
    exec(compile(text.replace("print(", "out = ("), "x", "exec"), ns_before)
    exec(compile(shortnames.rename(text, mapping).replace("print(", "out = ("), "x", "exec"), ns_after)
    assert ns_before["out"] == ns_after["out"]


def test_keep_and_external_names_stay():
    text = ("import _thread\nfrom micropython import _outside\nfrom tcpip.y import _inside\n"
            "class C:\n    def _read8(self, _reg):\n        return self._reg_cache\n"
            "    def __mangled(self):\n        return _thread, _outside, _inside\n"
            "_inside = 1\n")
    mapping = shortnames.plan({"tcpip/x.py": text})
    assert "_thread" not in mapping  # a module imported by name
    assert "_outside" not in mapping  # imported from outside tcpip
    assert "_read8" not in mapping  # KEEP: the board tests call nic._read8
    assert "_reg_cache" not in mapping  # never defined in the package
    assert "_inside" in mapping and "_reg" in mapping
    assert not any(n.startswith("__") for n in mapping)


def test_lib_tcpip_renames_to_valid_python_with_the_same_lines(tmp_path):
    mapping = shortnames.build(os.path.join(ROOT, "lib"), str(tmp_path))
    assert len(mapping) > 400
    for name in shortnames.KEEP + ("_socket_idle_poller",):  # KEEP; a getattr string in socket.py
        assert name not in mapping
    for rel in shortnames.sources(os.path.join(ROOT, "lib")):
        with open(os.path.join(ROOT, "lib", rel)) as f:
            old = f.read()
        new = (tmp_path / rel).read_text()
        compile(new, rel, "exec")
        assert len(new.splitlines()) == len(old.splitlines()), rel
        assert len(new) <= len(old), rel


def test_make_board_mpy_names_1_compiles_the_renamed_copy(tmp_path):
    mpy = tmp_path / "mpy"
    p = subprocess.run(["make", "-s", "--no-print-directory", "-f", "tools/deploy/board.mk", "board-mpy",
                        "BOARD=w5500_evb_pico", "NAMES=1", "MPY_DIR=%s" % mpy,
                        "BOARD_MPY_DIR=%s" % (tmp_path / "board")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    back = shortnames.read_map(str(mpy / "names.map"))
    assert (tmp_path / "board" / "names.map").read_bytes() == (mpy / "names.map").read_bytes()
    data = (tmp_path / "board" / "tcpip" / "tcp.mpy").read_bytes()
    short = [s for s, name in back.items() if name == "_sync_input"]
    assert short and b"_sync_input" not in data and short[0].encode() in data
    assert b"lib/tcpip/tcp.py" in data  # the file name a traceback shows is lib/tcpip's
