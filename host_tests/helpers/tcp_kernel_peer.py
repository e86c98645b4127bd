"""The Linux kernel's side of the TCP interop tests (CPython, run inside the namespace).

    python host_tests/helpers/tcp_kernel_peer.py MODE [args]  ->  one JSON line on stdout

Modes (the stack is 192.0.2.2, the kernel 192.0.2.1):
  sink PORT                 accept one connection, read to EOF, report bytes + SHA-256
  source PORT NBYTES        accept one connection, send NBYTES (i % 251 pattern), close
  echo NBYTES               connect to the stack's echo (7), send and read back concurrently
  chargen NBYTES            connect to chargen (19), read NBYTES, close
  discard NBYTES            connect to discard (9), send NBYTES, close, wait for its FIN
  rst                       connect to chargen, read a little, close with SO_LINGER 0 (RST)
  many COUNT                COUNT connections in a row to echo: send 32 bytes, read back, close
  resets COUNT              COUNT echo connections ended with SO_LINGER 0 (RST), then one normal echo
  hold PORT SECONDS         connect to PORT and keep the connection open SECONDS (for ss)
  unreach IP PORT           connect to IP:PORT (an address nobody has): the errno and the time
  seqconn COUNT             COUNT times connect() to echo and close() at once: the time of each
  burst COUNT KEEP          COUNT clients connect to echo at once, send 16 bytes and wait for the
                            echo or an error (10 s at most); KEEP 1: every connection stays open
                            until all have their answer.  Outcome and time per client
"""
import hashlib
import json
import socket
import struct
import sys
import threading
import time

STACK = "192.0.2.2"
ME = "192.0.2.1"


def pattern(n, start=0):
    base = bytes(i % 251 for i in range(251)) * ((65536 // 251) + 2)
    out = bytearray()
    off = start
    while len(out) < n:
        k = min(65536, n - len(out))
        o = off % 251
        out += base[o:o + k]
        off += k
    return bytes(out)


def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ME, port))
    s.listen(4)
    s.settimeout(60)
    print(json.dumps({"listening": port}), flush=True)
    return s


def echo_once(msg, timeout=10):
    """Connect to the stack's echo, send ``msg`` and read until as many bytes came
    back or the stack closed: (the open socket, what came back)."""
    c = socket.create_connection((STACK, 7), timeout=timeout)
    c.settimeout(timeout)
    c.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = c.recv(100)
        if not b:
            break
        got += b
    return c, got


