"""Fidelity oracle: the unmodified Adafruit ``adafruit_wiznet5k`` driver (PyPI
adafruit-circuitpython-wiznet5k, pinned in requirements-board.txt) runs against
the W5500 emulator on CPython.

If the emulator did not behave like the chip as that widely used driver sees it
(frame format, MR probe, VERSIONR, SHAR, PHYCFGR, socket commands, pointers,
Sn_IR), these fail.  Where Adafruit and the datasheet reference disagree, the
reference wins and the test says so:

- ``socket_open`` accepts only SOCK_INIT/SOCK_UDP after OPEN and raises
  RuntimeError for MACRAW, whose Sn_SR is SOCK_MACRAW = 0x42 [DS Sn_SR table,
  docs/w5500.md section 3].  The emulator keeps 0x42; the socket is open anyway.
- Adafruit masks TX pointers with 0x7FF and adds 0x8000 + n*0x800; that is only
  right for its own 2 KB per socket layout.  The chip ignores the high bits
  (docs/w5500.md section 3), so it works here as on hardware.
"""
import os
import sys
import types

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

import w5500_emu as E  # noqa: E402
import adafruit_wiznet5k.adafruit_wiznet5k as wiz  # noqa: E402

MAC = b"\x02\x00\x00\x00\x00\x02"
PEER = b"\x02\x00\x00\x00\x00\x01"


def frame(n, seed=0, dst=MAC, src=PEER):
    b = bytearray(n)
    b[0:6] = dst
    b[6:12] = src
    b[12:14] = b"\x08\x00"
    for i in range(14, n):
        b[i] = (i * 11 + seed * 5) & 0xFF
    return bytes(b)


class GuardedBus(E.BusioSPI):
    """Adafruit's driver waits without bound in places (Sn_CR, SEND_OK): a
    broken emulator must fail the test, not hang it."""

    limit = 200000

    def try_lock(self):
        self.limit -= 1
        if self.limit < 0:
            raise RuntimeError("runaway: the Adafruit driver is waiting for the emulator forever")
        return super().try_lock()


@pytest.fixture
def rig(monkeypatch):
    # The driver sleeps 5 s after a reset and 1 s before it starts; the
    # emulator needs no settling time.
    monkeypatch.setattr(wiz, "time", types.SimpleNamespace(sleep=lambda s: None))
    wire = E.MemoryWire()
    chip = E.W5500(wire)
    chip.wire_frames_per_select = 0
    spi = GuardedBus(chip)
    cs = E.EmuDigitalInOut(chip, "cs")
    rst = E.EmuDigitalInOut(chip, "rst")
    return wire, chip, spi, cs, rst


def make_eth(rig, **kw):
    wire, chip, spi, cs, rst = rig
    return wiz.WIZNET5K(spi, cs, reset=rst, is_dhcp=False, mac=MAC, **kw)


def test_adafruit_detects_w5500(rig):
    eth = make_eth(rig)
    assert eth.chip == "w5500"
    assert eth.max_sockets == 8


def test_adafruit_reset_puts_registers_back(rig):
    wire, chip, spi, cs, rst = rig
    chip.common[E.RTR] = 0x12
    chip.common[E.RCR] = 0x01
    eth = make_eth(rig)
    assert eth.rtr == 2000  # 0x07D0 reset value
    assert eth.rcr == 8
    # Its socket set-up wrote 2 KB to every socket (sum 16 KB).
    for n in range(8):
        assert chip.sock[n][E.Sn_RXBUF_SIZE] == 2 and chip.sock[n][E.Sn_TXBUF_SIZE] == 2


def test_adafruit_soft_reset_without_rst_pin(rig):
    wire, chip, spi, cs, rst = rig
    chip.common[E.RTR] = 0x12
    eth = wiz.WIZNET5K(spi, cs, is_dhcp=False, mac=MAC)
    assert eth.chip == "w5500" and eth.rtr == 2000


def test_adafruit_detection_fails_without_w5500(rig):
    wire, chip, spi, cs, rst = rig
    chip.inject_read_fault(0, E.VERSIONR, 0x00, times=10**6)
    with pytest.raises(RuntimeError):
        make_eth(rig)


def test_adafruit_reads_and_writes_mac(rig):
    wire, chip, spi, cs, rst = rig
    eth = make_eth(rig)
    assert eth.mac_address == MAC
    assert bytes(chip.common[E.SHAR:E.SHAR + 6]) == MAC
    eth.mac_address = "02:11:22:33:44:55"
    assert bytes(chip.common[E.SHAR:E.SHAR + 6]) == bytes.fromhex("021122334455")
    assert eth.mac_address == bytes.fromhex("021122334455")


def test_adafruit_link_status(rig):
    wire, chip, spi, cs, rst = rig
    eth = make_eth(rig)
    assert eth.link_status is True
    chip.link = False
    assert eth.link_status is False
    chip.link = True
    assert eth.link_status is True


def _open_macraw(eth, chip):
    # Reference wins: Sn_SR after OPEN in MACRAW is 0x42, which Adafruit's
    # socket_open does not expect (it knows only TCP/UDP) and reports.
    with pytest.raises(RuntimeError, match="Could not open socket"):
        eth.socket_open(0, conn_mode=0x04)
    assert eth.socket_status(0) == 0x42
    assert chip.sock[0][E.Sn_MR] == 0x04


def test_adafruit_macraw_send_frames_with_wraparound(rig):
    wire, chip, spi, cs, rst = rig
    eth = make_eth(rig)
    _open_macraw(eth, chip)
    sent = [frame(600 + i, i, dst=PEER, src=MAC) for i in range(8)]  # > 2 KB: wraps
    for f in sent:
        assert eth.socket_write(0, f) == len(f)
    assert wire.outbox == sent
    assert chip.tx_frames == 8
    assert chip.sock[0][E.Sn_IR] & E.IR_SEND_OK == 0  # Adafruit cleared it


def test_adafruit_macraw_receives_length_prefixed_frames_with_wraparound(rig):
    wire, chip, spi, cs, rst = rig
    eth = make_eth(rig)
    _open_macraw(eth, chip)
    for i in range(8):  # 8 x 702 bytes through a 2 KB ring
        f = frame(700, i)
        wire.inbox.append(f)
        chip.pump()
        assert eth.socket_available(0) == 702
        n, hdr = eth.socket_read(0, 2)
        assert n == 2
        length = int.from_bytes(hdr, "big")
        assert length == 702  # LEN counts its own 2 bytes [docs/w5500.md section 4]
        n, data = eth.socket_read(0, length - 2)
        assert n == 700 and bytes(data) == f
    assert eth.socket_available(0) == 0


def test_adafruit_and_chip_agree_on_overflow(rig):
    wire, chip, spi, cs, rst = rig
    eth = make_eth(rig)
    _open_macraw(eth, chip)
    # With Adafruit's 2 KB per socket only one full-size frame fits.
    wire.inbox.extend([frame(1514, 1), frame(1514, 2)])
    chip.pump()
    assert chip.rx_overflow_drops == 1
    assert eth.socket_available(0) == 1516
    n, hdr = eth.socket_read(0, 2)
    n, data = eth.socket_read(0, 1514)
    assert bytes(data) == frame(1514, 1)


def test_adafruit_close_socket(rig):
    wire, chip, spi, cs, rst = rig
    eth = make_eth(rig)
    _open_macraw(eth, chip)
    eth.socket_close(0)
    assert eth.socket_status(0) == 0x00
