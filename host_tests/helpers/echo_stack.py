"""A tiny ARP + ICMP echo responder with the Stack interface, for testing the NICs
and the virtual board harness on their own (``vboard_run.py --stack echo_stack``).

Portable (CPython and MicroPython).  It is a test double, not the stack: no
checksum checks beyond what a test of the wire needs, no timers.
"""

import struct


def _ip(text):
    return bytes([int(x) for x in text.split(".")])


def _csum(mv, n):
    s = 0
    i = 0
    while i + 1 < n:
        s += (mv[i] << 8) | mv[i + 1]
        i += 2
    if n & 1:
        s += mv[n - 1] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Stack:
    def __init__(self, config, nic):
        self.nic = nic
        self.mac = bytes(config.mac)
        self.ip = _ip(config.ip)
        self.buf = bytearray(1514)
        self.mv = memoryview(self.buf)
        self.counts = {"rx_frames": 0, "tx_frames": 0, "arp_replies": 0, "echo_replies": 0}

    def poll(self, now_ms):
        for _ in range(8):
            n = self.nic.recv_into(self.buf)
            if not n:
                break
            self.counts["rx_frames"] += 1
            self._frame(n)
        return 1000

    def _send(self, n):
        self.nic.send(self.mv[:n])
        self.counts["tx_frames"] += 1

    def _frame(self, n):
        b = self.buf
        mv = self.mv
        if n < 42:
            return
        etype = (b[12] << 8) | b[13]
        if etype == 0x0806 and b[21] == 1 and bytes(mv[38:42]) == self.ip:
            mv[0:6] = mv[6:12]
            mv[6:12] = self.mac
            b[21] = 2
            mv[32:42] = mv[22:32]
            mv[22:28] = self.mac
            mv[28:32] = self.ip
            self._send(42)
            self.counts["arp_replies"] += 1
        elif etype == 0x0800 and b[23] == 1 and bytes(mv[30:34]) == self.ip:
            ihl = (b[14] & 15) * 4
            total = (b[16] << 8) | b[17]
            icmp = 14 + ihl
            if b[icmp] != 8 or total + 14 > n:
                return
            mv[0:6] = mv[6:12]
            mv[6:12] = self.mac
            mv[30:34] = mv[26:30]
            mv[26:30] = self.ip
            b[24] = b[25] = 0
            struct.pack_into(">H", b, 24, _csum(mv[14:], ihl))
            b[icmp] = 0
            b[icmp + 2] = b[icmp + 3] = 0
            struct.pack_into(">H", b, icmp + 2, _csum(mv[icmp:], total - ihl))
            self._send(14 + total)
            self.counts["echo_replies"] += 1

    def stats(self):
        return dict(self.counts)