def main(argv):
    mode = argv[0]
    t0 = time.monotonic()
    r = {"mode": mode}
    if mode == "sink":
        ls = listen(int(argv[1]))
        c, _ = ls.accept()
        c.settimeout(120)
        h = hashlib.sha256()
        n = 0
        t0 = time.monotonic()
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        r.update(bytes=n, sha=h.hexdigest())
        c.close()
    elif mode == "source":
        ls = listen(int(argv[1]))
        n = int(argv[2])
        c, _ = ls.accept()
        c.settimeout(120)
        data = pattern(n)
        t0 = time.monotonic()
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        rest = c.recv(10)  # wait for the stack's FIN
        r.update(bytes=n, sha=hashlib.sha256(data).hexdigest(), after=len(rest))
        c.close()
    elif mode == "echo":
        n = int(argv[1])
        c = socket.create_connection((STACK, 7), timeout=30)
        c.settimeout(120)
        data = pattern(n, 3)
        got = bytearray()

        def reader():
            while True:
                b = c.recv(65536)
                if not b:
                    break
                got.extend(b)
        th = threading.Thread(target=reader)
        th.start()
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        th.join(180)
        c.close()
        r.update(sent=n, received=len(got), sha_sent=hashlib.sha256(data).hexdigest(),
                 sha_received=hashlib.sha256(bytes(got)).hexdigest())
    elif mode == "chargen":
        n = int(argv[1])
        c = socket.create_connection((STACK, 19), timeout=30)
        c.settimeout(60)
        h = hashlib.sha256()
        got = 0
        first = b""
        while got < n:
            b = c.recv(min(65536, n - got))
            if not b:
                break
            if len(first) < 148:
                first += b[:148 - len(first)]
            h.update(b)
            got += len(b)
        c.close()
        r.update(received=got, sha=h.hexdigest(), first=first.decode("latin-1"))
    elif mode == "discard":
        n = int(argv[1])
        c = socket.create_connection((STACK, 9), timeout=30)
        c.settimeout(120)
        data = pattern(n)
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        rest = c.recv(10)  # the stack's FIN after it read everything
        c.close()
        r.update(sent=n, after=len(rest), sha=hashlib.sha256(data).hexdigest())
    elif mode == "rst":
        c = socket.create_connection((STACK, 19), timeout=30)
        c.settimeout(30)
        b = c.recv(1000)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        r.update(received=len(b))
    elif mode == "many":
        count = int(argv[1])
        ok = 0
        for i in range(count):
            msg = b"connection %05d ............" % i
            c, got = echo_once(msg)
            c.close()
            if got == msg:
                ok += 1
        r.update(count=count, ok=ok)
    elif mode == "resets":
        count = int(argv[1])
        ok = 0
        for i in range(count + 1):
            msg = b"reset %05d" % i
            c, got = echo_once(msg)
            if got == msg:
                ok += 1
            if i < count:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                time.sleep(0.05)  # the server is waiting for more, not closing
            c.close()
        r.update(count=count, ok=ok)
    elif mode == "unreach":
        c = socket.socket()
        c.settimeout(120)
        try:
            c.connect((argv[1], int(argv[2])))
            err = 0
        except OSError as e:
            err = e.errno or -1
        c.close()
        r.update(errno=err)
    elif mode == "seqconn":
        count = int(argv[1])
        times = []
        errors = {}
        for i in range(count):
            t = time.monotonic()
            try:
                c = socket.create_connection((STACK, 7), timeout=10)
                c.close()
            except OSError as e:
                k = str(e.errno)
                errors[k] = errors.get(k, 0) + 1
            times.append(time.monotonic() - t)
        r.update(count=count, ok=count - sum(errors.values()), errors=errors, max_s=max(times),
                 stalls=len([t for t in times if t > 0.5]))
    elif mode == "burst":
        count = int(argv[1])
        keep = argv[2] == "1"
        go = threading.Barrier(count)
        answered = threading.Semaphore(0)
        all_answered = threading.Event()
        res = [None] * count

        def client(i):
            go.wait()
            t = time.monotonic()
            c = None
            try:
                msg = b"client %09d" % i
                c, got = echo_once(msg)
                out = "served" if got == msg else "eof"
            except socket.timeout:
                out = "timeout"
            except OSError as e:
                out = {111: "refused", 104: "reset"}.get(e.errno, "errno%s" % e.errno)
            res[i] = (out, time.monotonic() - t)
            answered.release()
            if keep and c is not None:
                all_answered.wait(60)
            if c is not None:
                c.close()

        ths = [threading.Thread(target=client, args=(i,)) for i in range(count)]
        for th in ths:
            th.start()
        for _ in range(count):
            answered.acquire(timeout=60)
        all_answered.set()
        for th in ths:
            th.join(60)
        outcomes = {}
        for o, _t in res:
            outcomes[o] = outcomes.get(o, 0) + 1
        times = [t for _o, t in res]
        r.update(count=count, outcomes=outcomes, max_s=max(times),
                 stalls=len([t for t in times if t > 0.5]),
                 served_max_s=max([t for o, t in res if o == "served"] or [0]))
    elif mode == "hold":
        c = socket.create_connection((STACK, int(argv[1])), timeout=30)
        print(json.dumps({"connected": True}), flush=True)
        time.sleep(float(argv[2]))
        c.close()
    r["seconds"] = time.monotonic() - t0
    print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
