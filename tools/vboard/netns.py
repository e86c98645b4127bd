"""Network namespaces with a wire for the stack: a TAP or a veth pair (CPython, root).

Inside namespace NAME the Linux kernel is the stack's peer at 192.0.2.1/24
(TEST-NET-1, RFC 5737); nothing is routed out of the namespace.

``tap``  -- ``tap0`` made with ``ip tuntap add``; the stack process (CPython,
            nic/tap.py) attaches to it by name from inside the namespace.
``veth`` -- kernel end ``vk`` (with the address) and board end ``vb`` (no address,
            ARP off so the kernel never answers on it); the stack opens a raw
            packet socket on ``vb`` (nic/packet.py, MicroPython or CPython).
            Checksum offload is off on ``vk`` so the kernel puts full checksums in
            every frame it sends (a veth otherwise passes CHECKSUM_PARTIAL frames
            whose TCP/UDP checksum field is not filled in).

IPv6 is disabled in the namespace, so the kernel sends no router solicitations
or neighbour discovery: the only frames on the wire are the ones a test causes.

As a library::

    ns = netns.Namespace("tcpip-demo", mode="veth").create()
    try:
        ns.run(["ping", "-c", "1", "192.0.2.2"])
    finally:
        ns.destroy()

As a command::

    python tools/vboard/netns.py create NAME [--mode tap|veth]
    python tools/vboard/netns.py destroy NAME
    python tools/vboard/netns.py list
"""

import os
import signal
import subprocess
import sys


def interruptible_children():
    """Make sure the processes we start can be stopped with SIGINT.

    A shell that starts a job in the background without job control (``cmd &``
    in a script, some CI runners) gives it SIGINT ignored, and an ignored signal
    stays ignored across exec: every board, bridge and agent the harness later
    stops with SIGINT would ignore it and be killed at the timeout instead.  A
    Python handler is reset to the default on exec, so installing one here
    gives every child SIGINT back.  Called when this module is imported (all
    harness entry points import it)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


interruptible_children()

KERNEL_IP = "192.0.2.1"
STACK_IP = "192.0.2.2"
PREFIX = 24
TAP_IF = "tap0"
VETH_KERNEL_IF = "vk"
VETH_BOARD_IF = "vb"


class NetnsError(Exception):
    """A namespace could not be made or used; the message says why."""


def preflight(need_tun=True):
    """None when namespaces can be made here, else a one-line reason."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "needs root (network namespaces, TAP and raw sockets); run with sudo"
    if need_tun and not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun (load the tun module: modprobe tun)"
    if not _which("ip"):
        return "the 'ip' command is missing (apt-get install iproute2, or make setup)"
    return None


def _which(cmd):
    for d in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":") + ["/usr/sbin", "/sbin"]:
        p = os.path.join(d, cmd)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def _run(argv, check=True, timeout=20):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise NetnsError("%s failed (exit %d): %s" % (" ".join(argv), p.returncode,
                                                      (p.stderr or p.stdout).strip()))
    return p


def exists(name):
    """True when namespace ``name`` exists."""
    return os.path.exists("/run/netns/" + name) or os.path.exists("/var/run/netns/" + name)


def list_namespaces():
    p = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def destroy(name):
    """Delete namespace ``name`` and every interface in it; no error when absent."""
    if not exists(name):
        return
    # Deleting the namespace removes vk/vb and tap0 with it (the kernel frees a
    # namespace's devices when its last user goes; a stack process still inside
    # keeps them until it exits, so stop it first).
    p = _run(["ip", "netns", "del", name], check=False)
    if p.returncode != 0 and exists(name):
        raise NetnsError("ip netns del %s failed: %s" % (name, p.stderr.strip()))


