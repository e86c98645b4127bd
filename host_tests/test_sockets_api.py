"""Socket API semantics (lib/tcpip/socket.py) against the Linux kernel in a
namespace, under CPython (TAP) and MicroPython (veth): errors with CPython's
errno values, blocking / timeout / non-blocking behaviour, stream methods,
listen/accept with a backlog, UDP, broadcast, ICMP port unreachable, select.poll."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402

EXPECTED = {"getaddrinfo", "connect_refused", "send_recv", "stream_methods", "recv_timeout",
            "nonblocking_recv", "send_full", "nonblocking_connect", "reset", "peer_close",
            "shutdown", "setsockopt_and_context", "listen_accept", "udp", "udp_broadcast",
            "udp_refused", "icmp_port_unreachable", "bulk_readinto"}


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_socket_api_semantics(runtime):
    events, p = nsharness.run_with_kernel_servers(runtime, "sock", "sockets_app.py", timeout=90)
    checks = nsharness.checks_of(events)
    want = EXPECTED | ({"select_poll"} if runtime == "micropython" else set())
    assert set(checks) == want, nsharness.failed(events, p) + "\nmissing: %s" % (want - set(checks))
    assert all(c["ok"] for c in checks.values()), nsharness.failed(events, p)
    assert events[-1].get("event") == "done"
    from netharness import record
    record("socket_bulk_readinto_%s" % runtime, checks["bulk_readinto"]["info"])
