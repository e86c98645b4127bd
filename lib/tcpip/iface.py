"""One Ethernet interface: addresses, routing, ARP cache, demux, ICMP.

Frames come in through ``input``; each one ends in exactly one counter: an
``in_<proto>`` counter when a protocol took it, or a ``drop_<reason>`` counter.
So ``rx_frames == sum(in_*) + sum(drop_*)`` always holds, leaving out the
``TX_DROP_KEYS``: those count datagrams we failed to *send* (no route, ARP
unresolved, ARP queue full or frame too big to queue).

Transports sit above and register handlers (``tcp_input``, ``udp_input``,
``icmp_error_input``: called only for an ICMP error whose quote passed the
checks of ``_icmp_error``; each returns None or a drop reason); they write
their header and payload into ``tx`` at ``IP_PAYLOAD_OFF`` and call
``send_ip``.

ARP policy (RFC 826 "merge"): an entry is created for an address we ask for
(a pending request), and for a host that asks for *our* address only when a
slot is free or holds another such entry we never sent to; an existing entry
is refreshed by any ARP packet from its address.  Unsolicited replies for
addresses we never asked for are ignored.  When we need a slot, the least
recently confirmed entry goes, entries we never sent to first and the
gateway's last, so a flood of ARP requests (spoofed senders asking for us)
cannot push out the gateway or a host we talk to.
"""
from tcpip.compat import const, ticks_diff, ticks_add, uint32_slots
from tcpip.wire import ethernet, arp, ipv4, icmp
from tcpip.wire.ethernet import Ethernet, mac_eq, is_broadcast, is_multicast
from tcpip.wire.arp import Arp
from tcpip.wire.ipv4 import IPv4, aton, prefix_mask
from tcpip.wire.icmp import Icmp
from tcpip.wire.udp import Udp
from tcpip.wire.bytes import put16
from tcpip.wire.checksum import checksum
from struct import pack_into

IP_OFF = const(14)
IP_PAYLOAD_OFF = const(34)  # Ethernet + 20-byte IPv4 header; we send no IP options

# ARP entry states
_FREE = const(0)
_PENDING = const(1)
_VALID = const(2)

# IPv4 identification of every datagram we send (see _emit_ip)
IDENT = const(0)

# send_ip results
SENT = const(0)
QUEUED = const(1)
NO_ROUTE = const(-1)
DROPPED = const(-2)

_ZERO_MAC = b"\x00\x00\x00\x00\x00\x00"

# send_ip's memo (Interface.memo, a list: one attribute instead of eight):
# the last unicast destination as halves, its next hop and that hop's ARP
# slot; then the views tx[:n] for the last two frame lengths sent (in bulk
# transfer every frame is a full segment or a pure ACK, so sending needs no
# new view: a memoryview slice is a heap object on MicroPython).
_M_DST_HI = const(0)
_M_DST_LO = const(1)
_M_HOP = const(2)
_M_ARP_I = const(3)
_M_N0 = const(4)
_M_V0 = const(5)
_M_N1 = const(6)
_M_V1 = const(7)

