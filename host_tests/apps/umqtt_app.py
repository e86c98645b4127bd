"""micropython-lib's umqtt.simple (unchanged) on tcpip's sockets, MicroPython only
(it imports usocket/ustruct/ubinascii): connect to mosquitto at 192.0.2.1:1883,
subscribe, publish, then receive the broker's copies with the usual main loop
of a board without a background poller::

    while ...:
        client.check_msg()   # non-blocking read(1): None when nothing is there
        time.sleep_ms(5)     # the application's own work; nothing polls the stack

Nothing but the non-blocking reads polls the stack in that loop.

    micropython umqtt_app.py packet vb
"""
import sys
import time

import socket  # host_tests/helpers/shims/socket.py: tcpip's sockets
import apphelp
from tcpip.compat import ticks_ms, ticks_diff

stack = apphelp.make_stack(sys.argv[1:3])
sys.modules["usocket"] = socket  # what umqtt.simple imports
from umqtt.simple import MQTTClient  # noqa: E402

TOPIC = b"tcpip/umqtt"
got = []


def on_message(topic, msg):
    got.append((topic, msg, ticks_ms()))


client = MQTTClient("tcpip-umqtt", "192.0.2.1", keepalive=30)
client.set_callback(on_message)
client.connect()
client.subscribe(TOPIC)
sent = [b"hello %d" % i for i in range(5)]
rtts = []
loops = 0
for m in sent:
    n = len(got)
    t0 = ticks_ms()
    client.publish(TOPIC, m)
    while len(got) == n and ticks_diff(ticks_ms(), t0) < 3000:
        client.check_msg()
        loops += 1
        time.sleep_ms(5)
    if len(got) > n:
        rtts.append(ticks_diff(got[-1][2], t0))
client.disconnect()
apphelp.say({"event": "done", "sent": [m.decode() for m in sent],
             "received": [m.decode() for _, m, _ in got], "topics": [t.decode() for t, _, _ in got],
             "rtt_ms": rtts, "check_msg_calls": loops})
