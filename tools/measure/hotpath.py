"""Where a TCP segment's time goes: instruction counts under callgrind, per runtime.

    python tools/measure/hotpath.py [--segments N] [--runtimes cpython,mp64,mp32] [--out FILE]
    make hotpath        (root not needed; valgrind; writes bench/hotpath.json)

Two default stacks in one process move data one way over tools/memreport's
SlotWire (the in-memory wire that allocates nothing); the same run with 100
and with 100 + N data segments under ``valgrind --tool=callgrind`` gives the
instructions per data segment (both stacks' work: sender, receiver, ACKs) as
the difference, without start-up and imports.  A segment's size depends on
the ring sizes (with a 2 KB ring, 1460 + 588 B alternate), so every figure is
also given per 1460 B of payload delivered (``*_per_full_segment``), the one
to compare across ring sizes.  Instruction counts do not
depend on how busy the machine is, so before/after comparisons are exact.

For the MicroPython runtimes it also counts, per segment, the calls that
allocate a heap frame (``m_malloc_maybe``: a bytecode function whose state
exceeds 11 words, see tools/measure/frames.py) and the share of instructions spent
in ``gc_alloc`` (searching the heap for room).  That share depends on how
fragmented the heap is -- on the unix port the code is compiled onto the
same heap; a board runs frozen code -- so the frame count is the figure to
compare.  For CPython it adds cProfile's top functions (own time) of a
run outside valgrind.

Runtimes: cpython (this interpreter), mp64 (.venv/bin/micropython, the unix
port), mp32 (.build/mp32/micropython, `make mp32`: 31-bit small ints as on
a board).  ISNs are fixed so runs repeat.
"""
import sys

# (the measured child runs under MicroPython too: host-only modules are
# imported where they are used)
BASE_SEGMENTS = 100
MSS = 1460  # the per-byte figures are given per full segment's worth of payload
ISN_A = 0xFFFF0000  # above 2**30 and wrapping: the 32-bit case a board meets
ISN_B = 0xC0000000


def child(n):
    """Run in the measured process: n data segments a -> b after a warm-up
    (lib/ and the tools/ folders on the module path)."""
    import memreport
    w, a, b = memreport.make_pair()
    a.tcp.isn = lambda: ISN_A
    b.tcp.isn = lambda: ISN_B
    bulk = memreport.Bulk(a, b)
    for _ in range(20):
        bulk.step(False)
    s0 = memreport._segs_out(a)
    while memreport._segs_out(a) - s0 < n:
        for _ in range(25):
            bulk.step(False)
    if bulk.bad:
        raise SystemExit("payload check failed")
    segs = memreport._segs_out(a) - s0
    # what this run moved: the loop ends on a round, so a run sends a few more
    # segments than asked; the figures divide by what was measured
    print("PAYLOAD", bulk.got, "SEGMENTS", segs)
    return segs


def _paths():
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    return os, here, root


def _path():
    """lib and the tools/ folders, relative to the repository root (the cwd)."""
    sys.path.insert(0, _paths()[2] + "/tools")
    import toolpath
    return toolpath.env_path(".")


def _cmd(runtime, n):
    os, here, root = _paths()
    script = os.path.join(here, "hotpath.py")
    PYTHON = sys.executable
    MP64 = os.path.join(root, ".venv", "bin", "micropython")
    MP32 = os.path.join(root, ".build", "mp32", "micropython")
    if runtime == "cpython":
        return [PYTHON, script, "child", str(n)], {"PYTHONPATH": _path()}
    binary = MP64 if runtime == "mp64" else MP32
    return [binary, "-X", "heapsize=768k", script, "child", str(n)], {"MICROPYPATH": _path()}


def _callgrind(runtime, n, tmp):
    import re
    import subprocess
    os, here, ROOT = _paths()
    cmd, extra = _cmd(runtime, n)
    out = os.path.join(tmp, "cg.%s.%d" % (runtime, n))
    env = dict(os.environ)
    env.update(extra)
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd,
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise RuntimeError("%s failed under valgrind:\n%s" % (runtime, (p.stdout + p.stderr)[-3000:]))
    total = int(re.search(r"Collected : (\d+)", p.stderr).group(1))
    m = re.search(r"PAYLOAD (\d+) SEGMENTS (\d+)", p.stdout)
    payload, segs = int(m.group(1)), int(m.group(2))
    ann = subprocess.run(["callgrind_annotate", "--tree=caller", out], capture_output=True,
                         text=True, timeout=600).stdout
    frames = 0
    m = re.search(r"< \S*:m_malloc_maybe \(([\d,]+)x\)", ann)
    if m:
        frames = int(m.group(1).replace(",", ""))
    gc_alloc = 0
    m = re.search(r"^\s*([\d,]+) \([ \d.]+%\)\s+\*\s+\S*:gc_alloc \[", ann, re.M)
    if m:
        gc_alloc = int(m.group(1).replace(",", ""))
    return total, frames, gc_alloc, payload, segs


