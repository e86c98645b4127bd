"""Built-in echo/discard/chargen servers (tools/vboard/services.py) against the
client modes, stack to stack on the in-memory link."""
import hashlib
import binascii
import services
from tcphelp import Pair, STACK_IP
from tcpip.wire.ipv4 import aton


def _hex(b):
    return binascii.hexlify(b).decode()


def _serve_and(kind, nbytes, loss=0.0):
    pair = Pair(seed=5, loss=loss, delay_ms=1)
    svc = services.start(pair.b, ["echo", "discard", "chargen"])
    cl = services.Client(pair.a, kind, STACK_IP, nbytes=nbytes)

    def each():
        svc.run()
        cl.run()
    pair.each = each
    assert pair.run(lambda: cl.done, 600000), "client %s did not finish" % kind
    assert cl.error == 0
    assert pair.run(lambda: pair.b.tcp.free_blocks() == 4 and pair.a.tcp.free_blocks() == 4, 60000)
    svc.stop()
    return cl


def test_names_and_ports():
    assert services.NAMES == ("echo", "discard", "chargen")
    assert services.SERVICES == services.NAMES + ("udpecho",)
    assert [services.PORTS[n] for n in services.NAMES] == [7, 9, 19]


def test_udp_echo_returns_each_datagram_to_its_sender():
    pair = Pair(seed=3, delay_ms=1)
    svc = services.start(pair.b, ["udpecho"])
    pair.each = svc.run
    ep = pair.a.udp.open()
    ep.bind(5555)
    got = []
    buf = bytearray(100)
    for i in range(5):
        msg = b"dgram %d" % i
        ep.sendto(msg, aton(STACK_IP), 7, pair.now())
        assert pair.run(lambda: ep.datagrams > 0, 5000), "no echo for %r" % msg
        n, src, sport = ep.recvfrom_into(buf)
        got.append((bytes(buf[:n]), sport))
    assert got == [(b"dgram %d" % i, 7) for i in range(5)]
    assert svc.served == 5
    svc.stop()
    assert all(not e.in_use for e in pair.b.udp.pool)


def test_echo_returns_every_byte():
    cl = _serve_and("echo", 50000)
    assert cl.sent == 50000 and cl.received == 50000
    assert cl.digest("in") == cl.digest("out")


def test_echo_under_loss():
    cl = _serve_and("echo", 30000, loss=0.05)
    assert cl.received == 30000 and cl.digest("in") == cl.digest("out")


def test_discard_takes_everything():
    cl = _serve_and("discard", 50000)
    assert cl.sent == 50000 and cl.received == 0


def test_chargen_sends_rfc864_lines():
    cl = _serve_and("chargen", 20000)
    assert cl.received >= 20000
    pat = services.chargen_pattern()
    assert bytes(pat[:74]) == b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n"
    exp = hashlib.sha256()
    full = cl.received // len(pat)
    for _ in range(full):
        exp.update(pat)
    exp.update(pat[:cl.received - full * len(pat)])
    assert _hex(exp.digest()) == cl.digest("in")


def test_unknown_service_rejected():
    pair = Pair()
    try:
        services.start(pair.b, ["qotd"])
        assert False
    except ValueError:
        pass


def test_echo_frees_the_block_of_every_client_that_resets_then_serves_a_fresh_one():
    # a client that ends with RST (SO_LINGER 0) must not leave its block with
    # the echo server: after 8 of them (twice the pool) a new client is served
    pair = Pair(seed=7, delay_ms=1)
    svc = services.start(pair.b, ["echo"])
    pair.each = svc.run
    buf = bytearray(64)
    for i in range(8):
        c = pair.a.tcp.open(STACK_IP, 7)
        assert pair.run(c.is_established, 5000), "client %d: no connection" % i
        c.send(b"reset me %d" % i)
        assert pair.run(lambda: c.readable() == len(b"reset me %d" % i), 5000), "client %d: no echo" % i
        c.recv_into(buf)
        c.abort()  # RST
        assert pair.run(lambda: pair.b.tcp.free_blocks() == 4, 5000), \
            "client %d: the server kept its block (%r)" % (i, pair.b.tcp.connections())
    cl = services.Client(pair.a, "echo", STACK_IP, nbytes=3000)

    def each():
        svc.run()
        cl.run()
    pair.each = each
    assert pair.run(lambda: cl.done, 30000) and cl.error == 0 and cl.received == 3000
    assert svc.served == 9
    svc.stop()
