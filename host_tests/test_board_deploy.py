"""Deployment pieces: board modules, make mpy / flash (dry run), package.json, manifest.py."""
import glob
import importlib
import importlib.util
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for _p in (os.path.join(ROOT, "lib"), os.path.join(ROOT, "firmware")):  # a board file imports netboot
    if _p not in sys.path:
        sys.path.insert(0, _p)
SOURCES = sorted(os.path.relpath(p, ROOT) for p in
                 glob.glob(os.path.join(ROOT, "lib", "tcpip", "**", "*.py"), recursive=True))

# docs/w5500.md section 7.
EVB_PINS = {"SPI_ID": 0, "SCK": 18, "MOSI": 19, "MISO": 16, "CS": 17, "RST": 20, "INT": 21}
BOARDS = {
    "w5500_evb_pico": dict(EVB_PINS, RUNTIME="micropython", CHIP="W5500"),
    "w5500_evb_pico2": dict(EVB_PINS, RUNTIME="micropython", CHIP="W5500"),
    "pico_wiznet_ethernet_hat": dict(EVB_PINS, RUNTIME="micropython", CHIP="W5100S"),
    "w5100s_evb_pico": dict(EVB_PINS, RUNTIME="micropython", CHIP="W5100S"),
    "feather_rp2040_ethernet_featherwing": dict(RUNTIME="circuitpython", CHIP="W5500", SCK="SCK",
                                                MOSI="MOSI", MISO="MISO", CS="D10", RST=None,
                                                INT=None),
}


