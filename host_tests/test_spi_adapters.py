"""The board SPI adapters (lib/tcpip/nic/w5500_spi.py, w5500_busio.py) on fake machine / busio
modules: what each call puts on the bus between chip select low and high."""
import sys
import types

import pytest

sys.path.insert(0, "lib")
from tcpip.nic import w5500_spi, w5500_busio  # noqa: E402


class Bus:
    """Records SPI frames: the bytes clocked out while CS was low."""

    def __init__(self):
        self.frames = []
        self.cur = None
        self.intn = 1  # INTn's level (1: high, nothing pending)

    def cs(self, level):
        if level:
            self.frames.append(bytes(self.cur))
            self.cur = None
        else:
            self.cur = bytearray()

    def write(self, b):
        assert self.cur is not None, "SPI write with CS high"
        self.cur += bytes(b)

    def readinto(self, b):
        assert self.cur is not None, "SPI read with CS high"
        self.cur += bytes(len(b))
        for i in range(len(b)):
            b[i] = 0xA0 + i

    def write_readinto(self, out, b):
        assert self.cur is not None, "SPI transfer with CS high"
        assert len(out) == len(b)
        self.cur += bytes(out)
        for i in range(len(b)):
            b[i] = 0xB0 + i


@pytest.fixture
def machine_bus(monkeypatch):
    bus = Bus()

    class Pin:
        OUT = IN = PULL_UP = IRQ_FALLING = 0

        def __init__(self, n, *a, **kw):
            self.n = n

        def __call__(self, level):
            if self.n == 17:
                bus.cs(level)

        def value(self):
            return bus.intn if self.n == 21 else 1

    class SPI:
        MSB = 0

        def __init__(self, *a, **kw):
            pass

        def write(self, b):
            bus.write(b)

        def readinto(self, b):
            bus.readinto(b)

        def write_readinto(self, out, b):
            bus.write_readinto(out, b)

    monkeypatch.setitem(sys.modules, "machine", types.SimpleNamespace(Pin=Pin, SPI=SPI))
    return bus


@pytest.fixture
def busio_bus(monkeypatch):
    bus = Bus()

    class DigitalInOut:
        def __init__(self, pin):
            self.pin = pin

        def switch_to_output(self, value=True):
            pass

        def switch_to_input(self, pull=None):
            pass

        @property
        def value(self):
            return bool(bus.intn) if self.pin == "INT" else True

        @value.setter
        def value(self, v):
            if self.pin == "CS":
                bus.cs(1 if v else 0)

    class SPI:
        def __init__(self, *a, **kw):
            pass

        def try_lock(self):
            bus.locks.append("lock")
            return True

        def configure(self, **kw):
            pass

        def unlock(self):
            bus.locks.append("unlock")

        def write(self, b):
            bus.write(b)

        def readinto(self, b):
            bus.readinto(b)

        def write_readinto(self, out, b):
            bus.write_readinto(out, b)

    bus.locks = []
    monkeypatch.setitem(sys.modules, "busio", types.SimpleNamespace(SPI=SPI))
    monkeypatch.setitem(sys.modules, "digitalio", types.SimpleNamespace(
        DigitalInOut=DigitalInOut, Pull=types.SimpleNamespace(UP=1)))
    return bus


def _adapters(which):
    if which == "machine":
        return w5500_spi.MachineSPI(0, sck=18, mosi=19, miso=16, cs=17)
    return w5500_busio.BusioSPI("SCK", "MOSI", "MISO", "CS")


@pytest.mark.parametrize("which", ["machine", "busio"])
def test_write_frame_sends_one_buffer_as_the_whole_frame(which, machine_bus, busio_bus):
    bus = machine_bus if which == "machine" else busio_bus
    spi = _adapters(which)
    spi.write_frame(b"\x00\x01\x0c\x40")  # Sn_CR = RECV, header and data in one buffer
    spi.write(b"\x00\x28\x0c", b"\x12\x34")  # RX_RD, header and data apart
    assert bus.frames == [b"\x00\x01\x0c\x40", b"\x00\x28\x0c\x12\x34"]


@pytest.mark.parametrize("which", ["machine", "busio"])
def test_transactions_are_straight_line_code(which, machine_bus, busio_bus):
    # MicroPython raises KeyboardInterrupt (and runs soft IRQs) only at a
    # branch: write/write_frame/read without one cannot leave SCSn low, and
    # without a try/finally a small transaction costs half (w5500_spi.py)
    import dis
    cls = w5500_spi.MachineSPI if which == "machine" else w5500_busio.BusioSPI
    for name in ("write", "write_frame", "read", "read_two", "write_read", "write_frames"):
        ops = {i.opname for i in dis.get_instructions(getattr(cls, name))}
        jumps = {o for o in ops if "JUMP" in o or o.startswith("SETUP_") or o == "PUSH_EXC_INFO"}
        assert not jumps, (name, sorted(jumps))


