"""Every size and timer of the stack in one object, with defaults chosen for an
RP2040 board (264 KB RAM, a MicroPython heap of about 160 KB).

Build one, change what you need, hand it to ``Stack``::

    cfg = Config(mac=b"\\x02\\x00\\x00\\x00\\x00\\x02", ip="192.0.2.2", prefix=24,
                 gateway="192.0.2.1")
    cfg.tcp_sockets = 2

Listen queues (``tcp_backlog``, ``tcp_syn_backlog``), with the numbers they
were chosen from:

- Linux keeps a SYN queue (``tcp_max_syn_backlog``: 128 to 1024 by memory)
  and an accept queue (``listen(n)``, capped by ``somaxconn``: 4096 since
  5.4, 128 before); with ``tcp_syncookies=1`` a full SYN queue answers with
  cookies, and a full accept queue drops the SYN or the final ACK
  (``tcp_abort_on_overflow=0``) so the client retries after 1 s, 3 s, ...
  Those queues are in the hundreds, so a sequential client never meets them.
- lwIP has no SYN cookies and no separate queues by default
  (``TCP_LISTEN_BACKLOG`` 0): every SYN takes a PCB while one of
  ``MEMP_NUM_TCP_PCB`` (5) is left (reclaiming TIME-WAIT and closing PCBs
  first), then SYNs are dropped silently.
- Here a connection of any kind needs one of ``tcp_sockets`` blocks (4 by
  default, about 5 KB of rings each); that is all a board can promise: 4
  connections at once.  An accept queue shorter than the pool only turns
  clients away while blocks are free: two clients that connect and close
  within one poll filled the old default of 2 before the application could
  accept, and the third SYN was dropped (a 1 s stall in 7 to 59 of 200
  sequential connects).  So ``tcp_backlog`` defaults to the pool size (0
  means that), and ``listen(n)`` still takes a smaller n.  Half-open blocks
  are limited separately (``tcp_syn_backlog`` 2, like the old backlog), so
  spoofed SYNs hold at most 2 blocks per listener and get cookies beyond that (the
  cookie's ACK takes a block later).  Beyond the pool a client is refused
  with a RST within a round trip rather than left to retry or to silence
  (``tcpip.tcp``, SYN cookies): 100 clients at once on the echo service
  get 4 served and 96 ECONNRESET, all within 0.1 s.
"""


class Config:
    # Defaults are class attributes: an instance holds only the addresses and
    # what was changed, so a Config costs a few map slots instead of one per
    # setting (each instance attribute is a slot in the object's map).
    # Interface (mac, ip, prefix, gateway and dns: see __init__)
    mtu = 1500  # IPv4 MTU; Ethernet frames are at most mtu + 14 bytes
    hostname = "tcpip"
    # Poll loop
    rx_frames_per_poll = 8  # frames drained from the NIC by one poll()
    # ARP (RFC 826, RFC 1122 2.3.2.1)
    arp_entries = 8
    arp_timeout_ms = 300000  # an entry is refreshed before this
    arp_refresh_ms = 240000  # unicast re-request when used after this
    arp_retry_ms = 1000
    arp_retries = 3  # requests before the pending frames are dropped
    arp_queue = 1  # frames waiting for resolution (whole stack); TCP needs none: it sends
    arp_queue_slot_bytes = 590  # its segments again once ARP resolves; larger frames are dropped
    # IPv4
    ttl = 64
    # ICMP
    icmp_rate_per_s = 10  # error messages (port unreachable...) per second
    # TCP
    tcp_sockets = 4
    # Two full segments too: a peer that ACKs every second segment (RFC 1122
    # 4.2.3.2, Linux) can then keep two in flight, where 2048 allowed one and
    # a 588-byte rest.  Emulated W5500-EVB-Pico, into the board (quick board
    # bench, kB/s / heap free after start, measured before the -O3 board
    # set): 2048: 192 / 96.6 KB; 2920: 247 / 93.1 KB; 4380: 293 / 87.3 KB
    # (each step costs tcp_sockets x the growth)
    tcp_rx_bytes = 2920
    # Two full segments (2 x 1460, Ethernet's MSS): a TX ring that is not a
    # multiple of the MSS sends a short segment after every full one (with
    # 2048, 1460 + 588), and on a board each segment costs about the same
    # CPU time whatever its size (emulated W5500-EVB-Pico, out of the board:
    # 112 kB/s with 2048, 138 with 2920, 153 with 4096)
    tcp_tx_bytes = 2920
    tcp_ooo_ranges = 4  # out-of-order byte ranges held in an RX ring
    tcp_rto_min_ms = 200
    tcp_rto_initial_ms = 1000
    tcp_rto_max_ms = 60000
    tcp_retries = 8  # retransmissions before ETIMEDOUT
    tcp_syn_retries = 5
    tcp_delack_ms = 200
    tcp_msl_ms = 2000  # TIME-WAIT lasts 2 * MSL
    tcp_keepalive_idle_ms = 7200000
    tcp_keepalive_interval_ms = 75000
    tcp_keepalive_count = 9
    tcp_backlog = 0  # established connections waiting for accept() per listener; 0: tcp_sockets
    tcp_syn_backlog = 2  # half-open blocks per listener; further SYNs get SYN cookies
    tcp_listeners = 4  # listen slots (no rings: a listener is only a port)
    tcp_fin_wait2_ms = 10000  # a closed connection gives up waiting for the peer's FIN
    tcp_challenge_acks_per_s = 10  # RFC 5961 7 rate limit
    # UDP
    udp_sockets = 2
    udp_rx_bytes = 1024
    # DNS (RFC 1035)
    dns_cache_entries = 4
    dns_timeout_ms = 2000  # per query attempt
    dns_retries = 2  # rounds over all servers
    # DHCP (RFC 2131)
    dhcp_retry_ms = 2000  # first retransmission; doubles up to 64 s

    def __init__(self, mac=b"\x02\x00\x00\x00\x00\x02", ip="0.0.0.0", prefix=24,
                 gateway="0.0.0.0", dns=None, **kw):
        # Interface
        self.mac = bytes(mac)  # 6 bytes
        self.ip = ip  # dotted quad; "0.0.0.0" until DHCP or static config
        self.prefix = prefix  # netmask length
        self.gateway = gateway
        self.dns = list(dns) if dns else []  # dotted quads (a list of its own: DHCP fills it)
        for k in kw:
            if not hasattr(self, k):
                raise ValueError("Config has no setting %r" % k)
            setattr(self, k, kw[k])
