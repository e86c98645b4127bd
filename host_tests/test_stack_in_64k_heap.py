"""The default stack lives in 64 KB of MicroPython heap: 1 MB each way and an
HTTP exchange with the Linux kernel, without MemoryError.

On a board the code of lib/tcpip is frozen into flash and the heap holds only
data; the MicroPython unix port compiles the code from source onto the heap
(about 130 KB, more while compiling), so ``-X heapsize=64k`` cannot even
import it there.  This test therefore gives the stack process a larger heap,
lets it import everything, and then -- this file is also the ``--stack``
module of the stack process -- takes every free byte of the heap except one
64 KB region: it reserves that region, fills everything else (the large free
end and every hole compiling left between code objects) with ballast down to
16-byte pieces, and frees the region.  What the stack and its services
allocate from then on (control blocks, rings, frame buffers, the HTTP page,
the per-frame ``recv()`` of the host packet NIC) has those 64 KB and nothing
else, as data in a 64 KB heap on a board with frozen code would.
"""
import sys

DATA_HEAP_BYTES = 64 * 1024

if sys.implementation.name == "micropython":
    # ---- inside the stack process (tools/vboard/vboard_run.py --stack test_stack_in_64k_heap)
    import gc
    import services  # noqa: F401  (code, not data: imported before the ballast)
    import httpstatus  # noqa: F401
    # the ICMP echo path loads at the first echo request (tcpip.wire.echo):
    # code, frozen on a board, so imported here before the ballast too
    import tcpip.wire.echo  # noqa: F401
    from tcpip.stack import Stack as _Stack

    _ballast = []

    def _largest_free():
        """The largest block the heap can allocate now (bisection; MicroPython)."""
        lo, hi = 0, gc.mem_free()
        while hi - lo > 64:
            mid = (lo + hi) // 2
            gc.collect()
            try:
                b = bytearray(mid)
                del b
                lo = mid
            except MemoryError:
                hi = mid
        gc.collect()
        return lo

    def _leave_only(nbytes):
        """Fill the heap with ballast so that nbytes stay free, in one region."""
        gc.collect()
        region = bytearray(nbytes)  # the 64 KB the stack will have
        # References to the ballast, allocated before the filling starts (a
        # list that grew while filling would free its old copies).
        refs = [None] * 16384
        _ballast.append(refs)
        k = 0
        size = 1 << 20
        while size >= 16 and k < len(refs):
            try:
                refs[k] = bytearray(size)
                k += 1
            except MemoryError:
                size >>= 1
        del region
        gc.collect()
        return k

    class Stack(_Stack):
        def __init__(self, cfg=None, nic=None):
            self.heap_ballast_pieces = _leave_only(DATA_HEAP_BYTES)
            self.heap_largest_free = _largest_free()
            self.heap_free_at_start = gc.mem_free()
            _Stack.__init__(self, cfg, nic)

        def stats(self):
            d = _Stack.stats(self)
            d["heap_free_at_start"] = self.heap_free_at_start
            d["heap_largest_free"] = self.heap_largest_free
            d["heap_ballast_pieces"] = self.heap_ballast_pieces
            gc.collect()
            d["heap_free_at_end"] = gc.mem_free()
            return d

else:
    import json
    import os

    import pytest

    HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(HERE, "helpers"))
    import netharness  # noqa: E402

    BENCH = os.path.join(netharness.ROOT, "tools", "measure", "bench.py")

    def _client(board, mode, nbytes):
        p = board.run([sys.executable, BENCH, "client", mode, netharness.STACK_IP, str(nbytes), "60"],
                      timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        return json.loads(p.stdout.strip().splitlines()[-1])

    def test_default_stack_runs_in_64k_of_heap():
        why = netharness.skip_reason("micropython", tools=("curl",))
        if why:
            pytest.skip(why)
        board = netharness.VBoard("micropython", tag="heap64k",
                                  extra=["--serve", "discard,chargen,http", "--heapsize", "1M",
                                         "--stack", "test_stack_in_64k_heap"])
        try:
            rx = _client(board, "discard", 1000000)
            assert rx["ok"] and rx["bytes"] == 1000000, rx
            tx = _client(board, "chargen", 1000000)
            assert tx["ok"] and tx["bytes"] >= 1000000, tx
            p = board.run(["curl", "-s", "-m", "20", "-o", "-", "-w", "\\nHTTP %{http_code}",
                           "http://%s/" % netharness.STACK_IP], timeout=60)
            assert p.stdout.rstrip().endswith("HTTP 200"), \
                p.stdout[-2000:] + p.stderr + "\nstack process:\n" + board.stderr()[-3000:]
            assert "rx_frames" in p.stdout  # the status page with the stack's counters
            stats = board.stop()
            err = board.stderr()
        finally:
            board.close()
        assert "MemoryError" not in err, err[-3000:]
        assert stats.get("internal_errors", 0) == 0, stats
        # the ballast left one free region of 64 KB and (almost) nothing else:
        # at most a few 16-byte crumbs it could not fill
        assert DATA_HEAP_BYTES - 256 <= stats["heap_largest_free"] <= DATA_HEAP_BYTES, stats
        assert DATA_HEAP_BYTES - 256 <= stats["heap_free_at_start"] <= DATA_HEAP_BYTES + 2048, stats
        netharness.record("heap64k", {"heap_free_at_start": stats["heap_free_at_start"],
                                      "heap_ballast_pieces": stats["heap_ballast_pieces"],
                                      "heap_largest_free": stats["heap_largest_free"],
                                      "heap_free_at_end": stats["heap_free_at_end"],
                                      "rx_bytes": rx["bytes"], "tx_bytes": tx["bytes"]})
