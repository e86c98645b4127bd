"""Send crafted frames from the kernel's interface of a test namespace and report answers.

Run inside the namespace (CPython with scapy)::

    ip netns exec NS python host_tests/helpers/kernel_peer.py --iface vk --kind bad_ip_checksum \\
        --count 3 --dst-mac 02:00:00:00:00:02 --dst-ip 192.0.2.2 --src-ip 192.0.2.1

Prints one JSON line: {"sent": N, "answers": ["summary of each frame from dst-mac", ...]}.
scapy is the independent oracle here: it builds each frame from a valid one and
breaks exactly one thing, so the stack under test has to notice that thing.
"""

import argparse
import json
import struct
import sys
import time


def _ip_header_checksum(hdr):
    s = 0
    for i in range(0, len(hdr), 2):
        s += (hdr[i] << 8) | hdr[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def build(kind, src_mac, dst_mac, src_ip, dst_ip, seq):
    """Bytes of one malformed frame of ``kind`` (see KINDS)."""
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import ARP, Ether

    eth = Ether(src=src_mac, dst=dst_mac)
    echo = IP(src=src_ip, dst=dst_ip, id=0x4000 + seq) / ICMP(type=8, id=0x7C5A, seq=seq) / (b"tcpip-bad-%02d" % seq)
    if kind == "bad_ip_checksum":
        b = bytearray(bytes(eth / echo))
        good = struct.unpack_from(">H", b, 24)[0]
        struct.pack_into(">H", b, 24, good ^ 0x5A5A)  # any other value is wrong
        return bytes(b)
    if kind == "truncated_ip_header":
        # EtherType IPv4 but only 10 of the 20 header bytes.
        return bytes(Ether(src=src_mac, dst=dst_mac, type=0x0800) / bytes(echo)[:10])
    if kind == "ip_len_exceeds_frame":
        pkt = IP(src=src_ip, dst=dst_ip, len=1000, id=0x4000 + seq) / ICMP(type=8, id=0x7C5A, seq=seq) / b"short"
        return bytes(eth / pkt)  # header checksum is valid for len=1000; the frame is shorter
    if kind == "bad_icmp_checksum":
        b = bytearray(bytes(eth / echo))
        good = struct.unpack_from(">H", b, 36)[0]
        struct.pack_into(">H", b, 36, good ^ 0x5A5A)
        return bytes(b)
    if kind == "truncated_icmp":
        pkt = bytearray(bytes(IP(src=src_ip, dst=dst_ip, id=0x4000 + seq, proto=1) / b"\x08\x00\xf7\xff"))
        return bytes(Ether(src=src_mac, dst=dst_mac, type=0x0800) / bytes(pkt))  # 4 bytes of ICMP: shorter than an echo header
    if kind in ("arp_bad_hlen", "arp_bad_plen"):
        arp = ARP(op=1, hwsrc=src_mac, psrc=src_ip, hwdst="00:00:00:00:00:00", pdst=dst_ip)
        b = bytearray(bytes(Ether(src=src_mac, dst="ff:ff:ff:ff:ff:ff") / arp))
        if kind == "arp_bad_hlen":
            b[14 + 4] = 8  # RFC 826 ar$hln: 6 for Ethernet
        else:
            b[14 + 5] = 16  # ar$pln: 4 for IPv4
        return bytes(b)
    raise ValueError("unknown kind %r" % kind)


# kind -> the stack's stats counter that must count it
KINDS = {
    "bad_ip_checksum": "drop_ip_checksum",
    "truncated_ip_header": "drop_ip_short",
    "ip_len_exceeds_frame": "drop_ip_len",
    "bad_icmp_checksum": "drop_icmp_checksum",
    "truncated_icmp": "drop_icmp_short",
    "arp_bad_hlen": "drop_arp_malformed",
    "arp_bad_plen": "drop_arp_malformed",
}


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--kind", required=True, choices=sorted(KINDS))
    ap.add_argument("--count", type=int, default=3)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--dst-ip", required=True)
    ap.add_argument("--src-ip", required=True)
    ap.add_argument("--listen", type=float, default=0.7, help="seconds to wait for answers")
    a = ap.parse_args(argv)

    from scapy.config import conf
    from scapy.layers.inet import IP  # noqa: F401  registers Ether/IP/ICMP dissectors
    from scapy.layers.l2 import ARP, Ether  # noqa: F401
    from scapy.sendrecv import AsyncSniffer, sendp

    conf.verb = 0
    with open("/sys/class/net/%s/address" % a.iface) as f:
        src_mac = f.read().strip()
    dst_mac = a.dst_mac.lower()
    # An answer is any frame from the stack except an ARP request (the stack may
    # legitimately ask for our address at any time).
    sniffer = AsyncSniffer(iface=a.iface, store=True,
                           lfilter=lambda p: Ether in p and p[Ether].src.lower() == dst_mac
                           and not (ARP in p and p[ARP].op == 1))
    sniffer.start()
    time.sleep(0.3)  # the sniffer's socket is open before the first frame leaves
    frames = [build(a.kind, src_mac, dst_mac, a.src_ip, a.dst_ip, i) for i in range(a.count)]
    for fr in frames:
        sendp(fr, iface=a.iface, verbose=False)
        time.sleep(0.02)
    time.sleep(a.listen)
    got = sniffer.stop() or []
    print(json.dumps({"sent": len(frames), "answers": [p.summary() for p in got],
                      "lengths": [len(fr) for fr in frames]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
