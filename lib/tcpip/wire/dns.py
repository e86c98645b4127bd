"""DNS messages (RFC 1035 4): build an A query, parse and validate the answer."""
from tcpip.compat import const
from tcpip.wire.bytes import get16, get32, put16

PORT = const(53)
HLEN = const(12)
TYPE_A = const(1)
TYPE_CNAME = const(5)
CLASS_IN = const(1)
RCODE_NXDOMAIN = const(3)
MAX_NAME = const(253)


def build_query(buf, qid, name):
    """A-record query for name (str) with recursion desired; returns length.
    ValueError for names that cannot be encoded (label > 63, name > 253)."""
    if isinstance(name, str):
        name = name.encode()
    if name.endswith(b"."):
        name = name[:-1]
    if not name or len(name) > MAX_NAME:
        raise ValueError("bad DNS name")
    put16(buf, 0, qid)
    # flags 0x0100 (RD), QDCOUNT 1, ANCOUNT, NSCOUNT, ARCOUNT 0 (RFC 1035 4.1.1)
    buf[2:HLEN] = b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    i = HLEN
    for label in name.split(b"."):
        n = len(label)
        if n == 0 or n > 63:
            raise ValueError("bad DNS label in %r" % name)
        buf[i] = n
        buf[i + 1:i + 1 + n] = label
        i += 1 + n
    buf[i] = 0
    put16(buf, i + 1, TYPE_A)
    put16(buf, i + 3, CLASS_IN)
    return i + 5


def skip_name(buf, i, end):
    """Offset after the (possibly compressed) name at i, or -1 if malformed."""
    hops = 0
    while i < end:
        n = buf[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2 if i + 2 <= end else -1
        if n & 0xC0:
            return -1
        i += 1 + n
        hops += 1
        if hops > 127:
            return -1
    return -1


def name_eq(buf, a, b, msg, end):
    """True when the names at buf[a] and buf[b] are equal (case-insensitive);
    both may use compression pointers relative to the message at msg."""
    jumps = 0
    while True:
        while a < end and buf[a] & 0xC0 == 0xC0:
            if a + 1 >= end or jumps > 32:
                return False
            a = msg + (((buf[a] & 0x3F) << 8) | buf[a + 1])
            jumps += 1
        while b < end and buf[b] & 0xC0 == 0xC0:
            if b + 1 >= end or jumps > 32:
                return False
            b = msg + (((buf[b] & 0x3F) << 8) | buf[b + 1])
            jumps += 1
        if a >= end or b >= end:
            return False
        n = buf[a]
        if n != buf[b] or n & 0xC0:
            return False
        if n == 0:
            return True
        if a + 1 + n > end or b + 1 + n > end:
            return False
        for k in range(1, n + 1):
            x = buf[a + k]
            y = buf[b + k]
            if x != y and (x | 0x20) != (y | 0x20):
                return False
        a += 1 + n
        b += 1 + n


class DnsAnswer:
    """Result of parsing a response: rcode, address (first A record of the
    queried name or of its CNAME chain), ttl_s."""

    def __init__(self):
        self.rcode = 0
        self.address = 0
        self.ttl_s = 0

    def parse(self, buf, off, end, qid, query, qlen):
        """Validate against the query we sent (query: bytes of it) and find the
        address; returns None, or why the answer is ignored as the name of
        the resolver's counter (``dns_ignored_<reason>``)."""
        self.address = 0
        self.ttl_s = 0
        if end - off < HLEN:
            return "dns_ignored_short"
        if get16(buf, off) != qid:
            return "dns_ignored_id"
        flags = get16(buf, off + 2)
        if not flags & 0x8000:
            return "dns_ignored_malformed"
        self.rcode = flags & 0x0F
        qd = get16(buf, off + 4)
        an = get16(buf, off + 6)
        # RFC 5452 9.1: the question must echo ours exactly (case-insensitive)
        if qd != 1 or off + qlen > end:
            return "dns_ignored_question"
        for k in range(HLEN, qlen):
            a = buf[off + k]
            b = query[k]
            if a != b and (a | 0x20) != (b | 0x20):
                return "dns_ignored_question"
        if self.rcode:
            return None
        i = off + qlen
        target = off + HLEN  # name we look for; follows CNAMEs
        for _ in range(an):
            nm = i
            i = skip_name(buf, i, end)
            if i < 0 or i + 10 > end:
                return "dns_ignored_malformed"
            rtype = get16(buf, i)
            rclass = get16(buf, i + 2)
            ttl = get32(buf, i + 4)
            rdlen = get16(buf, i + 8)
            rd = i + 10
            if rd + rdlen > end:
                return "dns_ignored_malformed"
            if rclass == CLASS_IN and name_eq(buf, nm, target, off, end):
                if rtype == TYPE_A and rdlen == 4:
                    self.address = get32(buf, rd)
                    self.ttl_s = ttl
                    return None
                if rtype == TYPE_CNAME:
                    target = rd  # RFC 1034 3.6.2: follow the chain
            i = rd + rdlen
        return None
