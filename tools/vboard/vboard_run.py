"""The virtual board's stack process: runs under CPython or the MicroPython unix port.

tools/vboard/vboard.py starts it inside a namespace; by hand (as root, in a namespace
made with tools/vboard/netns.py)::

    ip netns exec NS micropython tools/vboard/vboard_run.py --nic packet --if vb
    ip netns exec NS python tools/vboard/vboard_run.py --nic tap --if tap0

Options (all optional)::

    --nic tap|packet|w5500  default: tap under CPython, packet under MicroPython;
                          w5500: the board path -- firmware/netboot.py brings the
                          stack up on boards/emulated_w5500.py, i.e. the real
                          tcpip.nic.w5500 driver talking SPI to the register-level
                          chip in tools/emu/w5500_emu.py, whose wire is --wire
    --wire tap|packet     the emulated chip's wire (--nic w5500 only); default:
                          tap under CPython, packet under MicroPython
    --if NAME             default: tap0 for tap, vb for packet
    --ip A.B.C.D          default 192.0.2.2
    --prefix N            default 24
    --gateway A.B.C.D     default 192.0.2.1
    --mac 02:00:00:00:00:02
    --serve LIST          services to start: echo, discard, chargen, udpecho (tools/vboard/services.py), http
                          and http (tools/vboard/httpstatus.py: status page on port 80), https (the
                          same page over TLS on port 443; needs --tls-cert and --tls-key)
    --tls-cert FILE       --serve https: the server certificate (PEM or DER)
    --tls-key FILE        --serve https: its private key (PEM or DER)
    --dhcp 1              configure the interface by DHCP (RFC 2131) instead of
                          --ip/--prefix/--gateway; prints ``bound IP`` once leased
    --stack MODULE        module with a Stack(config, nic) class (default tcpip.stack)
    --run SCRIPT          after ``ready``, run SCRIPT here with ``net`` bound to the
                          running interface (``tcpip.HostNet``, or netboot's ``Net``
                          with --nic w5500) and ``tcpip.socket`` on its stack: its
                          output as it prints it, a traceback as ``run-err: LINE``
                          lines, then ``run-status N`` (0: finished, 1: raised,
                          or its ``sys.exit`` code); then the loop below

Prints ``ready`` once the NIC is attached and the stack built (and, with --dhcp,
bound), then loops:
``stack.poll(now)``, runs the services, then waits on the NIC's file
descriptor for at most min(the ms poll returned, 50) -- not at all when the
services' own socket calls took in frames.  SIGINT (KeyboardInterrupt) prints one line
``{"stats": {...}}`` and exits 0.  With ``--nic w5500`` the stats also hold
the driver's counters as ``nic_<name>`` (``nic_spi_bytes``, ``nic_rx_frames``,
...) and the chip's as ``chip_<name>``.
"""

import sys
import select

try:
    import json
except ImportError:  # pragma: no cover
    import ujson as json

from tcpip.compat import ticks_ms
from tcpip.config import Config

_MAX_WAIT_MS = 50


def _is_micropython():
    return sys.implementation.name == "micropython"


