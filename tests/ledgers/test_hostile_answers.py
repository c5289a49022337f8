"""Hostile or broken ledger answers (malformed JSON, wrong types, unknown statuses, HTML error pages, fault
bodies without their parts, huge ids and lists) give every item a classified LedgerError, on every ledger:
never an exception out of `read`, never an item without an outcome, never an id we could not trust. Crafted
answers, no sandbox (tests/ledgers/hostile.py builds each ledger's); a body too big to read is cut off in
http.py (tests/ledgers/test_http.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.ledgers.errors import LedgerError, NeedsAttention, UnknownOutcome

from .hostile import CORRELATION_ID, KITS, NUMBERS

RECORDS = [f"rec-{n}" for n in NUMBERS]
# Whatever the ledger: text or a number where JSON belongs, an HTML page behind a 200, the wrong container.
WRONG_SHAPES = ("<html><body>502 Bad Gateway</body></html>", "", None, [], [1, 2], 5, {"a": {"b": []}})
BAD_IDS = ({"id": "1"}, 12345, "", "   ", "x" * 10_000, None, True, ["146"])
BAD_TOTALS = ("abc", "NaN", "Infinity", "-Infinity", {"Amount": 1}, True, [1], "1e999999")
FAILED_BODIES = ("<html><h1>Service Unavailable</h1></html>", "", None, "plain", [1], {"Message": {"a": 1}})
STATUSES = (400, 401, 403, 404, 409, 413, 418, 429, 500, 502, 503, 599)


def _cases(*parts: str) -> list[tuple[str, object]]:
    """(provider, case) for every ledger: the shared cases, then the ledger's own under `parts`."""
    return [(p, case) for p, kit in KITS.items() for name in parts for case in getattr(kit, name)]


def _shared(cases: tuple[object, ...]) -> list[tuple[str, object]]:
    return [(provider, case) for provider in KITS for case in cases]


@pytest.mark.parametrize(("provider", "body"), _shared(WRONG_SHAPES) + _cases("wrong_shapes"))
def test_an_answer_of_the_wrong_shape_leaves_every_item_unknown(provider, body):
    outcomes = KITS[provider].read(200, body)
    assert [o.record_id for o in outcomes] == RECORDS
    assert all(isinstance(o.error, UnknownOutcome) and o.remote is None for o in outcomes)


def _untrusted() -> list[tuple[str, dict]]:
    cases = [(provider, {kit.id_field: bad}) for provider, kit in KITS.items() for bad in BAD_IDS] + [
        (provider, {kit.total_field: bad}) for provider, kit in KITS.items() for bad in BAD_TOTALS
    ]
    return cases + _cases("untrusted")  # type: ignore[return-value]


@pytest.mark.parametrize(("provider", "fields"), _untrusted())
def test_an_object_we_cannot_trust_is_unknown_and_its_neighbour_still_saved(provider, fields):
    kit = KITS[provider]
    first, second = kit.read(200, kit.saved_and(fields))
    assert first.error is None and first.remote.id == kit.sound_id
    assert first.remote.total == Decimal("1100.00")
    assert isinstance(second.error, UnknownOutcome) and second.remote is None
    assert second.error.code == "unreadable_answer" and second.error.correlation_id == CORRELATION_ID


@pytest.mark.parametrize(("provider", "odd"), _cases("odd_refusals"))
def test_a_refusal_with_odd_parts_is_still_a_refusal(provider, odd):
    kit = KITS[provider]
    first, second = kit.read(200, kit.refused_and(odd))
    assert first.remote is not None
    assert isinstance(second.error, NeedsAttention) and second.remote is None


@pytest.mark.parametrize(("provider", "body"), _shared(FAILED_BODIES) + _cases("failed_bodies"))
@pytest.mark.parametrize("status", STATUSES)
def test_a_failed_request_of_any_shape_is_a_classified_error(provider, body, status):
    outcomes = KITS[provider].read(status, body)
    assert [o.record_id for o in outcomes] == RECORDS
    assert all(isinstance(o.error, LedgerError) and o.remote is None for o in outcomes)
    assert all(o.error.correlation_id == CORRELATION_ID for o in outcomes)


@pytest.mark.parametrize("provider", KITS)
def test_a_huge_answer_is_read_without_losing_an_item(provider):
    """A hundred thousand answers for two items: ours are still found (or left unknown), in one pass."""
    kit = KITS[provider]
    body = kit.saved_and({})
    listed = next(v for v in body.values() if isinstance(v, list))  # type: ignore[union-attr]
    listed.extend([{"junk": "x" * 10}] * 100_000)
    first, second = kit.read(200, body)
    assert first.remote is not None and first.remote.id == kit.sound_id
    assert second.remote is not None or isinstance(second.error, UnknownOutcome)
