"""`make bench` at a tiny size, through the same entry point and code: every phase runs (backfill through
the product, naive client, engine CPU, live latency through gunicorn + run_huey), the books are checked for
duplicates inside the run (it exits non-zero otherwise), and results.json / BENCHMARKS.md come out whole."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.xdist_group("bench-smoke")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    argv = [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out / "scratch")]
    argv += ["--results", str(out / "results.json"), "--markdown", str(out / "BENCHMARKS.md")]
    # The distributed phases recreate a PostgreSQL database of their own, one per xdist worker.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ll_bench")
    argv += ["--database-url", f"{base}_smoke_{worker}"]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "results.json").read_text()), (out / "BENCHMARKS.md").read_text()


def test_results_have_the_issue_shape(smoke):
    results, _ = smoke
    assert {"date", "machine", "xero", "engine", "memory"} <= set(results)
    backfill = results["xero"]["backfill"]
    assert {
        "invoices",
        "calls",
        "calls_floor",
        "calls_ratio",
        "wall_ratio",
        "naive_calls",
        "naive_calls_ratio",
    } <= set(backfill)
    assert {"p50_s", "p95_s", "p99_s"} <= set(results["xero"]["live"])
    assert list(results["growth"]) == ["10"]  # --smoke measures growth at one tiny size
    assert {"calls", "wall_s", "baseline_wall_s", "cpu_us_per_invoice", "peak_rss_mb"} <= set(
        results["growth"]["10"]
    )
    baseline = results["xero"]["baseline"]
    assert {"calls", "wall_s", "rate_limited", "wall_vs_baseline", "calls_vs_baseline"} <= set(baseline)
    assert results["engine"]["cpu_us_per_invoice"] > 0
    assert results["memory"]["backfill_peak_rss_mb"] > 0
    assert results["machine"]["nproc"] >= 1 and results["machine"]["python"]
    assert {"wall_s", "floor_s", "floor_bound_by", "fairness", "completion_median_s"} <= set(
        results["tenants"]
    )
    assert (
        list(results["scale_out"]["runs"])
        == list(results["scale_out"]["runs_with_latency"])
        == ["1", "2", "4"]
    )
    assert set(results["live_many"]) == {"sqlite", "postgresql"}


def test_the_figures_are_sane(smoke):
    results, _ = smoke
    backfill, live = results["xero"]["backfill"], results["xero"]["live"]
    assert backfill["invoices"] == 20
    assert (
        backfill["calls"] >= backfill["calls_floor"] == 8
    )  # 4 setup, 1 read, 1 batch each of 8 contacts/20/16
    assert backfill["calls_ratio"] == round(backfill["calls"] / backfill["calls_floor"], 3)
    assert backfill["by_endpoint"]["PUT /Invoices"] == 1 and backfill["by_endpoint"]["PUT /Payments"] == 1
    assert backfill["calls"] == backfill["api_calls"] + backfill["identity_calls"]
    # one look-up per customer, one write per new contact, invoice and payment, and the setup
    assert backfill["naive_calls"] >= 12 + 8 + 20 + 16 + 4 > backfill["calls"]
    assert backfill["wall_ratio"] is None  # 9 calls fit in one minute window: nothing is forced
    # The integrator's SDK client: setup 2, one contact read, one batch each; the same books in its tenant.
    assert results["xero"]["baseline"]["calls"] == 2 + 2 + 1 + 3
    assert 0 <= live["p50_s"] <= live["p95_s"] <= live["p99_s"] < 30
    tenants = results["tenants"]
    assert tenants["organisations"] == 3 and tenants["invoices"] == 6
    assert (
        0
        < tenants["completion_fastest_s"]
        <= tenants["completion_median_s"]
        <= tenants["completion_slowest_s"]
    )
    fairness = tenants["completion_slowest_s"] / tenants["completion_median_s"]
    assert tenants["fairness"] == pytest.approx(fairness, rel=0.02)  # from the unrounded completions
    scale = results["scale_out"]
    for run in [*scale["runs"].values(), *scale["runs_with_latency"].values()]:
        assert run["objects"] == 2 * (2 + 2) and run["objects_per_s"] > 0  # 2 orgs: 2 customers, 2 invoices
    for many in results["live_many"].values():
        assert many["organisations"] == 2 and 0 <= many["p50_s"] <= many["p99_s"] < 30


def test_the_markdown_shows_the_figures_and_the_command(smoke):
    results, markdown = smoke
    assert "python -m bench.run --smoke" in markdown
    assert f"| calls | {results['xero']['backfill']['calls']} | 8 |" in markdown
    assert str(results["engine"]["cpu_us_per_invoice"]) in markdown
    assert "baseline (xero-python)" in markdown
    assert "backfill wall time (s): product | baseline" in markdown  # the growth chart
    assert "QuickBooks backfill wall time (s): product | baseline" in markdown
    assert "completion from the first ring (s)" in markdown and "objects per second" in markdown
    assert "| postgresql | 2 | 4 |" in markdown


def test_quickbooks_runs_product_and_baseline_on_the_same_books(smoke):
    results, _ = smoke
    quickbooks = results["quickbooks"]
    assert list(quickbooks["sizes"]) == ["10"]
    point = quickbooks["sizes"]["10"]
    # 7 setup, 1 customer read, one batch each of 4 new customers, 10 invoices and 8 payments
    assert point["calls"] >= point["calls_floor"] == 11
    # The token exchange is not metered; 5 reads and the item create are, then each object.
    assert point["floor_by_metering"]["item"]["units"] == 6 + 1 + 4 + 10 + 8
    # python-quickbooks: discovery and token exchange, 3 lists, one customer read, one batch each. Under the
    # floor here: it takes the code named "GST" without its rate, posts through the first Service item
    # whatever its account, and assumes custom transaction numbers are on (bench/quickbooks.py, the rules).
    assert point["baseline"]["calls"] == 2 + 3 + 1 + 3
    assert point["cpu_us_per_invoice"] > 0 and point["peak_rss_mb"] > 0