def _load_board(name):
    spec = importlib.util.spec_from_file_location("board_" + name,
                                                  os.path.join(ROOT, "boards", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # board-only imports are inside netboot.board_functions
    return mod


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_board_module_pins_match_reference(name):
    mod = _load_board(name)
    for key, want in BOARDS[name].items():
        assert getattr(mod, key) == want, (name, key)
    assert mod.NAME and callable(mod.nic) and callable(mod.spi) and callable(mod.default_mac)


def test_ethernet_hat_board_is_w5100s_and_rejects_unknown_chips():
    mod = _load_board("pico_wiznet_ethernet_hat")
    assert mod.CHIP == "W5100S"
    with pytest.raises(OSError, match="W5300"):
        mod.nic(b"\x02\x00\x00\x00\x00\x02", chip="W5300")


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_board_file_is_its_pin_table_and_netboot_builds_spi_nic_and_mac_from_it(name, monkeypatch):
    import types

    import tcpip.nic.w5500_spi as glue
    import tcpip.nic.w5500_busio as busio_glue

    made = []
    for mod_, cls in ((glue, "MachineSPI"), (busio_glue, "BusioSPI")):
        monkeypatch.setattr(mod_, cls, lambda *a, _cls=cls, **kw: made.append((_cls, a, kw)) or "spi")
    uid = b"\x10\x11\x12\x13\x14\x15\x16\x17"
    monkeypatch.setitem(sys.modules, "machine", types.SimpleNamespace(unique_id=lambda: uid))
    monkeypatch.setitem(sys.modules, "microcontroller", types.SimpleNamespace(cpu=types.SimpleNamespace(uid=uid)))
    monkeypatch.setitem(sys.modules, "board", types.SimpleNamespace(SCK="pSCK", MOSI="pMOSI", MISO="pMISO",
                                                                     D10="pD10"))
    mod = _load_board(name)
    pins = BOARDS[name]
    assert mod.spi() == "spi" and mod.spi(1000) == "spi"
    if pins["RUNTIME"] == "micropython":
        args = (pins["SPI_ID"], pins["SCK"], pins["MOSI"], pins["MISO"], pins["CS"])
        assert made == [("MachineSPI", args, dict(rst=pins["RST"], int_pin=pins["INT"], baudrate=mod.BAUDRATE)),
                        ("MachineSPI", args, dict(rst=pins["RST"], int_pin=pins["INT"], baudrate=1000))]
    else:
        args = ("pSCK", "pMOSI", "pMISO", "pD10")
        assert made[0] == ("BusioSPI", args, dict(rst=None, int_pin=None, baudrate=mod.BAUDRATE))
    assert mod.default_mac() == b"\x02\x13\x14\x15\x16\x17"
    # the chip's driver on the SPI adapter the module has when nic() runs
    opened = []
    driver = "tcpip.nic.w5100s" if pins["CHIP"] == "W5100S" else "tcpip.nic.w5500"
    monkeypatch.setattr(importlib.import_module(driver), pins["CHIP"],
                        lambda spi, mac, **kw: opened.append((spi, mac, kw)) or "nic")
    mod.spi = lambda baudrate=None: "patched spi"
    assert mod.nic(b"\x02\x00\x00\x00\x00\x02", block_ipv6=True) == "nic"
    assert opened == [("patched spi", b"\x02\x00\x00\x00\x00\x02", {"block_ipv6": True})]
    with pytest.raises(OSError, match="W5300"):
        mod.nic(b"\x02\x00\x00\x00\x00\x02", chip="W5300")


def _make(*args, **kw):
    return subprocess.run(["make", "--no-print-directory", "-f", "tools/deploy/board.mk"] + list(args),
                          cwd=ROOT, capture_output=True, text=True, timeout=600, **kw)


HOST_ONLY = {"lib/tcpip/nic/tap.py", "lib/tcpip/nic/packet.py", "lib/tcpip/nic/link.py"}
# tls.py is TLS for the host runtimes (a board's runtime has its own ssl)
# the viper sources (wire/echo_fast.py, the texts wire/native.py and
# wire/native_emit.py) go to no board as such: a MicroPython board gets them as
# machine code (NATIVE), a CircuitPython board not at all
VIPER = ["lib/tcpip/wire/echo_fast.py", "lib/tcpip/wire/native.py", "lib/tcpip/wire/native_emit.py"]
STACK = [s for s in SOURCES if not s.startswith("lib/tcpip/nic/") and s != "lib/tcpip/tls.py"
         and s not in VIPER] + ["lib/tcpip/nic/__init__.py"]
NATIVE = ["tcpip/wire/echo_native.mpy", "tcpip/wire/native_mc.mpy", "tcpip/wire/native_emit_mc.mpy",
          "tcpip/wire/native_ack_mc.mpy"]
# What each board can run beyond the stack: its chip's driver(s), the MACRAW
# base (and its bounce buffer, loaded on MicroPython only) and the SPI glue
# (w5500_busio: CircuitPython's adapter, on its boards only).
BOARD_NICS = {
    "w5500_evb_pico": ["bounce", "macraw", "w5500", "w5500_spi"],
    "w5500_evb_pico2": ["bounce", "macraw", "w5500", "w5500_spi"],
    "feather_rp2040_ethernet_featherwing": ["bounce", "macraw", "w5500", "w5500_busio", "w5500_spi"],
    "w5100s_evb_pico": ["bounce", "macraw", "w5100s", "w5500_spi"],
    "pico_wiznet_ethernet_hat": ["bounce", "macraw", "w5100s", "w5500", "w5500_spi"],  # chip="W5500" too
}


# make flash leaves these off (a stub in their place) unless EXTRAS=1, and
# dhcp too when CONFIG is a static address
EXTRAS = ["lib/tcpip/tracer.py", "lib/tcpip/aio.py"]
DHCP = ["lib/tcpip/dhcp.py", "lib/tcpip/wire/dhcp.py"]
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


def _board_set(name, extras=False, static=False):
    left_off = set() if extras else set(EXTRAS + (DHCP if static else []))
    if BOARDS[name]["RUNTIME"] == "circuitpython":
        left_off.add("lib/tcpip/wire/viper.py")  # (the viper code's loader: no viper there)
    return sorted(s for s in STACK + ["lib/tcpip/nic/%s.py" % m for m in BOARD_NICS[name]]
                  if s not in left_off)


def _stubs(static=False):
    return ["tcpip/tracer.mpy", "tcpip/aio.mpy"] + (["tcpip/dhcp.mpy"] if static else [])


def test_make_mpy_compiles_every_lib_file_for_armv6m(tmp_path):
    p = _make("mpy", "MPY_DIR=%s" % tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    for src in SOURCES:
        out = tmp_path / (src[len("lib/"):-3] + ".mpy")
        data = out.read_bytes()
        assert data[0:1] == b"M" and data[1] == 6, src  # .mpy format version 6
    total = sum((tmp_path / (s[len("lib/"):-3] + ".mpy")).stat().st_size for s in SOURCES)
    board = sum((tmp_path / (s[len("lib/"):-3] + ".mpy")).stat().st_size
                for s in _board_set("w5500_evb_pico"))
    assert board < total
    assert ("all %d bytes in %d files; board set for w5500_evb_pico: %d bytes in %d files"
            % (total, len(SOURCES), board, len(_board_set("w5500_evb_pico")))) in p.stdout, p.stdout


@pytest.mark.parametrize("name", sorted(BOARD_NICS))
def test_board_set_is_the_stack_and_the_boards_chip_drivers(name):
    p = _make("board-files", "BOARD=" + name)
    assert p.returncode == 0, p.stdout + p.stderr
    files = p.stdout.split()
    assert files == _board_set(name)
    assert not HOST_ONLY & set(files)


def test_make_board_mpy_stages_only_the_board_set(tmp_path):
    p = _make("board-mpy", "BOARD=w5100s_evb_pico", "MPY_DIR=%s" % (tmp_path / "mpy"))
    assert p.returncode == 0, p.stdout + p.stderr
    staged = tmp_path / "mpy-boards" / "w5100s_evb_pico"
    got = sorted(str(f.relative_to(staged)) for f in staged.rglob("*.mpy"))
    assert got == sorted([s[len("lib/"):-3] + ".mpy" for s in _board_set("w5100s_evb_pico")] +
                         ["netboot.mpy"] + _stubs() + NATIVE)


@pytest.mark.parametrize("extras,static", [(False, False), (False, True), (True, True)])
def test_board_set_leaves_tracer_aio_and_static_dhcp_off_unless_extras(extras, static, tmp_path):
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"dhcp": not static, "ip": "192.0.2.2", "prefix": 24}))
    args = ["BOARD=w5500_evb_pico", "CONFIG=%s" % config, "EXTRAS=%d" % extras]
    p = _make("board-files", *args)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.split() == _board_set("w5500_evb_pico", extras, static)
    staged = tmp_path / "board"
    p = _make("board-mpy", *args, "MPY_DIR=%s" % (tmp_path / "mpy"), "BOARD_MPY_DIR=%s" % staged)
    assert p.returncode == 0, p.stdout + p.stderr
    got = sorted(str(f.relative_to(staged)) for f in staged.rglob("*.mpy"))
    assert got == sorted([s[len("lib/"):-3] + ".mpy" for s in _board_set("w5500_evb_pico", extras, static)] +
                         ["netboot.mpy"] + ([] if extras else _stubs(static)) + NATIVE)
    for stub in ([] if extras else _stubs(static)):
        assert (staged / stub).stat().st_size < 200, stub


