"""One pytest item per scenario of the host_tests/mp suites (CPython, for pytest).

A suite is a plain module of ``def test_*():`` functions that mprun.py runs
under any interpreter.  ``cases()`` lists (suite, scenario) pairs by reading
the suites' source, so pytest names every scenario without importing a suite;
``Runs`` starts one interpreter per suite and runtime (not one per scenario:
a MicroPython start and the suite's imports cost more than most scenarios)
and keeps what mprun.py printed for each scenario, so that each item asserts
its own scenario's result and a failure shows that scenario's output.  When
only some scenarios are selected (``pytest -k zero_window``) the run is
limited to them.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HOST_TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(HOST_TESTS)
SUITES_DIR = os.path.join(HOST_TESTS, "mp")
MPRUN = os.path.join(HERE, "mprun.py")
# what the suites import: the stack, the tools they drive, these helpers
sys.path.insert(0, os.path.join(ROOT, "tools"))
import toolpath  # noqa: E402

PATH = toolpath.env_path(ROOT, [HERE])

_DEF = re.compile(r"^def (test_\w+)\(", re.M)
_PARAMS = re.compile(r"^PARAMS = \(([^)]*)\)", re.M)


def suites(exclude=()):
    """Names of the suites in host_tests/mp, sorted (test_ring, ...)."""
    return sorted(f[:-3] for f in os.listdir(SUITES_DIR)
                  if f.startswith("test_") and f.endswith(".py") and f[:-3] not in exclude)


_scenarios = {}


def scenarios(suite, where=SUITES_DIR):
    """The scenario names of one suite (in folder ``where``), as mprun.py runs
    them (sorted): a suite with ``PARAMS = ("a", "b")`` has test_x[a] and
    test_x[b] for each test_x."""
    path = os.path.join(where, suite + ".py")
    if path not in _scenarios:
        _scenarios[path] = _read_scenarios(path)
    return _scenarios[path]


def _read_scenarios(path):
    with open(path) as f:
        src = f.read()
    names = sorted(set(_DEF.findall(src)))
    m = _PARAMS.search(src)
    if m:
        names = ["%s[%s]" % (n, p) for n in names for p in re.findall(r"\"(\w+)\"", m.group(1))]
    return names


def cases(exclude=()):
    """(suite, scenario) for every scenario of every suite."""
    return [(s, n) for s in suites(exclude) for n in scenarios(s)]


def case_id(case):
    suite, scenario = case
    return "%s-%s" % (suite[len("test_"):], scenario[len("test_"):].replace("[", "-").rstrip("]"))


class Runs:
    """Runs each (runtime, suite) once and answers per scenario.

    ``command(runtime)`` returns (argv before mprun.py, extra env, mprun
    options) for a runtime; ``selected(runtime, suite)`` the scenarios of that
    suite pytest will ask about (all of them, or those -k left).
    """

    def __init__(self, command, selected, timeout_s=600, where=SUITES_DIR):
        self.command = command
        self.selected = selected
        self.timeout_s = timeout_s
        self.where = where  # the suites' folder
        self._done = {}

    def _run(self, runtime, suite):
        exe, env_extra, opts = self.command(runtime)
        want = self.selected(runtime, suite)
        every = scenarios(suite, self.where)
        names = [] if sorted(want) == every else want
        env = dict(os.environ, PYTHONPATH=PATH, MICROPYPATH=PATH + ":.frozen", PYTHONUNBUFFERED="1")
        env.update(env_extra)
        argv = exe + [MPRUN] + opts + [os.path.join(self.where, suite + ".py")] + names
        try:
            p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=self.timeout_s)
            out, rc = p.stdout, p.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            out, rc = out + "\n(timed out after %d s)" % self.timeout_s, None
        results, complete = _parse(out)
        return results, complete, out, rc, names

    def check(self, runtime, suite, scenario):
        """Fails (AssertionError) unless the scenario ran and passed."""
        key = (runtime, suite)
        if key not in self._done:
            self._done[key] = self._run(runtime, suite)
        results, complete, out, rc, names = self._done[key]
        where = "%s %s.py under %s" % (scenario, suite, runtime)
        if complete and not names:  # the whole suite ran: what it ran is what we collected
            ran = sorted(results)
            listed = scenarios(suite, self.where)
            assert ran == listed, "%s: mprun.py ran %s, the suite's source lists %s" % (where, ran, listed)
        if scenario not in results:
            raise AssertionError("%s did not run (exit status %s); the run's last output:\n%s"
                                 % (where, rc, out[-6000:]))
        ok, text = results[scenario]
        assert ok, "%s failed:\n%s" % (where, text[-6000:])
        every_passed = not [r for r in results.values() if not r[0]]
        assert rc == 0 or not complete or not every_passed, (
            "%s: every scenario passed but the run exited with status %s:\n%s" % (where, rc, out[-6000:]))


def selection(request):
    """For Runs: the scenarios of (runtime, suite) among the session's items of
    request's test module (parametrized with ``runtime`` and ``case``)."""
    def selected(runtime, suite):
        return sorted(it.callspec.params["case"][1] for it in request.session.items
                      if getattr(it, "module", None) is request.module and hasattr(it, "callspec")
                      and it.callspec.params.get("runtime", runtime) == runtime
                      and it.callspec.params.get("case", ("", ""))[0] == suite)
    return selected


def _parse(out):
    """{scenario: (passed, its output from RUN to PASS/FAIL and the traceback)} and
    whether the closing ``N passed, N failed`` line came.  A scenario that printed
    RUN but neither PASS nor FAIL ended the process: it has no result."""
    results = {}
    name, lines = None, []
    complete = False
    for line in out.splitlines() + ["RUN "]:
        summary = re.match(r"^\d+ passed, \d+ failed$", line) is not None
        if line.startswith("RUN ") or summary:
            if name is not None:
                if ("PASS " + name) in lines:
                    results[name] = (True, "\n".join(lines))
                elif [x for x in lines if x.startswith("FAIL %s:" % name)]:
                    results[name] = (False, "\n".join(lines))
            name, lines = (line[4:].strip() or None) if not summary else None, []
            complete = complete or summary
        elif name is not None:
            lines.append(line)
    return results, complete
