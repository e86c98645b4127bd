"""`make demo`: the Linux kernel pings the tcpip stack running under MicroPython.

Starts tools/vboard.py (namespace ``tcpip-demo``, the kernel at 192.0.2.1, the
stack at 192.0.2.2), pings it from the kernel at 56 and 1472 bytes, shows the
kernel's ARP entry for the stack and the stack's own counters, and removes the
namespace again.  Needs root.

    .venv/bin/python tools/demo.py [--runtime micropython|cpython] [--netns NAME]
"""

import argparse
import json
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

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
    ap.add_argument("--netns", default="tcpip-demo")
    a = ap.parse_args(argv)
    why = netns.preflight(need_tun=(a.runtime == "cpython"))
    if why:
        say("demo: " + why)
        return 2
    if netns.exists(a.netns):
        say("demo: removing namespace %s left over from an earlier run" % a.netns)
        netns.destroy(a.netns)
    say("== Starting the stack under %s as a virtual board in namespace %s" % (a.runtime, a.netns))
    say("   (the kernel is 192.0.2.1 on %s; the stack is 192.0.2.2, MAC 02:00:00:00:00:02)"
        % ("veth vk" if a.runtime == "micropython" else "tap0"))
    vb = subprocess.Popen([sys.executable, os.path.join(HERE, "vboard.py"), "--netns", a.netns,
                           "--runtime", a.runtime], stdout=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL)
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
    say("== The stack's counters (stack.stats()), non-zero ones")
    for k in sorted(stats):
        if stats[k]:
            say("   %-24s %d" % (k, stats[k]))
    zero = sorted(k for k in stats if not stats[k])
    drops = [k for k in stats if k.startswith("drop_") and stats[k]]
    say("   (%d more counters are 0%s)" % (len(zero), "" if drops else "; no frame was dropped"))
    say()
    say("== Namespace %s removed; done%s" % (a.netns, "" if code == 0 else " (some pings failed)"))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
