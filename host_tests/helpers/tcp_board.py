"""The stack process for the TCP kernel interop tests (CPython or MicroPython).

Run inside a namespace made by the test (tools/vboard/netns.py)::

    ip netns exec NS python      host_tests/helpers/tcp_board.py --nic tap --if tap0 [options]
    ip netns exec NS micropython host_tests/helpers/tcp_board.py --nic packet --if vb [options]

Options::

    --serve echo,discard,chargen   start tools/vboard/services.py servers
    --client KIND:PORT:NBYTES      the stack connects to 192.0.2.1:PORT (KIND discard,
                                   chargen, echo, recv) and exits when done
    --clients N                    run the client N times in a row (default 1)
    --rx N --tx N --sockets N --mtu N --msl N   Config overrides
    --seconds S                    stop after S seconds (default: until SIGINT)
    --reader BYTES:MS              a discard server on port 9 that reads at most BYTES
                                   every MS ms (a slow reader; 0:0 reads all at every
                                   poll), closes at the peer's FIN and prints
                                   ``{"reader": {"received": N, "sha": HEX}}``

Prints ``ready`` once the NIC is attached, then one JSON line per finished
client (``{"client": {...}}``) and, at exit, ``{"stats": {...}}`` with the
stack's counters plus ``tcp_free_blocks`` / ``tcp_pool``.
"""
import sys
import select

try:
    import json
except ImportError:  # pragma: no cover
    import ujson as json

from tcpip.compat import ticks_ms, ticks_diff
from tcpip.config import Config
from tcpip.stack import Stack
import services


def _say(obj):
    print(obj if isinstance(obj, str) else json.dumps(obj))
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def main(argv):
    o = {"nic": "tap", "if": "tap0", "serve": "", "client": "", "clients": "1", "rx": "", "tx": "",
         "sockets": "", "mtu": "", "msl": "", "seconds": "0", "ip": "192.0.2.2", "peer": "192.0.2.1",
         "reader": ""}
    i = 0
    while i + 1 < len(argv):
        k = argv[i][2:]
        if not argv[i].startswith("--") or k not in o:
            _say("bad argument %s" % argv[i])
            return 2
        o[k] = argv[i + 1]
        i += 2
    mac = b"\x02\x00\x00\x00\x00\x02"
    if o["nic"] == "tap":
        from tcpip.nic.tap import TapNIC
        nic = TapNIC(o["if"], mac=mac)
    else:
        from tcpip.nic.packet import PacketNIC
        nic = PacketNIC(o["if"], mac=mac)
    cfg = Config(mac=mac, ip=o["ip"], prefix=24, gateway=o["peer"])
    if o["rx"]:
        cfg.tcp_rx_bytes = int(o["rx"])
    if o["tx"]:
        cfg.tcp_tx_bytes = int(o["tx"])
    if o["sockets"]:
        cfg.tcp_sockets = int(o["sockets"])
    if o["mtu"]:
        cfg.mtu = int(o["mtu"])
    if o["msl"]:
        cfg.tcp_msl_ms = int(o["msl"])
    cfg.rx_frames_per_poll = 16
    stack = Stack(cfg, nic)
    svc = services.start(stack, o["serve"]) if o["serve"] else None
    reader = Reader(stack, o["reader"]) if o["reader"] else None
    client = None
    todo = int(o["clients"]) if o["client"] else 0
    kind = port = nbytes = None
    if todo:
        kind, port, nbytes = o["client"].split(":")
        port = int(port)
        nbytes = int(nbytes)
    poller = select.poll()
    poller.register(nic.fileno(), select.POLLIN)
    wait = poller.ipoll if hasattr(poller, "ipoll") else poller.poll
    start = ticks_ms()
    limit_ms = int(float(o["seconds"]) * 1000)
    _say("ready")
    t_client = 0
    try:
        while True:
            now = ticks_ms()
            w = stack.poll(now)
            if svc is not None:
                svc.run()
            if reader is not None:
                reader.run(now)
            if todo and client is None and ticks_diff(now, start) > 300:
                client = services.Client(stack, kind, o["peer"], port, nbytes)
                t_client = now
            if client is not None:
                client.run()
                if client.done:
                    ms = ticks_diff(ticks_ms(), t_client)
                    _say({"client": {"kind": kind, "sent": client.sent, "received": client.received,
                                     "error": client.error, "ms": ms,
                                     "sha_out": client.digest("out"), "sha_in": client.digest("in")}})
                    client = None
                    todo -= 1
                    if todo == 0:
                        # let the close finish (FIN / TIME-WAIT) before leaving
                        end = ticks_add_ms(ticks_ms(), 2 * cfg.tcp_msl_ms + 500)
                        while ticks_diff(end, ticks_ms()) > 0 and stack.tcp.free_blocks() < len(stack.tcp.pool):
                            stack.poll(ticks_ms())
                            for _ in wait(5):
                                break
                        break
                    continue
            if limit_ms and ticks_diff(now, start) > limit_ms:
                break
            if w > 0:
                if w > 20:
                    w = 20
                if reader is not None and reader.per and w > reader.ms:
                    w = reader.ms  # (the reader's pace, not the stack's next deadline)
                for _ in wait(w):
                    break
    except KeyboardInterrupt:
        pass
    st = stack.stats()
    st["tcp_free_blocks"] = stack.tcp.free_blocks()
    st["tcp_pool"] = len(stack.tcp.pool)
    if svc is not None:
        st["served"] = svc.served
    _say({"stats": st})
    return 0


class Reader:
    """A discard server on port 9 that reads at a set pace (--reader BYTES:MS)."""

    def __init__(self, stack, spec):
        import hashlib
        per, ms = spec.split(":")
        self.per = int(per)
        self.ms = int(ms)
        self.tcp = stack.tcp
        self.l = self.tcp.listen(9)
        self.c = None
        self.buf = bytearray(self.per or 65536)
        self.h = hashlib.sha256()
        self.received = 0
        self.at = 0

    def run(self, now):
        if self.c is None:
            self.c = self.tcp.accept(self.l)
            self.at = now
            if self.c is None:
                return
        if ticks_diff(now, self.at) < 0:
            return
        while True:
            n = self.c.recv_into(self.buf)
            if n > 0:
                self.h.update(memoryview(self.buf)[:n])
                self.received += n
            if n == 0:
                _say({"reader": {"received": self.received,
                                 "sha": "".join("%02x" % b for b in self.h.digest())}})
                self.c.close()
                self.c = None
                return
            if n < 0 or self.per:
                break
        if self.per:
            self.at = ticks_add_ms(now, self.ms)


def ticks_add_ms(t, ms):
    from tcpip.compat import ticks_add
    return ticks_add(t, ms)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
