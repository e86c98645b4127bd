"""A W5500 board on a PC: the real driver on tools/emu/w5500_emu.py (host runtimes).

The host runner sets ``WIRE`` (any NIC-contract object: TAP, packet socket,
``tcpip.nic.link`` end, ``w5500_emu.MemoryWire``) before calling ``nic()``;
frames the emulated chip sends go to that wire and frames from it reach the
chip's RX ring.  ``CHIP`` is the emulator after ``nic()``.  Needs ``tools/emu`` on
the module path (MICROPYPATH / PYTHONPATH; tools/toolpath.py lists the folders).

    import emulated_w5500 as board
    board.WIRE = tap_nic
    net = netboot.start(board, settings, background=False)
"""

NAME = "Emulated W5500 (tools/emu/w5500_emu.py)"
RUNTIME = "host"
CHIP_NAME = "W5500"
WIRE = None
CHIP = None
MAC = b"\x02\x00\x00\x00\x00\x02"


def spi(baudrate=0):
    """An EmuSPI adapter on a fresh emulated chip wired to ``WIRE``."""
    global CHIP
    import w5500_emu

    CHIP = w5500_emu.W5500(WIRE)
    return w5500_emu.EmuSPI(CHIP)


def nic(mac, **kw):
    from tcpip.nic.w5500 import W5500

    return W5500(spi(), mac, **kw)


def default_mac():
    return MAC