STAT_KEYS = (
    "rx_frames", "rx_bytes", "tx_frames", "tx_bytes", "tx_errors",
    "in_arp", "in_icmp", "in_udp", "in_tcp",
    "arp_requests_tx", "arp_replies_tx", "arp_gratuitous_tx", "arp_probes_tx", "arp_evictions",
    "icmp_echo_replies_tx", "icmp_errors_tx", "icmp_rate_limited",
    "link_up_events", "link_down_events",
    "drop_eth_short", "drop_eth_oversize", "drop_eth_vlan", "drop_eth_type", "drop_eth_not_for_us",
    "drop_arp_malformed", "drop_arp_not_for_us", "drop_arp_unsolicited",
    "drop_ip_short", "drop_ip_version", "drop_ip_ihl", "drop_ip_len", "drop_ip_checksum",
    "drop_ip_fragment", "drop_ip_ttl", "drop_ip_not_for_us", "drop_ip_bad_src", "drop_ip_proto",
    "drop_icmp_short", "drop_icmp_checksum", "drop_icmp_type", "drop_icmp_broadcast",
    "drop_icmp_quote", "drop_icmp_quote_seq",
    "drop_udp_short", "drop_udp_len", "drop_udp_checksum", "drop_udp_port_unreach",
    "drop_arp_queue_full", "drop_arp_queue_oversize", "drop_arp_unresolved", "drop_no_route",
)
# Where each counter sits in the array the interface bumps (same order).
_C_RX_FRAMES = const(0)
_C_RX_BYTES = const(1)
_C_TX_FRAMES = const(2)
_C_TX_BYTES = const(3)
_C_TX_ERRORS = const(4)
_C_IN_ARP = const(5)
_C_IN_ICMP = const(6)
_C_IN_UDP = const(7)
_C_IN_TCP = const(8)
_C_ARP_REQUESTS_TX = const(9)
_C_ARP_REPLIES_TX = const(10)
_C_ARP_GRATUITOUS_TX = const(11)
_C_ARP_PROBES_TX = const(12)
_C_ARP_EVICTIONS = const(13)
_C_ICMP_ECHO_REPLIES_TX = const(14)
_C_ICMP_ERRORS_TX = const(15)
_C_ICMP_RATE_LIMITED = const(16)
_C_LINK_UP_EVENTS = const(17)
_C_LINK_DOWN_EVENTS = const(18)
_C_DROP_ETH_SHORT = const(19)
_C_DROP_ETH_OVERSIZE = const(20)
_C_DROP_ETH_VLAN = const(21)
_C_DROP_ETH_TYPE = const(22)
_C_DROP_ETH_NOT_FOR_US = const(23)
_C_DROP_ARP_MALFORMED = const(24)
_C_DROP_ARP_NOT_FOR_US = const(25)
_C_DROP_ARP_UNSOLICITED = const(26)
_C_DROP_IP_SHORT = const(27)
_C_DROP_IP_VERSION = const(28)
_C_DROP_IP_IHL = const(29)
_C_DROP_IP_LEN = const(30)
_C_DROP_IP_CHECKSUM = const(31)
_C_DROP_IP_FRAGMENT = const(32)
_C_DROP_IP_TTL = const(33)
_C_DROP_IP_NOT_FOR_US = const(34)
_C_DROP_IP_BAD_SRC = const(35)
_C_DROP_IP_PROTO = const(36)
_C_DROP_ICMP_SHORT = const(37)
_C_DROP_ICMP_CHECKSUM = const(38)
_C_DROP_ICMP_TYPE = const(39)
_C_DROP_ICMP_BROADCAST = const(40)
_C_DROP_ICMP_QUOTE = const(41)
_C_DROP_ICMP_QUOTE_SEQ = const(42)
_C_DROP_UDP_SHORT = const(43)
_C_DROP_UDP_LEN = const(44)
_C_DROP_UDP_CHECKSUM = const(45)
_C_DROP_UDP_PORT_UNREACH = const(46)
_C_DROP_ARP_QUEUE_FULL = const(47)
_C_DROP_ARP_QUEUE_OVERSIZE = const(48)
_C_DROP_ARP_UNRESOLVED = const(49)
_C_DROP_NO_ROUTE = const(50)
# Drops on the transmit side: not part of the rx_frames accounting.
TX_DROP_KEYS = ("drop_arp_queue_full", "drop_arp_queue_oversize", "drop_arp_unresolved", "drop_no_route")


class Counters:
    """The stack's counters (``Stack.stats()``): groups of named counters fixed
    when the stack is built, one group per layer, each an array the layer
    indexes with its own ``const()`` positions (no dict lookups, nothing added
    later).  Drop reasons that parsers and transports return as strings are
    counted with ``drop(why)``, which allocates nothing once a reason has been
    seen.  A counter is an unsigned 32-bit number and wraps at 2**32."""

    def __init__(self):
        self.groups = []  # (names, values)
        # drop reason ("ip_checksum") -> group << 8 | index of its "drop_"
        # counter, filled in at each reason's first drop: drop() finds the
        # counter without building its name (a string concatenation is a
        # heap allocation per dropped frame), and a reason never seen costs
        # no memory (the key is the caller's own string: a qstr on MicroPython)
        self.reasons = {}

    def group(self, names):
        """Add a group; returns its array of counters (index = position in names)."""
        v = uint32_slots(len(names))
        self.groups.append((names, v))
        return v

    def drop(self, why):
        """Count a frame dropped for reason why (the counter ``"drop_" + why``);
        allocates nothing after the first drop of each reason.  KeyError for a
        reason no layer declared."""
        k = self.reasons.get(why)
        if k is None:
            k = self._learn(why)
        self.groups[k >> 8][1][k & 0xFF] += 1

    def _learn(self, why):
        name = "drop_" + why
        for g in range(len(self.groups)):
            names = self.groups[g][0]
            for i in range(len(names)):
                if names[i] == name:
                    self.reasons[why] = k = (g << 8) | i
                    return k
        raise KeyError(name)

    def _slot(self, name):
        """(array, index) of a counter by name; KeyError for a name no layer declared."""
        for names, v in self.groups:
            for i in range(len(names)):
                if names[i] == name:
                    return v, i
        raise KeyError(name)

    def add(self, name, n=1):
        """Bump a counter by name (rare events: a search, but no allocation)."""
        for names, v in self.groups:
            for i in range(len(names)):
                if names[i] == name:
                    v[i] += n
                    return
        raise KeyError(name)

    def get(self, name):
        v, i = self._slot(name)
        return v[i]

    def dict(self):
        """Every counter by name (allocates: the REPL, tests)."""
        d = {}
        for names, v in self.groups:
            for i in range(len(names)):
                d[names[i]] = v[i]
        return d


