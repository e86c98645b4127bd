"""One tools/vboard/vboard.py process that makes its own namespace (``--netns NAME``),
as the board tests that pass their own command line start it: the ``ready IP``
line, commands on the kernel's side, the stats at SIGINT, and clean-up."""
import json
import os
import select
import signal
import subprocess
import sys
import time

import netharness as H


class VBoardProcess:
    """``tools/vboard/vboard.py --netns name`` + ``args``.  Reads its ``ready IP``
    line within ``ready_s`` (``self.ip``); ``accept(line)`` says whether that line
    is the right one, else the process is closed and ``what`` "did not start"
    is raised with its stderr.  ``stop_s``/``close_s``: how long the process may
take to end at stop()/close(); ``run_s``: run()'s default timeout."""

    def __init__(self, name, args, what, ready_s, stop_s, close_s, run_s, accept=None):
        self.name = name
        self.stop_s = stop_s
        self.close_s = close_s
        self.run_s = run_s
        self.proc = subprocess.Popen(
            [sys.executable, H.VBOARD, "--netns", name] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self._out = b""
        line = self._readline(ready_s)
        if not (accept(line) if accept else line.startswith("ready ")):
            self.close()
            raise AssertionError("%s did not start: %r\n%s"
                                 % (what, line, self.proc.stderr.read().decode()[-3000:]))
        self.ip = line.split()[1]

    def _readline(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._out and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                self._out += chunk
        line, _, self._out = self._out.partition(b"\n")
        return line.decode(errors="replace")

    def run(self, argv, timeout=None):
        """argv in the namespace (the kernel's side)."""
        return subprocess.run(["ip", "netns", "exec", self.name] + argv, capture_output=True,
                              text=True, timeout=timeout or self.run_s)

    def stop(self):
        """SIGINT vboard; the stats dict it printed."""
        os.kill(self.proc.pid, signal.SIGINT)
        out, err = self.proc.communicate(timeout=self.stop_s)
        for line in (self._out + out).decode().splitlines():
            if line.startswith('{"stats"'):
                return json.loads(line)["stats"]
        raise AssertionError("no stats from vboard: %r\n%s" % (out[-2000:], err.decode()[-3000:]))

    def close(self):
        """Stop the process (by PID) and delete the namespace."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.communicate(timeout=self.close_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate(timeout=10)
        H.netns.destroy(self.name)
