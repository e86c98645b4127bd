"""``socket`` for MicroPython programs on tcpip (host tests only): put this
directory first on MICROPYPATH and ``import socket`` -- in micropython-lib's
``requests``, in ``asyncio``'s open_connection/start_server, in microdot --
gives tcpip's sockets instead of the unix port's."""
from tcpip.socket import *  # noqa: F401,F403
from tcpip.socket import socket, getaddrinfo, SocketPool, timeout, gaierror  # noqa: F401
