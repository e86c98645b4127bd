"""`make demo`: the Linux kernel pings the tcpip stack running under MicroPython on an emulated W5500 board.

Starts ``tools/vboard/vboard.py --nic w5500`` (namespace ``tcpip-demo``, the kernel at
192.0.2.1, the stack at 192.0.2.2): the board's whole firmware path --
firmware/netboot.py with boards/emulated_w5500.py, the tcpip.nic.w5500 driver
talking SPI to the register-level W5500 of tools/emu/w5500_emu.py, whose wire is a
veth pair (MicroPython) or a TAP (CPython).  Pings it from the kernel at 56
and 1472 bytes, shows the kernel's ARP entry for the stack, the stack's own
counters and the W5500's (SPI bytes per frame), and removes the namespace
again.  Needs root.

    .venv/bin/python tools/vboard/demo.py [--runtime micropython|cpython] [--nic w5500|tap|packet]
                                   [--netns NAME]
"""

import argparse
import json
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)

import netns  # noqa: E402


def say(text=""):
    print(text, flush=True)


def show(ns, argv):
    say("$ ip netns exec %s %s" % (ns, " ".join(argv)))
    p = subprocess.run(["ip", "netns", "exec", ns] + argv, capture_output=True, text=True, timeout=60)
    sys.stdout.write(p.stdout + p.stderr)
    say()
    return p


def child_processes(pid):
    """(pid, command line) of the children of ``pid``, from /proc."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
    except OSError:
        return []
    out = []
    for k in kids:
        try:
            with open("/proc/%s/cmdline" % k) as f:
                out.append((k, f.read().replace("\0", " ").strip()))
        except OSError:
            pass
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    ap.add_argument("--nic", choices=("w5500", "tap", "packet"), default="w5500",
                    help="w5500: the board path on an emulated chip (default); tap/packet: "
                    "the stack straight on the wire")
    ap.add_argument("--netns", default="tcpip-demo")
    a = ap.parse_args(argv)
    if a.runtime == "micropython" and a.nic == "tap":
        say("demo: the MicroPython unix port cannot attach a TAP; use --nic packet or w5500")
        return 2
    why = netns.preflight(need_tun=(a.runtime == "cpython" and a.nic != "packet"))
    if why:
        say("demo: " + why)
        return 2
    if netns.exists(a.netns):
        say("demo: removing namespace %s left over from an earlier run" % a.netns)
        netns.destroy(a.netns)
    tap = a.nic == "tap" or (a.nic == "w5500" and a.runtime == "cpython")
    if a.nic == "w5500":
        say("== Starting an emulated W5500 board under %s in namespace %s" % (a.runtime, a.netns))
        say("   firmware/netboot.py -> tcpip.nic.w5500 driver -> SPI -> tools/emu/w5500_emu.py"
            " (a register-level W5500) -> %s" % ("TAP tap0" if tap else "veth vb/vk"))
    else:
        say("== Starting the stack under %s as a virtual board in namespace %s" % (a.runtime, a.netns))
    say("   (the kernel is 192.0.2.1 on %s; the stack is 192.0.2.2, MAC 02:00:00:00:00:02)"
        % ("tap0" if tap else "veth vk"))
    vb = subprocess.Popen([sys.executable, os.path.join(HERE, "vboard.py"), "--netns", a.netns,
                           "--runtime", a.runtime, "--nic", a.nic], stdout=subprocess.PIPE,
                          text=True, stdin=subprocess.DEVNULL)
    code = 0
    try:
        line = vb.stdout.readline().strip()
        if not line.startswith("ready "):
            say("demo: the virtual board did not come up (%r)" % line)
            return 1
        say("vboard: " + line)
        for pid, cmd in child_processes(vb.pid):
            say("   the stack process: pid %s: %s" % (pid, cmd))
        say()
        ok = True
        for size in (56, 1472):
            say("== The kernel pings the stack, %d data bytes (%d-byte IP packets)" % (size, size + 28))
            p = show(a.netns, ["ping", "-c", "4", "-i", "0.2", "-s", str(size), "192.0.2.2"])
            ok = ok and p.returncode == 0
        say("== The kernel's ARP (neighbour) entry for the stack")
        show(a.netns, ["ip", "neigh", "show", "192.0.2.2"])
        code = 0 if ok else 1
    finally:
        if vb.poll() is None:
            vb.send_signal(signal.SIGINT)
        try:
            rest, _ = vb.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            vb.kill()
            rest, _ = vb.communicate()
        netns.destroy(a.netns)
    stats = None
    for line in (rest or "").splitlines():
        if line.startswith('{"stats"'):
            stats = json.loads(line)["stats"]
    if stats is None:
        say("demo: the stack printed no stats")
        return 1
    chip = dict((k, stats.pop(k)) for k in list(stats) if k.startswith("nic_") or k.startswith("chip_"))
    stats["nic_tx_dropped"] = chip.pop("nic_tx_dropped", 0)
    say("== The stack's counters (stack.stats()), non-zero ones")
    for k in sorted(stats):
        if stats[k]:
            say("   %-24s %d" % (k, stats[k]))
    zero = sorted(k for k in stats if not stats[k])
    drops = [k for k in stats if k.startswith("drop_") and stats[k]]
    say("   (%d more counters are 0%s)" % (len(zero), "" if drops else "; no frame was dropped"))
    say()
    if "nic_spi_bytes" in chip:
        show_w5500(chip)
    say("== Namespace %s removed; done%s" % (a.netns, "" if code == 0 else " (some pings failed)"))
    return code


def show_w5500(c):
    """The driver's counters (net.nic.stats()) and what SPI cost per frame."""
    say("== The W5500 driver's counters (net.nic.stats())")
    frames = c["nic_rx_frames"] + c["nic_tx_frames"]
    frame_bytes = c["nic_rx_bytes"] + c["nic_tx_bytes"]
    say("   frames received %d (%d bytes), sent %d (%d bytes)"
        % (c["nic_rx_frames"], c["nic_rx_bytes"], c["nic_tx_frames"], c["nic_tx_bytes"]))
    say("   SPI: %d bytes in %d transactions (the chip counted %d bytes)"
        % (c["nic_spi_bytes"], c["nic_spi_transactions"], c["chip_spi_bytes"]))
    if frames:
        say("   SPI bytes per frame: %.1f = %.1f frame bytes + %.1f overhead"
            % (c["nic_spi_bytes"] / float(frames), frame_bytes / float(frames),
               (c["nic_spi_bytes"] - frame_bytes) / float(frames)))
        say("   (overhead: SPI headers, RX_RSR/TX_FSR/pointer registers, commands, idle link polls)")
    trouble = [k for k in ("nic_resyncs", "nic_tx_timeouts", "chip_rx_overflow_drops") if c.get(k)]
    say("   %s" % ("; ".join("%s %d" % (k, c[k]) for k in trouble) if trouble
                   else "no resync, no SEND timeout, no RX overflow"))
    say()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
