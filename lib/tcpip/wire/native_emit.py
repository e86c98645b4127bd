"""The source of Tcp._emit's viper segment builder ``EMIT``, which tcpip.tcp
loads at import on MicroPython (``tcpip.wire.viper.load``): a MicroPython
board set holds it compiled ahead, as machine code
(tcpip/wire/native_emit_mc.mpy, tools/deploy/board.mk), and leaves this file
off; a unix port compiles the text.  Its own module, apart from
tcpip/wire/native.py: the copy and the checksum load that one at import,
and a loaded .mpy holds all its string constants, so EMIT's text would ride
along twice more.
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
