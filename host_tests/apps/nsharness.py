"""pytest side of the application tests (CPython only): a namespace named
``appt...`` with the kernel at 192.0.2.1, servers started in it, and test apps
(host_tests/apps/*.py) run in it under CPython (TAP) or MicroPython (veth +
packet socket).  Everything started is tracked by PID and stopped in close().
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

APPS = os.path.dirname(os.path.abspath(__file__))
HOST_TESTS = os.path.dirname(APPS)
ROOT = os.path.dirname(HOST_TESTS)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)
import netns  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
SHIMS = os.path.join(HOST_TESTS, "helpers", "shims")
SITE_PACKAGES = os.path.join(ROOT, ".venv", "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
RUNTIMES = ("cpython", "micropython")
_seq = [0]


def skip_reason(runtime, tools=()):
    why = netns.preflight(need_tun=(runtime == "cpython"))
    if why:
        return why
    if runtime == "micropython" and not os.path.exists(MICROPYTHON):
        return "micropython missing (make setup)"
    for t in tools:
        if not shutil.which(t) and not netns._which(t):
            return "%s missing (make setup installs it)" % t
    return None


class AppNs:
    def __init__(self, runtime, tag):
        self.runtime = runtime
        _seq[0] += 1
        name = "appt%s%d%d" % (tag[:6], os.getpid() % 100000, _seq[0])
        self.ns = netns.Namespace(name, mode="tap" if runtime == "cpython" else "veth")
        self.ns.create()
        self.nic_args = ["tap", "tap0"] if runtime == "cpython" else ["packet", "vb"]
        self.procs = []
        self.logs = []

    def env(self, shims=False):
        """PYTHONPATH/MICROPYPATH: lib, apps, the tools/ folders.  MicroPython also gets the
        venv's site-packages (pure-Python PyPI libraries) after its frozen
        modules, and with shims=True host_tests/helpers/shims first (``socket`` is then
        tcpip's, for requests / asyncio / microdot)."""
        e = dict(os.environ)
        path = [os.path.join(ROOT, "lib"), APPS] + toolpath.dirs(ROOT)
        e["PYTHONPATH"] = ":".join(path)
        mp = ([SHIMS] if shims else []) + path + [".frozen", SITE_PACKAGES]
        e["MICROPYPATH"] = ":".join(mp)
        return e

    def exe(self, runtime=None):
        return [sys.executable] if (runtime or self.runtime) == "cpython" else [MICROPYTHON]

    def spawn(self, argv, ready=None, timeout=10, log=None, env=None):
        """Start argv in the namespace (tracked); wait for a stdout line ``ready`` if asked."""
        out = subprocess.PIPE if ready else (open(log, "w") if log else subprocess.DEVNULL)
        p = subprocess.Popen(self.ns.argv(argv), stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env or self.env(), text=True)
        self.procs.append(p)
        if ready:
            import select
            deadline = time.monotonic() + timeout
            seen = ""
            while time.monotonic() < deadline:
                r, _, _ = select.select([p.stdout], [], [], 0.2)
                if r:
                    line = p.stdout.readline()
                    if not line:
                        break
                    seen += line
                    if line.strip() == ready:
                        return p
            raise AssertionError("%s did not say %r: %s" % (argv[0], ready, seen))
        return p

    def wait_port(self, port, udp=False, timeout=10):
        """Until something in the namespace listens on 192.0.2.1:port."""
        deadline = time.monotonic() + timeout
        flag = "-uln" if udp else "-tln"
        while time.monotonic() < deadline:
            p = self.ns.run(["ss", flag], timeout=5)
            if (":%d " % port) in p.stdout:
                return
            time.sleep(0.1)
        raise AssertionError("nothing listens on port %d" % port)

    def run_app(self, app, args=(), timeout=60, shims=True, runtime=None):
        """Run host_tests/apps/APP in the namespace; returns (json lines, CompletedProcess)."""
        argv = self.exe(runtime) + [os.path.join(APPS, app)] + self.nic_args + list(args)
        p = subprocess.run(self.ns.argv(argv), capture_output=True, text=True, timeout=timeout,
                           env=self.env(shims))
        events = []
        for line in p.stdout.splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
        return events, p

    def run(self, argv, timeout=60):
        return self.ns.run(argv, timeout=timeout)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
            if p.stdout:
                p.stdout.close()
        self.ns.destroy()


def run_with_kernel_servers(runtime, tag, app, args=(), timeout=60):
    """Skip when ``runtime`` cannot run here; else start kernel_servers.py (the
    kernel's servers, for 60 s) in a fresh namespace and run APP against them:
    (json lines, CompletedProcess).  The namespace is gone afterwards."""
    import pytest
    why = skip_reason(runtime)
    if why:
        pytest.skip(why)
    net = AppNs(runtime, tag)
    try:
        net.spawn([sys.executable, os.path.join(APPS, "kernel_servers.py"), "60"], ready="ready")
        return net.run_app(app, args, timeout=timeout)
    finally:
        net.close()


def checks_of(events):
    return {e["check"]: e for e in events if "check" in e}


def failed(events, p):
    bad = [e for e in events if "check" in e and not e["ok"]]
    return "failed checks: %s\nstdout tail:\n%s\nstderr:\n%s" % (
        json.dumps(bad, indent=1), p.stdout[-3000:], p.stderr[-3000:])