class Namespace:
    """One namespace with the kernel at ``kernel_ip`` on a TAP or veth wire."""

    def __init__(self, name, mode="tap", kernel_ip=KERNEL_IP, prefix=PREFIX):
        if mode not in ("tap", "veth"):
            raise ValueError("mode must be 'tap' or 'veth', got %r" % mode)
        if not name or "/" in name or len(name) > 64:
            raise ValueError("bad namespace name %r" % name)
        self.name = name
        self.mode = mode
        self.kernel_ip = kernel_ip
        self.prefix = prefix
        if mode == "tap":
            self.kernel_if = TAP_IF
            self.board_if = TAP_IF  # the stack attaches to the same device by name
        else:
            self.kernel_if = VETH_KERNEL_IF
            self.board_if = VETH_BOARD_IF
        self.created = False

    # --- making and removing -------------------------------------------------

    def create(self):
        """Make the namespace and its wire; removes what it made if a step fails."""
        if exists(self.name):
            raise NetnsError("network namespace %r already exists (delete it with: "
                             "ip netns del %s)" % (self.name, self.name))
        _run(["ip", "netns", "add", self.name])
        self.created = True
        try:
            self._setup()
        except BaseException:
            self.destroy()
            raise
        return self

    def _setup(self):
        n = self.name
        # IPv6 off before any device exists: no RS, DAD or MLD frames on the wire.
        for leaf in ("all", "default"):
            self._sysctl("net/ipv6/conf/%s/disable_ipv6" % leaf, "1")
        self.ip("link", "set", "lo", "up")
        if self.mode == "tap":
            self.ip("tuntap", "add", "dev", TAP_IF, "mode", "tap")
        else:
            self.ip("link", "add", VETH_KERNEL_IF, "type", "veth", "peer", "name", VETH_BOARD_IF)
            self._sysctl("net/ipv6/conf/%s/disable_ipv6" % VETH_BOARD_IF, "1")
            # The kernel must neither answer ARP on the board end nor hold offloaded
            # (partial-checksum) frames for it.
            self.ip("link", "set", VETH_BOARD_IF, "arp", "off")
            self.ethtool("-K", VETH_KERNEL_IF, "tx", "off", "rx", "off")
            self.ethtool("-K", VETH_BOARD_IF, "tx", "off", "rx", "off")
        self._sysctl("net/ipv6/conf/%s/disable_ipv6" % self.kernel_if, "1")
        self.ip("addr", "add", "%s/%d" % (self.kernel_ip, self.prefix), "dev", self.kernel_if)
        self.ip("link", "set", self.kernel_if, "up")
        if self.mode == "veth":
            self.ip("link", "set", VETH_BOARD_IF, "up")

    def destroy(self):
        """Delete the namespace (idempotent)."""
        destroy(self.name)
        self.created = False

    def __enter__(self):
        return self.create()

    def __exit__(self, *exc):
        self.destroy()
        return False

    # --- running things inside -----------------------------------------------

    def argv(self, argv):
        """``argv`` wrapped to run inside the namespace."""
        return ["ip", "netns", "exec", self.name] + list(argv)

    def run(self, argv, check=False, timeout=60):
        """Run ``argv`` inside the namespace; CompletedProcess with text output."""
        p = subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise NetnsError("%s failed (exit %d): %s" % (" ".join(argv), p.returncode,
                                                          (p.stderr or p.stdout).strip()))
        return p

    def ip(self, *args):
        return _run(["ip", "-n", self.name] + list(args))

    def ethtool(self, *args):
        if not _which("ethtool"):
            raise NetnsError("ethtool is missing (apt-get install ethtool, or make setup)")
        return self.run(["ethtool"] + list(args), check=True)

    def _sysctl(self, key, value):
        # /proc/sys/net shows the namespace of the process that opens it.
        path = "/proc/sys/" + key
        p = self.run(["sh", "-c", "[ ! -e %s ] || echo %s > %s" % (path, value, path)])
        if p.returncode != 0:
            raise NetnsError("cannot set %s=%s in %s: %s" % (key, value, self.name, p.stderr.strip()))

    def neighbour(self, ip, dev=None):
        """The kernel's neighbour entry for ``ip``: (lladdr or None, state words)."""
        p = self.run(["ip", "neigh", "show", ip, "dev", dev or self.kernel_if])
        for line in p.stdout.splitlines():
            words = line.split()
            if words and words[0] == ip:
                mac = words[words.index("lladdr") + 1] if "lladdr" in words else None
                return mac, words
        return None, []

    def interface_mac(self, ifname=None):
        p = self.run(["cat", "/sys/class/net/%s/address" % (ifname or self.kernel_if)], check=True)
        return p.stdout.strip()


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(description="Make or remove a namespace with a wire for tcpip.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create", help="create NAME with the kernel at 192.0.2.1/24")
    c.add_argument("name")
    c.add_argument("--mode", choices=("tap", "veth"), default="tap")
    c.add_argument("--kernel-ip", default=KERNEL_IP)
    c.add_argument("--prefix", type=int, default=PREFIX)
    d = sub.add_parser("destroy", help="delete NAME and its interfaces")
    d.add_argument("name")
    sub.add_parser("list", help="list namespaces")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        print("\n".join(list_namespaces()))
        return 0
    why = preflight(need_tun=(a.cmd == "create" and a.mode == "tap"))
    if why:
        print("netns: " + why, file=sys.stderr)
        return 2
    try:
        if a.cmd == "create":
            ns = Namespace(a.name, a.mode, a.kernel_ip, a.prefix).create()
            print("created %s: kernel %s/%d on %s, stack attaches to %s"
                  % (ns.name, ns.kernel_ip, ns.prefix, ns.kernel_if, ns.board_if))
        else:
            destroy(a.name)
    except NetnsError as e:
        print("netns: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
