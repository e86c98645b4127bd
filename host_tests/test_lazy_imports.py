"""What importing tcpip loads, under CPython and the MicroPython unix port: the
package, a wire/ parser and a chip driver load without the stack's layers; building a Stack
loads the layers the poll path uses and not the DNS resolver, DHCP client,
REPL tools, tracer or echo reply (tcpip.wire.echo), which load on first use;
there is one registry of the current stack (tcpip.stack.current), which
tcpip.socket.set_stack sets."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
MP32 = os.path.join(ROOT, ".build", "mp32", "micropython")  # make mp32
PATH = os.pathsep.join([os.path.join(ROOT, "lib"), os.path.join(ROOT, "tools", "common")])  # + nullnic

PROBE = r"""
import sys, json
def loaded():
    return sorted(m for m in sys.modules if m.startswith('tcpip'))
out = {}
from tcpip.wire import ipv4
out['wire'] = loaded()
import tcpip
out['package'] = loaded()
from tcpip.nic.w5500 import W5500
out['driver'] = loaded()
from nullnic import NullNIC
st = tcpip.Stack(tcpip.Config(ip='192.0.2.2', prefix=24, dns=['192.0.2.1']), NullNIC())
out['stack'] = loaded()
# an ICMP echo request from 192.0.2.1, handed to the interface as the NIC would
from tcpip.wire import ethernet, icmp
rx = st.iface.rx
icmp.emit_echo(rx, 34, icmp.ECHO_REQUEST, 1, 1, 8)
ipv4.emit(rx, 14, ipv4.aton('192.0.2.1'), ipv4.aton('192.0.2.2'), ipv4.PROTO_ICMP, 16)
ethernet.emit(rx, st.iface.mac, b'\x02\x00\x00\x00\x00\x01', ethernet.TYPE_IPV4)
sent = st.nic.sent
st.iface.input(50, 0)
out['echo_replied'] = st.nic.sent - sent
out['echo'] = loaded()
import tcpip.stack
out['current_is_built'] = tcpip.stack.current() is st and tcpip.current() is st
other = tcpip.Stack(tcpip.Config(), NullNIC())
tcpip.socket.set_stack(st)
out['set_stack_sets_current'] = tcpip.stack.current() is st and tcpip.socket.get_stack() is st
r = st.dns
out['dns_once'] = r is st.dns and r in st.transports and st.transports.count(r) == 1
out['dns'] = loaded()
st.dns.start('board.test', 0)
out['dns_query_sent'] = st.dns.queries_tx
c = st.start_dhcp(0)
out['dhcp_state'] = c.state
tcpip.stack.set_current(None)
try:
    tcpip.socket.get_stack()
    out['no_stack'] = None
except OSError as e:
    out['no_stack'] = e.args[0]
print(json.dumps(out))
"""


def _run(cmd, env):
    p = subprocess.run(cmd + ["-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("runtime", ["cpython", "micropython", "micropython32"])
def test_imports_load_what_is_used(runtime):
    env = dict(os.environ)
    if runtime.startswith("micropython"):
        binary = MP32 if runtime == "micropython32" else MICROPYTHON
        if not os.path.exists(binary):
            pytest.skip("%s not built (make %s)" % (binary, "mp32" if binary == MP32 else "setup"))
        env["MICROPYPATH"] = PATH
        cmd = [binary]
    else:
        env["PYTHONPATH"] = PATH
        cmd = [sys.executable]
    out = _run(cmd, env)
    layers = {"tcpip.stack", "tcpip.iface", "tcpip.tcp", "tcpip.udp", "tcpip.ring"}
    later = {"tcpip.dns", "tcpip.wire.dns", "tcpip.dhcp", "tcpip.wire.dhcp", "tcpip.repl",
             "tcpip.tracer", "tcpip.aio", "tcpip.tls", "tcpip.wire.echo", "tcpip.wire.echo_fast"}
    # a wire/ parser and the package load without the layers
    assert not layers & set(out["wire"]), out["wire"]
    assert not (layers | later) & set(out["package"]), out["package"]
    assert not (layers | later) & set(out["driver"]), out["driver"]
    assert "tcpip.nic.w5500" in out["driver"] and "tcpip.nic.w5100s" not in out["driver"]
    # a Stack loads the layers, not what loads on first use
    assert layers <= set(out["stack"]), out["stack"]
    assert not later & set(out["stack"]), out["stack"]
    # the echo reply's module at the first echo request, and only it
    assert out["echo_replied"] == 1
    assert set(out["echo"]) - set(out["stack"]) == {"tcpip.wire.echo"}, out["echo"]
    assert "tcpip.dns" in out["dns"] and "tcpip.dhcp" not in out["dns"]
    assert out["dns_once"] and out["dns_query_sent"] == 1
    assert out["dhcp_state"] != "stopped"
    # one registry: the last built, or the one set_stack named
    assert out["current_is_built"] and out["set_stack_sets_current"]
    assert out["no_stack"] == 107  # ENOTCONN