def test_importing_a_module_make_flash_left_off_names_the_make_target(tmp_path):
    # the stubs are bytecode-only .mpy files: the unix port loads them as a board does
    if not os.path.exists(MICROPYTHON):
        pytest.skip("no MicroPython unix port in .venv (make setup)")
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"dhcp": False, "ip": "192.0.2.2", "prefix": 24}))
    staged = tmp_path / "board"
    p = _make("board-mpy", "BOARD=w5500_evb_pico", "CONFIG=%s" % config, "MPY_DIR=%s" % (tmp_path / "mpy"),
              "BOARD_MPY_DIR=%s" % staged)
    assert p.returncode == 0, p.stdout + p.stderr
    code = ("import sys\nsys.path[:0] = ['%s']\n"
            "for m in ('tracer', 'aio', 'dhcp'):\n"
            "    try:\n        __import__('tcpip.' + m)\n        print(m, 'imported')\n"
            "    except ImportError as e:\n        print(m, e)\n"
            "import tcpip\nfrom tcpip.config import Config\nfrom tcpip.stack import Stack\n"
            "from tcpip.nic.w5500 import W5500\n"
            "print('stack imports')\n") % staged
    r = subprocess.run([MICROPYTHON, "-c", code], capture_output=True, text=True, timeout=60)
    out = r.stdout.splitlines()
    assert r.returncode == 0, r.stdout + r.stderr
    why = {"tracer": "", "aio": "", "dhcp": " (a static CONFIG leaves it off)"}
    for m in ("tracer", "aio", "dhcp"):
        assert "%s tcpip.%s is not on this board: make flash EXTRAS=1 copies it%s" % (m, m, why[m]) in out, out
    assert out[-1] == "stack imports"


