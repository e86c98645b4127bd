"""pytest configuration for host_tests.

host_tests/mp/*.py are plain suites for both runtimes (test_mp_suites.py runs
them through helpers/mprun.py, one pytest item per scenario) and
host_tests/apps/*.py are programs the tests start; pytest must not import
either itself.  host_tests/helpers holds what the tests share (README.md
there says which module is portable and which is for CPython only); it is on
sys.path for every test module.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (os.path.join(ROOT, "lib"), os.path.join(ROOT, "tools"), os.path.join(HERE, "helpers")):
    if p not in sys.path:
        sys.path.insert(0, p)
import toolpath  # noqa: E402  (the tools/ folders on sys.path)
toolpath.add(ROOT)

import netns  # noqa: E402,F401  (SIGINT for children: netns.interruptible_children)

collect_ignore = ["mp", "apps"]