class ArpCache:
    """Fixed table of IPv4 -> MAC entries with pending requests and aging."""

    def __init__(self, entries):
        self.n = entries
        self.ip = [0] * entries
        self.mac = bytearray(6 * entries)
        self.state = bytearray(entries)
        self.stamp_ms = [0] * entries  # last confirmed (valid) or next retry (pending)
        self.tries = bytearray(entries)
        self.used = bytearray(entries)  # 1: we asked for it or sent to it

    def find(self, ip):
        st = self.state
        ips = self.ip
        for i in range(self.n):
            if st[i] != _FREE and ips[i] == ip:
                return i
        return -1

    def victim(self, now_ms, keep=0, passive=False):
        """The slot a new entry takes: a free one, else the least recently
        confirmed valid one we never sent to, then one we did, then a pending
        one; the entry for ``keep`` (the gateway) only when nothing else is
        left.  ``passive`` (an entry nobody asked us to make): a free slot or
        one we never sent to, else -1."""
        st = self.state
        victim = -1
        best = -1  # rank of victim: higher goes first
        oldest = 0
        for i in range(self.n):
            s = st[i]
            if s == _FREE:
                return i
            if self.ip[i] == keep:
                rank = 0
            elif s == _PENDING:
                rank = 1
            else:
                rank = 2 if self.used[i] else 3
            age = ticks_diff(now_ms, self.stamp_ms[i]) if s == _VALID else 0
            if rank > best or (rank == best and age > oldest):
                victim = i
                best = rank
                oldest = age
        if passive and best < 3:
            return -1
        return victim

    def alloc(self, ip, now_ms):
        """Take the victim slot for ip (its old content is simply forgotten)."""
        i = self.victim(now_ms)
        self.ip[i] = ip
        self.used[i] = 1
        return i

    def set_valid(self, i, buf, off, now_ms):
        self.mac[6 * i:6 * i + 6] = buf[off:off + 6]
        self.state[i] = _VALID
        self.stamp_ms[i] = now_ms
        self.tries[i] = 0

    def entries(self):
        """(ip, mac bytes, state name) for each used entry (REPL and tests; allocates)."""
        names = ("free", "pending", "valid")
        return [(self.ip[i], bytes(self.mac[6 * i:6 * i + 6]), names[self.state[i]])
                for i in range(self.n) if self.state[i] != _FREE]


