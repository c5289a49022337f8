"""The report's pure parts: endpoint names, percentiles, target verdicts, the explanations' conditions."""

import copy

import pytest

from bench.calls import endpoint
from bench.live import LiveResult
from bench.report import checks, misses

RESULTS = {
    "xero": {
        "backfill": {
            "calls_ratio": 1.5,
            "wall_ratio": None,
            "naive_calls_ratio": 61.0,
            "calls_floor": 93,
            "calls": 140,
            "forced_s": 30.0,
            "forced_s_for_calls_made": 60.0,
            "wall_s": 50.0,
            "wall_ratio_calls_made": 0.83,
            "time_scale": 2.0,
            "idle_gaps_s": [12.0],
            "floor": {
                "setup": 4,
                "contact_reads": 1,
                "contact_writes": 16,
                "invoice_writes": 40,
                "payment_writes": 32,
            },
            "by_endpoint": {"GET /Contacts": 47, "PUT /Contacts": 18},
        },
        "live": {"p99_s": 0.4},
    },
    "engine": {"cpu_us_per_invoice": 900.0, "invoices": 1000, "hot_spots": []},
    "memory": {"backfill_peak_rss_mb": 120.0},
}


def test_ids_collapse_and_identity_calls_are_told_apart():
    assert endpoint("/api.xro/2.0/Invoices/0b6c1a4e-2f7d-4c51-9d1e-6a3c2b1f0e9d") == "/Invoices/{id}"
    assert endpoint("/api.xro/2.0/Contacts") == "/Contacts"
    assert endpoint("/connect/token") == "identity:/connect/token"
    assert endpoint("/v3/company/9130357801234567/batch") == "/batch"
    assert endpoint("/v3/company/9130357801234567/companyinfo/9130357801234567") == "/companyinfo/{id}"
    assert endpoint("/oauth2/v1/tokens/bearer") == "identity:/oauth2/v1/tokens/bearer"


@pytest.mark.parametrize(("q", "expected"), [(50, 0.5), (95, 0.95), (99, 0.99), (100, 1.0)])
def test_percentiles_are_nearest_rank(q, expected):
    latencies = [n / 100 for n in range(1, 101)]
    assert LiveResult(100, 1.0, latencies).percentile(q) == expected


def test_verdicts_follow_the_targets_and_a_run_too_small_has_none():
    verdicts = {name: met for name, _, _, _, met in checks(RESULTS)}
    assert verdicts == {
        "calls_ratio": False,
        "wall_ratio": None,
        "naive_calls_ratio": True,
        "p99_s": True,
        "cpu_us_per_invoice": True,
        "backfill_peak_rss_mb": True,
        "wall_vs_baseline": None,  # no baseline in these results
        "quickbooks_wall_vs_baseline": None,  # no QuickBooks figures in these results
        "backfill_cpu_us_per_invoice": None,  # no growth or QuickBooks sizes either
        "backfill_100k_peak_rss_mb": None,  # make bench-100k has not run
        # section 5's phases did not run
        "fairness": None,
        "live_many_p99_s": None,
        "two_consumers_vs_one": None,
        "four_consumers_vs_one": None,
    }
    with_baseline = copy.deepcopy(RESULTS)
    with_baseline["xero"]["baseline"] = {"wall_vs_baseline": 0.9}
    assert {name: met for name, _, _, _, met in checks(with_baseline)}["wall_vs_baseline"] is True
    assert misses(RESULTS).startswith("- **calls_ratio 1.5")
    assert "`GET /Contacts` 47 (floor 1), `PUT /Contacts` 18 (floor 16)" in misses(RESULTS)


def test_a_whole_window_gap_is_named_only_when_one_lasts_a_whole_minute():
    slow = copy.deepcopy(RESULTS)
    slow["xero"]["backfill"]["wall_ratio"] = 2.0
    assert "lasted a whole window" not in misses(slow)  # 12 s gaps, 30 s minutes
    slow["xero"]["backfill"]["idle_gaps_s"] = [12.0, 29.9]
    assert "1 of them lasted a whole window" in misses(slow)


def test_growth_merges_by_size_and_the_100k_peak_lands_in_memory():
    from bench.growth import GrowthPoint, merge, spec_for

    assert (spec_for(10_000).customers, spec_for(10_000).payments) == (6000, 8000)  # the 10k
    first = merge(RESULTS, [GrowthPoint({"invoices": 10_000, "peak_rss_mb": 150.0})])
    assert "backfill_100k_peak_rss_mb" not in first["memory"]
    both = merge(first, [GrowthPoint({"invoices": 100_000, "peak_rss_mb": 280.0})])
    assert list(both["growth"]) == ["10000", "100000"]
    assert both["memory"] == {"backfill_peak_rss_mb": 120.0, "backfill_100k_peak_rss_mb": 280.0}


