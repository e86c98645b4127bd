"""Internet checksum (RFC 1071) over a region of a buffer.

The ones' complement sum of 16-bit words equals the sum of the whole region
read as one big-endian integer, modulo 0xFFFF, because 2**16 == 1 (mod 0xFFFF).
``int.from_bytes`` keeps that loop in C on every runtime.  The only care point
is zero: a ones' complement sum is 0 only for all-zero data, and 0xFFFF for
any other multiple of 0xFFFF.
"""


def fold(acc):
    """Reduce a sum of 16-bit words to its ones' complement value 0..0xFFFF."""
    r = acc % 0xFFFF
    if r == 0 and acc:
        return 0xFFFF
    return r


def sum16(buf, start, end):
    """Ones' complement sum of buf[start:end] (odd length padded with a zero byte)."""
    n = int.from_bytes(buf[start:end], "big")
    if (end - start) & 1:
        n <<= 8
    return fold(n)


def checksum(buf, start, end, acc=0):
    """Checksum field value for buf[start:end] plus an earlier partial sum."""
    return ~fold(sum16(buf, start, end) + acc) & 0xFFFF


def pseudo_sum(src, dst, proto, length):
    """Sum of the IPv4 pseudo-header (RFC 9293 3.1, RFC 768)."""
    return (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + proto + length


def verify(buf, start, end, acc=0):
    """True when the region, checksum field included, sums to 0xFFFF."""
    return fold(sum16(buf, start, end) + acc) == 0xFFFF
