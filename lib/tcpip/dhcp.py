"""DHCP client (RFC 2131): SELECTING -> REQUESTING -> CHECKING -> BOUND -> RENEWING -> REBINDING.

    client = DhcpClient(iface, udp)  # an internal UDP user on port 68 (Udp.attach)
    client.start(now_ms)             # then Stack.poll drives it
    client.state == "bound"

Before using a new address the client probes it with ARP for ``probe_ms``
(RFC 2131 4.4.1, RFC 5227 2.1.1); if another host answers, it sends DECLINE
and starts over 10 s later.  Retransmissions back off 2, 4, 8 ... 64 s (RFC 2131 4.1).  At T1 (half the
lease) the client renews by unicast to its server, at T2 (7/8) it rebinds by
broadcast, and when the lease runs out the interface is unconfigured and the
client starts over.  A NAK restarts it at once.  Elapsed lease time is summed
from poll to poll, so leases longer than the ticks half-period (6.2 days, 3.1 on
CircuitPython's 2**29 clock) work as long as the stack is polled.
Messages are built in the TX frame and parsed where they arrive in the RX
frame: no socket of the UDP pool and no message buffer of their own.
"""
from tcpip.compat import random32, ticks_diff, ticks_add
from tcpip.udp import PAYLOAD_OFF
from tcpip.wire import dhcp as msg
from tcpip.wire.ipv4 import ntoa, BROADCAST

CHECKING = "checking"  # ARP probe of the offered address before using it (RFC 2131 4.4.1)
INIT = "init"
SELECTING = "selecting"
REQUESTING = "requesting"
BOUND = "bound"
RENEWING = "renewing"
REBINDING = "rebinding"
STOPPED = "stopped"


def _prefix_len(mask):
    n = 0
    while mask & 0x80000000:
        n += 1
        mask = (mask << 1) & 0xFFFFFFFF
    return n