def test_the_baseline_verdict_is_taken_at_the_largest_rate_bound_size():
    data = copy.deepcopy(RESULTS)
    data["growth"] = {
        "1000": {"wall_vs_baseline": 2.0, "forced_s_worst": 30.0},
        "10000": {"wall_vs_baseline": 0.9, "forced_s_worst": 210.0},
    }
    assert {name: value for name, value, _, _, _ in checks(data)}["wall_vs_baseline"] == 0.9
    data["growth"]["10000"]["forced_s_worst"] = 0.0  # fits one window: says nothing
    assert {name: value for name, value, _, _, _ in checks(data)}["wall_vs_baseline"] is None


def test_the_quickbooks_floor_and_its_forced_time_under_both_meterings():
    """The issue's 10k: 4,000 customers to create, 10,000 invoices, 8,000 payments. Item metering spends a
    unit per object (about 500 objects a minute); request metering a unit per batch, where the 40 batch
    requests a minute bind instead."""
    from bench.backfill import shape_of
    from bench.growth import spec_for
    from bench.quickbooks import calls_floor, forced_seconds, metered, wall_vs_baseline, windows

    shape = shape_of(spec_for(10_000))
    floor = calls_floor(shape)
    assert floor.as_json() == {
        "setup": 7,
        "contact_reads": 3,  # 2,000 customers: two full pages, then the empty one that ends the list
        "contact_writes": 134,
        "invoice_writes": 334,
        "payment_writes": 267,
        "total": 745,
    }
    assert metered(floor, shape, "item") == (9 + 22_000, 735)
    assert metered(floor, shape, "request") == (9 + 735, 735)
    assert (windows(floor, shape, "item"), windows(floor, shape, "request")) == (45, 19)
    assert forced_seconds(floor, shape, "item", best=True) == 43 * 60
    assert forced_seconds(floor, shape, "item", best=False) == 44 * 60
    data = {"quickbooks": {"sizes": {"10000": {"wall_vs_baseline": 0.9, "forced_s_worst": 132.0}}}}
    assert wall_vs_baseline(data) == 0.9
    data["quickbooks"]["sizes"]["10000"]["forced_s_worst"] = 0.0
    assert wall_vs_baseline(data) is None


def test_many_organisations_take_the_worse_database_and_both_consumer_settings():
    many = copy.deepcopy(RESULTS)
    many["tenants"] = {"fairness": 2.1}
    many["live_many"] = {"sqlite": {"p99_s": 0.4}, "postgresql": {"p99_s": 2.5}}
    many["scale_out"] = {
        "runs": {"1": {"speedup": 1.0}, "2": {"speedup": 1.3}, "4": {"speedup": 1.6}},
        "runs_with_latency": {"1": {"speedup": 1.0}, "2": {"speedup": 0.9}, "4": {"speedup": 3.2}},
    }
    verdicts = {name: (value, met) for name, value, _, _, met in checks(many)}
    assert verdicts["fairness"] == (2.1, False)
    assert verdicts["live_many_p99_s"] == (2.5, False)
    assert verdicts["two_consumers_vs_one"] == (0.9, False)  # slower than one where the ledger is slow
    assert verdicts["four_consumers_vs_one"] == (3.2, True)


def test_a_rerun_of_make_bench_keeps_the_100k_point_make_bench_100k_merged_in():
    from bench.growth import kept_from

    previous = {
        "date": "2026-12-04T14:00:00+00:00",
        "growth": {
            "10000": {"invoices": 10000, "wall_s": 1.0},
            "100000": {"invoices": 100000, "peak_rss_mb": 210.0},
        },
    }
    fresh = {"date": "2026-12-05T09:00:00+00:00", "growth": {"10000": {"invoices": 10000, "wall_s": 2.0}}}
    kept = kept_from(previous, fresh)
    assert kept["growth"]["10000"]["wall_s"] == 2.0  # measured now wins
    assert kept["growth"]["100000"]["measured_on"] == previous["date"]
    assert kept["memory"]["backfill_100k_peak_rss_mb"] == 210.0
    assert kept_from({}, fresh) == fresh


def test_a_rerun_of_make_bench_keeps_the_quickbooks_100k_point_too():
    from bench.growth import kept_from

    previous = {
        "date": "2026-12-04T14:00:00+00:00",
        "quickbooks": {
            "time_scale": 20.0,
            "sizes": {
                "10000": {"invoices": 10000, "wall_s": 1.0},
                "100000": {
                    "invoices": 100000,
                    "peak_rss_mb": 240.0,
                    "measured_on": "2026-12-05T05:00:00+00:00",
                },
            },
        },
    }
    fresh = {
        "date": "2026-12-06T09:00:00+00:00",
        "growth": {"100000": {"invoices": 100000, "peak_rss_mb": 210.0}},
        "quickbooks": {"time_scale": 20.0, "sizes": {"10000": {"invoices": 10000, "wall_s": 2.0}}},
    }
    kept = kept_from(previous, fresh)
    assert list(kept["quickbooks"]["sizes"]) == ["10000", "100000"]
    assert kept["quickbooks"]["sizes"]["10000"]["wall_s"] == 2.0
    assert kept["quickbooks"]["sizes"]["100000"]["measured_on"] == "2026-12-05T05:00:00+00:00"
    assert kept["memory"]["backfill_100k_peak_rss_mb"] == 240.0  # the dearer ledger's peak


