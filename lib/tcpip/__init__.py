"""tcpip: a TCP/IP stack in portable Python for Ethernet microcontroller boards."""
from tcpip.config import Config  # noqa: F401
from tcpip.stack import Stack  # noqa: F401

__version__ = "0.1.0"