class DhcpClient:
    def __init__(self, iface, udp, retry_ms=2000, retry_max_ms=64000, on_change=None, probe_ms=1000):
        # What it uses, not the Stack: the interface it configures (with its
        # settings: hostname, DNS servers) and the UDP layer it attaches to.
        self.iface = iface
        self.udp = udp
        self.reply = msg.DhcpReply()
        self.retry_ms = retry_ms
        self.retry_max_ms = retry_max_ms
        self.on_change = on_change
        self.state = STOPPED
        self.xid = 0
        self.offered = 0
        self.server = 0
        self.lease_s = 0
        self.t1_s = 0
        self.t2_s = 0
        self.elapsed_ms = 0  # since the lease was granted
        self.last_ms = 0
        self.due_ms = 0
        self.backoff_ms = retry_ms
        self.tries = 0
        self.started_ms = 0
        self.renewals = 0
        self.naks = 0
        self.leases = 0
        self.declines = 0
        self.probe_ms = probe_ms  # 0: use the address without an ARP check
        self._ack = msg.DhcpReply()  # the ACK being checked

    def start(self, now_ms):
        if self.state == STOPPED:
            self.udp.attach(msg.CLIENT_PORT, self._input)
        self._restart(now_ms)
        self.iface.wake_at = None  # Stack.poll runs the timers at its next call

    def stop(self):
        if self.state != STOPPED:
            self.udp.detach(msg.CLIENT_PORT)
        self.state = STOPPED

    def _out(self, n, dst, now_ms):
        """Send the n-byte message built at PAYLOAD_OFF of the TX frame."""
        try:
            self.udp.send_tx(msg.CLIENT_PORT, dst, msg.SERVER_PORT, n, now_ms)
        except OSError:
            pass  # retried by the timer

    def _restart(self, now_ms):
        self.state = SELECTING
        self.xid = random32()
        self.offered = 0
        self.server = 0
        self.started_ms = now_ms
        self.backoff_ms = self.retry_ms
        self.tries = 0
        self._send(msg.DISCOVER, now_ms)

    def _send(self, kind, now_ms, unicast=0):
        iface = self.iface
        requested = self.offered if self.state in (REQUESTING, SELECTING) else 0
        ciaddr = iface.ip if self.state in (RENEWING, REBINDING) else 0
        server = self.server if self.state == REQUESTING else 0
        secs = ticks_diff(now_ms, self.started_ms) // 1000
        if secs > 0xFFFF:  # a 16-bit field
            secs = 0xFFFF
        # built straight into the TX frame (a view: DHCP messages are rare)
        n = msg.build_request(iface.tx[PAYLOAD_OFF:], kind, self.xid, iface.mac,
                              secs if secs > 0 else 0, ciaddr,
                              requested if kind == msg.REQUEST else 0, server,
                              self.iface.cfg.hostname)
        self._out(n, unicast or BROADCAST, now_ms)
        self.tries += 1
        # RFC 2131 4.1: randomised exponential backoff
        self.due_ms = ticks_add(now_ms, self.backoff_ms + (random32() % 1000) - 500)
        if self.backoff_ms < self.retry_max_ms:
            self.backoff_ms *= 2

    def timers(self, now_ms):
        if self.state == STOPPED:
            return 10000
        if self.state in (BOUND, RENEWING, REBINDING):
            d = ticks_diff(now_ms, self.last_ms)
            if d > 0:  # (d < 0: polls more than half a ticks period apart: nothing to add)
                self.elapsed_ms += d
            self.last_ms = now_ms
            el_s = self.elapsed_ms // 1000
            if el_s >= self.lease_s:
                # RFC 2131 4.4.5: lease expired, stop using the address
                self.iface.configure(0, 0, 0)
                self._changed()
                self._restart(now_ms)
            elif self.state == BOUND and el_s >= self.t1_s:
                self.state = RENEWING
                self.backoff_ms = self.retry_ms
                self.started_ms = now_ms  # RFC 2131 4.3.2: secs counts from the renewal
                self._send(msg.REQUEST, now_ms, unicast=self.server)
            elif self.state == RENEWING and el_s >= self.t2_s:
                self.state = REBINDING
                self.backoff_ms = self.retry_ms
                self._send(msg.REQUEST, now_ms)
            elif self.state != BOUND and ticks_diff(now_ms, self.due_ms) >= 0:
                self._send(msg.REQUEST, now_ms, unicast=self.server if self.state == RENEWING else 0)
            return 1000
        if self.state == CHECKING:
            iface = self.iface
            if iface.probe_conflict:
                # RFC 2131 3.1.5: DECLINE the address, start over (after 10 s, RFC 2131 3.1.5)
                addr = self._ack.yiaddr
                iface.probe(0)
                self.declines += 1
                self.iface.counters.add("dhcp_declines")
                n = msg.build_request(iface.tx[PAYLOAD_OFF:], msg.DECLINE, self.xid, iface.mac, 0, 0,
                                      addr, self._ack.server_id or self.server)
                self._out(n, BROADCAST, now_ms)
                self.state = INIT
                self.due_ms = ticks_add(now_ms, 10000)
            elif ticks_diff(now_ms, self.due_ms) >= 0:
                iface.probe(0)
                self._bind(self._ack, now_ms)
                return 1000
            w = ticks_diff(self.due_ms, now_ms)
            return w if w > 0 else 0
        if self.state == INIT:
            if ticks_diff(now_ms, self.due_ms) >= 0:
                self._restart(now_ms)
            return 1000
        if ticks_diff(now_ms, self.due_ms) >= 0:
            if self.state == REQUESTING and self.tries >= 4:
                self._restart(now_ms)
            else:
                self._send(msg.DISCOVER if self.state == SELECTING else msg.REQUEST, now_ms)
        w = ticks_diff(self.due_ms, now_ms)
        return w if 0 < w < 1000 else (0 if w <= 0 else 1000)

    def _input(self, buf, off, end, ip, sport, now_ms):
        """Udp hook: a datagram for port 68, read in the RX frame."""
        m = self.reply
        why = m.parse(buf, off, end, self.iface.mac)
        if why or m.xid != self.xid:
            # the datagram already counted as in_udp: this is not a frame drop
            # (why is the counter's name: nothing built per datagram)
            self.iface.counters.add(why or "dhcp_ignored_xid")
            return
        self._handle(m, now_ms)
        self.iface.wake_at = None  # Stack.poll runs the timers: a new deadline

    def _handle(self, m, now_ms):
        t = m.msg_type
        if self.state == SELECTING and t == msg.OFFER and m.yiaddr:
            self.offered = m.yiaddr
            self.server = m.server_id
            self.state = REQUESTING
            self.backoff_ms = self.retry_ms
            self.tries = 0
            self._send(msg.REQUEST, now_ms)
        elif self.state == REQUESTING and t == msg.ACK and self.probe_ms:
            # RFC 2131 4.4.1: check with ARP that nobody else uses the address
            self._keep(m)
            self.state = CHECKING
            self.iface.probe(m.yiaddr)
            self.due_ms = ticks_add(now_ms, self.probe_ms)
        elif self.state in (REQUESTING, RENEWING, REBINDING) and t == msg.ACK:
            self._bind(m, now_ms)
        elif self.state in (REQUESTING, RENEWING, REBINDING) and t == msg.NAK:
            # RFC 2131 3.1.5 / 4.4: NAK means start over
            self.naks += 1
            if self.state != REQUESTING:
                self.iface.configure(0, 0, 0)
                self._changed()
            self._restart(now_ms)

    def _keep(self, m):
        k = self._ack
        k.msg_type = m.msg_type
        k.xid = m.xid
        k.yiaddr = m.yiaddr
        k.server_id = m.server_id
        k.subnet = m.subnet
        k.router = m.router
        k.ndns = m.ndns
        for i in range(m.ndns):
            k.dns[i] = m.dns[i]
        k.lease_s = m.lease_s
        k.t1_s = m.t1_s
        k.t2_s = m.t2_s

    def _bind(self, m, now_ms):
        renewing = self.state in (RENEWING, REBINDING)
        lease = m.lease_s if m.lease_s > 0 else 3600
        self.lease_s = lease
        self.t1_s = m.t1_s if 0 < m.t1_s < lease else lease // 2
        self.t2_s = m.t2_s if 0 < m.t2_s < lease else lease * 7 // 8
        if m.server_id:
            self.server = m.server_id
        self.elapsed_ms = 0
        self.last_ms = now_ms
        self.state = BOUND
        self.leases += 1
        if renewing:
            self.renewals += 1
        iface = self.iface
        prefix = _prefix_len(m.subnet) if m.subnet else 24
        iface.configure(m.yiaddr, prefix, m.router)
        dns = self.iface.cfg.dns
        del dns[:]
        for k in range(m.ndns):
            dns.append(ntoa(m.dns[k]))
        self._changed()

    def _changed(self):
        if self.on_change:
            self.on_change(self)

    def info(self):
        """What the lease says, for ifconfig() and the REPL."""
        return {"state": self.state, "ip": ntoa(self.iface.ip), "server": ntoa(self.server),
                "lease_s": self.lease_s, "t1_s": self.t1_s, "t2_s": self.t2_s,
                "elapsed_s": self.elapsed_ms // 1000, "renewals": self.renewals}
