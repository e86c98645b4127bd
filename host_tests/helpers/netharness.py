"""Test harness around tools/vboard/vboard.py: start a virtual board, talk to it from its
namespace, stop it and read its stats.  Used by the kernel interop tests.

Every board gets its own namespace name; ``VBoard.close()`` (called by the
fixtures in a finally) stops the board process by PID and deletes the
namespace even when the test failed half way.
"""

import hashlib
import itertools
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)

import netns  # noqa: E402

VBOARD = os.path.join(TOOLS, "vboard", "vboard.py")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
STACK_IP = netns.STACK_IP
PEER_IP = netns.KERNEL_IP
STACK_MAC = "02:00:00:00:00:02"
RUNTIMES = ("cpython", "micropython")
BUILD = os.path.join(ROOT, ".build")

_seq = itertools.count()


def skip_reason(runtime=None, tools=()):
    """Why these kernel tests cannot run here, or None."""
    why = netns.preflight(need_tun=(runtime != "micropython"))
    if why:
        return why
    if runtime == "micropython" and not os.path.exists(MICROPYTHON):
        return "micropython not installed in .venv (run make setup)"
    for t in tools:
        if not netns._which(t):
            return "%s is missing (run make setup as root)" % t
    return None


def ns_name(tag):
    return "tcpip-t%d-%s-%d" % (os.getpid(), tag, next(_seq))


def has_real_stack():
    return os.path.exists(os.path.join(ROOT, "lib", "tcpip", "stack.py"))


def chargen_sha(nbytes):
    """SHA-256 (hex) of the first ``nbytes`` the vboard's chargen service sends."""
    import services  # tools/vboard, on the path (toolpath)
    pat = bytes(services.chargen_pattern())
    h = hashlib.sha256()
    full, rest = divmod(nbytes, len(pat))
    for _ in range(full):
        h.update(pat)
    h.update(pat[:rest])
    return h.hexdigest()


class VBoard:
    """One tools/vboard/vboard.py process and its namespace."""

    def __init__(self, runtime, tag="vb", extra=(), ready_timeout_s=30, nic=None):
        self.runtime = runtime
        self.nic = nic or ("tap" if runtime == "cpython" else "packet")
        self.name = ns_name(tag[:8])
        self.ns = netns.Namespace(self.name, mode="tap" if self.nic == "tap" else "veth")
        self.kernel_if = self.ns.kernel_if
        self.stats = None
        self._err = tempfile.TemporaryFile(mode="w+")
        argv = [sys.executable, VBOARD, "--netns", self.name, "--runtime", runtime,
                "--nic", self.nic] + list(extra)
        if not has_real_stack():
            argv += ["--stack", "echo_stack"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._err,
                                     stdin=subprocess.DEVNULL)
        self._out = b""
        line = self._readline(ready_timeout_s)
        if line != "ready %s" % STACK_IP:
            err = self.stderr()
            self.close()
            raise AssertionError("vboard did not print 'ready %s' (got %r); stderr:\n%s"
                                 % (STACK_IP, line, err))

    def _readline(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._out:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                self._out += chunk
        if b"\n" not in self._out:  # EOF or timeout without a whole line
            line, self._out = self._out, b""
            return line.decode(errors="replace") if line else None
        line, _, self._out = self._out.partition(b"\n")
        return line.decode(errors="replace")

    def stderr(self):
        self._err.seek(0)
        return self._err.read()

    def run(self, argv, timeout=60):
        """Run argv in the board's namespace (the kernel's side)."""
        return self.ns.run(argv, timeout=timeout)

    def ping(self, size=56, count=20, interval_s=0.05, pattern="a5c3e1f0", flood=False,
             preload=1, timeout=120):
        argv = ["ping", "-n", "-c", str(count), "-s", str(size), "-W", "2"]
        if flood:
            argv += ["-q", "-f"]
            if preload > 1:
                argv += ["-l", str(preload)]  # that many requests in flight: bursts
        else:
            argv += ["-i", str(interval_s)]
        if pattern:
            argv += ["-p", pattern]
        p = self.run(argv + [STACK_IP], timeout=timeout)
        return PingResult(p)

    def stop(self, sig=signal.SIGINT, timeout_s=30):
        """Stop vboard, return the stats dict it printed."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            rest, _ = self.proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rest, _ = self.proc.communicate(timeout=10)
        text = (self._out + (rest or b"")).decode(errors="replace")
        self._out = b""
        for line in text.splitlines():
            if line.startswith('{"stats"'):
                self.stats = json.loads(line)["stats"]
        if self.stats is None:
            raise AssertionError("vboard printed no stats (exit %s); stdout %r; stderr:\n%s"
                                 % (self.proc.returncode, text, self.stderr()))
        return self.stats

    def close(self):
        """Stop the process (by PID) and delete the namespace, whatever state they are in."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        netns.destroy(self.name)
        self._err.close()


class PingResult:
    _summary = re.compile(r"(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?"
                          r"(?:, \+(\d+) errors)?, ([\d.]+)% packet loss, time (\d+)ms")
    _rtt = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")

    def __init__(self, proc):
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr
        m = self._summary.search(self.output)
        if not m:
            raise AssertionError("no ping summary in:\n" + self.output)
        self.transmitted = int(m.group(1))
        self.received = int(m.group(2))
        self.duplicates = int(m.group(3) or 0)
        self.errors = int(m.group(4) or 0)
        self.loss_pct = float(m.group(5))
        self.time_ms = int(m.group(6))
        r = self._rtt.search(self.output)
        self.rtt_ms = tuple(float(x) for x in r.groups()) if r else None  # min/avg/max/mdev
        self.wrong_data = "wrong data byte" in self.output

    def rate_per_s(self):
        return self.received * 1000.0 / self.time_ms if self.time_ms else float("inf")


def record(name, data):
    """Append one JSON line of measurements to .build/measurements.jsonl."""
    os.makedirs(BUILD, exist_ok=True)
    data = dict(data, name=name, when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with open(os.path.join(BUILD, "measurements.jsonl"), "a") as f:
        f.write(json.dumps(data) + "\n")
