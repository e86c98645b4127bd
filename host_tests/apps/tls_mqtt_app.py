"""MQTT over TLS through tcpip: mosquitto's TLS listener on files.test:8883
(host_tests/test_tls.py starts it).  adafruit_minimqtt (unchanged,
``is_ssl=True`` with a tcpip.tls context) on both runtimes, and
micropython-lib umqtt.simple (``ssl=`` a context) on MicroPython when it is
installed.  Each publishes to a topic it subscribed to and must get its own
messages back.

    <runtime> tls_mqtt_app.py tap tap0 | packet vb CERT_DIR
"""
import sys

import tcpip
from tcpip import tls
from tcpip.compat import ticks_ms, ticks_diff
import apphelp

MP = sys.implementation.name != "cpython"
stack = apphelp.make_stack(sys.argv[1:3])
CA = sys.argv[3] + "/ca.pem"
checks = apphelp.Checks()
PAYLOADS = ["hello %d" % i for i in range(3)] + ["x" * 3000]


def c_minimqtt():
    import adafruit_minimqtt.adafruit_minimqtt as MQTT
    got = []

    def on_message(client, topic, message):
        got.append(message)

    client = MQTT.MQTT(broker="files.test", port=8883, socket_pool=tcpip.SocketPool(stack),
                       ssl_context=tls.create_default_context(cafile=CA), is_ssl=True,
                       client_id="tcpip-tls-%s" % sys.implementation.name, keep_alive=30,
                       socket_timeout=1, recv_timeout=5)
    client.on_message = on_message
    t0 = ticks_ms()
    client.connect()
    connect_ms = ticks_diff(ticks_ms(), t0)
    client.subscribe("tcpip/tls", qos=1)
    for p in PAYLOADS:
        n = len(got)
        client.publish("tcpip/tls", p, qos=1)
        t0 = ticks_ms()
        while len(got) == n and ticks_diff(ticks_ms(), t0) < 5000:
            client.loop(timeout=2)
    client.disconnect()
    if got != PAYLOADS:
        raise AssertionError(got)
    return {"connect_ms": connect_ms, "received": len(got)}


def c_umqtt_simple():
    if not MP:
        return "CPython: umqtt is MicroPython's"
    import socket  # host_tests/helpers/shims/socket.py: tcpip's sockets
    sys.modules["usocket"] = socket  # what umqtt.simple imports
    ctx = tls.create_default_context(cafile=CA)

    class _Ussl:
        # umqtt.simple 1.3.4 wraps with ussl.wrap_socket(sock, **ssl_params)
        @staticmethod
        def wrap_socket(sock, server_hostname=None):
            return ctx.wrap_socket(sock, server_hostname=server_hostname)

    sys.modules["ussl"] = _Ussl
    from umqtt.simple import MQTTClient
    got = []
    c = MQTTClient("tcpip-umqtt", "files.test", port=8883, keepalive=30,
                   ssl=True, ssl_params={"server_hostname": "files.test"})
    c.set_callback(lambda topic, msg: got.append(msg.decode()))
    t0 = ticks_ms()
    c.connect()
    connect_ms = ticks_diff(ticks_ms(), t0)
    c.subscribe(b"tcpip/umqtt", qos=1)
    for p in PAYLOADS:
        n = len(got)
        c.publish(b"tcpip/umqtt", p.encode(), qos=1)
        t0 = ticks_ms()
        while len(got) == n and ticks_diff(ticks_ms(), t0) < 5000:
            c.check_msg()
            apphelp.pump(stack, 5)
    c.disconnect()
    if got != PAYLOADS:
        raise AssertionError(got)
    return {"connect_ms": connect_ms, "received": len(got)}


checks.run("minimqtt", c_minimqtt)
checks.run("umqtt_simple", c_umqtt_simple)
apphelp.say({"event": "done", "failed": checks.failed})
