"""SPI adapters that connect the W5500 driver to a board: the only board-specific part.

An adapter has these calls (the emulator's ``tools/w5500_emu.EmuSPI`` has the same):

    write(header, data)   one SPI frame: SCSn low, header (3 bytes), data, SCSn high
    write_frame(frame)    one SPI frame held in one buffer (header and data): SCSn low,
                          frame, SCSn high (the driver's prebuilt register writes)
    read(header, data)    one SPI frame: SCSn low, header, clock len(data) bytes in, SCSn high
    write_read(header, data, out, inp)
                          two SPI frames: write(header, data), then one that clocks
                          out ``out`` (a header and filler) while reading the same
                          number of bytes into ``inp`` (a frame into TX memory, then
                          the last SEND's check: one SPI call, write_readinto)
    write_frames(first, second)
                          two SPI frames: write_frame(first), then write_frame(second)
                          (TX_WR, then SEND: no Ctrl-C can fall between them)
    read_two(header, first, second)
                          one SPI frame: SCSn low, header, len(first) bytes into first, then
                          len(second) into second, SCSn high (the chip's address runs on
                          across both: a receive record's length and frame, or a frame
                          and the next record's length, in one chip select)
    hard_reset() -> bool  pulse RSTn (>= 1 ms low, then wait for the PLL); False if not wired
    int_asserted()        INTn is low -> True; None when INTn is not wired
    irq(handler) -> bool  call handler(pin) on the INTn falling edge (MicroPython: a soft
                          IRQ, run from the scheduler), None detaches; False if impossible
    describe() -> str     the wiring, for error messages

and may have ``int_level``: a callable giving INTn's level (truthy: high,
nothing pending), or None; the driver's empty receive calls it instead of
``int_asserted()`` (``MachineSPI``: the pin's own ``value``, one C call).

write, write_frame, write_read, write_frames, read and read_two run for every
SPI transaction, so they are
straight-line code: no branch and no try/finally.  MicroPython raises a
KeyboardInterrupt (and runs scheduled soft-IRQ handlers) only at a branch or
a loop's back edge, never between two calls without one, so SCSn cannot be
left low by a Ctrl-C in the middle of a frame; and a try/finally doubled the
cost of a small transaction on the board (64 -> 37 us at 125 MHz,
docs/performance.md).

``MachineSPI`` (here) is for MicroPython (``machine.SPI`` + ``machine.Pin``),
``tcpip.nic.w5500_busio.BusioSPI`` for CircuitPython (``busio.SPI`` +
``digitalio``): a module of its own, so a MicroPython board does not load it
(its code took ~1.5 KB of heap there).  Board modules are imported inside the
classes so these files import on a PC too.

SPI mode 0, MSB first [DS p13].  On MicroPython rp2 >= 1.24 the peripheral clock
is 48 MHz, so a 20 MHz request gives 12 MHz (docs/w5500.md section 9).
"""

from tcpip.compat import sleep_ms


class MachineSPI:
    """MicroPython: ``MachineSPI(spi_id, sck, mosi, miso, cs, rst=None,
    int_pin=None, baudrate=20_000_000)``; pins are GPIO numbers."""

    def __init__(self, spi_id, sck, mosi, miso, cs, rst=None, int_pin=None,
                 baudrate=20000000):
        import machine

        Pin = machine.Pin
        self._desc = "SPI%d SCK=GP%d MOSI=GP%d MISO=GP%d CS=GP%d RST=%s INT=%s" % (
            spi_id, sck, mosi, miso, cs,
            "GP%d" % rst if rst is not None else "not wired",
            "GP%d" % int_pin if int_pin is not None else "not wired")
        # CS high before the bus starts clocking, so the chip sees no stray frame.
        self._cs = Pin(cs, Pin.OUT, value=1)
        self._spi = machine.SPI(spi_id, baudrate=baudrate, polarity=0, phase=0, bits=8,
                                firstbit=machine.SPI.MSB, sck=Pin(sck), mosi=Pin(mosi),
                                miso=Pin(miso))
        self._rst = Pin(rst, Pin.OUT, value=1) if rst is not None else None
        self._int = Pin(int_pin, Pin.IN, Pin.PULL_UP) if int_pin is not None else None
        # INTn's level (1: nothing pending) as one C call, for the driver's
        # empty receive (it runs at every poll)
        self.int_level = self._int.value if self._int is not None else None

    # write/write_frame/read/read_two run for every SPI transaction: straight-line
    # (module docstring) and no extra locals, so their MicroPython frame
    # stays within the 11 words kept on the C stack (a bigger one is
    # allocated on the heap at every call; tools/measure/frames.py)

    # (cs a local: one attribute load less, ~2.5 us a transaction on the board)

    def write(self, header, data):
        cs = self._cs
        cs(0)
        self._spi.write(header)
        self._spi.write(data)
        cs(1)

    def write_frame(self, frame):
        cs = self._cs
        cs(0)
        self._spi.write(frame)
        cs(1)

    def read(self, header, data):
        cs = self._cs
        cs(0)
        self._spi.write(header)
        self._spi.readinto(data)  # clocks out 0x00 while reading (machine.SPI default)
        cs(1)

    def write_read(self, header, data, out, inp):
        cs = self._cs
        cs(0)
        self._spi.write(header)
        self._spi.write(data)
        cs(1)
        cs(0)
        self._spi.write_readinto(out, inp)
        cs(1)

    def write_frames(self, first, second):
        cs = self._cs
        cs(0)
        self._spi.write(first)
        cs(1)
        cs(0)
        self._spi.write(second)
        cs(1)

    def read_two(self, header, first, second):
        cs = self._cs
        cs(0)
        self._spi.write(header)
        self._spi.readinto(first)
        self._spi.readinto(second)
        cs(1)

    def hard_reset(self):
        rst = self._rst
        if rst is None:
            return False
        # Datasheet: >= 500 us low, PLL lock <= 1 ms; use margin (docs/w5500.md section 6).
        rst(0)
        sleep_ms(2)
        rst(1)
        sleep_ms(10)
        return True

    def int_asserted(self):
        if self._int is None:
            return None
        return self._int.value() == 0

    def irq(self, handler):
        if self._int is None:
            return False
        import machine

        if handler is None:
            self._int.irq(handler=None)
            return True
        # Soft: MicroPython calls handler from its scheduler, not in IRQ
        # context, so it may allocate and poll the stack.
        self._int.irq(handler=handler, trigger=machine.Pin.IRQ_FALLING, hard=False)
        return True

    def describe(self):
        return self._desc
