"""adafruit_minimqtt publishes and subscribes through mosquitto in the namespace,
on tcpip's SocketPool, under CPython and under the MicroPython unix port."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import nsharness  # noqa: E402


@pytest.mark.parametrize("runtime", nsharness.RUNTIMES)
def test_minimqtt_pub_sub_through_mosquitto(runtime, tmp_path):
    why = nsharness.skip_reason(runtime, tools=("mosquitto",))
    if why:
        pytest.skip(why)
    try:
        import adafruit_minimqtt  # noqa: F401
    except ImportError:
        pytest.skip("adafruit-circuitpython-minimqtt missing (requirements-apps.txt)")
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener 1883 192.0.2.1\nallow_anonymous true\npersistence false\n")
    log = tmp_path / "mosquitto.log"
    net = nsharness.AppNs(runtime, "mqtt")
    try:
        net.spawn(["mosquitto", "-v", "-c", str(conf)], log=str(log))
        net.wait_port(1883)
        events, p = net.run_app("mqtt_app.py", timeout=60)
        events2, p2 = net.run_app("mqtt_app.py", ["nodelay"], timeout=60)
    finally:
        net.close()
    assert events and events[-1]["event"] == "done", p.stdout[-2000:] + p.stderr[-3000:]
    done = events[-1]
    assert done["received"] == done["sent"], done
    assert set(done["topics"]) == {"tcpip/test"}
    text = log.read_text()
    assert "New client connected from 192.0.2.2" in text, text[-2000:]
    assert "Received PUBLISH from tcpip-" in text
    assert events2 and events2[-1]["received"] == events2[-1]["sent"], p2.stdout[-2000:] + p2.stderr[-3000:]
    from netharness import record
    record("mqtt_%s" % runtime, {"connect_ms": done["connect_ms"], "rtt_ms": done["rtt_ms"],
                                 "rtt_ms_nodelay": events2[-1]["rtt_ms"]})


def test_umqtt_simple_check_msg_loop_receives_without_a_poller(tmp_path):
    """micropython-lib umqtt.simple's non-blocking check_msg() loop is the only
    thing that polls the stack, and it receives every message (MicroPython only:
    the library imports usocket/ustruct)."""
    why = nsharness.skip_reason("micropython", tools=("mosquitto",))
    if why:
        pytest.skip(why)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("listener 1883 192.0.2.1\nallow_anonymous true\npersistence false\n")
    log = tmp_path / "mosquitto.log"
    net = nsharness.AppNs("micropython", "umqtt")
    try:
        net.spawn(["mosquitto", "-v", "-c", str(conf)], log=str(log))
        net.wait_port(1883)
        events, p = net.run_app("umqtt_app.py", timeout=60)
    finally:
        net.close()
    assert events and events[-1]["event"] == "done", p.stdout[-2000:] + p.stderr[-3000:]
    done = events[-1]
    assert done["received"] == done["sent"], done
    assert set(done["topics"]) == {"tcpip/umqtt"}
    assert "New client connected from 192.0.2.2" in log.read_text()
    from netharness import record
    record("umqtt_check_msg", {"rtt_ms": done["rtt_ms"]})
