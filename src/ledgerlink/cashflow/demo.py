"""Demo data: three installers (US, AU, UK) with 18 months of projects, invoices and payments.

Everything goes through `services`, so the demo's records, numbers and events are exactly what the API
would have made. A seeded `random.Random` makes the data the same on every run (relative to today).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from ledgerlink.cashflow import apikeys, services
from ledgerlink.cashflow.models import Invoice, Membership, Organisation, Payment, Role, TaxRate

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "ledgerlink-demo"
MONTHS_OF_HISTORY = 18
D = Decimal
ONE = Decimal(1)


@dataclass(frozen=True)
class Market:
    """How installers in one country price and tax: per-kW price, inclusive or not, the rates, incentives."""

    country: str
    name: str
    email_domain: str
    cities: tuple[tuple[str, str, str], ...]  # city, region, postal code
    price_per_kw: Decimal
    tax_inclusive: bool
    tax_rates: tuple[tuple[str, Decimal], ...]  # the first is the standard rate, the last is 0%
    system_rate: int  # index into tax_rates for system and milestone lines
    incentive: tuple[str, Decimal]  # description, share of the system price
    surcharge_percent: Decimal


MARKETS = (
    Market(
        country="US",
        name="Sunbelt Solar Co.",
        email_domain="sunbeltsolar.example",
        cities=(("Austin", "TX", "78701"), ("San Antonio", "TX", "78205"), ("Houston", "TX", "77002")),
        price_per_kw=D("2950.00"),
        tax_inclusive=False,
        tax_rates=(("Sales tax 8.25%", D("8.25")), ("Exempt", D(0))),
        system_rate=1,  # Texas exempts solar systems from sales tax
        incentive=("Utility solar rebate", D("0.08")),
        surcharge_percent=D("3"),
    ),
    Market(
        country="AU",
        name="Harbour Solar Pty Ltd",
        email_domain="harboursolar.example",
        cities=(("Sydney", "NSW", "2000"), ("Newcastle", "NSW", "2300"), ("Wollongong", "NSW", "2500")),
        price_per_kw=D("1150.00"),
        tax_inclusive=True,
        tax_rates=(("GST 10%", D(10)), ("GST Free", D(0))),
        system_rate=0,
        incentive=("STC point-of-sale discount", D("0.30")),
        surcharge_percent=D("1.5"),
    ),
    Market(
        country="GB",
        name="Brightwater Solar Ltd",
        email_domain="brightwatersolar.example",
        cities=(("Bristol", "", "BS1 4DJ"), ("Bath", "", "BA1 1SU"), ("Exeter", "", "EX1 1HS")),
        price_per_kw=D("1400.00"),
        tax_inclusive=True,
        tax_rates=(("VAT 20%", D(20)), ("VAT 5%", D(5)), ("Zero rated", D(0))),
        system_rate=2,  # solar panels and batteries are zero rated in Great Britain since 2022
        incentive=("Council green homes grant", D("0.10")),
        surcharge_percent=D(0),  # card surcharges are banned in the UK
    ),
)

FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Charlotte",
    "Noah",
    "Amelia",
    "Jack",
    "Isla",
    "Leo",
    "Mia",
    "Oscar",
    "Ava",
    "Henry",
)
LAST_NAMES = ("Nguyen", "Smith", "Patel", "Garcia", "Williams", "Brown", "Taylor", "Wilson", "Khan", "Martin")
STREETS = ("Harbour St", "Ridge Rd", "Wattle Ave", "Mill Lane", "Oak Dr", "Station Rd", "Bay View Tce")
ADDERS = (
    ("Tile roof work", D("850.00")),
    ("Trenching", D("1200.00")),
    ("Consumption monitoring", D("450.00")),
)
METHODS = ("card", "bank_transfer", "cash", "cheque", "finance")
MILESTONES = (("Deposit", D("0.10")), ("Installation progress", D("0.50")), ("Final payment", None))


@dataclass(frozen=True)
class DemoResult:
    organisations: tuple[Organisation, ...]
    username: str
    password: str | None  # None when the user already existed
    api_keys: tuple[tuple[Organisation, str], ...]


class AlreadySeeded(Exception):
    """The demo organisations exist; seeding twice would duplicate them."""


class _Installer:
    """Seeds one organisation's history."""

    def __init__(self, market: Market, rng: random.Random):
        self.market = market
        self.rng = rng
        self.organisation = services.create_organisation(
            market.name, market.country, accounting_email=f"accounts@{market.email_domain}"
        )
        # The organisation's own date: a US installer's "today" can be a day behind UTC's.
        self.today = services.organisation_today(self.organisation)
        self.rates: list[TaxRate] = [
            services.create_tax_rate(self.organisation, name, rate) for name, rate in market.tax_rates
        ]

    # --- records --------------------------------------------------------------------------------------

    def customer_and_project(self, index: int):
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        city, region, postal = self.rng.choice(self.market.cities)
        street = f"{self.rng.randint(1, 240)} {self.rng.choice(STREETS)}"
        customer = services.create_customer(
            self.organisation,
            services.CustomerInput(
                name=f"{first} {last}",
                email=f"{first}.{last}.{index}@example.com".lower(),
                phone=f"+{self.rng.randint(10**9, 10**10 - 1)}",
                address_line1=street,
                city=city,
                region=region,
                postal_code=postal,
                country=self.market.country,
            ),
        )
        size = D(self.rng.choice(("5.0", "6.6", "8.2", "10.0", "13.3")))
        project = services.create_project(
            self.organisation,
            customer.pk,
            f"{size} kW solar + battery, {street}",
            site_address=f"{street}, {city} {region} {postal}".replace("  ", " "),
            system_size_kw=size,
        )
        return customer, project

    def _line(self, line_type: str, description: str, amount: Decimal, rate: int, quantity=ONE):
        return services.LineInput(line_type, description, quantity, amount, self.rates[rate].pk)

    def _issue(self, data: services.InvoiceInput, issued_on: dt.date) -> Invoice:
        invoice = services.create_invoice(self.organisation, data)
        return services.issue_invoice(invoice, issue_date=issued_on)

    def _invoice_input(self, customer, lines, issued_on, **extra) -> services.InvoiceInput:
        return services.InvoiceInput(
            customer_id=customer.pk,
            due_date=issued_on + dt.timedelta(days=14),
            tax_inclusive=self.market.tax_inclusive,
            lines=tuple(lines),
            **extra,
        )

    def milestone_invoices(self, customer, project, start: dt.date) -> Iterator[tuple[Invoice, str]]:
        """Deposit, progress and final: the final is the remainder, less the incentive."""
        price = (project.system_size_kw * self.market.price_per_kw).quantize(D("0.01"))
        billed = D(0)
        for step, (title, share) in enumerate(MILESTONES):
            issued_on = start + dt.timedelta(days=21 * step)
            if issued_on > self.today:
                return
            amount = price - billed if share is None else (price * share).quantize(D("0.01"))
            billed += amount
            lines = [self._line("milestone", title, amount, self.market.system_rate)]
            if share is None:
                label, incentive_share = self.market.incentive
                incentive = -(price * incentive_share).quantize(D("0.01"))
                lines.append(self._line("incentive", label, incentive, len(self.rates) - 1))
            data = self._invoice_input(
                customer, lines, issued_on, kind="milestone", milestone_title=title, project_id=project.pk
            )
            yield self._issue(data, issued_on), self.rng.choice(METHODS)

    def custom_invoice(self, customer, project, issued_on: dt.date, method: str) -> tuple[Invoice, str]:
        """A one-off invoice for a whole system: adders, a discount, an incentive, a fee, and a surcharge
        when paid by card where surcharges are allowed."""
        standard = 0
        price = (project.system_size_kw * self.market.price_per_kw).quantize(D("0.01"))
        adder, adder_price = self.rng.choice(ADDERS)
        label, incentive_share = self.market.incentive
        lines = [
            self._line("system", f"{project.system_size_kw} kW solar system", price, self.market.system_rate),
            self._line("adder", adder, adder_price, standard),
            self._line("discount", "Winter promotion", D("-250.00"), standard),
            self._line(
                "incentive", label, -(price * incentive_share).quantize(D("0.01")), len(self.rates) - 1
            ),
            self._line("fee", "Permit and inspection", D("320.00"), len(self.rates) - 1),
        ]
        if method == "card" and self.market.surcharge_percent:
            surcharge = (price * self.market.surcharge_percent / 100).quantize(D("0.01"))
            lines.append(
                self._line(
                    "surcharge", f"Card surcharge {self.market.surcharge_percent}%", surcharge, standard
                )
            )
        data = self._invoice_input(
            customer, lines, issued_on, kind="custom", project_id=project.pk, reference="Quote"
        )
        return self._issue(data, issued_on), method

    def service_invoice(self, customer, issued_on: dt.date) -> tuple[Invoice, str]:
        """A service call with parts: labour, a product, a call-out fee."""
        lines = [
            self._line("service", "Annual system health check", D("95.00"), 0, quantity=D("1.5")),
            self._line("product", "Replacement isolator switch", D("64.90"), 0, quantity=D(2)),
            self._line("fee", "Call-out fee", D("49.00"), 0),
        ]
        data = self._invoice_input(customer, lines, issued_on, kind="custom", reference="Service call")
        return self._issue(data, issued_on), self.rng.choice(("card", "cash", "cheque", "bank_transfer"))

    # --- money ----------------------------------------------------------------------------------------

    def settle(self, invoice: Invoice, method: str) -> None:
        """Pay most invoices (some in two parts), leave recent ones open, reverse a few, cancel some."""
        age = (self.today - invoice.issue_date).days
        roll = self.rng.random()
        if roll < 0.06 and age > 20:
            services.cancel_invoice(invoice, cancelled_on=invoice.issue_date + dt.timedelta(days=5))
            return
        if age < 10 or roll < 0.12:
            return  # not paid yet
        paid_on = min(invoice.issue_date + dt.timedelta(days=self.rng.randint(1, 20)), self.today)
        if roll < 0.25 and invoice.total > 100:
            first = (invoice.total / 2).quantize(D("0.01"))
            self._pay(invoice, first, method, paid_on)
            if roll < 0.18:
                return  # part paid
            self._pay(invoice, invoice.total - first, method, paid_on)
            return
        payment = self._pay(invoice, invoice.total, method, paid_on)
        self.reverse_some(payment, roll, paid_on)

    def _pay(self, invoice: Invoice, amount: Decimal, method: str, on: dt.date) -> Payment:
        return services.record_payment(
            invoice, amount, method, received_on=on, reference=f"{method}-{invoice.number}"
        )

    def reverse_some(self, payment: Payment, roll: float, paid_on: dt.date) -> None:
        later = min(paid_on + dt.timedelta(days=7), self.today)
        if roll > 0.95:
            services.refund_payment(payment, occurred_on=later, reference="Customer withdrew")
        elif roll > 0.90:
            services.refund_payment(payment, (payment.amount / 10).quantize(D("0.01")), occurred_on=later)
        elif roll > 0.88 and not payment.offline:
            services.charge_back(payment, occurred_on=later, reference="Disputed with card issuer")
        elif roll > 0.86 and payment.offline:
            services.undo_offline_payment(payment, occurred_on=later, reference="Cheque bounced")


