"""TLS on tcpip sockets (tcpip.tls; the runtimes' TLS engines), certificates
made at test time with openssl from a throwaway CA (host_tests/tlscerts.py).

In memory, both runtimes: host_tests/tls_link_suite.py (two stacks over
nic/link.py, clean and impaired, refused certificates and host names)."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import tlscerts  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if not tlscerts.available():
        pytest.skip("openssl missing")
    return tlscerts.make(tmp_path_factory.mktemp("certs"))


def run_suite(runtime, suite, certs, name_filter=None):
    env = dict(os.environ, TLS_CERTS=os.path.dirname(certs["ca"]))
    path = os.path.join(ROOT, "lib") + ":" + os.path.join(ROOT, "tools") + ":" + os.path.join(HERE, "mp")
    args = [os.path.join(HERE, "mprun.py"), os.path.join(HERE, suite)] + ([name_filter] if name_filter else [])
    if runtime == "micropython":
        if not os.path.exists(MICROPYTHON):
            pytest.skip("micropython not installed (run make setup)")
        cmd = [MICROPYTHON, "-X", "heapsize=4M"] + args
        env["MICROPYPATH"] = path + ":.frozen"
    else:
        cmd = [sys.executable] + args
        env["PYTHONPATH"] = path
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 0, "%s %s failed:\n%s" % (runtime, suite, out[-6000:])
    assert " passed, 0 failed" in out
    return out


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_tls_between_two_stacks_in_memory(runtime, certs):
    run_suite(runtime, "tls_link_suite.py", certs)
