"""The tools/ folders whose modules are imported by their bare names.

Tools, tests and board programs import one another by module name
(``import w5500_emu``, ``from nullnic import NullNIC``), whatever folder of
tools/ the module lives in; this module says which folders those are, so
a program puts them all on ``sys.path``::

    sys.path.insert(0, "<root>/tools")
    import toolpath
    toolpath.add("<root>")

and a child process gets them in PYTHONPATH or MICROPYPATH
(``toolpath.env_path(root)``; the Makefile lists them with a wildcard).
Portable: CPython and the MicroPython unix port (no os.path).
host_tests/test_tools_map.py checks GROUPS against the folders.
"""
import sys

# tools/<group>/ folders holding Python modules (tools/README.md says what
# each is for); a new folder with modules gets a name here.
GROUPS = ("emu", "vboard", "measure", "robust", "codegen", "common", "deploy")


def dirs(root="."):
    """The group folders under the repository root ``root``."""
    return [root + "/tools/" + g for g in GROUPS]


def add(root="."):
    """Put every group folder first on sys.path (GROUPS order; once)."""
    for d in reversed(dirs(root)):
        if d not in sys.path:
            sys.path.insert(0, d)


def env_path(root=".", extra=()):
    """A PYTHONPATH / MICROPYPATH value: ``root``/lib, the group folders, then ``extra``."""
    return ":".join([root + "/lib"] + dirs(root) + list(extra))
