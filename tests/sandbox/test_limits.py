"""Rate limits under real concurrent clients (xero.md §5, §10 item 7): 5 in flight, 60 per minute,
the day budget, the app-wide minute, the remaining-count headers and 429s with Retry-After."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ledgerlink.devtools.sandboxes import SandboxError

from .conftest import Xero, connect


def _burst_until_refused(xero: Xero, limit: int) -> tuple[list[requests.Response], requests.Response]:
    """Call until the first 429; return the calls admitted in the window that refused, and the 429."""
    window: list[requests.Response] = []
    for _ in range(limit * 3):
        response = xero.get("/Organisation")
        if response.status_code == 429:
            return window, response
        if int(response.headers["X-MinLimit-Remaining"]) == limit - 1:
            window = []  # a fresh window started (the burst crossed a window boundary)
        window.append(response)
    raise AssertionError("never refused")


def test_remaining_headers_count_down(xero: Xero) -> None:
    first, second = xero.get("/Organisation"), xero.get("/Accounts")
    assert [first.headers["X-MinLimit-Remaining"], second.headers["X-MinLimit-Remaining"]] in (
        ["59", "58"],
        ["59", "59"],  # the minute window rolled between the two calls
    )
    assert int(first.headers["X-DayLimit-Remaining"]) - int(second.headers["X-DayLimit-Remaining"]) == 1
    assert int(second.headers["X-AppMinLimit-Remaining"]) <= 9998


def test_sixty_per_minute_then_429_with_retry_after(xero: Xero) -> None:
    window, refused = _burst_until_refused(xero, 60)
    assert len(window) == 60
    assert window[-1].headers["X-MinLimit-Remaining"] == "0"
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    xero.sandbox.control.advance_clock(60)
    assert xero.get("/Organisation").status_code == 200


def test_day_budget(sandbox, contract) -> None:
    xero = connect(sandbox, contract=contract, limits={"per_day": 3})
    assert [xero.get("/Organisation").status_code for _ in range(3)] == [200, 200, 200]
    refused = xero.get("/Organisation")
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"]) == (429, "day")
    assert refused.headers["X-DayLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 86400
    sandbox.control.advance_clock(86400)
    xero.tokens = xero.refresh().json()
    assert xero.get("/Organisation").status_code == 200


def test_app_minute_budget(sandbox, contract) -> None:
    xero = connect(sandbox, contract=contract, limits={"app_per_minute": 3})
    previous, refused = None, None
    for _ in range(10):
        response = xero.get("/Organisation")
        if response.status_code == 429:
            refused = response
            break
        previous = response
    assert refused is not None and previous is not None
    assert previous.headers["X-AppMinLimit-Remaining"] == "0"
    assert refused.headers["X-Rate-Limit-Problem"] == "appminute"
    assert "Retry-After" not in refused.headers


def test_five_in_flight_under_concurrent_clients(xero: Xero) -> None:
    xero.sandbox.control.set_faults({"kind": "latency", "latency_ms": 1500, "tenant_id": xero.tenant_id})
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            sessions = [requests.Session() for _ in range(8)]
            futures = [
                pool.submit(s.get, xero.api + "/Organisation", headers=xero.headers(), timeout=10)
                for s in sessions
            ]
            responses = [f.result() for f in futures]
    finally:
        xero.sandbox.control.clear_faults()
    for response in responses:
        xero.contract.check(response)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * 3
    refused = [r for r in responses if r.status_code == 429]
    assert {r.headers["X-Rate-Limit-Problem"] for r in refused} == {"concurrent"}
    assert all("Retry-After" not in r.headers for r in refused)
    assert xero.get("/Organisation").status_code == 200  # slots are released


def test_refused_calls_are_not_counted(xero: Xero) -> None:
    xero.sandbox.control.set_limits(xero.tenant_id, per_minute=2)
    responses = [xero.get("/Organisation") for _ in range(5)]
    admitted = xero.sandbox.control.count(xero.tenant_id, status=200)
    assert xero.sandbox.control.count(xero.tenant_id, status=429) == 5 - admitted >= 1
    assert int(responses[-1].headers["X-DayLimit-Remaining"]) == 5000 - admitted


def test_time_scale_shrinks_the_windows(scaled_sandbox) -> None:
    """At 60x a minute lasts one real second: Retry-After says 1 and the budget is back after it."""
    import time

    xero = connect(scaled_sandbox, limits={"per_minute": 5})
    _, refused = _burst_until_refused(xero, 5)
    assert refused.headers["Retry-After"] == "1"
    time.sleep(1.0)
    assert xero.get("/Organisation").status_code == 200


def test_the_control_api_tells_each_window_and_moves_the_clock_to_its_opening(xero: Xero) -> None:
    control, tenant, client = xero.sandbox.control, xero.tenant_id, xero.app.client_id
    control.open_window(tenant, client)
    for _ in range(3):
        assert xero.get("/Organisation").status_code == 200
    minute = control.windows(tenant, client)["per_minute"]
    assert (minute["used"], minute["size"]) == (3, 60)
    assert 55 < minute["resets_in_s"] <= 60  # opened just before the three calls
    control.open_window(tenant, client)
    reopened = control.windows(tenant, client)
    assert reopened["per_minute"]["used"] == 0 and reopened["per_minute"]["resets_in_s"] > 55
    assert xero.get("/Organisation").headers["X-MinLimit-Remaining"] == "59"
    with pytest.raises(SandboxError, match="404"):
        control.windows(tenant, "no-such-app")
