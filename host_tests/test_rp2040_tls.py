"""TLS on the emulated board: MicroPython's own ssl (mbedTLS) over a tcpip socket.

The stock RPI_PICO image has no ``ssl``; MicroPython's W5500_EVB_PICO image has
(and network, which stays unused): ``tools/vboard/vboard.py --runtime rp2040-micropython
--firmware W5500_EVB_PICO --run`` boots it with what ``make flash`` copies and
runs host_tests/helpers/rp2040_tls_script.py on it against nginx in the namespace
(``rp2t*``, always deleted), certificates from a throwaway CA made now
(tools/common/tlsfixtures.py).  Checked: a CA that did not sign the server's
certificate is refused with mbedTLS's text within the socket's timeout and
leaves no control block once closed; verified sessions open one after another
until the heap is full (the first fetches a page and a 16 KB file, SHA-256
checked on the board); all closed, the heap comes back and netstat is empty.
Figures (heap, handshake and GET in simulated ms) go to
.build/measurements.jsonl.  Skips with one line when node, rp2040js, the
firmware images, openssl or nginx are missing.
"""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netharness as H  # noqa: E402

sys.path.insert(0, H.TOOLS)
import rp2040_board as RB  # noqa: E402
import tlsfixtures  # noqa: E402

SCRIPT = os.path.join(HERE, "helpers", "rp2040_tls_script.py")
BLOB = bytes(range(256)) * 64  # 16 KB
MAX_SESSIONS = 4  # the stack's default tcp_sockets


@pytest.fixture(scope="module", autouse=True)
def prerequisites():
    why = (RB.missing_prerequisite(images=(RB.LWIP_UF2,)) or H.skip_reason(None, tools=("nginx",))
           or (None if tlsfixtures.available() else "openssl missing"))
    if why:
        pytest.skip(why)


def _script(certs):
    """The board's script with its settings (CA certificates, the file's
    SHA-256, the host's UTC time for the board's clock) filled in."""
    with open(SCRIPT) as f:
        text = f.read()
    t = time.gmtime()
    values = {"CA_DER": certs["ca_der"], "OTHER_DER": certs["other_ca_der"]}
    for k, path in values.items():
        with open(path, "rb") as f:
            values[k] = f.read()
    values["BLOB_SHA"] = hashlib.sha256(BLOB).hexdigest()
    values["MAX_SESSIONS"] = MAX_SESSIONS
    values["NOW"] = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_wday, t.tm_hour, t.tm_min, t.tm_sec, 0)
    for k, v in values.items():
        lines = [ln for ln in text.splitlines() if ln.startswith(k + " = ")]
        assert len(lines) == 1, k
        text = text.replace(lines[0], "%s = %r" % (k, v))
    return text


