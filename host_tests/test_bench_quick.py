"""``make bench`` in miniature: tools/measure/bench.py --quick runs end to end and reports
every figure, for every runtime and NIC.  No wall-clock assertions: only that each
number is there, the payloads were verified and the namespaces are gone."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import netns  # noqa: E402
import bench  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    why = netns.preflight(need_tun=True)
    if why:
        pytest.skip(why)
    if not os.path.exists(MICROPYTHON):
        pytest.skip("micropython not installed (run make setup)")
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    before = set(netns.list_namespaces())
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "measure", "bench.py"), "--quick",
                        "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, "bench --quick failed:\n" + p.stdout[-3000:] + p.stderr[-3000:]
    left = [n for n in set(netns.list_namespaces()) - before if n.startswith("bench")]
    assert not left, "bench left namespaces behind: %r" % left
    with open(out) as f:
        r = json.load(f)
    r["_stdout"] = p.stdout
    return r


def test_every_runtime_and_nic_ran(results):
    assert set(results["stack"]) == {"cpython/tap", "micropython/packet",
                                     "cpython/w5500-emu", "micropython/w5500-emu"}


def test_native_runs_report_every_figure_with_verified_payloads(results):
    for key in ("cpython/tap", "micropython/packet"):
        r = results["stack"][key]
        for fig in bench.FIGURES:
            assert fig in r, "%s: %s missing" % (key, fig)
            assert isinstance(r[fig], (int, float)) and r[fig] >= 0, (key, fig, r[fig])
        assert r["rx_ok"] and r["tx_ok"] and r["echo_ok"] and r["udp_echo_ok"], (key, r)
        assert r["udp_echo_count"] + r["udp_echo_lost"] == 10, (key, r)
        assert r["connect_fails"] == 0, (key, r)
        assert r["ping_loss_pct"] == 0, (key, r)
        assert r["pair_ok"] and r["pair_mb_per_s"] > 0
        assert r["rx_ceiling_ratio"] > 0 and r["tx_ceiling_ratio"] > 0
        assert r["stack_internal_errors"] == 0, (key, r)


def test_w5500_runs_report_spi_bytes_per_payload_byte(results):
    for key in ("cpython/w5500-emu", "micropython/w5500-emu"):
        r = results["stack"][key]
        assert r["rx_ok"] and r["tx_ok"], (key, r)
        for fig in ("rx_mb_per_s", "rx_cpu_s_per_mb", "tx_mb_per_s", "tx_cpu_s_per_mb"):
            assert isinstance(r.get(fig), (int, float)), (key, fig)
        # every payload byte crosses SPI once, plus headers and register traffic
        assert r["spi_bytes_per_payload_byte"] > 1.0, r
    w = results["w5500"]
    assert w["w5500_rx_ok"] and w["w5500_tx_ok"]
    assert w["w5500_frame_rx_spi_bytes_1514"] >= 1514 and w["w5500_frame_tx_spi_bytes_1514"] >= 1514


def test_ceiling_and_memory_are_reported(results):
    c = results["ceiling"]
    assert c["rx_ok"] and c["tx_ok"] and c["rx_mb_per_s"] > 0 and c["tx_mb_per_s"] > 0
    m = results["memory"]
    for k in ("mpy_total_bytes", "mp_stack_default_bytes", "mp_tcp_socket_bytes",
              "mp_tcp_block_overhead_bytes", "mp_alloc_per_segment_send", "mp_alloc_per_segment_recv"):
        assert isinstance(m.get(k), (int, float)), k
    assert "| bulk kernel->stack MB/s |" in results["_stdout"]  # the README table


def test_https_next_to_http_is_reported(results):
    for rt in ("cpython", "micropython"):
        r = results["tls"][rt]
        if "tls_skipped" in r:
            pytest.skip(r["tls_skipped"])
        assert r.get("tls_ok"), (rt, r)
        for k in ("tls_handshake_ms_median", "http_get_mb_per_s", "https_get_mb_per_s"):
            assert isinstance(r.get(k), (int, float)) and r[k] > 0, (rt, k, r)
    assert "tls cpython: " in results["_stdout"]
