"""UDP (RFC 768): a fixed pool of endpoints, each with a ring of whole datagrams.

A received datagram is stored as one record ``len(2) src_ip(4) src_port(2)
data`` in the endpoint's ring; one that does not fit is dropped and counted
(``drop_udp_rx_full``), never truncated.  Datagrams for a port nobody bound
get ICMP port unreachable (rate-limited by the interface).

An ICMP destination unreachable about a datagram a *connected* endpoint sent
to its peer sets ``ep.error`` (ECONNREFUSED for port/protocol unreachable,
EHOSTUNREACH for net/host unreachable), as Linux does; the socket layer raises
it once on the next send or receive (after any datagrams already queued).
Unconnected endpoints ignore such errors (RFC 1122 4.1.3.3 leaves it to the
application; CPython reports nothing there either).

The stack's own UDP users (the DHCP client, the DNS resolver) take no
endpoint from the pool: ``attach(port, fn)`` has ``fn(buf, off, end, ip,
sport, now_ms)`` read each datagram for that port where it lies, in the RX
frame, and ``send_tx`` sends a payload they built in place in the TX frame
at ``PAYLOAD_OFF``.  No ring, no message buffer, and every endpoint stays
free for the application.
"""
from tcpip.compat import const, random32, ENOMEM, EADDRINUSE, EMSGSIZE, EACCES, EDESTADDRREQ, \
    EHOSTUNREACH, EINVAL, ECONNREFUSED
from tcpip.ring import Ring
from tcpip.iface import IP_PAYLOAD_OFF, NO_ROUTE, DROPPED
from tcpip.wire import udp as wire_udp
from tcpip.wire.bytes import get16, get32, put16, put32
from tcpip.wire.ipv4 import ntoa

_REC = const(8)  # record header in the ring
PAYLOAD_OFF = const(42)  # where a datagram's payload starts in iface.tx: Ethernet + IPv4 + UDP
_HOOKS = const(2)  # internal users attached at once (DHCP, a DNS query)
# counters; the drops are bumped by the interface from input()'s reasons
STAT_KEYS = ("udp_tx", "drop_udp_rx_full")
_C_UDP_TX = const(0)
EPHEMERAL_LO = const(49152)


class UdpEndpoint:
    """One UDP socket's state: local/remote address, receive ring, flags."""

    def __init__(self, owner, rx_bytes, rec):
        self.owner = owner
        self.rx = Ring(rx_bytes, 0)  # whole datagrams in order: no out-of-order ranges
        self.in_use = False
        self.lport = 0
        self.lip = 0
        self.rip = 0  # connected peer (0: any)
        self.rip_hi = 0  # the same as 16-bit halves (input compares these: see wire.ipv4)
        self.rip_lo = 0
        self.rport = 0
        self.broadcast = False
        self.datagrams = 0
        self.error = 0  # errno from an ICMP error about our datagram (connected only)
        # record header scratch, shared by every endpoint of the Udp layer
        # (each use is within one call)
        self._hdr = rec

    def bind(self, port=0, ip=0):
        self.owner.bind(self, port, ip)

    def connect(self, ip, port):
        if not self.lport:
            self.owner.bind(self, 0, 0)
        self.rip = ip
        self.rip_hi = ip >> 16
        self.rip_lo = ip & 0xFFFF
        self.rport = port

    def sendto(self, data, ip, port, now_ms):
        """Send one datagram; returns its length or raises OSError."""
        return self.owner.send(self, data, ip, port, now_ms)

    def recvfrom_into(self, buf, nbytes=0):
        """Move the next datagram into buf: (n, src_ip, src_port), or None when none waits.

        A datagram longer than buf (or nbytes) is truncated, like recvfrom on CPython."""
        if not self.datagrams:
            return None
        h = self._hdr
        self.rx.read_into(h, 0, _REC)
        length = get16(h, 0)
        src = get32(h, 2)
        sport = get16(h, 6)
        room = nbytes if 0 < nbytes < len(buf) else len(buf)
        n = length if length < room else room
        self.rx.read_into(buf, 0, n)
        self.rx.discard(length - n)
        self.datagrams -= 1
        return n, src, sport

    def pending(self):
        """Length of the next datagram waiting, or -1 when none."""
        if not self.datagrams:
            return -1
        self.rx.peek_into(self._hdr, 0, 2)
        return get16(self._hdr, 0)

    def close(self):
        self.in_use = False
        self.lport = 0
        self.rip = 0
        self.rport = 0
        self.rx.clear()
        self.datagrams = 0
        self.error = 0

    def take_error(self):
        """The pending ICMP-reported errno (0 if none), cleared as it is read."""
        e = self.error
        self.error = 0
        return e


