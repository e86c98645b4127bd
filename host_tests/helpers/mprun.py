"""Run the test_* functions of one module under whatever interpreter runs this file.

    micropython host_tests/helpers/mprun.py host_tests/mp/test_ring.py [name_filter ...]
    python      host_tests/helpers/mprun.py host_tests/mp/test_ring.py
    python      host_tests/helpers/mprun.py --ticks-period 536870912 host_tests/mp/test_iface.py

``--ticks-period P`` runs the suite on a clock that wraps at P (tcpip.compat.set_clock;
CircuitPython's is 2**29) with the virtual clocks starting 1 s before the wrap.

MicroPython has no pytest, so suites that must pass on both runtimes are plain
modules of ``def test_*():`` functions with bare ``assert``.  This prints
``RUN name`` before each test, ``PASS name`` / ``FAIL name: error`` (and the
traceback) after it, and a closing ``N passed, N failed`` line; the exit status
is 1 when anything failed or no test ran.  A module with ``PARAMS`` (a tuple
of names) and ``fixture(name)`` is parametrized: each test takes
``fixture(name)`` and runs once per name, reported as ``test_x[name]``.
With name filters, only the tests
whose name contains one of them run.  host_tests/helpers/mpsuite.py reads this
output to give pytest one result per test.
"""
import sys

try:
    import traceback
except ImportError:
    traceback = None


def _load(path):
    # Import by file path on both runtimes: put the folder on sys.path.
    slash = path.rfind("/")
    folder, name = (path[:slash], path[slash + 1:]) if slash >= 0 else (".", path)
    if name.endswith(".py"):
        name = name[:-3]
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return __import__(name)


def main(argv):
    if len(argv) > 2 and argv[1] == "--ticks-period":
        period = int(argv[2])
        argv = argv[:1] + argv[3:]
        from tcpip import compat
        compat.set_clock(None, period)
        import vclock  # this folder: the suites' virtual clocks
        vclock.START_MS = period - 1000
    if len(argv) < 2:
        print("usage: mprun.py [--ticks-period P] MODULE.py [name_filter ...]")
        return 2
    mod = _load(argv[1])
    wants = argv[2:]
    params = getattr(mod, "PARAMS", None)
    runs = []
    for n in sorted(n for n in dir(mod) if n.startswith("test_")):
        if params:  # each test takes fixture(p): one run per p, named test_x[p]
            runs.extend(("%s[%s]" % (n, p), n, p) for p in params)
        else:
            runs.append((n, n, None))
    passed = failed = 0
    for n, fname, p in runs:
        if wants and not [w for w in wants if w in n]:
            continue
        fn = getattr(mod, fname)
        print("RUN %s" % n)
        try:
            if params:
                fn(mod.fixture(p))
            else:
                fn()
        except Exception as e:  # report and go on
            failed += 1
            print("FAIL %s: %s: %s" % (n, type(e).__name__, e))
            if hasattr(sys, "print_exception"):
                sys.print_exception(e)
            elif traceback:
                traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print("PASS %s" % n)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
