"""Short private names for the board set: a renamed copy of lib/tcpip for mpy-cross (host, CPython).

    python tools/deploy/shortnames.py SRC OUT [--map FILE] [--keep NAME[,NAME...]]
    python tools/deploy/shortnames.py --unmap MAPFILE < traceback.txt

SRC is a folder holding the ``tcpip`` package (``lib``); every ``tcpip/**/*.py``
under it is written to the same path under OUT with its private names
(``_name``, not ``__dunder__``) replaced by short ones (``_a``, ``_b``, ...,
``_aB``, ...), the same replacement in every file, the most used names
getting the shortest.  Nothing else changes: not a line, not a column
outside the replaced names, not a comment, so a traceback's line number
(``make flash LINES=1``) still points at the same line of lib/tcpip.

Why: on a board each distinct name is a qstr, stored in every ``.mpy`` that
uses it and interned on the heap when the first of them loads (about its
length plus 7 bytes).  lib/tcpip has about 620 private names of about 10
characters each.  tools/deploy/board.mk runs this with ``NAMES=1`` (not the
default: on the emulated board it left 1.6 KB more heap free and cost a few
percent of speed, docs/memory.md).

A name keeps its spelling when renaming it could change what the code does:

- it appears in a string constant other than a docstring: ``getattr(x,
  "_name")``, ``hasattr``, and the viper sources tcpip/wire/native*.py keep
  as text and ``exec`` on the board (renaming the code but not the text
  would also intern both spellings);
- it is never defined in the package (assigned, an attribute assigned, a
  ``def``/``class``, a parameter, an ``import ... as`` name): it then
  belongs to something else (``sys._x``, a runtime module's attribute);
- it is a module imported by name (``import _thread``) or a name imported
  from a module outside tcpip;
- it starts with two underscores (CPython's class-private mangling);
- it is in KEEP or ``--keep``: names that code outside the package uses on a
  board (the board tests read ``nic._read8(nic._VERSION_REG)``).

The map (``--map``) has one ``short original`` pair a line, sorted by short
name, to read a traceback or a ``dir()`` on the board back in lib/tcpip's
names: ``python tools/deploy/shortnames.py --unmap MAPFILE < traceback.txt``
writes the text with the original names.
"""

import ast
import io
import os
import re
import sys
import tokenize

# Private names code outside lib/tcpip uses on a board (host_tests/test_rp2040_*.py).
KEEP = ("_read8", "_VERSION_REG")

_PRIVATE = re.compile(r"^_[A-Za-z0-9]\w*$")
_IN_TEXT = re.compile(r"(?<![\w])_[A-Za-z0-9]\w*")
_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NEXT = _FIRST + "0123456789_"


def private(name):
    """True for a name this tool may shorten: ``_x``, not ``__x`` nor ``__x__``."""
    return bool(_PRIVATE.match(name)) and not name.startswith("__")


def sources(src):
    """Paths of the package's .py files under ``src`` (relative, sorted)."""
    out = []
    for d, dirs, names in os.walk(os.path.join(src, "tcpip")):
        dirs.sort()
        for n in names:
            if n.endswith(".py"):
                out.append(os.path.relpath(os.path.join(d, n), src))
    return sorted(out)


def _docstrings(tree):
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                ids.add(id(body[0].value))
    return ids


def _ours(module, level):
    return level > 0 or module == "tcpip" or (module or "").startswith("tcpip.")