class Udp:
    def __init__(self, cfg, iface):
        self.iface = iface
        rec = bytearray(_REC)
        self.pool = [UdpEndpoint(self, cfg.udp_rx_bytes, rec) for _ in range(cfg.udp_sockets)]
        # The interface's UDP parser is idle once we take udp_input: share it.
        self.hdr = iface.udp_hdr
        self.next_port = EPHEMERAL_LO + random32() % (65536 - EPHEMERAL_LO)
        iface.udp_input = self.input
        # ICMP errors: ours when the quoted datagram is UDP, else the hook
        # that was there (TCP's)
        self.icmp_next = iface.icmp_error_input
        iface.icmp_error_input = self.icmp_error
        self.ctr = iface.counters.group(STAT_KEYS)
        self.hooks = [0, None] * _HOOKS  # port, fn per internal user (see the module docstring)

    def icmp_error(self, type_, code, buf, inner_off, end):
        """iface.icmp_error_input hook (see the module docstring): the
        interface has checked the quoted header (ours, whole, ports present);
        returns the next hook's drop reason for a quote that is not UDP."""
        if buf[inner_off + 9] != 17:
            h = self.icmp_next
            if h is not None:
                return h(type_, code, buf, inner_off, end)
            return None
        if type_ != 3 or code > 3:
            return None  # time exceeded, fragmentation needed...: soft, not reported
        ihl = (buf[inner_off] & 15) * 4
        t = inner_off + ihl
        sport = get16(buf, t)
        dport = get16(buf, t + 2)
        dst = get32(buf, inner_off + 16)
        for ep in self.pool:
            if ep.in_use and ep.lport == sport and ep.rport == dport and ep.rip == dst:
                ep.error = ECONNREFUSED if code >= 2 else EHOSTUNREACH

    def open(self):
        """A free endpoint, or OSError(ENOMEM) when the pool is used up."""
        for ep in self.pool:
            if not ep.in_use:
                ep.close()
                ep.in_use = True
                return ep
        raise OSError(ENOMEM, "all %d UDP sockets are in use" % len(self.pool))

    def bind(self, ep, port, ip):
        if ep.lport:
            raise OSError(EINVAL, "UDP socket already bound to port %d" % ep.lport)
        if port == 0:
            for _ in range(65536 - EPHEMERAL_LO):
                p = self.next_port
                self.next_port = p + 1 if p < 65535 else EPHEMERAL_LO
                if not self._bound(p):
                    port = p
                    break
            else:
                raise OSError(EADDRINUSE, "no free ephemeral UDP port")
        elif self._bound(port):
            raise OSError(EADDRINUSE, "UDP port %d is already bound" % port)
        ep.lport = port
        ep.lip = ip

    def _bound(self, port):
        for ep in self.pool:
            if ep.in_use and ep.lport == port:
                return True
        h = self.hooks
        for k in range(0, 2 * _HOOKS, 2):
            if h[k] == port:
                return True
        return False

    def attach(self, port, fn):
        """Hand every datagram for port to fn(buf, off, end, ip, sport, now_ms)
        (see the module docstring); EADDRINUSE when the port is taken."""
        if self._bound(port):
            raise OSError(EADDRINUSE, "UDP port %d is already bound" % port)
        h = self.hooks
        for k in range(0, 2 * _HOOKS, 2):
            if not h[k]:
                h[k] = port
                h[k + 1] = fn
                return
        raise OSError(ENOMEM, "no free slot for an internal UDP user")

    def detach(self, port):
        h = self.hooks
        for k in range(0, 2 * _HOOKS, 2):
            if h[k] == port:
                h[k] = 0
                h[k + 1] = None

    def send(self, ep, data, ip, port, now_ms):
        iface = self.iface
        if ep.lport == 0:
            self.bind(ep, 0, 0)
        if not ip:
            if not ep.rip:
                raise OSError(EDESTADDRREQ, "UDP socket is not connected; give an address")
            ip, port = ep.rip, ep.rport
        n = len(data)
        if n > iface.mtu - 28:
            raise OSError(EMSGSIZE, "datagram of %d bytes exceeds the %d-byte limit" % (n, iface.mtu - 28))
        if iface.is_local_broadcast(ip) and not ep.broadcast:
            raise OSError(EACCES, "broadcast needs setsockopt(SOL_SOCKET, SO_BROADCAST, 1)")
        iface.tx[PAYLOAD_OFF:PAYLOAD_OFF + n] = data
        return self.send_tx(ep.lport, ip, port, n, now_ms)

    def send_tx(self, lport, ip, port, n, now_ms):
        """Send the n-byte payload already at iface.tx[PAYLOAD_OFF:] from lport
        to ip:port; returns n (EHOSTUNREACH when there is no route)."""
        iface = self.iface
        wire_udp.emit(iface.tx, IP_PAYLOAD_OFF, lport, port, n, iface.ip, ip)
        r = iface.send_ip(ip, wire_udp.PROTO, wire_udp.HLEN + n, now_ms)
        if r == NO_ROUTE:
            raise OSError(EHOSTUNREACH, "no route to %s" % ntoa(ip))
        if r != DROPPED:
            self.ctr[_C_UDP_TX] += 1
        return n

    def input(self, iface, ip, now_ms):
        h = self.hdr
        why = h.parse_sum(iface.rx, ip.payload_off, ip.payload_end, ip.asum)
        if why:
            return why
        dport = h.dport
        hk = self.hooks
        for k in range(0, 2 * _HOOKS, 2):
            if hk[k] == dport:
                hk[k + 1](iface.rx, h.payload_off, h.payload_end, ip, h.sport, now_ms)
                return None
        best = None
        for ep in self.pool:
            if not ep.in_use or ep.lport != dport:
                continue
            if ep.rip and (ep.rip_lo != ip.src_lo or ep.rip_hi != ip.src_hi or ep.rport != h.sport):
                continue
            best = ep
            break
        if best is None:
            return "udp_port_unreach"
        n = h.payload_end - h.payload_off
        rx = best.rx
        if rx.free() < _REC + n:
            return "udp_rx_full"
        rec = best._hdr
        put16(rec, 0, n)
        put16(rec, 2, ip.src_hi)
        put16(rec, 4, ip.src_lo)
        put16(rec, 6, h.sport)
        rx.write(rec, 0, _REC)
        rx.write(iface.rx, h.payload_off, n)
        best.datagrams += 1
        return None
