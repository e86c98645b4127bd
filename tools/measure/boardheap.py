"""Where tcpip's heap goes on the emulated board (CPython, host).

    FIRMWARE_DIR=... .venv/bin/python tools/measure/boardheap.py [--json] [--out FILE]

Boots stock MicroPython (RPI_PICO) on the emulated RP2040 of tools/emu/rp2040_board.py
with what ``make flash BOARD=w5500_evb_pico EXTRAS=1`` copies (the board set as
.mpy on LittleFS, tracer and aio included; main.py left off, a static address)
and measures ``gc.mem_free()`` /
``gc.mem_alloc()`` after ``gc.collect()``, in three fresh interpreters (a soft
reset between them):

- ``user``: free at the REPL, after ``import tcpip`` and after
  ``net = tcpip.start()``, and the modules each step left loaded; the
  simulated milliseconds ``import tcpip`` (``ms_import``) and
  ``tcpip.start()`` (``ms_start``: the chip's reset and link included) took.
- ``data``: what a NIC and a ``Stack`` hold (buffers, rings, control blocks),
  with the code already loaded: the default ``Config`` and variations of it
  (no sockets; one more TCP socket; 4 KB rings; one more UDP socket), the DNS
  resolver and the DHCP client built on top.  Derived: ``per_tcp_socket``,
  ``per_udp_socket``, ``fixed`` (frame buffers, ARP, counters with no sockets).
- ``code``: the heap each module's code costs when it is imported: the modules
  are imported leaf first with the package's ``__init__`` moved aside (so the
  package does not pull its imports in), each import's growth charged to it;
  ``__init__`` is measured last under another name.  ``extra`` lists any module
  an import loaded besides its own (the order below is then wrong: fix it).
  The .mpy file size is reported next to each, and the .mpy bytes plain
  ``make flash`` copies for this static address (no tracer, aio, dhcp).

Figures are bytes.  The filesystem is the emulator's copy: nothing is changed
on disk.  Nothing here runs on a board (it drives one).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)

import rp2040_board as RB  # noqa: E402

MAC = "02:00:00:00:00:02"
SETTINGS = {"dhcp": False, "ip": "192.0.2.2", "prefix": 24, "gateway": "192.0.2.1", "dns": [],
            "mac": MAC, "poll_ms": 10}

# Leaf first: each module's own imports are loaded before it.
MODULES = (
    "tcpip.compat", "tcpip.wire", "tcpip.wire.bytes", "tcpip.wire.checksum", "tcpip.wire.ethernet",
    "tcpip.wire.arp", "tcpip.wire.ipv4", "tcpip.wire.icmp", "tcpip.wire.udp", "tcpip.wire.tcp",
    "tcpip.config", "tcpip.ring", "tcpip.iface", "tcpip.udp", "tcpip.tcp", "tcpip.stack",
    "tcpip.socket", "tcpip.nic", "tcpip.nic.bounce", "tcpip.nic.macraw", "tcpip.nic.w5500_spi", "tcpip.nic.w5500",
    "netboot", "tcpip_board",  # a board file imports netboot (board_functions)
    # the package's own code (tcpip/__init__.mpy, imported as tcpip._pkginit
    # by CODE) before the first-use modules: imported after them it was
    # charged for a new qstr pool their names had filled (7.7 KB, 2026-12-03)
    "tcpip._pkginit",
    # loaded on first use
    "tcpip.prng", "tcpip.wire.dns", "tcpip.dns", "tcpip.wire.dhcp", "tcpip.dhcp", "tcpip.repl", "tcpip.tracer",
    "tcpip.aio",
)

USER = """
import gc, sys, json, time
def loaded():
    return sorted(m for m in sys.modules if m.startswith('tcpip') or m == 'netboot')
gc.collect()
r = {'free_repl': gc.mem_free()}
t = time.ticks_us()
import tcpip
r['ms_import'] = time.ticks_diff(time.ticks_us(), t) / 1000
gc.collect()
r['free_import'] = gc.mem_free()
r['loaded_import'] = loaded()
t = time.ticks_us()
net = tcpip.start()
r['ms_start'] = time.ticks_diff(time.ticks_us(), t) / 1000
gc.collect()
r['free_started'] = gc.mem_free()
r['loaded_started'] = loaded()
net.background.stop()
print(json.dumps(r))
"""

DATA = """
import gc, json
import tcpip, tcpip.stack, tcpip.nic.w5500, tcpip.nic.w5500_spi, tcpip.dns, tcpip.dhcp, tcpip_board
from tcpip.config import Config
from tcpip.stack import Stack
def used():
    gc.collect()
    return gc.mem_alloc()
a = used()
nic = tcpip_board.nic(b'\\x02\\x00\\x00\\x00\\x00\\x02')
r = {'nic': used() - a}
a = used()
st = Stack(Config(**%(kw)r), nic)
r['stack'] = used() - a
a = used()
st.dns
r['dns_resolver'] = used() - a
a = used()
st.start_dhcp(0)
r['dhcp_client'] = used() - a
st.dhcp.stop()
print(json.dumps(r))
"""

# cfg variations of DATA (each in a fresh interpreter)
DATA_CONFIGS = (
    ("default", {}),
    ("no_sockets", {"tcp_sockets": 0, "udp_sockets": 0}),
    ("tcp_sockets_5", {"tcp_sockets": 5}),
    ("udp_sockets_3", {"udp_sockets": 3}),
    ("rings_4k", {"tcp_rx_bytes": 4096, "tcp_tx_bytes": 4096}),
)

CODE = """
import gc, sys, os, json
os.rename('/lib/tcpip/__init__.mpy', '/lib/tcpip/_pkginit.mpy')
def loaded():
    return set(m for m in sys.modules)
