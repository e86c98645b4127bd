"""tcpip.start() on a board delegates to firmware/netboot.py: here the emulated
W5500 board (boards/emulated_w5500.py on tools/emu/w5500_emu.py, a MemoryWire as
the wire), under CPython and MicroPython."""
import sys

import boardpath  # noqa: F401  (firmware/ and boards/ on sys.path)
import tcpip  # noqa: E402
import emulated_w5500 as board  # noqa: E402
import w5500_emu as E  # noqa: E402


def test_start_on_a_board_uses_netboot_and_becomes_current():
    board.WIRE = E.MemoryWire()
    settings = {"dhcp": False, "ip": "192.0.2.2", "prefix": 24, "gateway": "192.0.2.1",
                "dns": ["192.0.2.1"], "mac": "02:00:00:00:00:02"}
    net = tcpip.start(board=board, config=settings, background=False)
    assert net.how == "static"
    assert tcpip.get_stack() is net.stack
    assert tcpip.ifconfig() == ("192.0.2.2", "255.255.255.0", "192.0.2.1", "192.0.2.1")
    s = tcpip.socket(tcpip.AF_INET, tcpip.SOCK_DGRAM)
    assert s.stack is net.stack
    s.close()
    rows = tcpip.netstat(quiet=True)
    assert rows == []


def test_start_without_nic_or_netboot_says_why():
    saved = sys.modules.get("netboot")
    path = list(sys.path)
    try:
        if "netboot" in sys.modules:
            del sys.modules["netboot"]
        sys.path[:] = [p for p in sys.path if not p.endswith("/firmware")]
        try:
            tcpip.start()
            assert False, "no error"
        except OSError as e:
            assert e.args[0] == 19 and "netboot" in e.args[1]
    finally:
        sys.path[:] = path
        if saved is not None:
            sys.modules["netboot"] = saved
