"""Importing it puts the repository's firmware/ and boards/ on sys.path (for the
suites that run the firmware path: netboot and a boards/ file).  Portable."""
import sys


def repo_root():
    f = __file__
    for _ in range(3):
        f = f[:f.rfind("/")] if "/" in f else "."
    return f


for _p in ("/firmware", "/boards"):
    if repo_root() + _p not in sys.path:
        sys.path.append(repo_root() + _p)
