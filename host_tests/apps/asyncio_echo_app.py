"""8 concurrent asyncio echo clients on tcpip sockets against the kernel's echo
server (kernel_servers.py, 192.0.2.1:7001).  Portable.

    <runtime> asyncio_echo_app.py tap tap0 | packet vb

CPython: tcpip.aio.open_connection (polled streams).  MicroPython: clients 0-3
use the runtime's own asyncio.open_connection (tcpip sockets found as
``socket`` through host_tests/helpers/shims, waited on with select.poll -> ioctl),
clients 4-7 tcpip.aio.open_connection (native asyncio.Stream on our socket).
"""
import sys
import asyncio

from tcpip import aio
from tcpip.compat import ticks_ms, ticks_diff
import apphelp

MP = sys.implementation.name == "micropython"
CLIENTS = 8
LINES = 20
BLOB = 8000
stack = apphelp.make_stack(sys.argv[1:3], tcp_sockets=16)
results = {}


async def client(i):
    if MP and i < 4:
        reader, writer = await asyncio.open_connection("192.0.2.1", 7001)
        how = "asyncio"
    else:
        reader, writer = await aio.open_connection("192.0.2.1", 7001)
        how = "tcpip.aio"
    ok = 0
    for k in range(LINES):
        line = b"client %d line %d\n" % (i, k)
        writer.write(line)
        await writer.drain()
        if await reader.readline() == line:
            ok += 1
    blob = bytes((i + k) % 256 for k in range(BLOB))
    writer.write(blob)
    await writer.drain()
    back = await reader.readexactly(BLOB)
    writer.close()
    await writer.wait_closed()
    results[i] = {"lines_ok": ok, "blob_ok": back == blob, "how": how}


async def echo_handler(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(line)
        await writer.drain()
    await writer.aclose()


async def serve_kernel_clients(n):
    """tcpip.aio.start_server answering n kernel clients at once (kernel_servers' control port)."""
    srv = await aio.start_server(echo_handler, "0.0.0.0", 7777, backlog=n)
    reader, writer = await aio.open_connection("192.0.2.1", 7006)
    writer.write(b"connect 7777 %d\n" % n)
    await writer.drain()
    answer = await reader.readline()
    await writer.aclose()
    srv.close()
    return answer.decode().strip()


async def main():
    poller = asyncio.create_task(aio.poll_task(stack))
    t0 = ticks_ms()
    await asyncio.gather(*[client(i) for i in range(CLIENTS)])
    ms = ticks_diff(ticks_ms(), t0)
    server = await serve_kernel_clients(4)
    poller.cancel()
    return ms, server


ms, server = asyncio.run(main())
apphelp.say({"event": "done", "ms": ms, "server": server,
             "results": [results.get(i) for i in range(CLIENTS)]})
