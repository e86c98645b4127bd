"""Generate the layout blocks of lib/tcpip from the tables below (one source of truth).

    python tools/codegen/gen_layouts.py            rewrite every stale block in place
    python tools/codegen/gen_layouts.py --check    exit 1 and name the stale blocks
    make layouts                           the same as the first

A layout is a list of names whose positions are also ``const()`` indices the
hot paths use: the fields of a TCP control block's array ``c.w`` (with the
sequence-number fields ``_reanchor`` moves, the defaults ``_reset_fields``
writes and the ``_F_`` flag bits), and each layer's counters (``STAT_KEYS``,
which ``Stack.stats()`` prints, and the ``_C_`` positions in its counter
array).  Each is written here once; the code between ``# BEGIN LAYOUT name``
and ``# END LAYOUT name`` in the module is generated from it.  Adding a field
or a counter is one line in a table, then running this program.  The names
stay private ``_NAME = const(n)``: mpy-cross folds them into the bytecode, so
they cost nothing at run time on a board.  host_tests/test_layouts.py fails
when a block is stale.  A CPython program (it does not run on a board).
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The TCP control block (tcpip.tcp.Connection.w).  One row per field, in
# array order:
#   (name, default, seq, comment)
#   default: the value _reset_fields writes (a Python expression; "0" is
#            written by a loop over the run of fields), or None when
#            _reset_fields leaves the field alone (_alloc and _free own it)
#   seq:     "snd" / "rcv" for a sequence number relative to the send / receive
#            anchor (_reanchor moves it; c.NAME reads it absolute), else ""
# A row of one string is a section heading (a comment above the constants).
TCP_FIELDS = (
    ("in_use", None, "", "the block is allocated (_alloc, _free)"),
    ("state", "CLOSED", "", ""),
    ("user", "0", "", "the application holds this block (open/accept .. close)"),
    ("listener", "0", "", "Listener.id of a not yet accepted passive connection"),
    ("born", "0", "", "allocation order (accept oldest first)"),
    ("error", "0", "", "errno once the connection failed"),
    ("lport", "0", "", ""),
    ("rip_hi", "0", "", "remote address, 16-bit halves"),
    ("rip_lo", "0", "", ""),
    ("rport", "0", "", ""),
    ("send sequence space (RFC 9293 3.3.1), relative to the send anchor",),
    ("sa_hi", "0", "", "the send anchor, 16-bit halves"),
    ("sa_lo", "0", "", ""),
    ("snd_una", "0", "snd", ""),
    ("snd_nxt", "0", "snd", ""),
    ("snd_max", "0", "snd", "highest sequence number sent + 1 (go-back-N rewinds snd_nxt)"),
    ("snd_wnd", "0", "", ""),
    ("snd_wl1", "0", "rcv", "seq of the segment that last updated the window"),
    ("snd_wl2", "0", "snd", "ack of the segment that last updated the window"),
    ("max_sndwnd", "0", "", "largest window the peer offered (sender SWS avoidance)"),
    ("snd_mss", "_DEFAULT_MSS", "", ""),
    ("snd_sml", "0", "snd", "end of the last small segment sent (Nagle, Minshall)"),
    ("receive sequence space, relative to the receive anchor",),
    ("ra_hi", "0", "", "the receive anchor, 16-bit halves"),
    ("ra_lo", "0", "", ""),
    ("rcv_nxt", "0", "rcv", ""),
    ("rcv_adv", "0", "rcv", "right edge of the window last advertised"),
    ("RTT / RTO (RFC 6298), in ms; srtt scaled by 8, rttvar by 4",),
    ("srtt8", "0", "", ""),
    ("rttvar4", "0", "", ""),
    ("rto_ms", "self.tcp.cfg.tcp_rto_initial_ms", "", ""),
    ("rtt_seq", "0", "snd", "the segment being timed (_F_RTT_ON)"),
    ("rtt_ms", "0", "", "when the timed segment was sent"),
    ("retries", "0", "", "timeouts in a row (retransmissions, window probes) without progress"),
    ("tmr", "_T_OFF", "", "what the one timer is doing (_T_)"),
    ("tmr_at", "0", "", "when it fires"),
    ("delayed ACK (RFC 1122 4.2.3.2, RFC 9293 3.8.6.3)",),
    ("delack_at", "0", "", ""),
    ("ack_segs", "0", "", "full segments received since our last ACK"),
    ("congestion control (RFC 5681, RFC 6582)",),
    ("cwnd", "0", "", ""),
    ("ssthresh", "65535", "", ""),
    ("dupacks", "0", "", ""),
    ("recover", "0", "snd", "snd_max when fast recovery or the last RTO began (RFC 6582)"),
    ("options",),
    ("flags", "0", "", "the _F_ bits"),
    ("ka_at", "0", "", "next keepalive probe"),
    ("ka_probes", "0", "", "keepalive probes not answered"),
    ("probes", "0", "", "window probes the peer did not answer"),
    ("fin_seq", "0", "rcv", "where an out-of-order FIN sits (_F_FIN_AHEAD)"),
)
# Then the two rings' state (tcpip.ring's layout: BASE, SIZE, HEAD, COUNT,
# NRANGES; ring.init/clear own it), TX first, then RX, whose out-of-order
# range slots (cfg.tcp_ooo_ranges pairs) end the array.
RING_FIELDS = ("base", "size", "head", "count", "nranges")
TCP_RINGS = ("tx", "rx")

# bits of w[_FLAGS], bit 0 first: (name, comment)
TCP_FLAGS = (
    ("fin_queued", "write side shut down: FIN after the TX ring data"),
    ("fin_rcvd", "the peer's FIN arrived (in order)"),
    ("rtt_on", "a segment is being timed (RFC 6298): rtt_seq, rtt_ms"),
    ("ack_now", "an ACK is owed now"),
    ("delack_on", "a delayed ACK is due at delack_at"),
    ("in_recovery", "NewReno fast recovery (RFC 6582) until recover is acked"),
    ("nodelay", "TCP_NODELAY: Nagle off"),
    ("keepalive", "SO_KEEPALIVE"),
    ("ack_soon", "an ACK is owed at the next poll (Tcp.send_soon_acks)"),
    ("wl_set", "snd_wl1/snd_wl2 hold a segment's numbers (any value, 0 included)"),
    ("fin_ahead", "the peer's FIN came out of order: it ends the sequence space at fin_seq"),
    ("close_later", "close() from a finaliser: the next timer scan closes"),
)

# Counters, per layer, in the order of its array: each string is a line of
# names in the generated STAT_KEYS.  A name "drop_X" is what
# Counters.drop("X") bumps.
IFACE_TX_DROPS = "drop_arp_queue_full drop_arp_queue_oversize drop_arp_unresolved drop_no_route"
IFACE_COUNTERS = (
    "rx_frames rx_bytes tx_frames tx_bytes tx_errors",
    "in_arp in_icmp in_udp in_tcp",
    "arp_requests_tx arp_replies_tx arp_gratuitous_tx arp_probes_tx arp_evictions",
    "icmp_echo_replies_tx icmp_errors_tx icmp_rate_limited",
    "link_up_events link_down_events",
    "drop_eth_short drop_eth_oversize drop_eth_vlan drop_eth_type drop_eth_not_for_us",
    "drop_arp_malformed drop_arp_not_for_us drop_arp_unsolicited",
    "drop_ip_short drop_ip_version drop_ip_ihl drop_ip_len drop_ip_checksum",
    "drop_ip_fragment drop_ip_ttl drop_ip_not_for_us drop_ip_bad_src drop_ip_proto",
    "drop_icmp_short drop_icmp_checksum drop_icmp_type drop_icmp_broadcast",
    "drop_icmp_quote drop_icmp_quote_seq",
    "drop_udp_short drop_udp_len drop_udp_checksum drop_udp_port_unreach",
    IFACE_TX_DROPS,  # drops on the transmit side (TX_DROP_KEYS): not in the rx_frames accounting
)
TCP_COUNTERS = (
    "tcp_active_opens tcp_passive_opens tcp_established tcp_resets_rx",
    "tcp_rst_tx tcp_challenge_acks tcp_rto_timeouts tcp_retransmits",
    "tcp_fast_retransmits tcp_persist_probes tcp_keepalive_probes",
    "tcp_timeouts tcp_ooo_segments tcp_time_wait_reused tcp_segs_out tcp_syn_evictions",
    "tcp_syncookies_sent tcp_syncookies_ok tcp_syncookies_refused tcp_predicted",
    "drop_tcp_short drop_tcp_hlen drop_tcp_checksum drop_tcp_options",
    "drop_tcp_no_socket drop_tcp_backlog drop_tcp_no_block drop_tcp_broadcast",
)
UDP_COUNTERS = ("udp_tx drop_udp_rx_full",)

WIDTH = 100  # longest generated line (the tree's line length)


def _names_tuple(var, names, indent=""):
    """var = ("a", "b", ...) wrapped at WIDTH."""
    lines = [indent + var + " = ("]
    line = indent + "    "
    for n in names:
        item = '"%s",' % n
        if len(line) + len(item) + 1 > WIDTH and line.strip():
            lines.append(line.rstrip())
            line = indent + "    "
        line += item + " "
    lines.append(line.rstrip())
    lines.append(indent + ")")
    return lines


def _const(name, value, comment=""):
    line = "_%s = const(%d)" % (name.upper(), value)
    return line + ("  # " + comment if comment else "")


def _rows(table):
    return [r for r in table if len(r) > 1]


def tcp_field_names():
    """Every named field of c.w in array order (what FIELDS holds)."""
    return [r[0] for r in _rows(TCP_FIELDS)] + [
        ring + "_" + f for ring in TCP_RINGS for f in RING_FIELDS]


def tcp_fields_block():
    out = []
    i = 0
    for r in TCP_FIELDS:
        if len(r) == 1:
            out.append("# " + r[0])
            continue
        out.append(_const(r[0], i, r[3]))
        i += 1
    out.append("# the two rings (tcpip.ring's layout each): TX, then RX, whose out-of-order")
    out.append("# range slots (cfg.tcp_ooo_ranges pairs) end the array")
    starts = []
    for ring in TCP_RINGS:
        starts.append((ring, i))
        for f in RING_FIELDS:
            out.append(_const(ring + "_" + f, i))
            i += 1
    for ring, at in starts:
        out.append(_const(ring, at, "where the %s ring's state starts" % ring.upper()))
    out.append(_const("nfields", i, "named fields; the RX ring's out-of-order ranges follow"))
    out += _names_tuple("FIELDS", tcp_field_names())
    out.append("# bits of w[_FLAGS] (lwIP keeps its pcb flags the same way)")
    for k, (name, comment) in enumerate(TCP_FLAGS):
        out.append("_F_%s = const(%d)  # %s" % (name.upper(), 1 << k, comment))
    out += _names_tuple("FLAG_NAMES", [f[0] for f in TCP_FLAGS])
    # the sequence numbers relative to each anchor (_reanchor moves them;
    # Connection.__getattr__ reads them absolute by name)
    for side in ("snd", "rcv"):
        names = [r[0] for r in _rows(TCP_FIELDS) if r[2] == side]
        out.append("_%s_SEQS = (%s)" % (side.upper(), ", ".join("_" + n.upper() for n in names)))
        out.append("_%s_NAMES = (%s)" % (side.upper(), ", ".join('"%s"' % n for n in names)))
    return out


def tcp_reset_block():
    """_reset_fields' body: each run of fields with a default is zeroed in one
    loop (smaller bytecode than a store per field; allocation is a cold
    path), then the defaults that are not a literal 0 are written."""
    rows = _rows(TCP_FIELDS)
    out = []
    i = 0
    while i < len(rows):
        if rows[i][1] is None:
            i += 1
            continue
        j = i
        while j + 1 < len(rows) and rows[j + 1][1] is not None:
            j += 1
        first, last = "_" + rows[i][0].upper(), "_" + rows[j][0].upper()
        out.append("for i in range(%s, %s + 1):  # %s .. %s" % (first, last, rows[i][0], rows[j][0]))
        out.append("    w[i] = 0")
        i = j + 1
    for r in rows:
        if r[1] is not None and r[1] != "0":
            out.append("w[_%s] = %s" % (r[0].upper(), r[1]))
    return out


def _grouped_tuple(var, groups):
    """var = (...) with one line per group of names (one line in all when it fits)."""
    if len(groups) == 1:
        line = "%s = (%s)" % (var, ", ".join('"%s"' % n for n in groups[0].split()))
        if len(line) <= WIDTH:
            return [line]
    return [var + " = ("] + ["    " + " ".join('"%s",' % n for n in g.split()) for g in groups] + [")"]


def counter_names(groups):
    """The names of a counter table in array order (what STAT_KEYS holds)."""
    return [n for g in groups for n in g.split()]


def counters_block(groups, tx_drops=None):
    out = _grouped_tuple("STAT_KEYS", groups)
    out.append("# positions in the layer's counter array (same order)")
    for i, n in enumerate(counter_names(groups)):
        out.append("_C_%s = const(%d)" % (n.upper(), i))
    if tx_drops is not None:
        out.append("# drops on the transmit side: not part of the rx_frames accounting")
        out += _grouped_tuple("TX_DROP_KEYS", (tx_drops,))
    return out


# block name -> (file, generator)
BLOCKS = {
    "tcp.fields": ("lib/tcpip/tcp.py", tcp_fields_block),
    "tcp.reset": ("lib/tcpip/tcp.py", tcp_reset_block),
    "tcp.counters": ("lib/tcpip/tcp.py", lambda: counters_block(TCP_COUNTERS)),
    "iface.counters": ("lib/tcpip/iface.py", lambda: counters_block(IFACE_COUNTERS, IFACE_TX_DROPS)),
    "udp.counters": ("lib/tcpip/udp.py", lambda: counters_block(UDP_COUNTERS)),
}


def render(text, name, lines):
    """text with block name's body replaced by lines (indented as its BEGIN
    marker); ValueError when the markers are missing or repeated."""
    begin = "# BEGIN LAYOUT %s" % name
    end = "# END LAYOUT %s" % name
    src = text.split("\n")
    at = [i for i, s in enumerate(src) if s.strip().startswith(begin)]
    to = [i for i, s in enumerate(src) if s.strip() == end]
    if len(at) != 1 or len(to) != 1 or to[0] < at[0]:
        raise ValueError("block %s: need one '%s' ... '%s'" % (name, begin, end))
    indent = src[at[0]][:len(src[at[0]]) - len(src[at[0]].lstrip())]
    body = [(indent + s) if s else s for s in lines]
    return "\n".join(src[:at[0] + 1] + body + src[to[0]:])


def generate(root=ROOT):
    """{path: (old text, new text)} for every file with a layout block."""
    out = {}
    for name, (path, make) in BLOCKS.items():
        full = os.path.join(root, path)
        if full not in out:
            with open(full) as f:
                t = f.read()
            out[full] = (t, t)
        old, new = out[full]
        out[full] = (old, render(new, name, make()))
    return out


def stale(root=ROOT):
    """The files whose layout blocks differ from the tables (empty: all current)."""
    return sorted(p for p, (old, new) in generate(root).items() if old != new)


def main(argv):
    check = "--check" in argv
    files = generate()
    bad = sorted(p for p, (old, new) in files.items() if old != new)
    for p in bad:
        rel = os.path.relpath(p, ROOT)
        if check:
            print("stale layout block in %s (run python tools/codegen/gen_layouts.py)" % rel)
        else:
            with open(p, "w") as f:
                f.write(files[p][1])
            print("rewrote %s" % rel)
    return 1 if check and bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
