"""The sources of Tcp._emit's viper segment builder ``EMIT`` and of
Tcp.ack_input's viper ACK taker ``ACK``, which tcpip.tcp loads on
MicroPython (``tcpip.wire.viper.load``; EMIT at import, ACK on the first
bulk send: Tcp.load_ack): a MicroPython board set holds them
compiled ahead, as machine code (tcpip/wire/native_emit_mc.mpy and
native_ack_mc.mpy, tools/deploy/board.mk), and leaves this file off; a unix
port compiles the texts.  Its own module, apart from tcpip/wire/native.py:
the copy and the checksum load that one at import, and a loaded .mpy holds
all its string constants, so these texts would ride along twice more.
"""

# Tcp._emit's work for a segment without SYN (tcpip.tcp loads it at import
# and falls back to its portable code where it does not compile or its layout
# check fails): the window to advertise and the ACK bookkeeping in the control
# block w (an array('I'), tcp.py's FIELDS at the indices below), the
# Ethernet and IPv4 headers at tx[0:34] from the interface's template (hdr),
# the TCP header at tx[34:54], n bytes of the TX ring at seq (relative, as in w) after
# it, and the checksum: the header's words and the pseudo-header (asum: the
# four address halves) are added as numbers, the payload summed while it is
# copied (a word at a time, as COPY moves and SUM16 adds them).  The same
# bytes and fields as the portable code in Tcp._emit (host_tests/mp/
# test_tcp_emit.py compares them), in one native call instead of about 250
# bytecodes and three calls.
EMIT = """
from micropython import const
_STATE = const(1)
_LPORT = const(6)
_RPORT = const(9)
_SA_HI = const(10)
_SA_LO = const(11)
_SND_UNA = const(12)
_RA_HI = const(21)
_RA_LO = const(22)
_RCV_NXT = const(23)
_RCV_ADV = const(24)
_ACK_SEGS = const(34)
_FLAGS = const(39)
_TX_BASE = const(44)
_TX_SIZE = const(45)
_TX_HEAD = const(46)
_RX_SIZE = const(50)
_RX_COUNT = const(52)
LAYOUT = ((_STATE, "state"), (_LPORT, "lport"), (_RPORT, "rport"), (_SA_HI, "sa_hi"),
          (_SA_LO, "sa_lo"), (_SND_UNA, "snd_una"), (_RA_HI, "ra_hi"), (_RA_LO, "ra_lo"),
          (_RCV_NXT, "rcv_nxt"), (_RCV_ADV, "rcv_adv"), (_ACK_SEGS, "ack_segs"),
          (_FLAGS, "flags"), (_TX_BASE, "tx_base"), (_TX_SIZE, "tx_size"),
          (_TX_HEAD, "tx_head"), (_RX_SIZE, "rx_size"), (_RX_COUNT, "rx_count"))

@micropython.viper
def emit(w, tx, ring, seq: int, flags: int, n: int, asum: int, mss: int, hdr):
    W = ptr32(w)
    t = ptr8(tx)
    # the Ethernet and IPv4 headers from the interface's template for its
    # memo's destination (tcpip.iface M_TCP_HDR: send_ip_h, proto 0, sends them
    # as they are when that is this segment's destination, else writes both
    # anew), with the total length and the header checksum: the template's
    # checksum field holds the other words' folded sum (RFC 1071)
    h = ptr8(hdr)
    i = 0
    while i < 34:
        t[i] = h[i]
        i += 1
    if n > int(len(tx)) - 54:
        n = int(len(tx)) - 54  # (never: a guard, not a length)
    k = 40 + n
    t[16] = k >> 8
    t[17] = k
    k += (h[24] << 8) | h[25]
    k = ~((k & 0xFFFF) + (k >> 16))
    t[24] = k >> 8
    t[25] = k
    # RFC 9293 3.8.6.2.2: the window (Tcp._emit's portable code)
    wnd = int(W[_RX_SIZE]) - int(W[_RX_COUNT])
    if wnd > 65535:
        wnd = 65535
    adv = int(W[_RCV_ADV]) - int(W[_RCV_NXT])
    if adv < 0:
        adv = 0
    if adv > wnd:
        adv = wnd
    k = int(W[_RX_SIZE]) >> 1
    if k > mss:
        k = mss
    if wnd - adv < k:
        wnd = adv
    ack_hi = 0
    ack_lo = 0
    if flags & 0x10:
        ack = int(W[_RCV_NXT])
        W[_RCV_ADV] = ack + wnd
        W[_FLAGS] = int(W[_FLAGS]) & ~280  # ~(ack_now 8 | delack_on 16 | ack_soon 256)
        W[_ACK_SEGS] = 0
        ack_lo = int(W[_RA_LO]) + (ack & 0xFFFF)
        ack_hi = (int(W[_RA_HI]) + (ack >> 16) + (ack_lo >> 16)) & 0xFFFF
        ack_lo &= 0xFFFF
    seq_lo = int(W[_SA_LO]) + (seq & 0xFFFF)
    seq_hi = (int(W[_SA_HI]) + (seq >> 16) + (seq_lo >> 16)) & 0xFFFF
    seq_lo &= 0xFFFF
    lport = int(W[_LPORT])
    rport = int(W[_RPORT])
    t[34] = lport >> 8
    t[35] = lport
    t[36] = rport >> 8
    t[37] = rport
    t[38] = seq_hi >> 8
    t[39] = seq_hi
    t[40] = seq_lo >> 8
    t[41] = seq_lo
    t[42] = ack_hi >> 8
    t[43] = ack_hi
    t[44] = ack_lo >> 8
    t[45] = ack_lo
    t[46] = 0x50
    t[47] = flags
    t[48] = wnd >> 8
    t[49] = wnd
    t[50] = 0
    t[51] = 0
    t[52] = 0
    t[53] = 0
    s = (asum + 6 + 20 + n + lport + rport + seq_hi + seq_lo + ack_hi + ack_lo + 0x5000 + flags
         + wnd)
    if n > 0:
        # the data: seq - snd_una bytes past the ring's head (less the SYN's
        # place before it is acknowledged), in one or two pieces
        k = seq - int(W[_SND_UNA])
        if int(W[_STATE]) <= 3:
            k -= 1
        size = int(W[_TX_SIZE])
        pos = int(W[_TX_HEAD]) + k
        if pos >= size:
            pos -= size
        # copied and summed in one pass: COPY's loop (tcpip.wire.bytes.copy),
        # each aligned word stored also added to u as SUM16 adds it (two
        # little-endian halves); a byte alone is added to s where it sits in
        # a big-endian word of the segment (high at an even offset from tx[54])
        start = int(t) + 54
        da = start
        u = uint(0)
        left = n
        while left > 0:
            m = size - pos
            if m > left:
                m = left
            sa = int(ptr8(ring)) + int(W[_TX_BASE]) + pos
            left -= m
            pos = 0
            if m >= 16:
                while da & 3:
                    v = ptr8(sa)[0]
                    ptr8(da)[0] = v
                    if (da - start) & 1:
                        s += v
                    else:
                        s += v << 8
                    da += 1
                    sa += 1
                    m -= 1
                q = m >> 2
                dw = ptr32(da)
                r = sa & 3
                i = 0
                q2 = q - 1
                if r == 0:
                    sw = ptr32(sa)
                    while i < q2:  # two words a turn (less loop overhead)
                        x = uint(sw[i])
                        dw[i] = x
                        u += (x & 0xFFFF) + (x >> 16)
                        x = uint(sw[i + 1])
                        dw[i + 1] = x
                        u += (x & 0xFFFF) + (x >> 16)
                        i += 2
                    while i < q:
                        x = uint(sw[i])
                        dw[i] = x
                        u += (x & 0xFFFF) + (x >> 16)
                        i += 1
                else:
                    sw = ptr32(sa - r)
                    lo = r << 3
                    hi = 32 - lo
                    prev = uint(sw[0])
                    # (a 64-bit port keeps cur's bits shifted past 32: masked)
                    while i < q2:
                        cur = uint(sw[i + 1])
                        x = (prev >> lo) | (cur << hi)
                        dw[i] = x
                        u += (x & 0xFFFF) + ((x >> 16) & 0xFFFF)
                        prev = uint(sw[i + 2])
                        x = (cur >> lo) | (prev << hi)
                        dw[i + 1] = x
                        u += (x & 0xFFFF) + ((x >> 16) & 0xFFFF)
                        i += 2
                    while i < q:
                        cur = uint(sw[i + 1])
                        x = (prev >> lo) | (cur << hi)
                        dw[i] = x
                        u += (x & 0xFFFF) + ((x >> 16) & 0xFFFF)
                        prev = cur
                        i += 1
                q <<= 2
                da += q
                sa += q
                m -= q
            d = ptr8(da)
            b = ptr8(sa)
            i = 0
            while i < m:
                v = b[i]
                d[i] = v
                if (da + i - start) & 1:
                    s += v
                else:
                    s += v << 8
                i += 1
            da += m
        while u >> 16:
            u = (u & 0xFFFF) + (u >> 16)
        # the aligned words' halves are byte-swapped big-endian words when
        # they sit at even offsets from tx[54] (RFC 1071 2.(B): swap the sum
        # back), and big-endian words' halves in place when at odd ones
        if start & 1:
            s += int(u)
        else:
            s += int(((u & 0xFF) << 8) | (u >> 8))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = ~s
    t[50] = s >> 8
    t[51] = s
"""

