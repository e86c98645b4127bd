"""TCP header and options (RFC 9293 3.1, RFC 7323, RFC 2018)."""
import struct

from tcpip.compat import const, GETATTR_NOT_PROPERTY
from tcpip.wire.bytes import get16, get32, put16, put32
from tcpip.wire.checksum import sum16, fold, addr_sum

HLEN = const(20)
PROTO = const(6)
# The fixed header as struct fields: sport, dport, seq hi/lo, ack hi/lo, data
# offset, flags, window, checksum, urgent (emit_h; tcp.py packs it directly
# on the per-segment path, one MicroPython call frame less)
HDR_FMT = "!HHHHHHBBHHH"

FIN = const(0x01)
SYN = const(0x02)
RST = const(0x04)
PSH = const(0x08)
ACK = const(0x10)
URG = const(0x20)
ECE = const(0x40)
CWR = const(0x80)

OPT_EOL = const(0)
OPT_NOP = const(1)
OPT_MSS = const(2)
OPT_WSCALE = const(3)
OPT_SACK_PERM = const(4)
OPT_SACK = const(5)
OPT_TIMESTAMP = const(8)

MAX_SACK_BLOCKS = const(4)


class Tcp:
    """Parsed TCP segment.

    Header: sport, dport, seq_hi/seq_lo and ack_hi/ack_lo (16-bit halves;
    ``seq`` and ``ack`` give the 32-bit values), flags, window, urgent, hlen,
    payload_off, payload_end.  Options (-1 / False when absent): mss, wscale,
    sack_perm, ts_val/ts_ecr (has_ts), sack_n blocks in sack_left/sack_right.

    Halves because a 32-bit MicroPython port keeps ints of 2**30 and more on
    the heap: three quarters of all sequence numbers.
    """

    def __init__(self):
        self.sport = 0
        self.dport = 0
        self.seq_hi = 0
        self.seq_lo = 0
        self.ack_hi = 0
        self.ack_lo = 0
        self.flags = 0
        self.window = 0
        self.urgent = 0
        self.hlen = HLEN
        self.payload_off = 0
        self.payload_end = 0
        self.mss = -1
        self.wscale = -1
        self.sack_perm = False
        self.has_ts = False
        self.ts_val = 0
        self.ts_ecr = 0
        self.sack_n = 0
        self.opts = False  # options parsed since the fields above were last reset
        self.sack_left = [0] * MAX_SACK_BLOCKS
        self.sack_right = [0] * MAX_SACK_BLOCKS

    def _seq(self):
        return (self.seq_hi << 16) | self.seq_lo

    def _ack(self):
        return (self.ack_hi << 16) | self.ack_lo

    if GETATTR_NOT_PROPERTY:  # (see tcpip.compat)
        def __getattr__(self, name):
            if name == "seq":
                return self._seq()
            if name == "ack":
                return self._ack()
            raise AttributeError(name)
    else:
        seq = property(_seq)
        ack = property(_ack)

    def parse(self, buf, off, end, src, dst):
        return self.parse_sum(buf, off, end, addr_sum(src, dst))

    def parse_sum(self, buf, off, end, asum):
        """``parse`` with the addresses' pseudo-header sum (``IPv4.asum``)."""
        # (few locals and no nested calls: a MicroPython frame over 11
        # words is a heap allocation, and this runs for every segment)
        n = end - off
        if n < HLEN:
            return "tcp_short"
        hlen = (buf[off + 12] >> 4) * 4
        if hlen < HLEN or hlen > n:
            return "tcp_hlen"
        n += asum + PROTO  # the pseudo-header: addresses, protocol, length
        n = sum16(buf, off, end) + n
        if n % 0xFFFF or not n:  # (fold(n) != 0xFFFF, without the call)
            return "tcp_checksum"
        # Fields read in place, without get16/get32 calls or a tuple from
        # unpack_from (this runs once per segment).
        self.sport = (buf[off] << 8) | buf[off + 1]
        self.dport = (buf[off + 2] << 8) | buf[off + 3]
        self.seq_hi = (buf[off + 4] << 8) | buf[off + 5]
        self.seq_lo = (buf[off + 6] << 8) | buf[off + 7]
        self.ack_hi = (buf[off + 8] << 8) | buf[off + 9]
        self.ack_lo = (buf[off + 10] << 8) | buf[off + 11]
        self.flags = buf[off + 13]
        self.window = (buf[off + 14] << 8) | buf[off + 15]
        self.urgent = (buf[off + 18] << 8) | buf[off + 19]
        self.hlen = hlen
        self.payload_off = off + hlen
        self.payload_end = end
        if hlen > HLEN:
            return self._options(buf, off)  # (two arguments: a smaller frame here)
        if self.opts:  # (the option fields are reset only after a segment that had some)
            self._no_options()
        return None

    def _no_options(self):
        self.opts = False
        self.mss = -1
        self.wscale = -1
        self.sack_perm = False
        self.has_ts = False
        self.sack_n = 0

    def _options(self, buf, off):
        # RFC 9293 3.2: kind, length, data; a length that runs past the
        # header or is too short for its kind makes the segment malformed.
        self._no_options()
        self.opts = True
        i = off + HLEN
        end = off + self.hlen
        while i < end:
            kind = buf[i]
            if kind == OPT_EOL:
                return None
            if kind == OPT_NOP:
                i += 1
                continue
            if i + 1 >= end:
                return "tcp_options"
            n = buf[i + 1]
            if n < 2 or i + n > end:
                return "tcp_options"
            if kind == OPT_MSS:
                if n != 4:
                    return "tcp_options"
                self.mss = get16(buf, i + 2)
            elif kind == OPT_WSCALE:
                if n != 3:
                    return "tcp_options"
                self.wscale = buf[i + 2]
            elif kind == OPT_SACK_PERM:
                if n != 2:
                    return "tcp_options"
                self.sack_perm = True
            elif kind == OPT_TIMESTAMP:
                if n != 10:
                    return "tcp_options"
                self.has_ts = True
                self.ts_val = get32(buf, i + 2)
                self.ts_ecr = get32(buf, i + 6)
            elif kind == OPT_SACK:
                if (n - 2) % 8 or n == 2:
                    return "tcp_options"
                k = 0
                j = i + 2
                while j < i + n and k < MAX_SACK_BLOCKS:
                    self.sack_left[k] = get32(buf, j)
                    self.sack_right[k] = get32(buf, j + 4)
                    k += 1
                    j += 8
                self.sack_n = k
            # unknown kinds are skipped by their length (RFC 9293 3.2)
            i += n
        return None


