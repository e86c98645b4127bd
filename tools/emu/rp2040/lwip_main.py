"""The reference board: MicroPython's own lwIP stack on the W5500-EVB-Pico, as main.py.

Runs on the stock MicroPython W5500_EVB_PICO firmware (``network.WIZNET5K``:
lwIP in MACRAW mode on the board's W5500, SCK GP18, MOSI GP19, MISO GP16, CS GP17,
RSTn GP20, INTn GP21).  tools/emu/rp2040_board.py puts it on the board's filesystem
as ``main.py`` with ``lwip_config.json``::

    {"dhcp": false, "ip": "192.0.2.2", "prefix": 24, "gateway": "192.0.2.1",
     "mac": "02:00:00:00:00:02", "serve": ["echo", "http"]}

Brings the interface up (static, or DHCP), prints ``lwip: up IP PREFIX GATEWAY
HOW``; with services it prints ``serving`` and serves echo (7), discard (9),
chargen (19) and a small status page on http (80) with the standard ``socket``
module until Ctrl-C, then prints ``lwip-stats {...}``.  Without services it
returns to the REPL with ``net`` (the WIZNET5K) bound; lwIP keeps answering from
its own timer and the INTn interrupt.

Seen in the emulator, not fixed: the http page reaches a client only when
another frame of that connection arrives (curl's FIN after its timeout).  A
capture in the namespace shows it is the request, not the reply, that waits:
the request that arrives right behind the handshake, before ``accept()``, is
refused by MicroPython's lwIP glue (not acknowledged); lwIP acknowledges the
peer's retransmission 200 ms later but keeps it as refused data, which it
hands to the socket only at the next segment of the connection (lwIP's fast
timer, which should retry refused data every 250 ms, evidently does not run
during this loop).  The reply leaves at once after the request is read.
echo, discard, chargen and ping, where the peer keeps sending, are not
affected.
"""
import json
import select
import socket
import time

import network

PORTS = {"echo": 7, "discard": 9, "chargen": 19, "http": 80}


def _prefix_mask(n):
    m = (0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF
    return "%d.%d.%d.%d" % (m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255)


def _mask_prefix(mask):
    n = 0
    for p in mask.split("."):
        n += bin(int(p)).count("1")
    return n


def bring_up(cfg):
    nic = network.WIZNET5K()
    if cfg.get("mac"):
        nic.config(mac=bytes(int(x, 16) for x in cfg["mac"].split(":")))
    nic.active(True)
    how = "static"
    if cfg.get("dhcp"):
        nic.ifconfig("dhcp")
        how = "dhcp"
        t0 = time.ticks_ms()
        while nic.ifconfig()[0] == "0.0.0.0":
            if time.ticks_diff(time.ticks_ms(), t0) > cfg.get("dhcp_timeout_ms", 30000):
                how = "none"
                break
            time.sleep_ms(50)
    else:
        nic.ifconfig((cfg["ip"], _prefix_mask(cfg["prefix"]), cfg["gateway"], cfg["gateway"]))
    ip, mask, gw, _ = nic.ifconfig()
    print("lwip: up %s %d %s %s" % (ip, _mask_prefix(mask), gw, how))
    return nic


def _pattern():
    out = bytearray(95 * 74)
    o = 0
    for line in range(95):
        for i in range(72):
            out[o] = 32 + (line + i) % 95
            o += 1
        out[o] = 13
        out[o + 1] = 10
        o += 2
    return out


class Services:
    """echo / discard / chargen / http on blocking client sockets, one poll loop."""

    def __init__(self, nic, names):
        self.nic = nic
        self.poller = select.poll()
        self.listeners = {}
        self.conns = {}  # socket -> [kind, chargen offset, http request]
        self.stats = {"accepted": 0, "rx_bytes": 0, "tx_bytes": 0, "errors": 0}
        self.buf = bytearray(1460)
        self.mv = memoryview(self.buf)
        self.pat = _pattern() if "chargen" in names else None
        if self.pat is not None:
            self.pat = self.pat + self.pat[:1460]
        for name in names:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", PORTS[name]))
            s.listen(2)
            s.setblocking(False)
            self.listeners[s] = name
            self.poller.register(s, select.POLLIN)

    def _close(self, c):
        self.poller.unregister(c)
        del self.conns[c]
        c.close()

    def _accept(self, ls):
        try:
            c, _ = ls.accept()
        except OSError:
            return
        kind = self.listeners[ls]
        c.settimeout(30)
        self.conns[c] = [kind, 0, b""]
        self.stats["accepted"] += 1
        self.poller.register(c, select.POLLOUT | select.POLLIN if kind == "chargen" else select.POLLIN)

    def _serve(self, c, ev):
        st = self.conns[c]
        kind = st[0]
        if kind == "chargen":
            if ev & select.POLLIN:
                if not c.recv(64):
                    return True
            if ev & select.POLLOUT:
                p = st[1]
                n = c.send(memoryview(self.pat)[p:p + 1460])
                self.stats["tx_bytes"] += n
                p += n
                if p >= 7030:
                    p -= 7030
                st[1] = p
            return False
        n = c.readinto(self.buf)
        if not n:
            return True
        self.stats["rx_bytes"] += n
        if kind == "echo":
            c.write(self.mv[:n])
            self.stats["tx_bytes"] += n
        elif kind == "http":
            st[2] += bytes(self.mv[:n])
            if b"\r\n\r\n" in st[2]:
                ip, mask, gw, _ = self.nic.ifconfig()
                body = "lwip status\n\ninterface  %s/%s  gateway %s\n" % (ip, mask, gw)
                c.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                        "Connection: close\r\n\r\n%s" % (len(body), body))
                return True
        return False

    def run(self):
        for obj, ev in self.poller.ipoll(20):
            if obj in self.listeners:
                self._accept(obj)
                continue
            if obj not in self.conns:
                continue
            try:
                done = self._serve(obj, ev) or bool(ev & (select.POLLHUP | select.POLLERR))
            except OSError:
                self.stats["errors"] += 1
                done = True
            if done:
                self._close(obj)


def main():
    try:
        with open("lwip_config.json") as f:
            cfg = json.load(f)
    except OSError:
        cfg = {"dhcp": True}
    nic = bring_up(cfg)
    names = cfg.get("serve") or []
    if not names:
        return nic
    svc = Services(nic, names)
    import gc

    gc.collect()
    print("serving", gc.mem_free())
    try:
        while True:
            svc.run()
    except KeyboardInterrupt:
        pass
    print("lwip-stats " + json.dumps(svc.stats))
    return nic


net = main()