def analyse(texts):
    """(uses, defined, frozen) over {path: source}: how often each private name
    appears as a name token, the private names the package defines, and the
    ones that must keep their spelling (see the module docstring)."""
    uses = {}
    defined = set()
    frozen = set()
    for text in texts.values():
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.NAME and tok.string.startswith("_") and not tok.string.startswith("__"):
                uses[tok.string] = uses.get(tok.string, 0) + 1
        tree = ast.parse(text)
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                frozen.update(_IN_TEXT.findall(node.value))
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
                defined.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.arg):
                defined.add(node.arg)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                defined.update(node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                defined.add(node.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    frozen.update(a.name.split("."))
                    if a.asname:
                        defined.add(a.asname)
            elif isinstance(node, ast.ImportFrom):
                frozen.update((node.module or "").split("."))
                for a in node.names:
                    if not _ours(node.module, node.level):
                        frozen.add(a.name)
                    if a.asname:
                        defined.add(a.asname)
    return uses, defined, frozen


def _short_names():
    for a in _FIRST:
        yield "_" + a
    for a in _FIRST:
        for b in _NEXT:
            yield "_" + a + b
    for a in _FIRST:
        for b in _NEXT:
            for c in _NEXT:
                yield "_" + a + b + c


def plan(texts, keep=KEEP):
    """{original: short} for the package sources {path: text}."""
    uses, defined, frozen = analyse(texts)
    frozen = frozen | set(keep)
    # A name of up to 3 characters stays: the short names are that long.
    todo = [n for n in uses if private(n) and n in defined and n not in frozen and len(n) > 3]
    todo.sort(key=lambda n: (-uses[n], n))
    taken = set(uses) - set(todo)  # names that stay as they are
    mapping = {}
    short = _short_names()
    for name in todo:
        new = next(short)
        while new in taken:
            new = next(short)
        if len(new) >= len(name):  # (not with fewer than 3,000 names) it stays
            if name in mapping.values():
                raise ValueError("short name %s given twice" % name)
            taken.add(name)
            continue
        mapping[name] = new
        taken.add(new)
    return mapping


def rename(text, mapping):
    """``text`` with every name token in ``mapping`` replaced (strings, comments
    and layout untouched)."""
    lines = text.splitlines(True)
    edits = {}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string in mapping:
            edits.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], mapping[tok.string]))
    for row, es in edits.items():
        line = lines[row - 1]
        for start, end, new in sorted(es, reverse=True):
            line = line[:start] + new + line[end:]
        lines[row - 1] = line
    return "".join(lines)


def build(src, out, keep=KEEP, map_path=None):
    """Write the renamed package to ``out``; returns the mapping."""
    texts = {}
    for rel in sources(src):
        with open(os.path.join(src, rel), encoding="utf-8") as f:
            texts[rel] = f.read()
    mapping = plan(texts, keep)
    for rel, text in texts.items():
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        new = rename(text, mapping)
        old = None
        if os.path.exists(dest):
            with open(dest, encoding="utf-8") as f:
                old = f.read()
        if new != old:  # keep the time stamp of an unchanged file: make rebuilds only what changed
            with open(dest, "w", encoding="utf-8") as f:
                f.write(new)
    if map_path:
        with open(map_path, "w", encoding="utf-8") as f:
            for name, new in sorted(mapping.items(), key=lambda kv: kv[1]):
                f.write("%s %s\n" % (new, name))
    return mapping


def read_map(path):
    """{short: original} from a map file."""
    back = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                back[parts[0]] = parts[1]
    return back


def unmap(text, back):
    """``text`` (a traceback, a dir() listing) with the short names spelled as in lib/tcpip."""
    return re.sub(r"(?<![\w])_[A-Za-z][A-Za-z0-9_]{0,2}(?![\w])", lambda m: back.get(m.group(0), m.group(0)), text)


def main(argv):
    if len(argv) == 2 and argv[0] == "--unmap":
        sys.stdout.write(unmap(sys.stdin.read(), read_map(argv[1])))
        return 0
    args = []
    keep = list(KEEP)
    map_path = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--map", "--keep") and i + 1 < len(argv):
            if a == "--map":
                map_path = argv[i + 1]
            else:
                keep += [k for k in argv[i + 1].split(",") if k]
            i += 2
            continue
        if a.startswith("-"):
            args = []
            break
        args.append(a)
        i += 1
    if len(args) != 2:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    mapping = build(args[0], args[1], keep, map_path)
    saved = sum(len(k) - len(v) for k, v in mapping.items())
    print("shortnames: %d private names renamed in %s (%d characters shorter each once)"
          % (len(mapping), args[1], saved))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