r = []
for name in %(modules)r:
    before = loaded()
    gc.collect()
    a = gc.mem_alloc()
    __import__(name)
    gc.collect()
    grew = gc.mem_alloc() - a
    r.append([name, grew, sorted(loaded() - before - set([name]))])
os.rename('/lib/tcpip/_pkginit.mpy', '/lib/tcpip/__init__.mpy')
print(json.dumps(r))
"""


def _soft_reset(b):
    b.repl()
    b.write(b"\x04")
    b.wait_for(b"soft reboot", 60)
    b.wait_for(b">>> ", 60)


def _run(b, code):
    return json.loads(b.exec(code, wall_s=300).strip().splitlines()[-1])


def _mpy_sizes(files=None):
    """{module: .mpy bytes} of the board set as make board-mpy EXTRAS=1 builds
    it (or of ``files``, {path on the board: bytes})."""
    if files is None:
        files = RB.board_set("w5500_evb_pico", extras=True)
    out = {}
    for path, data in files.items():
        if not path.endswith(".mpy"):
            continue
        p = path[len("/lib/"):] if path.startswith("/lib/") else path[1:]
        name = p[:-4].replace("/", ".")
        if name.endswith(".__init__"):
            name = name[:-9]
        out[name] = len(data)
    return out


def measure():
    """Everything the module docstring lists, as one dict."""
    b = RB.micropython_board(SETTINGS, no_main=True, extras=True)  # the CODE table imports every module
    try:
        b.start()
        b.wait_for(b">>> ", 120)
        user = _run(b, USER)
        data = {}
        for name, kw in DATA_CONFIGS:
            _soft_reset(b)
            data[name] = _run(b, DATA % {"kw": kw})
        _soft_reset(b)
        code = _run(b, CODE % {"modules": MODULES})
    finally:
        b.close()
    d = data["default"]
    derived = {
        "per_tcp_socket": data["tcp_sockets_5"]["stack"] - d["stack"],
        "per_udp_socket": data["udp_sockets_3"]["stack"] - d["stack"],
        "per_ring_kb_x8": data["rings_4k"]["stack"] - d["stack"],  # 4 sockets, both rings at 4 KB instead of the defaults
        "fixed": data["no_sockets"]["stack"],
    }
    sizes = _mpy_sizes()
    fsimage = RB._fsimage()
    flash = sum(_mpy_sizes({"/" + k: v for k, v in fsimage.micropython_files(
        "w5500_evb_pico", config=json.dumps(SETTINGS).encode()).items()}).values())
    rows = []
    for name, heap, extra in code:
        mod = "tcpip" if name == "tcpip._pkginit" else name
        rows.append({"module": mod, "heap": heap, "mpy": sizes.get(mod), "extra": extra})
    started = set(user["loaded_started"])
    code_started = sum(r["heap"] for r in rows if r["module"] in started)
    return {"user": user, "data": data, "data_derived": derived, "code": rows,
            "code_heap_at_start": code_started,
            "mpy_bytes_at_start": sum(r["mpy"] or 0 for r in rows if r["module"] in started),
            "mpy_bytes_board_set": sum(sizes.values()), "mpy_bytes_flash_static": flash}


def table(r):
    u = r["user"]
    lines = ["heap free: REPL %d, after import tcpip %d, after tcpip.start() %d (static address)"
             % (u["free_repl"], u["free_import"], u["free_started"]),
             "simulated time: import tcpip %.1f ms, tcpip.start() %.1f ms" % (u["ms_import"], u["ms_start"]),
             "code on the heap at start: %d B (.mpy %d B of the %d B board set with EXTRAS=1;"
             " make flash copies %d B of .mpy for this static address)"
             % (r["code_heap_at_start"], r["mpy_bytes_at_start"], r["mpy_bytes_board_set"],
                r["mpy_bytes_flash_static"]),
             "", "%-22s %7s %7s  %s" % ("module", "heap", ".mpy", "loaded at start")]
    started = set(u["loaded_started"])
    for row in r["code"]:
        lines.append("%-22s %7d %7s  %s%s" % (row["module"], row["heap"], row["mpy"] or "-",
                                               "yes" if row["module"] in started else "first use",
                                               "  EXTRA %s" % row["extra"] if row["extra"] else ""))
    lines.append("")
    for name, v in r["data"].items():
        lines.append("data %-14s nic %6d  stack %6d  resolver %5d  dhcp %5d"
                     % (name, v["nic"], v["stack"], v["dns_resolver"], v["dhcp_client"]))
    lines.append("derived: " + ", ".join("%s %d" % kv for kv in r["data_derived"].items()))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--out", default=None, help="also write the JSON to this file")
    a = ap.parse_args(argv)
    why = RB.missing_prerequisite()
    if why:
        print("boardheap: " + why, file=sys.stderr)
        return 2
    r = measure()
    if a.out:
        with open(a.out, "w") as f:
            json.dump(r, f, indent=1, sort_keys=True)
            f.write("\n")
    print(json.dumps(r, sort_keys=True) if a.json else table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
