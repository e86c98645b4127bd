"""Stateless parse and emit of Ethernet, ARP, IPv4, ICMP, UDP and TCP.

Parsers are small reusable objects: ``parse(buf, off, end)`` checks one header
in place (``buf`` is the frame's bytearray or memoryview), fills plain integer
attributes and returns ``None`` when the header is good or a short reason
string (``"ip_checksum"``, ``"tcp_options"``...) that the stack counts as
``drop_<reason>``.  Emitters write a header in place and return its length.
Nothing here allocates per packet or keeps state between packets.
"""
