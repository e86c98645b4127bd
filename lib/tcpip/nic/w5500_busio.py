"""The SPI adapter for CircuitPython (``busio.SPI`` + ``digitalio``): the calls
and rules of ``tcpip.nic.w5500_spi`` (its docstring), for a board whose runtime
is CircuitPython.  ``busio`` and ``digitalio`` are imported inside the class, so
this file imports on a PC too.
"""

from tcpip.compat import sleep_ms


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
            for name in ("write", "write_frame", "read", "read_two", "write_read", "write_frames"):
                setattr(self, name, self._locked(getattr(self, name)))
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

    def write_read(self, header, data, out, inp):
        self._cs.value = False
        self._spi.write(header)
        self._spi.write(data)
        self._cs.value = True
        self._cs.value = False
        self._spi.write_readinto(out, inp)
        self._cs.value = True

    def write_frames(self, first, second):
        self._cs.value = False
        self._spi.write(first)
        self._cs.value = True
        self._cs.value = False
        self._spi.write(second)
        self._cs.value = True

    # shared=True: lock and configure the bus around every frame, like
    # SPIDevice (the lock is taken in a loop: a branch, so these are not
    # straight-line; a bus shared with other devices costs that anyway).
    # One closure for all six calls (less code on CircuitPython's heap than
    # a method each; its *args is a tuple a call, which the bus lock costs
    # more than).
    def _locked(self, fn):
        def call(*args):
            self._lock()
            fn(*args)
            self._spi.unlock()
        return call

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