def test_quickbooks_points_measured_apart_merge_by_size_and_say_when():
    from bench.growth import merge_quickbooks, provenance

    results = {
        **copy.deepcopy(RESULTS),
        "quickbooks": {"time_scale": 20.0, "sizes": {"1000": {"invoices": 1000}}},
    }
    stamp = provenance("bench.quickbooks_merge", ["--invoices", "100000", "--time-scale", "40"])
    point = {"invoices": 100000, "time_scale": 40.0, "peak_rss_mb": 190.0, **stamp}
    merged = merge_quickbooks(results, {"100000": point})
    assert list(merged["quickbooks"]["sizes"]) == ["1000", "100000"]
    assert merged["quickbooks"]["time_scale"] == 20.0
    assert merged["memory"]["backfill_100k_peak_rss_mb"] == 190.0
    assert stamp["command"] == "python -m bench.quickbooks_merge --invoices 100000 --time-scale 40"
    assert f"measured on {stamp['measured_on']} by `{stamp['command']}`." in measured_text(merged)


def measured_text(data):
    from bench.growth import measured_apart

    return measured_apart(list(data["quickbooks"]["sizes"].values()))


def test_the_wall_targets_are_judged_at_10000_when_100000_was_measured_too():
    from bench.quickbooks import wall_vs_baseline

    data = copy.deepcopy(RESULTS)
    data["growth"] = {
        "10000": {"wall_vs_baseline": 0.9, "forced_s_worst": 210.0},
        "100000": {"wall_vs_baseline": 1.2, "forced_s_worst": 2100.0},
    }
    data["quickbooks"] = {"sizes": {k: dict(v) for k, v in data["growth"].items()}}
    assert {name: value for name, value, _, _, _ in checks(data)}["wall_vs_baseline"] == 0.9
    assert wall_vs_baseline(data) == 0.9


def test_whole_backfill_cpu_is_judged_at_the_dearest_size_of_either_ledger():
    data = copy.deepcopy(RESULTS)
    point = {"forced_s_worst": 0.0, "wall_vs_baseline": None}  # not rate-bound: no wall verdict
    data["growth"] = {
        "1000": {**point, "cpu_us_per_invoice": 900.0},
        "10000": {**point, "cpu_us_per_invoice": 950.0},
    }
    data["quickbooks"] = {"sizes": {"10000": {**point, "cpu_us_per_invoice": 1200.0}}}
    verdicts = {name: (value, met) for name, value, _, _, met in checks(data)}
    assert verdicts["backfill_cpu_us_per_invoice"] == (1200.0, False)
    why = misses(data)
    assert "Not flat: Xero 1.056x from 1,000 to 10,000." in why  # QuickBooks, one size here, has no rise
    data["quickbooks"]["sizes"]["10000"]["cpu_us_per_invoice"] = 990.0
    assert {name: met for name, _, _, _, met in checks(data)}["backfill_cpu_us_per_invoice"] is True


def test_the_cpu_miss_sets_each_point_beside_its_baseline_when_that_was_measured():
    data = copy.deepcopy(RESULTS)
    point = {"forced_s_worst": 0.0, "wall_vs_baseline": None}
    data["growth"] = {
        "1000": {**point, "cpu_us_per_invoice": 900.0},  # measured before baselines' CPU was kept
        "10000": {**point, "cpu_us_per_invoice": 1200.0, "baseline_cpu_us_per_invoice": 800.0},
    }
    why = misses(data)
    assert "Beside the SDK baselines on the same books in the same run: Xero 10,000: 800 µs, " in why
    assert "the product 1.5x that." in why and "Xero 1,000: 900 µs" not in why
    del data["growth"]["10000"]["baseline_cpu_us_per_invoice"]
    assert "Beside the SDK baselines" not in misses(data)


def test_the_baselines_cpu_per_invoice_is_kept_with_each_quickbooks_point():
    from bench.backfill import BackfillResult
    from bench.baseline import BaselineResult
    from bench.dataset import Spec
    from bench.floor import Floor
    from bench.quickbooks import figures

    spec = Spec(1000, 600, 800)
    floor = Floor(setup=7, contact_reads=1, contact_writes=14, invoice_writes=34, payment_writes=27)
    product = BackfillResult(
        invoices=1000, calls=84, api_calls=83, identity_calls=1, floor=floor, wall_s=12.0, forced_s=9.0,
        forced_s_worst=12.0, cpu_s=1.5, peak_rss_mb=200.0, runs=1, time_scale=20.0,
    )  # fmt: skip
    baseline = BaselineResult(
        invoices=1000, calls=85, api_calls=83, rate_limited=4, wall_s=12.4, cpu_s=1.25, slept_s=11.0
    )
    point = figures(spec, product, baseline)
    assert (point["cpu_us_per_invoice"], point["baseline_cpu_us_per_invoice"]) == (1500.0, 1250.0)
