"""adafruit_minimqtt (PyPI, unchanged) on tcpip's SocketPool: connect to the
mosquitto broker at 192.0.2.1:1883, subscribe, publish, receive our own
messages back.  Portable (CPython, MicroPython with host_tests/helpers/shims).

    <runtime> mqtt_app.py tap tap0 | packet vb [nodelay]

minimqtt writes a PUBLISH in three small sends, so with Nagle on (the default,
as on lwIP) each round trip waits for the broker's delayed ACK (~40 ms);
``nodelay`` sets TCP_NODELAY on minimqtt's socket after connect to show that.
"""
import sys

import tcpip
from tcpip.compat import ticks_ms, ticks_diff
import adafruit_minimqtt.adafruit_minimqtt as MQTT
import apphelp

stack = apphelp.make_stack(sys.argv[1:3])
pool = tcpip.SocketPool(stack)
got = []


def on_message(client, topic, message):
    got.append((topic, message, ticks_ms()))


client = MQTT.MQTT(broker="192.0.2.1", port=1883, socket_pool=pool, is_ssl=False,
                   client_id="tcpip-%s" % sys.implementation.name, keep_alive=30,
                   socket_timeout=1, recv_timeout=5)
client.on_message = on_message
t0 = ticks_ms()
client.connect()
connect_ms = ticks_diff(ticks_ms(), t0)
if "nodelay" in sys.argv[3:]:
    client._sock.setsockopt(tcpip.IPPROTO_TCP, tcpip.TCP_NODELAY, 1)
client.subscribe("tcpip/test", qos=1)
payloads = ["hello %d" % i for i in range(5)] + ["x" * 1000]
rtts = []
for p in payloads:
    n = len(got)
    t0 = ticks_ms()
    client.publish("tcpip/test", p, qos=1)
    while len(got) == n and ticks_diff(ticks_ms(), t0) < 5000:
        client.loop(timeout=2)
    if len(got) > n:
        rtts.append(ticks_diff(got[-1][2], t0))
client.unsubscribe("tcpip/test")
client.disconnect()
apphelp.say({"event": "done", "received": [m for _, m, _ in got], "topics": [t for t, _, _ in got],
             "connect_ms": connect_ms, "rtt_ms": rtts, "sent": payloads})