# Tcp.ack_input's work (tcpip.tcp loads it where there is viper, on the
# first bulk send, its field indices checked against tcp.FIELDS): a
# received frame (rx, n bytes) taken whole when it is a pure ACK for the
# connection of block w, the one the last segment was for -- header
# prediction's cases (a), an ACK of new data outside fast recovery, and
# (c), a window update -- with every
# check the general way makes before it would reach them (Interface.input:
# IPv4 to our MAC; IPv4.parse and Interface._ip_input: version, length,
# header checksum, no fragment, TTL, to our address from no bogus one;
# Tcp.input: the TCP checksum, the block by its four numbers, ESTABLISHED,
# seq = rcv_nxt), and anything else left to it (0: nothing read or
# changed).  Taken, it does what Tcp.input's case (a) or (c) does to w
# except what needs the clock or a call, and returns 1 with bits for
# those: 2 an RTT sample is due, 4 the retransmission timer restarts
# (w's TMR is RTX already), 8 _output has something to send.  The same
# block as the portable code leaves (host_tests/mp/test_tcp_hdrpred.py runs
# a stack with it against one without the fast path).  In a bulk transfer
# out of the board every frame that comes in is one of these.
ACK = """
from micropython import const
_IN_USE = const(0)
_STATE = const(1)
_LPORT = const(6)
_RIP_HI = const(7)
_RIP_LO = const(8)
_RPORT = const(9)
_SA_HI = const(10)
_SA_LO = const(11)
_SND_UNA = const(12)
_SND_NXT = const(13)
_SND_MAX = const(14)
_SND_WND = const(15)
_SND_WL1 = const(16)
_SND_WL2 = const(17)
_MAX_SNDWND = const(18)
_SND_MSS = const(19)
_RA_HI = const(21)
_RA_LO = const(22)
_RCV_NXT = const(23)
_RTT_SEQ = const(28)
_RETRIES = const(30)
_TMR = const(31)
_CWND = const(35)
_SSTHRESH = const(36)
_DUPACKS = const(37)
_FLAGS = const(39)
_KA_PROBES = const(41)
_PROBES = const(42)
_TX_SIZE = const(45)
_TX_HEAD = const(46)
_TX_COUNT = const(47)
_TX_NRANGES = const(48)
LAYOUT = ((_IN_USE, "in_use"), (_STATE, "state"), (_LPORT, "lport"), (_RIP_HI, "rip_hi"),
          (_RIP_LO, "rip_lo"), (_RPORT, "rport"), (_SA_HI, "sa_hi"), (_SA_LO, "sa_lo"),
          (_SND_UNA, "snd_una"), (_SND_NXT, "snd_nxt"), (_SND_MAX, "snd_max"),
          (_SND_WND, "snd_wnd"), (_SND_WL1, "snd_wl1"), (_SND_WL2, "snd_wl2"),
          (_MAX_SNDWND, "max_sndwnd"), (_SND_MSS, "snd_mss"), (_RA_HI, "ra_hi"),
          (_RA_LO, "ra_lo"), (_RCV_NXT, "rcv_nxt"), (_RTT_SEQ, "rtt_seq"),
          (_RETRIES, "retries"), (_TMR, "tmr"), (_CWND, "cwnd"), (_SSTHRESH, "ssthresh"),
          (_DUPACKS, "dupacks"), (_FLAGS, "flags"), (_KA_PROBES, "ka_probes"),
          (_PROBES, "probes"), (_TX_SIZE, "tx_size"), (_TX_HEAD, "tx_head"),
          (_TX_COUNT, "tx_count"), (_TX_NRANGES, "tx_nranges"))

@micropython.viper
def ack(rx, n: int, w, ours) -> int:
    b = ptr8(rx)
    W = ptr32(w)
    # Ethernet: IPv4 to our MAC; a pure ACK's frame (54 bytes, 60 padded)
    if n < 54 or n > 64 or b[12] != 8 or b[13] != 0:
        return 0
    m = ptr8(ours)  # our MAC, address, broadcast address (tcpip.iface M_OURS)
    ip_hi = (m[6] << 8) | m[7]
    ip_lo = (m[8] << 8) | m[9]
    bc_hi = (m[10] << 8) | m[11]
    bc_lo = (m[12] << 8) | m[13]
    i = 0
    while i < 6:
        if b[i] != m[i]:
            return 0
        i += 1
    # IPv4 (RFC 791, RFC 1122 3.2.1): no options, 40 bytes (a TCP header
    # alone), within the frame, not a fragment, TTL left, TCP
    if b[14] != 0x45 or b[16] != 0 or b[17] != 40:
        return 0
    if b[20] & 0x3F or b[21] or b[22] == 0 or b[23] != 6:
        return 0
    s = 0
    i = 14
    while i < 34:
        s += (b[i] << 8) | b[i + 1]
        i += 2
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    if s != 0xFFFF:
        return 0  # (IPv4.parse counts it)
    src_hi = (b[26] << 8) | b[27]
    src_lo = (b[28] << 8) | b[29]
    if ((b[30] << 8) | b[31]) != ip_hi or ((b[32] << 8) | b[33]) != ip_lo or (ip_hi | ip_lo) == 0:
        return 0
    if (src_hi >> 12) >= 14 or (src_hi >> 8) == 127 or (src_hi == 0xFFFF and src_lo == 0xFFFF) \
            or (src_hi == bc_hi and src_lo == bc_lo and (bc_hi | bc_lo) != 0):
        return 0
    # TCP: the block of the last segment, by its four numbers, ESTABLISHED
    if src_hi != int(W[_RIP_HI]) or src_lo != int(W[_RIP_LO]) or int(W[_IN_USE]) == 0 \
            or int(W[_STATE]) != 4:
        return 0
    if ((b[34] << 8) | b[35]) != int(W[_RPORT]) or ((b[36] << 8) | b[37]) != int(W[_LPORT]):
        return 0
    # no options, ACK (and PSH) alone
    if b[46] != 0x50 or (b[47] & 0xF7) != 0x10:
        return 0
    # the checksum with the pseudo-header (RFC 9293 3.1)
    s = src_hi + src_lo + ip_hi + ip_lo + 6 + 20
    i = 34
    while i < 54:
        s += (b[i] << 8) | b[i + 1]
        i += 2
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    if s != 0xFFFF:
        return 0  # (Tcp.input counts it)
    # seq = rcv_nxt, relative to the receive anchor (Tcp's _rel)
    lo = ((b[40] << 8) | b[41]) - int(W[_RA_LO])
    hi = ((b[38] << 8) | b[39]) - int(W[_RA_HI])
    if lo < 0:
        lo += 0x10000
        hi -= 1
    hi &= 0xFFFF
    if hi >= 0x4000 or ((hi << 16) | lo) != int(W[_RCV_NXT]):
        return 0
    lo = ((b[44] << 8) | b[45]) - int(W[_SA_LO])
    hi = ((b[42] << 8) | b[43]) - int(W[_SA_HI])
    if lo < 0:
        lo += 0x10000
        hi -= 1
    hi &= 0xFFFF
    if hi >= 0x4000:
        return 0
    a = (hi << 16) | lo  # the ACK, relative
    acked = a - int(W[_SND_UNA])
    wnd = (b[48] << 8) | b[49]
    f = int(W[_FLAGS])
    r = 1
    if acked > 0:
        # (a): an ACK of new data, not beyond snd_max, outside fast recovery
        if a > int(W[_SND_MAX]) or f & 32:
            return 0
        # ring.discard: the acked bytes leave the TX ring
        k = int(W[_TX_COUNT])
        if acked < k:
            k = acked
        h = int(W[_TX_HEAD]) + k
        if h >= int(W[_TX_SIZE]):
            h -= int(W[_TX_SIZE])
        k = int(W[_TX_COUNT]) - k
        W[_TX_COUNT] = k
        if k == 0 and int(W[_TX_NRANGES]) == 0:
            h = 0
        W[_TX_HEAD] = h
        W[_SND_UNA] = a
        if int(W[_SND_NXT]) < a:
            W[_SND_NXT] = a
        if f & 4 and a >= int(W[_RTT_SEQ]):
            r |= 2  # (_F_RTT_ON) Tcp._rtt_sample
        W[_RETRIES] = 0
        # RFC 5681 3.1 slow start or congestion avoidance
        mss = int(W[_SND_MSS])
        cw = int(W[_CWND])
        if cw < int(W[_SSTHRESH]):
            cw += acked if acked < mss else mss
        else:
            k = mss * mss // cw if cw > 0 else 0
            cw += k if k > 0 else 1
        W[_CWND] = cw if cw <= 0x40000 else 0x40000
        W[_DUPACKS] = 0
        t = int(W[_TMR])
        if int(W[_SND_MAX]) == a:
            if t == 1:
                W[_TMR] = 0  # (_T_RTX -> _T_OFF)
        elif t == 1 or t == 0 or t == 2:
            W[_TMR] = 1  # RFC 6298 5.3: restart it (the deadline: Tcp.ack_input)
            r |= 4
    elif acked < 0 or wnd == int(W[_SND_WND]):
        return 0  # (c) is a window update: the same window would be a duplicate ACK
    # RFC 9293 3.10.7.4: the send window from the newest segment (seq is rcv_nxt)
    h = int(W[_RCV_NXT]) - int(W[_SND_WL1])
    if h > 0 or (h == 0 and a >= int(W[_SND_WL2])) or not (int(W[_FLAGS]) & 512):
        if int(W[_SND_WND]) == 0 and wnd > 0 and int(W[_TMR]) == 2:
            W[_TMR] = 0  # the window opened: the persist timer stops
            W[_SND_NXT] = W[_SND_UNA]  # a refused probe byte goes again
        W[_SND_WND] = wnd
        W[_SND_WL1] = W[_RCV_NXT]
        W[_SND_WL2] = a
        W[_FLAGS] = int(W[_FLAGS]) | 512
        if wnd > int(W[_MAX_SNDWND]):
            W[_MAX_SNDWND] = wnd
    W[_KA_PROBES] = 0
    W[_PROBES] = 0
    if int(W[_FLAGS]) & 8 or int(W[_SND_UNA]) + int(W[_TX_COUNT]) > int(W[_SND_NXT]):
        r |= 8  # (_F_ACK_NOW, or data beyond snd_nxt) Tcp._output
    return r
"""
