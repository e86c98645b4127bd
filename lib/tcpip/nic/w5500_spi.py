"""SPI adapters that connect the W5500 driver to a board: the only board-specific part.

An adapter has these calls (the emulator's ``tools/w5500_emu.EmuSPI`` has the same):

    write(header, data)   one SPI frame: SCSn low, header (3 bytes), data, SCSn high
    write_frame(frame)    one SPI frame held in one buffer (header and data): SCSn low,
                          frame, SCSn high (the driver's prebuilt register writes)
    read(header, data)    one SPI frame: SCSn low, header, clock len(data) bytes in, SCSn high
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

write, write_frame, read and read_two run for every SPI transaction, so they are
straight-line code: no branch and no try/finally.  MicroPython raises a
KeyboardInterrupt (and runs scheduled soft-IRQ handlers) only at a branch or
a loop's back edge, never between two calls without one, so SCSn cannot be
left low by a Ctrl-C in the middle of a frame; and a try/finally doubled the
cost of a small transaction on the board (64 -> 37 us at 125 MHz,
docs/performance.md).

``MachineSPI`` is for MicroPython (``machine.SPI`` + ``machine.Pin``),
``BusioSPI`` for CircuitPython (``busio.SPI`` + ``digitalio``).  Board modules
are imported inside the classes so this file imports on a PC too.

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


class BusioSPI:
    """CircuitPython: ``BusioSPI(clock, mosi, miso, cs, rst=None, int_pin=None,
    baudrate=8_000_000, shared=False)``; pins are ``board`` pin objects.

    The bus is locked once and kept when ``shared`` is False (the W5500 has
    the bus to itself on the boards in ``boards/``); with ``shared=True``
    every frame does try_lock / configure / unlock like ``SPIDevice``.
    CircuitPython has no pin interrupts: ``irq`` returns False and callers
    poll ``int_asserted()``."""

    def __init__(self, clock, mosi, miso, cs, rst=None, int_pin=None,
                 baudrate=8000000, shared=False):
        import busio
        import digitalio

        self._desc = "SCK=%s MOSI=%s MISO=%s CS=%s RST=%s INT=%s" % (
            clock, mosi, miso, cs, rst, int_pin)
        self._baudrate = baudrate
        self._shared = shared
        self._cs = digitalio.DigitalInOut(cs)
        self._cs.switch_to_output(value=True)
        self._spi = busio.SPI(clock, MOSI=mosi, MISO=miso)
        self._rst = None
        if rst is not None:
            self._rst = digitalio.DigitalInOut(rst)
            self._rst.switch_to_output(value=True)
        self._int = None
        if int_pin is not None:
            self._int = digitalio.DigitalInOut(int_pin)
            self._int.switch_to_input(pull=digitalio.Pull.UP)
        # INTn's level (True: nothing pending) in one call, for the driver's
        # empty receive (``value`` is a property here: a closure reads it)
        pin = self._int
        self.int_level = (lambda: pin.value) if pin is not None else None
        if shared:  # (chosen once here: no branch left in write/read after SCSn rises)
            self.write = self._write_shared  # type: ignore[method-assign]
            self.write_frame = self._write_frame_shared  # type: ignore[method-assign]
            self.read = self._read_shared  # type: ignore[method-assign]
            self.read_two = self._read_two_shared  # type: ignore[method-assign]
        else:
            self._lock()

    def _lock(self):
        spi = self._spi
        while not spi.try_lock():
            pass
        spi.configure(baudrate=self._baudrate, polarity=0, phase=0, bits=8)

    # Straight-line (module docstring): nothing runs after SCSn goes high
    # but the return, so a KeyboardInterrupt (raised at a branch) cannot
    # strike once a frame is out, where the driver could not tell that the
    # chip has it (a SEND, a RECV), nor between SCSn low and high.

    def write(self, header, data):
        self._cs.value = False
        self._spi.write(header)
        self._spi.write(data)
        self._cs.value = True

    def write_frame(self, frame):
        self._cs.value = False
        self._spi.write(frame)
        self._cs.value = True

    def read(self, header, data):
        self._cs.value = False
        self._spi.write(header)
        self._spi.readinto(data)  # clocks out 0x00 while reading (the busio default)
        self._cs.value = True

    def read_two(self, header, first, second):
        self._cs.value = False
        self._spi.write(header)
        self._spi.readinto(first)
        self._spi.readinto(second)
        self._cs.value = True

    _frame_write = write  # (the methods above, when write/read are the shared ones)
    _frame_write1 = write_frame
    _frame_read = read
    _frame_read_two = read_two

    # shared=True: lock and configure the bus around every frame, like
    # SPIDevice (the lock is taken in a loop: a branch, so these are not
    # straight-line; a bus shared with other devices costs that anyway)

    def _write_shared(self, header, data):
        self._lock()
        self._frame_write(header, data)
        self._spi.unlock()

    def _write_frame_shared(self, frame):
        self._lock()
        self._frame_write1(frame)
        self._spi.unlock()

    def _read_shared(self, header, data):
        self._lock()
        self._frame_read(header, data)
        self._spi.unlock()

    def _read_two_shared(self, header, first, second):
        self._lock()
        self._frame_read_two(header, first, second)
        self._spi.unlock()

    def hard_reset(self):
        rst = self._rst
        if rst is None:
            return False
        rst.value = False
        sleep_ms(2)
        rst.value = True
        sleep_ms(10)
        return True

    def int_asserted(self):
        if self._int is None:
            return None
        return not self._int.value

    def irq(self, handler):
        return False

    def frequency(self):
        """The SPI clock CircuitPython actually chose, in Hz."""
        return self._spi.frequency

    def describe(self):
        return self._desc