def _months_ago(today: dt.date, months: int) -> dt.date:
    return today - dt.timedelta(days=round(months * 30.4))


def _seed_market(market: Market, rng: random.Random, projects: int, tick: Callable[[], None]):
    installer = _Installer(market, rng)
    today = installer.today
    start = _months_ago(today, MONTHS_OF_HISTORY)
    span = (today - start).days
    for index in range(projects):
        customer, project = installer.customer_and_project(index)
        began = start + dt.timedelta(days=span * index // projects)
        if index % 3 == 2:
            method = "card" if index % 2 else installer.rng.choice(METHODS)
            invoices = [installer.custom_invoice(customer, project, began, method)]
        else:
            invoices = list(installer.milestone_invoices(customer, project, began))
        if index % 4 == 0 and began + dt.timedelta(days=200) <= today:
            invoices.append(installer.service_invoice(customer, began + dt.timedelta(days=200)))
        for invoice, method in invoices:
            installer.settle(invoice, method)
        tick()
    _showcase(installer, projects)
    return installer.organisation


def _showcase(installer: _Installer, index: int) -> None:
    """Recent events every demo organisation shows whatever the dice said: a draft, a cancelled draft,
    a part refund, a chargeback and an undone cheque."""
    customer, _ = installer.customer_and_project(index)
    today = installer.today
    lines = [installer._line("service", "Battery firmware upgrade", D("180.00"), 0)]
    draft_input = installer._invoice_input(customer, lines, today, kind="custom")
    services.create_invoice(installer.organisation, draft_input)
    services.cancel_invoice(services.create_invoice(installer.organisation, draft_input))
    week_ago = today - dt.timedelta(days=7)
    invoice = installer._issue(
        installer._invoice_input(customer, lines * 3, week_ago, kind="custom"), week_ago
    )
    card = installer._pay(invoice, D("180.00"), "card", week_ago)
    services.refund_payment(card, D("30.00"), reference="Goodwill credit")
    services.charge_back(installer._pay(invoice, D("180.00"), "card", week_ago), reference="Card dispute")
    services.undo_offline_payment(
        installer._pay(invoice, D("100.00"), "cheque", week_ago), reference="Bounced"
    )


def seed_demo(
    *, projects_per_organisation: int = 24, seed: int = 2026, tick: Callable[[], None] = lambda: None
) -> DemoResult:
    """Create the demo organisations, a demo admin in all of them, and one API key each.
    Refuses (AlreadySeeded) if they exist, so running it twice never duplicates anything."""
    names = [market.name for market in MARKETS]
    if Organisation.objects.filter(name__in=names).exists():
        raise AlreadySeeded("The demo organisations already exist; nothing was changed.")
    rng = random.Random(seed)
    organisations = []
    for market in MARKETS:
        with transaction.atomic():
            organisations.append(_seed_market(market, rng, projects_per_organisation, tick))
    user, password = _demo_user()
    keys = []
    for organisation in organisations:
        Membership.objects.get_or_create(user=user, organisation=organisation, defaults={"role": Role.ADMIN})
        keys.append((organisation, apikeys.create_api_key(organisation, "demo")[1]))
    return DemoResult(tuple(organisations), user.get_username(), password, tuple(keys))


def _demo_user():
    users = get_user_model()
    user = users.objects.filter(username=DEMO_USERNAME).first()
    if user is not None:
        return user, None
    return users.objects.create_user(DEMO_USERNAME, "demo@ledgerlink.example", DEMO_PASSWORD), DEMO_PASSWORD
