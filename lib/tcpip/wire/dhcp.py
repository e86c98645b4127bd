"""DHCP message format (RFC 2131 2, options RFC 2132) for a client."""
from tcpip.compat import const
from tcpip.wire.bytes import get32, put16, put32

SERVER_PORT = const(67)
CLIENT_PORT = const(68)
BOOTREQUEST = const(1)
BOOTREPLY = const(2)
FIXED_LEN = const(236)
COOKIE = const(0x63825363)
OPTIONS_OFF = const(240)
MIN_LEN = const(300)  # BOOTP minimum, some servers ignore shorter requests

DISCOVER = const(1)
OFFER = const(2)
REQUEST = const(3)
DECLINE = const(4)
ACK = const(5)
NAK = const(6)
RELEASE = const(7)

OPT_PAD = const(0)
OPT_SUBNET = const(1)
OPT_ROUTER = const(3)
OPT_DNS = const(6)
OPT_HOSTNAME = const(12)
OPT_REQUESTED_IP = const(50)
OPT_LEASE = const(51)
OPT_MSG_TYPE = const(53)
OPT_SERVER_ID = const(54)
OPT_PARAMS = const(55)
OPT_T1 = const(58)
OPT_T2 = const(59)
OPT_CLIENT_ID = const(61)
OPT_END = const(255)

MAX_DNS = const(3)


class DhcpReply:
    """Parsed server message: msg_type, xid, yiaddr, server_id, subnet, router,
    dns (list of up to 3 ints), lease_s, t1_s, t2_s (-1 when absent)."""

    def __init__(self):
        self.dns = [0] * MAX_DNS
        self.clear()

    def clear(self):
        self.msg_type = 0
        self.xid = 0
        self.yiaddr = 0
        self.server_id = 0
        self.subnet = 0
        self.router = 0
        self.ndns = 0
        self.lease_s = -1
        self.t1_s = -1
        self.t2_s = -1

    def parse(self, buf, off, end, mac):
        """Parse a server message for mac; returns None, or why it is ignored
        as the name of the client's counter (``dhcp_ignored_<reason>``)."""
        self.clear()
        if end - off < OPTIONS_OFF + 3:
            return "dhcp_ignored_short"
        if buf[off] != BOOTREPLY or buf[off + 1] != 1 or buf[off + 2] != 6:
            return "dhcp_ignored_malformed"
        for k in range(6):
            if buf[off + 28 + k] != mac[k]:
                return "dhcp_ignored_not_for_us"
        if get32(buf, off + 236) != COOKIE:
            return "dhcp_ignored_malformed"
        self.xid = get32(buf, off + 4)
        self.yiaddr = get32(buf, off + 16)
        i = off + OPTIONS_OFF
        while i < end:
            code = buf[i]
            if code == OPT_PAD:
                i += 1
                continue
            if code == OPT_END:
                break
            if i + 1 >= end:
                return "dhcp_ignored_malformed"
            n = buf[i + 1]
            v = i + 2
            if v + n > end:
                return "dhcp_ignored_malformed"
            if code == OPT_MSG_TYPE and n == 1:
                self.msg_type = buf[v]
            elif code == OPT_SUBNET and n == 4:
                self.subnet = get32(buf, v)
            elif code == OPT_ROUTER and n >= 4:
                self.router = get32(buf, v)
            elif code == OPT_DNS and n >= 4:
                k = 0
                while k < MAX_DNS and 4 * k + 4 <= n:
                    self.dns[k] = get32(buf, v + 4 * k)
                    k += 1
                self.ndns = k
            elif code == OPT_SERVER_ID and n == 4:
                self.server_id = get32(buf, v)
            elif code == OPT_LEASE and n == 4:
                self.lease_s = get32(buf, v)
            elif code == OPT_T1 and n == 4:
                self.t1_s = get32(buf, v)
            elif code == OPT_T2 and n == 4:
                self.t2_s = get32(buf, v)
            i = v + n
        if self.msg_type == 0:
            return "dhcp_ignored_malformed"
        return None


def build_request(buf, msg_type, xid, mac, secs=0, ciaddr=0, requested_ip=0, server_id=0,
                  hostname=None):
    """Write a client message into buf (>= 548 bytes); returns its length."""
    for i in range(OPTIONS_OFF + 64):
        buf[i] = 0
    buf[0] = BOOTREQUEST
    buf[1] = 1  # Ethernet
    buf[2] = 6
    put32(buf, 4, xid)
    put16(buf, 8, secs)
    put32(buf, 12, ciaddr)
    buf[28:34] = mac
    put32(buf, 236, COOKIE)
    i = OPTIONS_OFF
    buf[i] = OPT_MSG_TYPE
    buf[i + 1] = 1
    buf[i + 2] = msg_type
    i += 3
    buf[i] = OPT_CLIENT_ID
    buf[i + 1] = 7
    buf[i + 2] = 1
    buf[i + 3:i + 9] = mac
    i += 9
    if requested_ip:
        buf[i] = OPT_REQUESTED_IP
        buf[i + 1] = 4
        put32(buf, i + 2, requested_ip)
        i += 6
    if server_id:
        buf[i] = OPT_SERVER_ID
        buf[i + 1] = 4
        put32(buf, i + 2, server_id)
        i += 6
    if hostname:
        h = hostname.encode() if isinstance(hostname, str) else hostname
        h = h[:63]
        buf[i] = OPT_HOSTNAME
        buf[i + 1] = len(h)
        buf[i + 2:i + 2 + len(h)] = h
        i += 2 + len(h)
    if msg_type != RELEASE:
        request_list = bytes((OPT_PARAMS, 6, OPT_SUBNET, OPT_ROUTER, OPT_DNS, OPT_LEASE,
                              OPT_T1, OPT_T2))
        buf[i:i + 8] = request_list
        i += 8
    buf[i] = OPT_END
    i += 1
    return i if i > MIN_LEN else MIN_LEN
