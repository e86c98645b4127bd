"""What a person at the REPL uses to see the stack work: ping, netstat, ifconfig, trace.

    >>> import tcpip
    >>> tcpip.ping("192.0.2.1")
    >>> tcpip.netstat()
    >>> tcpip.ifconfig()
    >>> tcpip.trace(True)

Each takes ``stack=`` and otherwise uses the one sockets use
(``tcpip.socket.get_stack()``: tcpip.start()'s, or the last Stack built).  They
print and also return what they printed, as data.
"""
from tcpip.compat import ticks_ms, ticks_diff, random32
from tcpip.iface import IP_PAYLOAD_OFF, NO_ROUTE
from tcpip.socket import get_stack, getaddrinfo
from tcpip.wire import icmp, ipv4
from tcpip.wire.ipv4 import ntoa, aton, prefix_mask


def ping(host, count=4, size=56, timeout_ms=1000, interval_ms=1000, stack=None, quiet=False):
    """ICMP echo like the ping command; returns {'sent', 'received', 'loss_pct',
    'rtt_ms': [...], 'min_ms', 'avg_ms', 'max_ms'}."""
    st = stack or get_stack()
    iface = st.iface
    if size < 0 or size > iface.mtu - 28:
        raise ValueError("size must be 0..%d" % (iface.mtu - 28))
    # a name or an address literal (no DNS for a literal)
    dst = aton(getaddrinfo(host, 0, stack=st)[0][-1][0]) if isinstance(host, str) else host
    ident = random32() & 0xFFFF
    got = {}

    def on_reply(rid, seq, buf, off, end, now_ms):
        if rid == ident and seq not in got and end - off == size:
            # payload must come back unchanged (RFC 792)
            for k in range(size):
                if buf[off + k] != (k + seq) & 0xFF:
                    return
            got[seq] = now_ms

    out = []

    def say(line):
        out.append(line)
        if not quiet:
            print(line)

    addr = ntoa(dst)
    say("PING %s (%s) %d(%d) bytes of data." % (host, addr, size, size + 28))
    previous = iface.echo_reply_input
    iface.echo_reply_input = on_reply
    rtts = []
    sent = 0
    try:
        for seq in range(1, count + 1):
            st.busy += 1  # the stack lock (tcpip.stack): iface.tx is shared
            try:
                tx = iface.tx
                p = IP_PAYLOAD_OFF + icmp.HLEN
                for k in range(size):
                    tx[p + k] = (k + seq) & 0xFF
                icmp.emit_echo(tx, IP_PAYLOAD_OFF, icmp.ECHO_REQUEST, ident, seq, size)
                t0 = ticks_ms()
                routed = iface.send_ip(dst, ipv4.PROTO_ICMP, icmp.HLEN + size, t0) != NO_ROUTE
            finally:
                st.busy -= 1
            if not routed:
                raise OSError(113, "no route to %s" % addr)
            sent += 1
            while seq not in got and ticks_diff(ticks_ms(), t0) < timeout_ms:
                w = st.poll(ticks_ms())
                if seq not in got:
                    st.idle(w if w < 5 else 5)
            if seq in got:
                rtt = ticks_diff(got[seq], t0)
                rtts.append(rtt)
                say("%d bytes from %s: icmp_seq=%d time=%d ms" % (size + 8, addr, seq, rtt))
            else:
                say("no reply from %s: icmp_seq=%d" % (addr, seq))
            if seq < count:
                while ticks_diff(ticks_ms(), t0) < interval_ms:
                    w = st.poll(ticks_ms())
                    st.idle(w if w < 5 else 5)
    finally:
        iface.echo_reply_input = previous
    received = len(rtts)
    loss = 100 * (sent - received) // sent if sent else 100
    say("--- %s ping statistics ---" % host)
    say("%d packets transmitted, %d received, %d%% packet loss" % (sent, received, loss))
    res = {"sent": sent, "received": received, "loss_pct": loss, "rtt_ms": rtts}
    if rtts:
        res["min_ms"] = min(rtts)
        res["avg_ms"] = sum(rtts) / len(rtts)
        res["max_ms"] = max(rtts)
        say("rtt min/avg/max = %d/%.1f/%d ms" % (res["min_ms"], res["avg_ms"], res["max_ms"]))
    return res


