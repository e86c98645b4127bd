"""The MACRAW driver's bounce buffer (``tcpip/nic/macraw.py``): a transfer of
part of a frame without a view of the caller's buffer, which on MicroPython is
a heap object (``machine.SPI`` has no start/end arguments).  Each part goes
through a view of this buffer of a fixed length (steps of 64 bytes) and the
viper copy; ``macraw`` loads this module only where that copy is the viper
loop (MicroPython), as elsewhere a copy makes views anyway.
"""

from tcpip.compat import const
from tcpip.wire.bytes import copy

_B_STEP = const(64)  # the views: 64, 128, .. 1536 bytes
_B_SHIFT = const(6)  # (log2 of _B_STEP)
_B_BYTES = const(1536)  # any part of a frame, rounded up to _B_STEP


def setup(nic):
    """The bounce buffer and its views of fixed lengths, made once (no
    transfer makes a view): ``nic._bounce`` and ``nic._bv``."""
    b = bytearray(_B_BYTES)
    nic._bounce = b
    mv = memoryview(b)
    nic._bv = [mv[:k] for k in range(_B_STEP, _B_BYTES + 1, _B_STEP)]


def read_split(nic, off, buf, n):
    # The n bytes at off in the RX buffer into buf[:n] through the
    # bounce buffer, without a view of buf (a heap object on
    # MicroPython): a record the buffer end splits, or a length with no
    # view (_view).  Each part is read with a view of the bounce buffer
    # rounded up to _B_STEP, so it reads bytes it does not need: after
    # it when the buffer end does not come first, else before it (a
    # read of the chip's memory changes nothing); then copied.  (One
    # transaction of 3 + n bytes is counted by the caller.)
    first = nic._BUF_BYTES - off  # (the part before the buffer end)
    if first > n:
        first = n
    v = nic._bv[(first - 1) >> _B_SHIFT]
    k = len(v)
    a = off if off + k <= nic._BUF_BYTES else nic._BUF_BYTES - k
    nic._rx_at(a, v)
    copy(buf, 0, nic._bounce, off - a, first)
    nic._spi_b += k - n
    if first < n:  # the rest, from the buffer's start
        n -= first
        v = nic._bv[(n - 1) >> _B_SHIFT]
        nic._rx_at(0, v)
        copy(buf, first, nic._bounce, 0, n)
        nic._spi_t += 1
        nic._spi_b += 3 + len(v)


def write_split(nic, off, frame, n):
    # [ioLib] wiz_send_data: the host splits at the buffer end.  Two SPI
    # frames, each from a view of the bounce buffer of a fixed length
    # (no view of frame: a heap object on MicroPython), so each writes
    # up to _B_STEP - 1 bytes more than its part: the part after the
    # buffer end (written first) is followed by them, in TX memory that
    # is free (past the new TX_WR); the part before the end is preceded
    # by them, over frames already sent, so the last SEND must be
    # complete before it is written (checked here, the read
    # _tx_commit would make).  False when that SEND failed
    # (_tx_finish counted it; the socket may have been reopened): the
    # frame is to be written again (send's _tx_again).  (Counted here
    # beyond _tx_commit's one transaction of 3 + n bytes.)
    # (locals reused: a MicroPython frame over 11 words is a heap allocation)
    off = nic._BUF_BYTES - off  # (reused: the part before the buffer end)
    n -= off  # (reused: the part after it)
    copy(nic._bounce, 0, frame, off, n)
    v = nic._bv[(n - 1) >> _B_SHIFT]
    nic._spi_t += 1  # (the SPI frame more)
    nic._spi_b += len(v) - n
    n = nic._h_txb  # (reused: the header, for the start of TX memory)
    n[nic._hdr_at] = nic._txb16 >> 8
    n[nic._hdr_at + 1] = nic._txb16 & 0xFF
    if not nic._tx_pending:
        nic.spi.write(n, v)
    else:  # (the check's read in the same call, as in send)
        nic.spi.write_read(n, v, nic._f_tx_rd, nic._r5)
        nic._spi_t += 1
        nic._spi_b += 5
        if ((nic._reg[3] << 8) | nic._reg[4]) != nic._tx_wr and not nic._tx_finish():
            nic._spi_b += 3 + len(frame) - off  # (that write, lost: send counts none)
            return False
        nic._tx_pending = 0
    v = nic._bv[(off - 1) >> _B_SHIFT]
    copy(nic._bounce, len(v) - off, frame, 0, off)
    nic._tx_at(nic._BUF_BYTES - len(v), v)
    nic._spi_b += 3 + len(v) - off
    return True