def test_make_flash_dry_run_copies_board_firmware_and_mpy():
    p = _make("-n", "flash", "BOARD=w5500_evb_pico", "PORT=/dev/ttyACM9",
              "MPREMOTE=echo-mpremote", "MPY_CROSS=true")
    out = p.stdout
    assert p.returncode == 0, out + p.stderr
    assert "echo-mpremote connect /dev/ttyACM9 fs rm -r :lib/tcpip" in out
    assert "echo-mpremote connect /dev/ttyACM9 fs cp -r .build/mpy-O3-boards/w5500_evb_pico/tcpip :lib/" in out
    assert "fs cp boards/w5500_evb_pico.py :tcpip_board.py" in out
    assert "fs cp firmware/main.py :main.py" in out
    assert "fs cp .build/mpy-O3-boards/w5500_evb_pico/netboot.mpy :netboot.mpy" in out
    assert "fs rm :netboot.py" in out  # an old source would shadow the .mpy
    assert "fs cp firmware/tcpip_config.json :tcpip_config.json" in out


def test_board_set_is_built_without_line_numbers_unless_lines_1(tmp_path):
    # -O3 by default (smaller .mpy, more heap free on the board); LINES=1 keeps
    # line numbers for tracebacks, in its own folder
    p = _make("-n", "-B", "board-mpy", "BOARD=w5500_evb_pico")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "-march=armv6m -O3 -o .build/mpy-O3/tcpip/tcp.mpy lib/tcpip/tcp.py" in p.stdout
    assert "-o .build/mpy-O3-boards/w5500_evb_pico/netboot.mpy" in p.stdout
    p = _make("-n", "-B", "board-mpy", "BOARD=w5500_evb_pico", "LINES=1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert " -o .build/mpy/tcpip/tcp.mpy lib/tcpip/tcp.py" in p.stdout
    assert "-O3" not in p.stdout
    sizes = {}
    for lines in ("0", "1"):
        p = _make("mpy", "LINES=" + lines, "MPY_DIR=%s" % (tmp_path / lines))
        assert p.returncode == 0, p.stdout + p.stderr
        sizes[lines] = (tmp_path / lines / "tcpip" / "tcp.mpy").stat().st_size
    assert sizes["0"] < sizes["1"] * 0.95, sizes  # the line-number table is gone


def test_make_flash_unknown_board_lists_boards():
    p = _make("flash", "BOARD=no_such_board")
    assert p.returncode != 0
    assert "w5500_evb_pico" in p.stdout and "feather_rp2040_ethernet_featherwing" in p.stdout


def test_make_flash_circuitpython_copies_the_board_set_as_mpy_to_drive(tmp_path):
    # .py sources do not fit a stock CircuitPython heap (compiling tcp.py runs
    # out of memory), so make flash copies the board set as .mpy
    p = _make("flash", "BOARD=feather_rp2040_ethernet_featherwing", "CIRCUITPY=%s" % tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (tmp_path / "code.py").read_text() == open(os.path.join(ROOT, "firmware", "code.py")).read()
    assert (tmp_path / "tcpip_board.py").exists() and (tmp_path / "netboot.mpy").exists()
    assert not (tmp_path / "netboot.py").exists()
    assert json.loads((tmp_path / "tcpip_config.json").read_text())["dhcp"] is True
    copied = sorted("lib/" + str(f.relative_to(tmp_path / "lib"))
                    for f in (tmp_path / "lib").rglob("*") if f.is_file())
    assert copied == sorted([f[:-3] + ".mpy" for f in _board_set("feather_rp2040_ethernet_featherwing")] +
                            ["lib/" + f for f in _stubs()])
    assert all((tmp_path / f).read_bytes()[:2] == b"C\x06" for f in copied)


def test_package_json_lists_every_lib_file_for_mip():
    with open(os.path.join(ROOT, "package.json")) as f:
        pkg = json.load(f)
    urls = pkg["urls"]
    assert sorted(u[1] for u in urls) == SOURCES, "package.json is stale: run make package-json"
    for dest, src in urls:
        assert dest == src[len("lib/"):]
    assert pkg["version"]


def test_manifest_freezes_tcpip_package(tmp_path):
    calls = []
    env = {
        "include": lambda p, **kw: calls.append(("include", p)),
        "package": lambda name, base_path=".", **kw: calls.append(("package", name, base_path)),
        "module": lambda name, base_path=".", **kw: calls.append(("module", name, base_path)),
    }
    fw = os.path.join(ROOT, "firmware")
    with open(os.path.join(fw, "manifest.py")) as f:
        exec(compile(f.read(), "manifest.py", "exec"), env)
    pkgs = [c for c in calls if c[0] == "package"]
    assert pkgs == [("package", "tcpip", "../lib")]
    assert os.path.isfile(os.path.join(fw, "../lib", "tcpip", "__init__.py"))
    for c in calls:
        if c[0] == "module":
            assert os.path.isfile(os.path.join(fw, c[2], c[1])), c
