"""Loads tcpip/wire's viper code at import: ``load`` gives the functions of a
viper text (tcpip/wire/native.py's COPY and SUM16, tcpip/wire/native_emit.py's
EMIT) from the first of:

- the machine-code module a MicroPython board set holds
  (tcpip/wire/native_mc.mpy, tcpip/wire/native_emit_mc.mpy: the texts
  compiled ahead by mpy-cross, tools/deploy/board.mk), which costs the board
  no compiling;
- the text compiled here by the native emitter (a MicroPython unix port);
- None: no viper here (CPython, CircuitPython, a port without the native
  emitter); the caller takes its portable code.

tcpip.wire.bytes (the copy and the sum) and tcpip.tcp (EMIT) import this
module inside their loaders, and ``load`` drops it again, with the module
it read: what stays on the heap is the code and the globals it uses.
"""


def take(module):
    """The module ``module`` of tcpip.wire, imported and dropped again (from
    sys.modules and the package) before this returns: a loaded .mpy keeps
    every string constant for as long as any of its objects lives, so what
    stays is only what the caller keeps of it."""
    sys = __import__("sys")
    pkg = __import__("tcpip.wire").wire
    full = "tcpip.wire." + module
    try:
        return getattr(__import__(full).wire, module)
    finally:
        sys.modules.pop(full, None)
        try:
            delattr(pkg, module)  # the attribute the import set on the package
        except AttributeError:
            pass


def source(name, module="native"):
    """The text ``name`` of the module ``module`` of tcpip.wire (that module dropped again)."""
    return getattr(take(module), name)


def load(names, texts, module="native", mc="native_mc", drop=()):
    """The objects ``names`` (a tuple) of the viper texts ``texts`` (a tuple
    of names of string constants of the module ``module`` of tcpip.wire), as
    a list, from the machine-code module ``mc`` or the texts (see above), or
    None.  The names in ``drop`` are deleted from the code's globals once
    read; this module is dropped too."""
    try:
        try:
            # (no such module outside a MicroPython board set; an .mpy of
            # another architecture is a ValueError: then the texts)
            m = take(mc)
        except Exception:
            m = None
        if m is not None:
            got = [getattr(m, n) for n in names]
            for n in drop:
                delattr(m, n)
            return got
        try:
            m = take(module)
            ns = {}
            exec("".join([getattr(m, t) for t in texts]), ns)
            m = None
            got = [ns[n] for n in names]
            for n in drop:
                del ns[n]
            return got
        except Exception:  # CPython (NameError), no native emitter (SyntaxError, ValueError), no text
            return None
    finally:
        __import__("sys").modules.pop("tcpip.wire.viper", None)
        try:
            delattr(__import__("tcpip.wire").wire, "viper")
        except AttributeError:
            pass