class Interface:
    def __init__(self, cfg, nic):
        self.cfg = cfg
        self.nic = nic
        self.mac = bytes(nic.mac) if getattr(nic, "mac", None) else cfg.mac
        # every layer's counters; this layer's are ctr[_C_...]
        self.counters = Counters()
        self.ctr = self.counters.group(STAT_KEYS)
        self.memo = [-1, -1, 0, -1, -1, None, -1, None]  # see _M_*
        self.configure(cfg.ip, cfg.prefix, cfg.gateway)
        frame = cfg.mtu + 14
        # Work on memoryviews: slices of them (checksums, copies) are views, not copies.
        self.rx = memoryview(bytearray(frame + 4))  # room for an 802.1Q tag
        self.tx = memoryview(bytearray(frame))
        self.eth = Ethernet()
        self.arp_pkt = Arp()
        self.ip_hdr = IPv4()
        self.icmp_hdr = Icmp()
        self.udp_hdr = Udp()  # checks datagrams no UDP handler takes
        self.arp = ArpCache(cfg.arp_entries)
        # ARP queue: cfg.arp_queue slots of cfg.arp_queue_slot_bytes.  Sizes and
        # the TTL are read from cfg, not copied: every instance attribute is a
        # slot in this object's map, and MicroPython grows a map of 37 slots to
        # 47 at the 38th attribute (16 bytes a slot on 64-bit): we have 37.
        self.q_buf = memoryview(bytearray(cfg.arp_queue * cfg.arp_queue_slot_bytes))
        self.q_len = [0] * cfg.arp_queue
        self.q_ip = [0] * cfg.arp_queue
        self.icmp_tokens = cfg.icmp_rate_per_s
        self.icmp_refill_ms = 0
        self.announce_pending = True  # gratuitous ARP at the first poll with an address
        self.arp_due = 0  # when timers() scans the ARP table next (a new pending entry: now)
        self.probe_ip = 0  # address being checked before use (DHCP), see probe()
        self.probe_conflict = False
        # Upper layers fill these in (see module docstring).
        self.tcp_input = None  # fn(iface, ip_hdr, now_ms) -> None or drop reason
        self.udp_input = None  # fn(iface, ip_hdr, now_ms) -> None, reason, or "port_unreach"
        self.icmp_error_input = None  # fn(icmp_type, code, buf, inner_off, end) -> None or drop reason
        self.echo_reply_input = None  # fn(ident, seq, buf, off, end, now_ms)
        # fn(ip, now_ms, resolved): a pending ARP entry just became valid
        # (True) or ran out of retries (False); one hook for both, as a 38th
        # attribute would grow this object's map (see above)
        self.arp_done = None
        self.trace = None  # fn(direction, buf, n): packet tracer

    # -- configuration

    def configure(self, ip, prefix, gateway):
        """Set address, prefix length and gateway (dotted quads or ints)."""
        self.ip = ip = aton(ip)
        self.netmask = mask = prefix_mask(prefix)
        self.gateway = aton(gateway)
        # The per-frame checks compare 16-bit halves (see wire.ipv4.IPv4):
        # our address and the subnet's broadcast address (0.0.0.0 when the
        # prefix is 32: no such address then).
        self.ip_hi = ip >> 16
        self.ip_lo = ip & 0xFFFF
        bc = (ip | (~mask & 0xFFFFFFFF)) if mask != 0xFFFFFFFF else 0
        self.bc_hi = bc >> 16
        self.bc_lo = bc & 0xFFFF
        self.announce_pending = True
        # forget send_ip's memo of the last destination whenever addressing changes
        m = self.memo
        m[_M_DST_HI] = -1
        m[_M_ARP_I] = -1

    @property
    def mtu(self):
        return self.cfg.mtu

    @property
    def prefix(self):
        """Netmask length (kept as the mask only: one attribute fewer)."""
        m = self.netmask
        n = 0
        while m & 0x80000000:
            n += 1
            m = (m << 1) & 0xFFFFFFFF
        return n

    def is_local_broadcast(self, dst):
        return self.is_broadcast_h(dst >> 16, dst & 0xFFFF)

    def is_broadcast_h(self, hi, lo):
        """is_local_broadcast for an address as halves: 255.255.255.255 or the subnet's."""
        return (hi == 0xFFFF and lo == 0xFFFF) or (hi == self.bc_hi and lo == self.bc_lo and (hi or lo))

    def next_hop(self, dst):
        """Where a datagram for dst goes on the link: dst itself, the gateway, or 0 (no route)."""
        if self.ip and (dst & self.netmask) == (self.ip & self.netmask):
            return dst
        return self.gateway

    # -- receive path

    def input(self, n, now_ms):
        # (few locals: a MicroPython frame over 11 words is a heap
        # allocation, and this runs for every frame)
        self.ctr[_C_RX_FRAMES] += 1
        self.ctr[_C_RX_BYTES] += n
        buf = self.rx
        if self.trace:
            self.trace("in", buf, n)
        eth = self.eth
        why = eth.parse(buf, n)
        if why:
            self.counters.drop(why)
        elif n > self.cfg.mtu + ethernet.HLEN and eth.vlan < 0:
            # Longer than our MTU allows: replies (echo) would not fit in tx.
            self.ctr[_C_DROP_ETH_OVERSIZE] += 1
        elif eth.vlan >= 0:
            # Replies would go out untagged: a board on an access port never
            # sees tagged frames, so treat them as not ours.
            self.ctr[_C_DROP_ETH_VLAN] += 1
        elif not (mac_eq(buf, 0, self.mac) or is_broadcast(buf, 0) or is_multicast(buf, 0)):
            self.ctr[_C_DROP_ETH_NOT_FOR_US] += 1
        elif eth.ethertype == ethernet.TYPE_IPV4:
            self._ip_input(buf, n, now_ms)
        elif eth.ethertype == ethernet.TYPE_ARP:
            self._arp_input(buf, n, now_ms)
        else:
            self.ctr[_C_DROP_ETH_TYPE] += 1

    def _arp_input(self, buf, n, now_ms):
        st = self.ctr
        a = self.arp_pkt
        why = a.parse(buf, ethernet.HLEN, n)
        if why:
            self.counters.drop(why)
            return
        if self.probe_ip and (a.spa == self.probe_ip or (
                a.oper == arp.REQUEST and a.spa == 0 and a.tpa == self.probe_ip)):
            # RFC 5227 2.1.1: someone uses (or probes for) the address we want
            self.probe_conflict = True
            st[_C_IN_ARP] += 1
            return
        cache = self.arp
        for_us = self.ip != 0 and a.tpa == self.ip
        i = cache.find(a.spa) if a.spa else -1
        if i >= 0:
            # RFC 826 merge: refresh what we know about the sender
            was_pending = cache.state[i] == _PENDING
            cache.set_valid(i, buf, a.sha_off, now_ms)
            if was_pending:
                self._flush_queue(i)
                h = self.arp_done
                if h:
                    h(cache.ip[i], now_ms, True)
        elif for_us and a.spa and a.oper == arp.REQUEST:
            # RFC 826: the asker will talk to us next, so keep its address, but
            # only in a free slot or one of another such entry (see the module
            # docstring); a *reply* we did not ask for creates nothing.
            if cache.victim(now_ms, self.gateway, True) >= 0:
                i = self._arp_alloc(a.spa, now_ms)
                cache.used[i] = 0
                cache.set_valid(i, buf, a.sha_off, now_ms)
        if a.oper == arp.REQUEST and for_us:
            st[_C_IN_ARP] += 1
            self._send_arp(arp.REPLY, buf, a.sha_off, a.spa, buf, a.sha_off)
            st[_C_ARP_REPLIES_TX] += 1
        elif i >= 0:
            st[_C_IN_ARP] += 1
        elif a.oper == arp.REPLY:
            st[_C_DROP_ARP_UNSOLICITED] += 1
        else:
            st[_C_DROP_ARP_NOT_FOR_US] += 1

    def _ip_input(self, buf, n, now_ms):
        st = self.ctr
        ip = self.ip_hdr
        why = ip.parse(buf, IP_OFF, n)
        if why:
            self.counters.drop(why)
            return
        if ip.ttl == 0:
            st[_C_DROP_IP_TTL] += 1
            return
        if (ip.dst_lo != self.ip_lo or ip.dst_hi != self.ip_hi) and self.ip != 0 \
                and not self.is_broadcast_h(ip.dst_hi, ip.dst_lo):
            st[_C_DROP_IP_NOT_FOR_US] += 1
            return
        src_hi = ip.src_hi
        if (src_hi >> 12) >= 14 or (src_hi >> 8) == 127 or (
                self.ip != 0 and self.is_broadcast_h(src_hi, ip.src_lo)):
            # RFC 1122 3.2.1.3: a broadcast, multicast or loopback source is
            # bogus; anything we said back would go to the wrong place.
            st[_C_DROP_IP_BAD_SRC] += 1
            return
        proto = ip.proto
        if proto == ipv4.PROTO_TCP:
            h = self.tcp_input
            why = h(self, ip, now_ms) if h else "tcp_no_handler"
            if why:
                self.counters.drop(why)
            else:
                st[_C_IN_TCP] += 1
        elif proto == ipv4.PROTO_UDP:
            h = self.udp_input
            if h:
                why = h(self, ip, now_ms)
            else:
                # RFC 1122 4.1.3.4: a bad datagram is discarded silently, not
                # answered with port unreachable.
                why = self.udp_hdr.parse_sum(buf, ip.payload_off, ip.payload_end, ip.asum)
                if not why:
                    why = "udp_port_unreach"
            if why == "udp_port_unreach":
                self.send_icmp_error(icmp.DEST_UNREACH, icmp.CODE_PORT_UNREACH, now_ms)
            if why:
                self.counters.drop(why)
            else:
                st[_C_IN_UDP] += 1
        elif proto == ipv4.PROTO_ICMP:
            self._icmp_input(buf, ip, now_ms)
        else:
            # RFC 1122 3.2.2.1: protocol unreachable for unknown protocols
            self.send_icmp_error(icmp.DEST_UNREACH, icmp.CODE_PROTO_UNREACH, now_ms)
            st[_C_DROP_IP_PROTO] += 1

    def _icmp_input(self, buf, ip, now_ms):
        st = self.ctr
        m = self.icmp_hdr
        why = m.parse(buf, ip.payload_off, ip.payload_end)
        if why:
            self.counters.drop(why)
            return
        t = m.type
        if t == icmp.ECHO_REQUEST:
            if ip.dst != self.ip:
                # RFC 1122 3.2.2.6: a host may ignore broadcast echo requests
                st[_C_DROP_ICMP_BROADCAST] += 1
                return
            st[_C_IN_ICMP] += 1
            self._echo_reply(buf, ip, m)
        elif t == icmp.ECHO_REPLY:
            st[_C_IN_ICMP] += 1
            h = self.echo_reply_input
            if h:
                h(m.ident, m.seq, buf, m.payload_off, m.payload_end, now_ms)
        elif t == icmp.DEST_UNREACH or t == icmp.TIME_EXCEEDED:
            why = self._icmp_error(buf, m)
            if why:
                self.counters.drop(why)
            else:
                st[_C_IN_ICMP] += 1
        else:
            st[_C_DROP_ICMP_TYPE] += 1

    def _icmp_error(self, buf, m):
        """An ICMP error: check the datagram it quotes, then hand it to the
        transports (icmp_error_input); returns a drop reason or None.

        RFC 5927 4: act only on a quote that could be one of our datagrams --
        a whole IPv4 header (IHL >= 5, within the quote) from our address, of
        a protocol we send, with the 8 bytes after it (RFC 792) holding the
        ports; the transport then checks the ports (and TCP the sequence
        number) against its own state."""
        off = m.inner_off
        end = m.payload_end
        v = buf[off]
        ihl = (v & 15) * 4
        p = buf[off + 9]
        if v >> 4 != 4 or ihl < 20 or end - off < ihl + 8 \
                or ((buf[off + 12] << 8) | buf[off + 13]) != self.ip_hi \
                or ((buf[off + 14] << 8) | buf[off + 15]) != self.ip_lo \
                or (p != ipv4.PROTO_TCP and p != ipv4.PROTO_UDP and p != ipv4.PROTO_ICMP):
            return "icmp_quote"
        h = self.icmp_error_input
        if h is not None and p != ipv4.PROTO_ICMP:
            return h(m.type, m.code, buf, off, end)
        return None

    def _echo_reply(self, buf, ip, m):
        # RFC 792: same identifier, sequence and data; sent straight back to
        # the link-layer sender, so no ARP lookup is needed.
        n = ip.payload_end - ip.payload_off
        tx = self.tx
        tx[IP_PAYLOAD_OFF:IP_PAYLOAD_OFF + n] = buf[ip.payload_off:ip.payload_end]
        icmp.emit_echo(tx, IP_PAYLOAD_OFF, icmp.ECHO_REPLY, m.ident, m.seq, n - icmp.HLEN)
        self._emit_ip(ip.src_hi, ip.src_lo, ipv4.PROTO_ICMP, n)
        ethernet.emit(tx, buf, self.mac, ethernet.TYPE_IPV4, 6)
        self.ctr[_C_ICMP_ECHO_REPLIES_TX] += 1
        self._transmit(IP_PAYLOAD_OFF + n)

    def send_icmp_error(self, type_, code, now_ms):
        """ICMP error about the datagram now in the RX buffer (ip_hdr), rate-limited."""
        ip = self.ip_hdr
        buf = self.rx
        # RFC 1122 3.2.2: never about broadcasts, multicasts or bogus sources
        if (self.is_local_broadcast(ip.dst) or (ip.dst >> 28) == 14 or ip.src == 0
                or self.is_local_broadcast(ip.src) or (ip.src >> 28) >= 14 or is_multicast(buf, 0)):
            return
        since = ticks_diff(now_ms, self.icmp_refill_ms)
        # since < 0: the stamp was never set for this clock (it starts anywhere
        # on the wrapping clock) or is more than half a period old, so a new
        # second starts now.
        if since >= 1000 or since < 0:
            self.icmp_refill_ms = now_ms
            self.icmp_tokens = self.cfg.icmp_rate_per_s
        if self.icmp_tokens <= 0:
            self.ctr[_C_ICMP_RATE_LIMITED] += 1
            return
        self.icmp_tokens -= 1
        quoted = ip.total_len
        if quoted > 548:  # stay within 576 bytes (RFC 1812 4.3.2.3)
            quoted = 548
        tx = self.tx
        start = IP_PAYLOAD_OFF + icmp.HLEN
        tx[start:start + quoted] = buf[IP_OFF:IP_OFF + quoted]
        icmp.emit_error(tx, IP_PAYLOAD_OFF, type_, code, quoted)
        self._emit_ip(ip.src_hi, ip.src_lo, ipv4.PROTO_ICMP, icmp.HLEN + quoted)
        ethernet.emit(tx, buf, self.mac, ethernet.TYPE_IPV4, 6)
        self.ctr[_C_ICMP_ERRORS_TX] += 1
        self._transmit(IP_PAYLOAD_OFF + icmp.HLEN + quoted)

    # -- transmit path

    def _emit_ip(self, dst_hi, dst_lo, proto, payload_len):
        # ipv4.emit_h, inlined (a MicroPython call frame less per frame).
        # Every datagram we send is atomic (DF set, never fragmented), and
        # RFC 6864 4.1 lets an atomic datagram carry any identification: it
        # carries IDENT (0, as Linux sends DF datagrams of unconnected
        # sockets), so the field counts nothing an observer could use (an
        # incrementing ID tells anyone our traffic and makes us an idle-scan
        # zombie, RFC 7739 5).
        tx = self.tx
        pack_into(ipv4.HDR_FMT, tx, IP_OFF, 0x45, 0, 20 + payload_len, IDENT, 0x4000,
                  self.cfg.ttl, proto, 0, self.ip_hi, self.ip_lo, dst_hi, dst_lo)
        c = checksum(tx, IP_OFF, IP_OFF + 20)
        tx[IP_OFF + 10] = c >> 8
        tx[IP_OFF + 11] = c & 0xFF

    def _transmit(self, n):
        if self.trace:
            self.trace("out", self.tx, n)
        try:
            self.nic.send(self._view(n))
        except OSError:
            self.ctr[_C_TX_ERRORS] += 1
            return
        self.ctr[_C_TX_FRAMES] += 1
        self.ctr[_C_TX_BYTES] += n

    def _view(self, n):
        """tx[:n] without a new view object when n is one of the last two
        lengths sent (a memoryview slice is a heap object on MicroPython)."""
        m = self.memo
        if n == m[_M_N0]:
            return m[_M_V0]
        if n == m[_M_N1]:
            return m[_M_V1]
        v = self.tx[:n]
        m[_M_N1] = m[_M_N0]
        m[_M_V1] = m[_M_V0]
        m[_M_N0] = n
        m[_M_V0] = v
        return v

    def send_ip(self, dst, proto, payload_len, now_ms):
        """Send the datagram whose payload is at tx[IP_PAYLOAD_OFF:]; returns SENT,
        QUEUED (waiting for ARP), NO_ROUTE or DROPPED."""
        return self.send_ip_h(dst >> 16, dst & 0xFFFF, proto, payload_len, now_ms)

    def send_ip_h(self, dst_hi, dst_lo, proto, payload_len, now_ms):
        """``send_ip`` with the destination as 16-bit halves (the per-segment path)."""
        self._emit_ip(dst_hi, dst_lo, proto, payload_len)
        n = IP_PAYLOAD_OFF + payload_len
        tx = self.tx
        m = self.memo
        i = m[_M_ARP_I]
        if dst_lo == m[_M_DST_LO] and dst_hi == m[_M_DST_HI] and i >= 0:
            # Same destination as the last datagram (every segment of a bulk
            # transfer): its next hop is still in slot i, fresh, so skip routing
            # and the cache search; anything else takes the full path below.
            cache = self.arp
            if cache.state[i] == _VALID and cache.ip[i] == m[_M_HOP] \
                    and ticks_diff(now_ms, cache.stamp_ms[i]) <= self.cfg.arp_refresh_ms:
                ethernet.emit(tx, cache.mac, self.mac, ethernet.TYPE_IPV4, 6 * i)
                self._transmit(n)
                return SENT
        if self.is_broadcast_h(dst_hi, dst_lo):
            ethernet.emit(tx, ethernet.BROADCAST, self.mac, ethernet.TYPE_IPV4)
            self._transmit(n)
            return SENT
        if (dst_hi >> 12) == 14:  # multicast: RFC 1112 6.4 mapping
            tx[0] = 0x01
            tx[1] = 0x00
            tx[2] = 0x5E
            tx[3] = dst_hi & 0x7F
            tx[4] = dst_lo >> 8
            tx[5] = dst_lo & 0xFF
            tx[6:12] = self.mac
            put16(tx, 12, ethernet.TYPE_IPV4)
            self._transmit(n)
            return SENT
        hop = self.next_hop((dst_hi << 16) | dst_lo)  # the slow path: ints may allocate
        if hop == 0:
            self.ctr[_C_DROP_NO_ROUTE] += 1
            return NO_ROUTE
        cache = self.arp
        i = cache.find(hop)
        if i >= 0 and cache.state[i] == _VALID:
            cache.used[i] = 1
            ethernet.emit(tx, cache.mac, self.mac, ethernet.TYPE_IPV4, 6 * i)
            if ticks_diff(now_ms, cache.stamp_ms[i]) > self.cfg.arp_refresh_ms and cache.tries[i] == 0:
                cache.tries[i] = 1
                self._transmit(n)
                # RFC 1122 2.3.2.1: confirm a used entry with a unicast request
                self._send_arp(arp.REQUEST, cache.mac, 6 * i, hop, _ZERO_MAC, 0)
                self.ctr[_C_ARP_REQUESTS_TX] += 1
                return SENT
            m[_M_DST_HI] = dst_hi
            m[_M_DST_LO] = dst_lo
            m[_M_HOP] = hop
            m[_M_ARP_I] = i
            self._transmit(n)
            return SENT
        return self._queue(hop, n, i, now_ms, proto)

    def _queue(self, hop, n, i, now_ms, proto):
        st = self.ctr
        cache = self.arp
        # Copy the datagram out of tx first: the ARP request below is built in tx.
        res = DROPPED
        slot = self.cfg.arp_queue_slot_bytes
        if proto == ipv4.PROTO_TCP:
            # A segment does not take a slot: its bytes stay in the TCP ring
            # and TCP sends it again once ARP resolves (the arp_done hook).
            res = QUEUED
        elif n > slot:
            st[_C_DROP_ARP_QUEUE_OVERSIZE] += 1
        else:
            for k in range(len(self.q_len)):
                if self.q_len[k] == 0:
                    o = k * slot
                    self.q_buf[o:o + n] = self.tx[:n]
                    self.q_len[k] = n
                    self.q_ip[k] = hop
                    res = QUEUED
                    break
            else:
                st[_C_DROP_ARP_QUEUE_FULL] += 1
        if i < 0:
            self._request(hop, now_ms)  # even when the frame could not wait: the sender retries
        return res

    def _request(self, hop, now_ms):
        """A pending entry for hop and the first broadcast ARP request for it."""
        cache = self.arp
        i = self._arp_alloc(hop, now_ms)
        cache.state[i] = _PENDING
        cache.tries[i] = 1
        cache.stamp_ms[i] = at = ticks_add(now_ms, self.cfg.arp_retry_ms)
        if ticks_diff(at, self.arp_due) < 0:
            self.arp_due = at  # timers() scans again by then
        self._send_arp(arp.REQUEST, ethernet.BROADCAST, 0, hop, _ZERO_MAC, 0)
        self.ctr[_C_ARP_REQUESTS_TX] += 1

    def _arp_alloc(self, ip, now_ms):
        """A cache slot for ip; an evicted entry is counted, and the frames
        waiting on an evicted pending entry are dropped (they would hold queue
        slots forever)."""
        cache = self.arp
        i = cache.victim(now_ms, self.gateway)
        s = cache.state[i]
        if s == _VALID:
            self.ctr[_C_ARP_EVICTIONS] += 1
        elif s == _PENDING:
            self._drop_queue(cache.ip[i])
        cache.state[i] = _FREE
        cache.ip[i] = ip
        cache.used[i] = 1
        return i

    def _flush_queue(self, i):
        cache = self.arp
        hop = cache.ip[i]
        slot = self.cfg.arp_queue_slot_bytes
        for k in range(len(self.q_len)):
            n = self.q_len[k]
            if n and self.q_ip[k] == hop:
                o = k * slot
                self.tx[0:n] = self.q_buf[o:o + n]
                ethernet.emit(self.tx, cache.mac, self.mac, ethernet.TYPE_IPV4, 6 * i)
                self.q_len[k] = 0
                self._transmit(n)

    def _drop_queue(self, hop):
        for k in range(len(self.q_len)):
            if self.q_len[k] and self.q_ip[k] == hop:
                self.q_len[k] = 0
                self.ctr[_C_DROP_ARP_UNRESOLVED] += 1

    def _send_arp(self, oper, dst_mac, dst_off, tpa, tha, tha_off):
        tx = self.tx
        ethernet.emit(tx, dst_mac, self.mac, ethernet.TYPE_ARP, dst_off)
        arp.emit(tx, ethernet.HLEN, oper, self.mac, self.ip, tha[tha_off:tha_off + 6], tpa)
        self._transmit(ethernet.HLEN + arp.LEN)

    def probe(self, ip):
        """ARP probe for ip (RFC 5227 2.1.1: sender address 0); an ARP packet from
        or probing for ip sets ``probe_conflict``.  ``probe(0)`` stops watching."""
        self.probe_ip = ip
        self.probe_conflict = False
        if ip:
            tx = self.tx
            ethernet.emit(tx, ethernet.BROADCAST, self.mac, ethernet.TYPE_ARP)
            arp.emit(tx, ethernet.HLEN, arp.REQUEST, self.mac, 0, _ZERO_MAC, ip)
            self._transmit(ethernet.HLEN + arp.LEN)
            self.ctr[_C_ARP_PROBES_TX] += 1

    def announce(self):
        """Gratuitous ARP (RFC 5227 2.3 announcement) for our address."""
        if self.ip:
            self._send_arp(arp.REQUEST, ethernet.BROADCAST, 0, self.ip, _ZERO_MAC, 0)
            self.ctr[_C_ARP_GRATUITOUS_TX] += 1
        self.announce_pending = False

    def resolve(self, ip, now_ms):
        """Start (or check) resolution of an on-link address; True when known."""
        hop = self.next_hop(ip)
        i = self.arp.find(hop)
        if i >= 0 and self.arp.state[i] == _VALID:
            return True
        if i < 0 and hop:
            self._request(hop, now_ms)
        return False

    # -- timers

    def timers(self, now_ms):
        """Run ARP retries and aging; returns ms until the next ARP deadline (or a large value)."""
        if self.announce_pending:
            self.announce()
        d = ticks_diff(self.arp_due, now_ms)
        if 0 < d <= 1000:  # nothing due: no scan (and a small frame: this runs every poll)
            return d
        # (arp_due is never set more than 1 s ahead: a larger d is a stale
        # stamp seen from the next turn of the clock, so scan now)
        return self._arp_timers(now_ms)

    def _arp_timers(self, now_ms):
        cache = self.arp
        cfg = self.cfg
        wait = 1000
        for i in range(cache.n):
            s = cache.state[i]
            if s == _PENDING:
                due = ticks_diff(cache.stamp_ms[i], now_ms)
                if due <= 0:
                    if cache.tries[i] >= cfg.arp_retries:
                        self._drop_queue(cache.ip[i])
                        cache.state[i] = _FREE
                        h = self.arp_done
                        if h:
                            h(cache.ip[i], now_ms, False)
                        continue
                    cache.tries[i] += 1
                    cache.stamp_ms[i] = ticks_add(now_ms, cfg.arp_retry_ms)
                    self._send_arp(arp.REQUEST, ethernet.BROADCAST, 0, cache.ip[i], _ZERO_MAC, 0)
                    self.ctr[_C_ARP_REQUESTS_TX] += 1
                    due = cfg.arp_retry_ms
                if due < wait:
                    wait = due
            elif s == _VALID:
                age = ticks_diff(now_ms, cache.stamp_ms[i])
                due = cfg.arp_timeout_ms - age
                if due < 0 or age < 0:  # age < 0: stale (half a ticks period or more)
                    cache.state[i] = _FREE
                elif due < wait:
                    wait = due + 1  # the scan just after it ages out
        self.arp_due = ticks_add(now_ms, wait)
        return wait
