"""asyncio: 8 concurrent echo clients on tcpip sockets complete, under CPython
(tcpip.aio polled streams) and MicroPython (native asyncio streams via ioctl);
then tcpip.aio.start_server serves 4 concurrent kernel clients."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_eight_concurrent_echo_clients(runtime):
    events, p = nsharness.run_with_kernel_servers(runtime, "aio", "asyncio_echo_app.py", timeout=60)
    assert events and events[-1]["event"] == "done", p.stdout[-2000:] + p.stderr[-3000:]
    res = events[-1]["results"]
    assert len(res) == 8 and all(r is not None for r in res), res
    assert all(r["lines_ok"] == 20 and r["blob_ok"] for r in res), res
    # tcpip.aio.start_server answered 4 kernel clients at once
    assert '"ok": 4' in events[-1]["server"], events[-1]
    if runtime == "micropython":
        assert {r["how"] for r in res} == {"asyncio", "tcpip.aio"}
    from netharness import record
    record("asyncio_8_echo_clients_%s" % runtime, {"ms": events[-1]["ms"]})
