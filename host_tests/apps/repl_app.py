"""The REPL tools on a live stack: ping, netstat, ifconfig, stats, trace (+ pcap).
Portable.  Needs kernel_servers.py in the namespace.

    <runtime> repl_app.py tap tap0 | packet vb PCAP_PATH

Prints the tools' own output between marker lines ``=== NAME`` and one JSON
line {"event": "done", ...} with what they returned.
"""
import sys

import tcpip
import apphelp

stack = apphelp.make_stack(sys.argv[1:3], tcp_sockets=6)
pcap_path = sys.argv[3]
apphelp.pump(stack, 200)
out = {}

print("=== ping")
r = tcpip.ping("192.0.2.1", count=3, interval_ms=100)
out["ping"] = r

print("=== trace")
tcpip.trace(True, pcap=pcap_path)
s = tcpip.socket()
s.settimeout(5)
s.connect(("192.0.2.1", 7001))
s.send(b"traced\n")
echo = s.readline()
s.close()
apphelp.pump(stack, 300)
tcpip.trace(False)
out["echo"] = echo.decode()

print("=== netstat")
ls = tcpip.socket()
ls.bind(("", 8000))
ls.listen(2)
a = tcpip.socket()
a.settimeout(5)
a.connect(("192.0.2.1", 7001))
a.send(b"x" * 100)  # echoed back and left unread: Recv-Q
b = tcpip.socket()
b.settimeout(5)
b.connect(("192.0.2.1", 7003))  # a peer with a 4 KB window that never reads: Send-Q
b.setblocking(False)
sent_b = 0
stuck = 0
for _ in range(200):  # until the peer's buffer is full: 5 refusals in a row
    try:
        sent_b += b.send(b"y" * 1000)
        stuck = 0
    except OSError as e:
        if e.args[0] != 11:
            raise
        stuck += 1
        if stuck >= 5:
            break
    apphelp.pump(stack, 50)
out["sent_b"] = sent_b
rows = tcpip.netstat()
out["netstat"] = [list(r) for r in rows]

print("=== ifconfig")
before = tcpip.ifconfig()
print(before)
tcpip.ifconfig(("192.0.2.2", "255.255.255.0", "192.0.2.1", "192.0.2.53"))
out["ifconfig"] = [list(before), list(tcpip.ifconfig())]
print(tcpip.ifconfig())

print("=== stats")
st = tcpip.stats()
out["stats_keys"] = len(st)
a.close()
b.close()
ls.close()
print("=== end")
out["event"] = "done"
apphelp.say(out)
