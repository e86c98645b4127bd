"""microdot (PyPI, unchanged) serving HTTP on tcpip's sockets at 192.0.2.2:80.

    <runtime> microdot_app.py tap tap0 | packet vb

MicroPython: microdot's own ``start_server`` (asyncio.start_server, which finds
tcpip's sockets as ``socket`` through host_tests/helpers/shims).  CPython: the event
loop cannot wait on tcpip sockets, so ``tcpip.aio.start_server`` hands each
connection to microdot's ``handle_request``.  Routes: GET / (text), POST /upload
(answers the body's length and SHA-256), GET /shutdown (stops the app).
Prints {"event": "listening"} when ready and {"event": "done", ...} at the end.
"""
import sys
import asyncio
import hashlib
import binascii

from tcpip import aio
from microdot import Microdot, Request
import apphelp

MP = sys.implementation.name == "micropython"
stack = apphelp.make_stack(sys.argv[1:3], tcp_rx_bytes=8192, tcp_tx_bytes=8192)
Request.max_content_length = 1 << 20
Request.max_body_length = 1 << 20
Request.max_readline = 2048
app = Microdot()
served = []
stop = asyncio.Event()


@app.route("/")
async def index(request):
    served.append("GET /")
    return "hello from microdot on tcpip (%s)\n" % sys.implementation.name


@app.post("/upload")
async def upload(request):
    body = request.body
    served.append("POST /upload %d" % len(body))
    return {"length": len(body), "sha256": binascii.hexlify(hashlib.sha256(body).digest()).decode()}


@app.route("/shutdown")
async def shutdown(request):
    served.append("GET /shutdown")
    if MP:
        request.app.shutdown()
    else:
        stop.set()
    return "bye\n"


async def main():
    if MP:
        task = asyncio.create_task(app.start_server(host="0.0.0.0", port=80))
        await asyncio.sleep_ms(50)
        apphelp.say({"event": "listening"})
        await task
        await asyncio.sleep_ms(300)  # the /shutdown response is still being written
    else:
        async def serve(reader, writer):
            await app.handle_request(reader, writer)

        srv = await aio.start_server(serve, "0.0.0.0", 80)
        poller = asyncio.create_task(aio.poll_task(stack))
        apphelp.say({"event": "listening"})
        await stop.wait()
        await asyncio.sleep(0.2)  # let the last response go out
        srv.close()
        poller.cancel()


asyncio.run(main())
apphelp.pump(stack, 300)
apphelp.say({"event": "done", "served": served, "stats": {"tcp_retransmits": stack.stats()["tcp_retransmits"]}})