def run_on_board(tmp_path, certs, script_text):
    """vboard with --run SCRIPT and nginx (HTTPS 443, HTTP 80) in its namespace;
    (vboard's exit status, stdout, stderr)."""
    script = tmp_path / "tls_script.py"
    script.write_text(script_text)
    name = "rp2t%d" % (os.getpid() % 100000)
    conf, www = tlsfixtures.nginx_conf(str(tmp_path), certs, http_port=80)
    with open(os.path.join(www, "small.txt"), "wb") as f:
        f.write(b"hello tls\n")
    with open(os.path.join(www, "blob.bin"), "wb") as f:
        f.write(BLOB)
    vb = subprocess.Popen([sys.executable, H.VBOARD, "--netns", name, "--runtime", "rp2040-micropython",
                           "--firmware", "W5500_EVB_PICO", "--run", str(script)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    nginx = None
    first = ""
    try:
        # "ready": the namespace and its addresses are up (the board's script
        # starts then too, and retries its connects until nginx listens).
        first = vb.stdout.readline()
        if first.startswith("ready "):
            nginx = subprocess.Popen(["ip", "netns", "exec", name, "nginx", "-c", conf, "-p", str(tmp_path),
                                      "-e", str(tmp_path / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out, err = vb.communicate(timeout=400)
        out = first + out
    finally:
        if vb.poll() is None:
            vb.kill()
            vb.communicate(timeout=30)
        if nginx is not None and nginx.poll() is None:
            nginx.kill()
            nginx.wait(timeout=10)
        if H.netns.exists(name):
            H.netns.destroy(name)
    log = tmp_path / "error.log"
    if log.exists():
        err += "\nnginx: " + log.read_text()[-1000:]
    return vb.returncode, out, err


def _held(rows):
    """netstat rows of sockets still held: all but TIME-WAIT."""
    return [row for row in rows if row[3] != "TIME-WAIT"]


@pytest.fixture
def workdir():
    # Not pytest's tmp_path: nginx reads its files for the whole run, and a
    # pytest started meanwhile elsewhere on the host may prune old tmp_paths.
    d = tempfile.mkdtemp(prefix="rp2040-tls-")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def test_https_get_from_the_board_verified_wrong_ca_refused_and_sessions_until_the_heap_is_full(workdir):
    certs = tlsfixtures.make(workdir / "certs")
    code, out, err = run_on_board(workdir, certs, _script(certs))
    res = [ln for ln in out.splitlines() if ln.startswith("TLSRESULT ")]
    assert code == 0 and res, "exit %s\n%s\n%s" % (code, out[-3000:], err[-3000:])
    r = json.loads(res[0][len("TLSRESULT "):])
    stats = json.loads([ln for ln in out.splitlines() if ln.startswith('{"stats"')][0])["stats"]
    # The stack caught nothing in its input and timers while TLS ran on it.
    assert stats["internal_errors"] == 0 and "stack_errors" not in r, r.get("stack_errors")
    # Wrong CA: mbedTLS's verification error, well within the 10 s timeout,
    # and no control block left once the caller closed the socket.
    assert r["wrong_ca"] == "ValueError: The certificate is not correctly signed by the trusted CA", r
    assert r["wrong_ca_ms"] < 10000
    assert _held(r["rows_after_wrong_ca"]) == [], r["rows_after_wrong_ca"]
    # Verified sessions: the page and the file byte-exact.
    assert r["small"][0] == "HTTP/1.1 200 OK" and r["small"][1] == "hello tls\n"
    assert r["blob"] == ["HTTP/1.1 200 OK", len(BLOB), True]
    assert r["http_blob"] == ["HTTP/1.1 200 OK", len(BLOB), True]
    n = len(r["handshake_ms"])
    assert n >= 1 and r["rows_open"] >= n
    if n < MAX_SESSIONS:  # the heap ran out: a clean MemoryError / ENOMEM, not a crash
        assert r["stopped_by"] and ("ENOMEM" in r["stopped_by"] or "MemoryError" in r["stopped_by"]), r
    # All closed: the heap is back, but for what the first handshake leaves
    # for good (a few KB); a later session returns to the same figure.
    assert r["free_after"] > r["free_before"] - 5 * 1024, r
    assert r["again"] == ["HTTP/1.1 200 OK", 10]
    assert abs(r["free_again"] - r["free_after"]) < 512, r
    # No socket left once closed (the last ones, closed by us, may still
    # be in TIME-WAIT: 2 x MSL, then freed by the stack's timer).
    assert _held(r["rows_end"]) == [], r["rows_end"]
    H.record("rp2040_tls", {
        "firmware": RB.LWIP_UF2, "sessions_fit": n, "stopped_by": r["stopped_by"],
        "handshake_sim_ms": r["handshake_ms"], "heap_free_before": r["free_before"],
        "heap_free_open": r["free_open"], "heap_free_after": r["free_after"],
        "per_session_bytes": r["free_before"] - r["free_open"][0],
        "wrong_ca_sim_ms": r["wrong_ca_ms"], "https_get_16k_sim_ms": r["blob_ms"],
        "http_get_16k_sim_ms": r["http_blob_ms"], "board_sim_s": stats["board_sim_s"],
        "board_wall_s": stats["board_wall_s"], "background_polls_deferred": r["background"]})
