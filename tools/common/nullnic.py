"""A NIC on a wire nobody is on: nothing arrives, frames go nowhere (counted in
``sent``), the link is up.  For a Stack that must exist without traffic
(memory figures, API tests, ARP that never gets an answer).

Portable (CPython, MicroPython, a board): no attribute is set on the instance
until a frame is sent, so making one costs what an empty object costs.
"""


class NullNIC:
    mac = b"\x02\x00\x00\x00\x00\x02"
    sent = 0

    def __init__(self, mac=None):
        if mac is not None:
            self.mac = mac

    def recv_into(self, buf):
        return 0

    def send(self, frame):
        self.sent += 1

    def link_up(self):
        return True
