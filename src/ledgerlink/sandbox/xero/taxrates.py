"""Tax rates an organisation defines itself: ``PUT /TaxRates`` creates, ``POST /TaxRates`` updates the rate
its ``TaxType`` names (or, without one, the rate with that ``Name``) and creates when none matches
(xero.md §3 "TaxRates"). Works on a ``Books``.

Xero creates or updates one tax rate per request (its POST /TaxRates docs; xero-ruby issue 200 saw the rest
of a batch dropped), so the routes pass only the first element. New rates get the next free ``TAXnnn``
code. AU, NZ and UK rates need one of their region's ReportTaxTypes, which also decides whether the rate
applies to sales, purchases or both; US rates take none and apply to both. Rates Xero defines (any code
but ``TAXnnn``) cannot be changed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from . import messages as msg
from . import seed
from .ledger import Books, Outcome, Problems, canonical_keys
from .wire import parse_bool, parse_decimal

ORG_DEFINED = re.compile(r"^TAX(\d{3,})$")
UPDATE_STATUSES = ("ACTIVE", "ARCHIVED", "DELETED")
FOUR_DP = Decimal("0.0001")
ECHOED = ("Name", "TaxType", "ReportTaxType", "Status", "TaxComponents")
Component = tuple[str, Decimal, bool]


def _rate(value: Any) -> Decimal | None:
    """A component's rate: a percentage from 0 to 100 with at most 4 decimals (the spec's "up to 4dp")."""
    try:
        rate = parse_decimal(value)
    except ValueError:
        return None
    return rate.quantize(FOUR_DP) if 0 <= rate <= 100 and rate == rate.quantize(FOUR_DP) else None


def _applies(rate: dict[str, Any]) -> str:
    if rate["CanApplyToRevenue"] and rate["CanApplyToExpenses"]:
        return "any"
    return "sales" if rate["CanApplyToRevenue"] else "purchases"


class TaxRates:
    """Creates and updates one tenant's tax rates. Callers hold the store lock."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self.rates: list[dict[str, Any]] = books.ledger["tax_rates"]
        self.region: str = books.ledger["organisation"]["Version"]

    def save(self, raw: Any, create_only: bool) -> Outcome:
        """Validate one TaxRate element whole, then create or update it."""
        problems = Problems()
        if not isinstance(raw, dict):
            problems.add(msg.TAX_RATE_NAME_REQUIRED)
            return Outcome({}, problems)
        raw = canonical_keys(raw)
        existing = None if create_only else self._existing(raw, problems)
        name = self._name(raw, existing, problems)
        components = self._components(raw, existing, problems)
        report, applies = self._report(raw, existing, problems)
        status = self._status(raw, existing, problems)
        if problems:
            return Outcome({k: raw[k] for k in ECHOED if raw.get(k) is not None}, problems)
        tax_type = existing["TaxType"] if existing else self._next_tax_type()
        rate = {**seed.tax_rate(tax_type, name, components, report, applies), "Status": status}
        if existing is None:
            self.rates.append(rate)
            return Outcome(rate)
        existing.clear()
        existing.update(rate)
        return Outcome(existing)

    def _existing(self, raw: dict[str, Any], problems: Problems) -> dict[str, Any] | None:
        """The rate a POST updates: by TaxType, else by Name; Xero's own rates are read-only."""
        tax_type = raw.get("TaxType")
        if tax_type:
            found = self.books.tax_rate(str(tax_type).upper())
            if found is None:
                problems.add(msg.TAX_RATE_NOT_FOUND.format(tax=tax_type))
        else:
            found = self._named(str(raw.get("Name") or ""))
        if found is not None and not ORG_DEFINED.match(found["TaxType"]):
            problems.add(msg.TAX_RATE_SYSTEM.format(tax=found["TaxType"]))
        return found

    def _named(self, name: str, other_than: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """A live (not DELETED) rate with this name, case-insensitively."""
        wanted = name.strip().lower()
        return next(
            (
                r
                for r in self.rates
                if r is not other_than and r["Status"] != "DELETED" and r["Name"].lower() == wanted
            ),
            None,
        )

    def _name(self, raw: dict[str, Any], existing: dict[str, Any] | None, problems: Problems) -> str:
        name = str(raw.get("Name") or "").strip() or (existing or {}).get("Name", "")
        if not name:
            problems.add(msg.TAX_RATE_NAME_REQUIRED)
        elif self._named(name, other_than=existing) is not None:
            problems.add(msg.TAX_RATE_NAME_TAKEN.format(name=name))
        return name

    def _components(
        self, raw: dict[str, Any], existing: dict[str, Any] | None, problems: Problems
    ) -> list[Component]:
        """The components sent (all of them replace the old ones on an update), or the rate's own."""
        given = raw.get("TaxComponents")
        if given is None and existing is not None:
            return [(c["Name"], c["Rate"], c["IsCompound"]) for c in existing["TaxComponents"]]
        if not isinstance(given, list) or not given:
            problems.add(msg.TAX_COMPONENTS_REQUIRED)
            return []
        components = []
        for item in given:
            component = canonical_keys(item) if isinstance(item, dict) else {}
            name = str(component.get("Name") or "").strip()
            if not name:
                problems.add(msg.TAX_COMPONENT_NAME_REQUIRED)
            rate = _rate(component.get("Rate"))
            if rate is None:
                problems.add(msg.TAX_COMPONENT_RATE_INVALID.format(name=name))
            compound = parse_bool(str(component.get("IsCompound", "")))
            components.append((name, rate or Decimal(0), compound))
        return components

    def _report(
        self, raw: dict[str, Any], existing: dict[str, Any] | None, problems: Problems
    ) -> tuple[str | None, str]:
        """(ReportTaxType, what the rate applies to)."""
        allowed = seed.report_tax_types(self.region)
        given = raw.get("ReportTaxType")
        if existing is not None and (given is None or not allowed):
            return existing.get("ReportTaxType"), _applies(existing)
        if not allowed:
            return None, "any"  # US organisations take no ReportTaxType: one sent is ignored
        report = str(given or "").upper()
        if not report:
            problems.add(msg.REPORT_TAX_TYPE_REQUIRED)
        elif report not in allowed:
            problems.add(msg.REPORT_TAX_TYPE_INVALID.format(report=given))
        return report, allowed.get(report, "any")

    @staticmethod
    def _status(raw: dict[str, Any], existing: dict[str, Any] | None, problems: Problems) -> str:
        """A new rate is ACTIVE; an update may archive or delete it."""
        given = raw.get("Status")
        if existing is None or given is None:
            return existing["Status"] if existing else "ACTIVE"
        status = str(given).upper()
        if status not in UPDATE_STATUSES:
            problems.add(msg.TAX_RATE_STATUS_INVALID)
        return status

    def _next_tax_type(self) -> str:
        taken = [int(m.group(1)) for r in self.rates if (m := ORG_DEFINED.match(r["TaxType"]))]
        return f"TAX{max(taken, default=0) + 1:03d}"