def emit(buf, off, sport, dport, seq, ack, flags, window, hlen=HLEN):
    """Write the fixed 20-byte header (checksum 0); options follow via the
    option writers; call ``finish`` once the payload is in place."""
    emit_h(buf, off, sport, dport, (seq >> 16) & 0xFFFF, seq & 0xFFFF, (ack >> 16) & 0xFFFF,
           ack & 0xFFFF, flags, window, hlen)
    return HLEN


def emit_h(buf, off, sport, dport, seq_hi, seq_lo, ack_hi, ack_lo, flags, window, hlen):
    """``emit`` with seq and ack as 16-bit halves (the per-segment path)."""
    # One C call for the whole header (struct takes its arguments from the
    # stack: nothing is allocated on MicroPython either).
    struct.pack_into(HDR_FMT, buf, off, sport, dport, seq_hi, seq_lo, ack_hi, ack_lo,
                     (hlen >> 2) << 4, flags, window, 0, 0)


def opt_mss(buf, i, mss):
    buf[i] = OPT_MSS
    buf[i + 1] = 4
    put16(buf, i + 2, mss)
    return 4


def opt_wscale(buf, i, shift):
    buf[i] = OPT_NOP
    buf[i + 1] = OPT_WSCALE
    buf[i + 2] = 3
    buf[i + 3] = shift
    return 4


def opt_sack_perm(buf, i):
    buf[i] = OPT_NOP
    buf[i + 1] = OPT_NOP
    buf[i + 2] = OPT_SACK_PERM
    buf[i + 3] = 2
    return 4


def opt_timestamp(buf, i, ts_val, ts_ecr):
    buf[i] = OPT_NOP
    buf[i + 1] = OPT_NOP
    buf[i + 2] = OPT_TIMESTAMP
    buf[i + 3] = 10
    put32(buf, i + 4, ts_val)
    put32(buf, i + 8, ts_ecr)
    return 12


def finish(buf, off, seg_len, src, dst):
    """Checksum over header, options and payload (seg_len bytes from off)."""
    finish_sum(buf, off, seg_len, addr_sum(src, dst))


def finish_sum(buf, off, seg_len, asum):
    """``finish`` with the addresses' pseudo-header sum."""
    buf[off + 16] = 0
    buf[off + 17] = 0
    c = ~fold(sum16(buf, off, off + seg_len) + asum + PROTO + seg_len) & 0xFFFF
    buf[off + 16] = c >> 8
    buf[off + 17] = c & 0xFF


def flags_str(flags):
    """'SYN,ACK' style text (trace and tests)."""
    names = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR")
    return ",".join(names[i] for i in range(8) if flags & (1 << i))