def netstat(stack=None, quiet=False):
    """Print the socket table (the seed's netstat view); returns the rows as tuples
    (proto, local, foreign, state, recv_q, send_q)."""
    st = stack or get_stack()
    me = ntoa(st.iface.ip)
    rows = []
    tcp = getattr(st, "tcp", None)
    if tcp is not None:
        for lst in tcp.listeners:
            if lst.in_use:
                rows.append(("tcp", "%s:%d" % (me, lst.port), "0.0.0.0:*", "LISTEN", 0, 0))
        for c in tcp.pool:
            if c.in_use:
                rows.append(("tcp", "%s:%d" % (me, c.lport), "%s:%d" % (ntoa(c.rip), c.rport),
                             c.state_name(), c.rx.count, c.tx.count))
    for ep in st.udp.pool:
        if ep.in_use and ep.lport:
            far = "%s:%d" % (ntoa(ep.rip), ep.rport) if ep.rip else "*:*"
            rows.append(("udp", "%s:%d" % (ntoa(ep.lip) if ep.lip else me, ep.lport), far, "",
                         ep.rx.count, 0))
    if not quiet:
        print("Proto Recv-Q Send-Q Local Address          Foreign Address        State")
        for r in rows:
            print("%-5s %6d %6d %-22s %-22s %s" % (r[0], r[4], r[5], r[1], r[2], r[3]))
    return rows


def ifconfig(config=None, stack=None):
    """Get or set (ip, netmask, gateway, dns) like MicroPython's network modules."""
    st = stack or get_stack()
    iface = st.iface
    if config is None:
        dns = st.cfg.dns[0] if st.cfg.dns else "0.0.0.0"
        return (ntoa(iface.ip), ntoa(iface.netmask), ntoa(iface.gateway), dns)
    ip, mask, gw, dns = config
    m = aton(mask)
    prefix = 0
    while prefix < 32 and m & (0x80000000 >> prefix):
        prefix += 1
    if prefix_mask(prefix) != m:
        raise ValueError("netmask %s is not contiguous" % mask)
    iface.configure(ip, prefix, gw)
    st.cfg.dns[:] = [dns] if dns and dns != "0.0.0.0" else []
    return None


def stats(stack=None, all=False):
    """Print the counters (non-zero ones unless all=True); returns the dict."""
    s = (stack or get_stack()).stats()
    for k in sorted(s):
        if all or s[k]:
            print("%-28s %d" % (k, s[k]))
    return s


def trace(on=True, stack=None, out=None, pcap=None):
    """Print one line per packet in (<-) and out (->), e.g.

        -> TCP 192.0.2.2:49152 > 192.0.2.1:80 [SYN] seq=1234 win=2048 mss=1460 len=0

    ``out``: any object with ``write`` instead of print.  ``pcap``: a stream
    (board: a UART or file) or, on a host, a file name: the same packets as a
    libpcap capture Wireshark opens.  ``trace(False)`` stops and closes a
    capture file opened by name."""
    st = stack or get_stack()
    old = st.iface.trace
    if old is not None and getattr(old, "owned_file", None) is not None:
        old.owned_file.close()
    if on:
        from tcpip.tracer import Tracer, PcapWriter
        owned = None
        if isinstance(pcap, str):
            owned = pcap = open(pcap, "wb")
        t = Tracer(out, PcapWriter(pcap) if pcap is not None else None)
        t.owned_file = owned
        st.iface.trace = t
    else:
        st.iface.trace = None