def _cprofile(n):
    """cProfile's top functions by own time, per data segment (CPython, no valgrind)."""
    import cProfile
    import pstats
    os, HERE, ROOT = _paths()
    sys.path[:0] = [os.path.join(ROOT, "lib"), os.path.join(ROOT, "tools")]
    import toolpath
    toolpath.add(ROOT)
    import memreport  # noqa: F401  (imported before profiling: compiling is not a segment's cost)
    pr = cProfile.Profile()
    pr.enable()
    segs = child(n)
    pr.disable()
    segs = segs or 1
    st = pstats.Stats(pr)
    rows = []
    for (fn, line, name), (cc, nc, tt, ct, callers) in st.stats.items():
        rows.append((tt, nc, os.path.relpath(fn, ROOT) if fn.startswith(ROOT) else fn, name))
    rows.sort(reverse=True)
    return [{"function": "%s:%s" % (f, nm), "calls_per_segment": round(nc / segs, 2),
             "own_us_per_segment": round(tt * 1e6 / segs, 2)} for tt, nc, f, nm in rows[:12]]


def profile(runtimes, segments):
    import tempfile
    import time
    os, here, root = _paths()
    mp32 = os.path.join(root, ".build", "mp32", "micropython")
    out = {"when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "segments": segments,
           "what": "two default stacks, one process, SlotWire; per data segment"}
    with tempfile.TemporaryDirectory() as tmp:
        for rt in runtimes:
            if rt == "mp32" and not os.path.exists(mp32):
                out["mp32_skipped"] = "no .build/mp32/micropython (make mp32)"
                continue
            t1, f1, g1, p1, n1 = _callgrind(rt, BASE_SEGMENTS, tmp)
            t2, f2, g2, p2, n2 = _callgrind(rt, BASE_SEGMENTS + segments, tmp)
            segs = max(1, n2 - n1)
            r = {"instructions_per_segment": (t2 - t1) // segs,
                 "payload_per_segment": round((p2 - p1) / segs),
                 "instructions_per_full_segment": (t2 - t1) * MSS // max(1, p2 - p1)}
            if rt != "cpython":
                r["heap_frames_per_segment"] = round((f2 - f1) / segs, 1)
                r["heap_frames_per_full_segment"] = round((f2 - f1) * MSS / max(1, p2 - p1), 1)
                r["gc_alloc_share"] = round((g2 - g1) / max(1, t2 - t1), 3)
            out[rt] = r
    if "cpython" in runtimes:
        out["cpython"]["cprofile_top"] = _cprofile(max(segments, 2000))
    return out


def main(argv):
    if argv[:1] == ["child"]:
        child(int(argv[1]))
        return 0
    import argparse
    import json
    os, here, root = _paths()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--segments", type=int, default=1000)
    ap.add_argument("--runtimes", default="cpython,mp64,mp32")
    ap.add_argument("--out", default=os.path.join(root, "bench", "hotpath.json"))
    a = ap.parse_args(argv)
    r = profile(a.runtimes.split(","), a.segments)
    with open(a.out, "w") as f:
        json.dump(r, f, indent=1, sort_keys=True)
        f.write("\n")
    for rt in ("cpython", "mp64", "mp32"):
        if rt in r:
            x = r[rt]
            print("%-8s %9d instructions/segment (%d B of payload), %d per 1460 B%s" % (
                rt, x["instructions_per_segment"], x["payload_per_segment"], x["instructions_per_full_segment"],
                "" if rt == "cpython" else ", %.1f heap frames/segment (%.1f per 1460 B), gc_alloc %.0f%%"
                % (x["heap_frames_per_segment"], x["heap_frames_per_full_segment"], 100 * x["gc_alloc_share"])))
    print("hotpath: wrote %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
