"""The mapping form: one field per mapping key, named in the pre-flight vocabulary of
`ledgers.validation` (`tax_rate:<id>.account`, `line_type:<type>.account`, `payment:<method>.account`), so
every problem lands next to the field it concerns."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import transaction

from ledgerlink.cashflow.models import LineType, Organisation, PaymentMethod, TaxRate
from ledgerlink.ledgers import suggest
from ledgerlink.ledgers.contract import Chart, LedgerAccount
from ledgerlink.ledgers.models import LineTypeMapping, PaymentAccountMapping, TaxRateMapping
from ledgerlink.ledgers.providers import provider_name

DEFAULT_PAYMENT = "payment:default.account"


def _account_choices(accounts: list[LedgerAccount], blank: str) -> list[tuple[str, str]]:
    """Active accounts only: an archived one is never offered (the ledger refuses it)."""
    return [("", blank)] + [(a.id, f"{a.code} {a.name}".strip()) for a in accounts if a.status == "ACTIVE"]


def _choice(label: str, choices: list[tuple[str, str]], ledger: str) -> forms.ChoiceField:
    # Anything not offered is archived, deleted or another ledger's: say so beside the field.
    refused = (
        f"Not an active choice in {ledger}'s chart (archived accounts and rates are refused): choose another."
    )
    return forms.ChoiceField(
        label=label, choices=choices, required=False, error_messages={"invalid_choice": refused}
    )


class MappingForm(forms.Form):
    def __init__(self, *args: Any, organisation: Organisation, provider: str, chart: Chart, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.organisation, self.provider, self.chart = organisation, provider, chart
        # Why each proposed value was chosen, by field: filled by `initial_from_chart`, shown until saved.
        self.reasons: dict[str, str] = {}
        ledger = provider_name(provider)
        self.tax_rates = list(TaxRate.objects.filter(organisation=organisation, active=True))
        revenue = [a for a in chart.accounts if a.is_revenue]
        paying = [a for a in chart.accounts if a.accepts_payments]
        taxes = [("", "Choose a tax rate")] + [
            (t.code, f"{t.name} ({suggest.percent(t.rate)})")
            for t in chart.tax_rates
            if t.applies_to_revenue and t.status == "ACTIVE"
        ]
        for rate in self.tax_rates:
            named = f"{rate.name} ({suggest.percent(rate.rate)})"
            accounts = _account_choices(revenue, "Choose an account")
            self.fields[f"tax_rate:{rate.pk}.account"] = _choice(
                f"{named}: revenue account", accounts, ledger
            )
            self.fields[f"tax_rate:{rate.pk}.tax_code"] = _choice(
                f"{named}: {ledger} tax rate", taxes, ledger
            )
        for line_type in LineType:
            accounts = _account_choices(revenue, "Use the tax rate's account")
            self.fields[f"line_type:{line_type.value}.account"] = _choice(
                f"{line_type.label} lines", accounts, ledger
            )
        self.fields[DEFAULT_PAYMENT] = _choice(
            "Default payment account", _account_choices(paying, "Choose an account"), ledger
        )
        for method in PaymentMethod:
            self.fields[f"payment:{method.value}.account"] = _choice(
                f"{method.label} payments", _account_choices(paying, "Use the default"), ledger
            )

    def initial_from_saved(self) -> dict[str, str]:
        scope = {"organisation": self.organisation, "provider": self.provider}
        initial: dict[str, str] = {}
        for row in TaxRateMapping.objects.filter(**scope):
            initial[f"tax_rate:{row.tax_rate_id}.account"] = row.account_id
            initial[f"tax_rate:{row.tax_rate_id}.tax_code"] = row.ledger_tax_code
        for row in LineTypeMapping.objects.filter(**scope):
            initial[f"line_type:{row.line_type}.account"] = row.account_id
        for row in PaymentAccountMapping.objects.filter(**scope):
            initial[DEFAULT_PAYMENT if row.is_default else f"payment:{row.method}.account"] = row.account_id
        return initial

    def initial_from_chart(self) -> dict[str, str]:
        proposal = suggest.propose(self.chart, [(str(r.pk), r.rate, r.name) for r in self.tax_rates])
        initial: dict[str, str] = {}
        for item in proposal.tax_rates:
            initial[f"tax_rate:{item.tax_rate_id}.account"] = item.account.id if item.account else ""
            initial[f"tax_rate:{item.tax_rate_id}.tax_code"] = item.tax.code if item.tax else ""
            self.reasons[f"tax_rate:{item.tax_rate_id}.account"] = item.account_reason
            self.reasons[f"tax_rate:{item.tax_rate_id}.tax_code"] = item.tax_reason
        if proposal.payment_account:
            initial[DEFAULT_PAYMENT] = proposal.payment_account.id
            self.reasons[DEFAULT_PAYMENT] = proposal.payment_reason
        return initial

    def propose_unsaved(self) -> None:
        """Saved values stay; what was never saved is filled from the chart, each with its reason."""
        saved = self.initial_from_saved()
        proposed = {k: v for k, v in self.initial_from_chart().items() if v and not saved.get(k)}
        self.reasons = {k: r for k, r in self.reasons.items() if k in proposed and r}
        self.initial = {**saved, **proposed}

    def _code(self, account_id: str) -> str:
        return next((a.code for a in self.chart.accounts if a.id == account_id), "")

    @transaction.atomic
    def save(self) -> None:
        """Write what is set, delete what was cleared; each row's save signal lets the engine re-queue the
        records this change may fix."""
        scope = {"organisation": self.organisation, "provider": self.provider}
        data = self.cleaned_data
        for rate in self.tax_rates:
            account, code = data[f"tax_rate:{rate.pk}.account"], data[f"tax_rate:{rate.pk}.tax_code"]
            if account and code:
                TaxRateMapping.objects.update_or_create(
                    **scope,
                    tax_rate=rate,
                    defaults={
                        "account_id": account,
                        "account_code": self._code(account),
                        "ledger_tax_code": code,
                    },
                )
            else:
                TaxRateMapping.objects.filter(**scope, tax_rate=rate).delete()
        for line_type in LineType:
            account = data[f"line_type:{line_type.value}.account"]
            self._save_account(LineTypeMapping, {**scope, "line_type": line_type.value}, account)
        default = data[DEFAULT_PAYMENT]
        self._save_account(PaymentAccountMapping, {**scope, "method": "", "is_default": True}, default)
        for method in PaymentMethod:
            account = data[f"payment:{method.value}.account"]
            self._save_account(PaymentAccountMapping, {**scope, "method": method.value}, account)

    def _save_account(self, model: Any, key: dict[str, Any], account_id: str) -> None:
        if account_id:
            model.objects.update_or_create(
                **key, defaults={"account_id": account_id, "account_code": self._code(account_id)}
            )
        else:
            model.objects.filter(**key).delete()
