"""Kernel-side peers for the socket API tests (CPython, run inside the test namespace).

    python kernel_servers.py SECONDS

Listens on 192.0.2.1 and prints ``ready`` once every service is up; exits after
SECONDS.  Services:

    tcp 7001  echo (until the client closes)
    tcp 7002  reset: read one line, then close with SO_LINGER 0 (a RST)
    tcp 7003  silent: accept, read nothing, send nothing, hold for 20 s
    tcp 7004  greet: send b"hello\\n" and close (FIN)
    udp 7005  echo (also answers datagrams sent to the broadcast address)
    tcp 7006  control: one line per request, one JSON line answer:
              "connect PORT N"  N kernel clients connect to 192.0.2.2:PORT at once,
                                each sends b"ping I\\n" and reads a line back
              "udpburst PORT N" N datagrams to 192.0.2.2:PORT (closed), count the
                                ECONNREFUSED the kernel reports (ICMP port unreachable)
    tcp 7007  bulk: read a decimal count line, send that many bytes (i % 251)
"""
import json
import socket
import struct
import sys
import threading
import time

STACK = "192.0.2.2"
HOLD = []


def serve_tcp(port, handler, rcvbuf=0):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:  # a small window, so the stack's sends fill up quickly
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    ls.bind(("192.0.2.1", port))
    ls.listen(16)

    def loop():
        while True:
            c, _ = ls.accept()
            c.settimeout(30)
            threading.Thread(target=_guard, args=(handler, c), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def _guard(handler, c):
    try:
        handler(c)
    except OSError:
        pass


def echo(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()


def reset(c):
    f = c.makefile("rb")
    f.readline()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def silent(c):
    HOLD.append(c)
    time.sleep(20)


def greet(c):
    c.sendall(b"hello\n")
    c.close()


def bulk(c):
    f = c.makefile("rb")
    n = int(f.readline())
    pat = bytes(i % 251 for i in range(251)) * 40
    sent = 0
    while sent < n:
        k = min(n - sent, len(pat) - (sent % 251) - 1)
        o = sent % 251
        c.sendall(pat[o:o + k])
        sent += k
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()


def connect_clients(port, n):
    socks = []
    errors = []
    for i in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.setblocking(False)
        try:
            s.connect((STACK, port))
        except BlockingIOError:
            pass
        socks.append(s)
    ok = 0
    for i, s in enumerate(socks):
        try:
            s.settimeout(10)
            # wait for the connect to complete
            deadline = time.monotonic() + 10
            while True:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                try:
                    s.getpeername()
                    break
                except OSError:
                    if err or time.monotonic() > deadline:
                        raise OSError(err, "connect failed")
                    time.sleep(0.01)
            s.sendall(b"ping %d\n" % i)
            line = s.makefile("rb").readline()
            if line == b"ping %d\n" % i:
                ok += 1
            else:
                errors.append(repr(line))
        except OSError as e:
            errors.append(str(e))
    for s in socks:
        s.close()
    return {"ok": ok, "errors": errors}


def udpburst(port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((STACK, port))
    s.settimeout(0.01)
    refused = 0
    for i in range(n):
        try:
            s.send(b"x%d" % i)
        except ConnectionRefusedError:
            refused += 1
        try:
            s.recv(100)
        except ConnectionRefusedError:
            refused += 1
        except socket.timeout:
            pass
    s.close()
    return {"refused": refused}


def control(c):
    f = c.makefile("rb")
    while True:
        line = f.readline()
        if not line:
            break
        w = line.split()
        if w[0] == b"connect":
            r = connect_clients(int(w[1]), int(w[2]))
        elif w[0] == b"udpburst":
            r = udpburst(int(w[1]), int(w[2]))
        else:
            r = {"error": "unknown"}
        c.sendall(json.dumps(r).encode() + b"\n")
    c.close()


def udp_echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    u.bind(("", 7005))
    while True:
        d, a = u.recvfrom(2048)
        u.sendto(d, a)


def main(seconds):
    serve_tcp(7001, echo)
    serve_tcp(7002, reset)
    serve_tcp(7003, silent, rcvbuf=4096)
    serve_tcp(7004, greet)
    serve_tcp(7006, control)
    serve_tcp(7007, bulk)
    threading.Thread(target=udp_echo, daemon=True).start()
    print("ready", flush=True)
    time.sleep(seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]))
