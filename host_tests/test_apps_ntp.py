"""adafruit_ntp gets the time from chronyd (by name, ntp.test, on a stack
configured by DHCP from dnsmasq) in the namespace through tcpip's SocketPool (CPython; adafruit_ntp needs time.monotonic_ns, which the MicroPython
unix port lacks).  chronyd runs with -x: it never touches the host's clock."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402


def test_adafruit_ntp_from_chronyd(tmp_path):
    why = nsharness.skip_reason("cpython", tools=("chronyd", "dnsmasq"))
    if why:
        pytest.skip(why)
    pytest.importorskip("adafruit_ntp")
    conf = tmp_path / "chrony.conf"
    conf.write_text("local stratum 8\nallow 192.0.2.0/24\nbindaddress 192.0.2.1\ncmdport 0\n"
                    "pidfile %s\ndriftfile %s\n" % (tmp_path / "chronyd.pid", tmp_path / "drift"))
    net = nsharness.AppNs("cpython", "ntp")
    try:
        net.spawn(["chronyd", "-d", "-x", "-f", str(conf)], log=str(tmp_path / "chronyd.log"))
        net.spawn(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--interface=tap0",
                   "--bind-interfaces", "--except-interface=lo", "--listen-address=192.0.2.1",
                   "--dhcp-range=192.0.2.50,192.0.2.99,2m", "--dhcp-host=02:00:00:00:00:02,192.0.2.2",
                   "--dhcp-option=3,192.0.2.1", "--dhcp-option=6,192.0.2.1", "--no-resolv",
                   "--no-hosts", "--local=/test/", "--host-record=ntp.test,192.0.2.1",
                   "--dhcp-leasefile=%s" % (tmp_path / "leases")])
        net.wait_port(123, udp=True)
        net.wait_port(53, udp=True)
        events, p = net.run_app("ntp_app.py", timeout=60)
    finally:
        net.close()
    assert events and events[-1]["event"] == "done", (p.stdout[-2000:] + p.stderr[-3000:]
                                                      + (tmp_path / "chronyd.log").read_text())
    done = events[-1]
    # chronyd serves this machine's clock: the answer is within a second of it
    assert done["ifconfig"] == ["192.0.2.2", "255.255.255.0", "192.0.2.1", "192.0.2.1"], done
    assert abs(done["utc_ns"] - done["host_ns"]) < 1e9, done
    assert done["datetime"][0] >= 2024
    from netharness import record
    record("ntp_cpython", {"ms": done["ms"]})