def _parse_mac(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError("mac must look like 02:00:00:00:00:02, got %r" % text)
    return bytes([int(p, 16) for p in parts])


def _parse_args(argv):
    opts = {
        "nic": "packet" if _is_micropython() else "tap",
        "if": None,
        "ip": "192.0.2.2",
        "prefix": "24",
        "gateway": "192.0.2.1",
        "mac": "02:00:00:00:00:02",
        "serve": "",
        "dhcp": "0",
        "stack": "tcpip.stack",
        "wire": None,
        "tls-cert": None,
        "tls-key": None,
        "run": None,
    }
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--") or a[2:] not in opts or i + 1 >= len(argv):
            raise ValueError("bad argument %r (see the docstring of tools/vboard/vboard_run.py)" % a)
        opts[a[2:]] = argv[i + 1]
        i += 2
    if opts["nic"] not in ("tap", "packet", "w5500"):
        raise ValueError("--nic must be tap, packet or w5500")
    if opts["wire"] is None:
        opts["wire"] = opts["nic"] if opts["nic"] != "w5500" else (
            "packet" if _is_micropython() else "tap")
    if opts["wire"] not in ("tap", "packet"):
        raise ValueError("--wire must be tap or packet")
    if opts["if"] is None:
        opts["if"] = "tap0" if opts["wire"] == "tap" else "vb"
    if opts["run"] and opts["serve"]:
        raise ValueError("--run and --serve together are not supported")
    return opts


def _say(line):
    print(line)
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def make_nic(opts):
    mac = _parse_mac(opts["mac"])
    if opts["wire"] == "tap":
        from tcpip.nic.tap import TapNIC
        return TapNIC(opts["if"], mac=mac)
    from tcpip.nic.packet import PacketNIC
    return PacketNIC(opts["if"], mac=mac)


def make_stack(opts, nic):
    mod = __import__(opts["stack"], None, None, ["Stack"])
    if opts["dhcp"] != "0":
        cfg = Config(mac=nic.mac, ip="0.0.0.0", prefix=0, gateway="0.0.0.0")
    else:
        cfg = Config(mac=nic.mac, ip=opts["ip"], prefix=int(opts["prefix"]), gateway=opts["gateway"])
    return mod.Stack(cfg, nic)


DHCP_WAIT_MS = 12000


class EmulatedW5500Board:
    """``--nic w5500``: the firmware path of a board on this PC.

    ``firmware/netboot.py`` brings tcpip up exactly as ``main.py`` does on a
    board, with ``boards/emulated_w5500.py`` as the board module: the
    ``tcpip.nic.w5500`` driver resets the chip over SPI, checks VERSIONR, opens
    socket 0 in MACRAW, and the Stack runs on it.  The chip
    (``tools/emu/w5500_emu.py``) takes frames from ``wire`` (TAP or packet socket)
    at the start of every SPI frame and sends what the driver SENDs to it.
    ``fileno()`` is the wire's, so the runner sleeps until a frame arrives."""

    def __init__(self, opts):
        for d in ("/firmware", "/boards", "/tools"):
            d = _ROOT + d
            if d not in sys.path:
                sys.path.append(d)
        import toolpath  # the board module imports w5500_emu (tools/emu)
        toolpath.add(_ROOT)
        import netboot
        import emulated_w5500 as board

        self.wire = make_nic(opts)  # every frame on the wire; the chip filters by SHAR
        board.WIRE = self.wire
        settings = dict(netboot.DEFAULTS)
        settings.update({"dhcp": opts["dhcp"] != "0", "dhcp_timeout_ms": DHCP_WAIT_MS,
                         "ip": opts["ip"], "prefix": int(opts["prefix"]),
                         "gateway": opts["gateway"], "mac": opts["mac"]})
        self.net = netboot.bring_up(board, settings)
        self.chip = board.CHIP
        self.chip.wire_frames_per_select = 4
        self.stack = self.net.stack
        self.nic = self.net.nic

    def fileno(self):
        return self.wire.fileno()

    def pending(self):
        """True when a frame waits in the chip (INTn asserted)."""
        return self.nic.pending()

    def stats(self):
        """Driver counters as nic_<name>, chip counters as chip_<name>."""
        d = {}
        for k, v in self.nic.stats().items():
            d["nic_" + k] = v
        for k, v in self.chip.stats().items():
            d["chip_" + k] = v
        return d


def _root():
    """The repository: two folders above this file, tools/vboard/ (no os.path on MicroPython)."""
    i = __file__.rfind("/")
    return (__file__[:i] if i > 0 else ".") + "/../.."


_ROOT = _root()


def wait_dhcp(stack, nic):
    """Poll until the DHCP client is bound; the leased address, or None."""
    from tcpip.compat import ticks_diff
    from tcpip.wire.ipv4 import ntoa
    client = stack.start_dhcp(ticks_ms())
    poller = select.poll()
    poller.register(nic.fileno(), select.POLLIN)
    t0 = ticks_ms()
    while client.state != "bound":
        if ticks_diff(ticks_ms(), t0) > DHCP_WAIT_MS:
            return None
        w = stack.poll(ticks_ms())
        poller.poll(w if 0 < w < _MAX_WAIT_MS else (0 if w <= 0 else _MAX_WAIT_MS))
    return ntoa(stack.iface.ip)


def start_services(stack, names, opts=None):
    """Objects with run() for the --serve names (services.py and httpstatus.py)."""
    out = []
    tcp_names = [n for n in names if n != "http" and n != "https"]
    if tcp_names:
        import services
        out.append(services.start(stack, tcp_names))
    if "http" in names:
        import httpstatus
        out.append(httpstatus.StatusServer(stack, 80))
    if "https" in names:
        import httpstatus
        from tcpip import tls
        ctx = tls.server_context(opts["tls-cert"], opts["tls-key"])
        out.append(httpstatus.HttpsStatusServer(stack, ctx, 443))
    return out


def run(stack, nic, servers=()):
    """Poll (and run the servers) until KeyboardInterrupt; never returns otherwise."""
    poller = select.poll()
    poller.register(nic.fileno(), select.POLLIN)
    # ipoll (MicroPython) reuses one result tuple: nothing allocated per wait.
    wait = poller.ipoll if hasattr(poller, "ipoll") else poller.poll
    # A NIC with its own frame store (the emulated W5500 pulls frames off the
    # wire during any SPI access) says whether a frame already waits in it, as
    # INTn does on a board: then the wire's fd would sleep through it.
    pending = getattr(nic, "pending", None)
    counters = stack.counters
    while True:
        delay_ms = stack.poll(ticks_ms())
        rx = counters.get("rx_frames")
        for srv in servers:
            srv.run()
        if counters.get("rx_frames") != rx:
            # A socket call inside a service polled the stack (a non-blocking
            # accept or read, close) and took in frames -- the next request,
            # often -- that the services have not looked at yet; the NIC's fd
            # no longer says so, and sleeping on it would leave the request
            # waiting for the next frame or the 50 ms cap.
            delay_ms = 0
        if delay_ms is None or delay_ms > _MAX_WAIT_MS:
            delay_ms = _MAX_WAIT_MS
        if delay_ms > 0 and pending is not None and pending():
            delay_ms = 0
        if delay_ms > 0:
            for _ in wait(delay_ms):
                break


def _traceback_lines(e):
    if _is_micropython():
        import io
        buf = io.StringIO()
        sys.print_exception(e, buf)
        return buf.getvalue().splitlines()
    import traceback
    return "".join(traceback.format_exception(type(e), e, e.__traceback__)).splitlines()


def run_script(path, net):
    """--run: SCRIPT as ``__main__`` with ``net`` in its globals; its status."""
    try:
        with open(path) as f:
            src = f.read()
    except OSError as e:
        _say("run-err: %s" % e)
        return 2
    status = 0
    try:
        exec(compile(src, path, "exec"), {"__name__": "__main__", "net": net})
    except SystemExit as e:
        code = e.args[0] if e.args else None
        if code is None or isinstance(code, int):
            status = code or 0
        else:
            _say("run-err: %s" % (code,))
            status = 1
    except Exception as e:  # the script's own error: reported, not ours
        for line in _traceback_lines(e):
            _say("run-err: " + line)
        status = 1
    try:
        sys.stdout.flush()
    except AttributeError:
        pass
    return status


def main(argv):
    try:
        opts = _parse_args(argv)
    except ValueError as e:
        print("vboard_run: %s" % e)
        return 2
    board = None
    try:
        if opts["nic"] == "w5500":
            board = EmulatedW5500Board(opts)
            nic, stack = board, board.stack
        else:
            nic = make_nic(opts)
    except OSError as e:
        print("vboard_run: %s" % e)
        return 2
    if board is None:
        stack = make_stack(opts, nic)
    try:
        import tcpip.socket
        tcpip.socket.set_stack(stack)
    except ImportError:  # a --stack module without the socket layer
        pass
    if board is not None and opts["dhcp"] != "0":
        if board.net.how != "dhcp":  # netboot fell back to the static address
            print("vboard_run: no DHCP lease within %d ms" % DHCP_WAIT_MS)
            return 1
        _say("bound %s" % board.net.ifconfig()[0])
    elif opts["dhcp"] != "0":
        ip = wait_dhcp(stack, nic)
        if ip is None:
            print("vboard_run: no DHCP lease within %d ms" % DHCP_WAIT_MS)
            return 1
        _say("bound %s" % ip)
    names = [n.strip() for n in opts["serve"].split(",") if n.strip()]
    servers = start_services(stack, names, opts) if names else []
    _say("ready")
    if opts["run"]:
        if board is not None:
            net = board.net
        else:
            from tcpip import HostNet
            net = HostNet(stack, nic, "dhcp" if opts["dhcp"] != "0" else "static")
        _say("run-status %d" % run_script(opts["run"], net))
    try:
        run(stack, nic, servers)
    except KeyboardInterrupt:
        pass
    stats = stack.stats()
    stats["nic_tx_dropped"] = getattr(nic, "tx_dropped", 0)
    if board is not None:
        stats.update(board.stats())
    _say(json.dumps({"stats": stats}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