@pytest.mark.parametrize("which", ["machine", "busio"])
def test_read_clocks_the_header_then_reads_into_data(which, machine_bus, busio_bus):
    bus = machine_bus if which == "machine" else busio_bus
    spi = _adapters(which)
    data = bytearray(4)
    spi.read(b"\x00\x26\x08", data)
    assert bus.frames == [b"\x00\x26\x08\x00\x00\x00\x00"]
    assert data == bytearray(b"\xa0\xa1\xa2\xa3")


@pytest.mark.parametrize("which", ["machine", "busio"])
def test_read_two_reads_both_buffers_in_one_chip_select(which, machine_bus, busio_bus):
    # a receive record's length and frame (or a frame and the next length)
    # in one SPI frame: one header, the bytes of both clocked in, in order
    bus = machine_bus if which == "machine" else busio_bus
    spi = _adapters(which)
    first, second = bytearray(2), bytearray(3)
    spi.read_two(b"\x12\x34\x18", first, second)
    assert bus.frames == [b"\x12\x34\x18" + bytes(5)]
    assert first == bytearray(b"\xa0\xa1") and second == bytearray(b"\xa0\xa1\xa2")


@pytest.mark.parametrize("which", ["machine", "busio"])
def test_write_read_is_a_write_then_a_full_duplex_frame(which, machine_bus, busio_bus):
    # a frame into TX memory, then TX_RD's read as one transfer: the header
    # and filler clocked out, as many bytes clocked in
    bus = machine_bus if which == "machine" else busio_bus
    spi = _adapters(which)
    inp = bytearray(5)
    spi.write_read(b"\x12\x34\x14", b"\x01\x02\x03", b"\x00\x22\x08\x00\x00", inp)
    assert bus.frames == [b"\x12\x34\x14\x01\x02\x03", b"\x00\x22\x08\x00\x00"]
    assert inp == bytearray(b"\xb0\xb1\xb2\xb3\xb4")


@pytest.mark.parametrize("which", ["machine", "busio"])
def test_write_frames_is_two_frames(which, machine_bus, busio_bus):
    # TX_WR, then SEND: two chip selects in one call
    bus = machine_bus if which == "machine" else busio_bus
    spi = _adapters(which)
    spi.write_frames(b"\x00\x24\x0c\x12\x34", b"\x00\x01\x0c\x20")
    assert bus.frames == [b"\x00\x24\x0c\x12\x34", b"\x00\x01\x0c\x20"]


@pytest.mark.parametrize("which", ["machine", "busio"])
def test_int_level_follows_the_pin_and_is_none_when_not_wired(which, machine_bus, busio_bus):
    bus = machine_bus if which == "machine" else busio_bus
    if which == "machine":
        spi = w5500_spi.MachineSPI(0, sck=18, mosi=19, miso=16, cs=17, int_pin=21)
    else:
        spi = w5500_busio.BusioSPI("SCK", "MOSI", "MISO", "CS", int_pin="INT")
    for level in (1, 0, 1):
        bus.intn = level
        assert bool(spi.int_level()) == bool(level)
        assert spi.int_asserted() == (not level)
    assert _adapters(which).int_level is None


def test_busio_shared_locks_and_unlocks_the_bus_around_every_frame(busio_bus):
    spi = w5500_busio.BusioSPI("SCK", "MOSI", "MISO", "CS", shared=True)
    assert busio_bus.locks == []  # not locked for good, unlike shared=False
    spi.write(b"\x00\x28\x0c", b"\x12\x34")
    data = bytearray(2)
    spi.read(b"\x00\x26\x08", data)
    spi.write_frame(b"\x00\x01\x0c\x40")
    spi.read_two(b"\x00\x00\x18", bytearray(2), bytearray(1))
    spi.write_read(b"\x00\x00\x14", b"\x01", b"\x00\x22\x08\x00\x00", bytearray(5))
    spi.write_frames(b"\x00\x24\x0c\x12\x34", b"\x00\x01\x0c\x20")
    assert busio_bus.frames == [b"\x00\x28\x0c\x12\x34", b"\x00\x26\x08\x00\x00",
                                b"\x00\x01\x0c\x40", b"\x00\x00\x18\x00\x00\x00",
                                b"\x00\x00\x14\x01", b"\x00\x22\x08\x00\x00",
                                b"\x00\x24\x0c\x12\x34", b"\x00\x01\x0c\x20"]
    assert data == bytearray(b"\xa0\xa1")
    assert busio_bus.locks == ["lock", "unlock"] * 6
