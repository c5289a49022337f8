"""An installer's year, squeezed: invoices issued through CashFlow's services and, per invoice, a seeded
story of what happens next (paid, paid in parts, refunded, charged back, undone and paid again, cancelled
with or without money received). Every story is one CashFlow accepts, so each step must succeed; the
steps of one invoice run in order, the invoices of all organisations interleaved across threads."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection as db

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Invoice, Payment

from .world import Org

CENT = Decimal("0.01")
# (story, weight): the weights give about 0.8 payments, 0.18 reversals and 0.17 cancellations per invoice.
STORIES: tuple[tuple[str, int], ...] = (
    ("issued", 26),
    ("paid", 26),
    ("paid_in_two", 10),
    ("part_paid", 8),
    ("refunded_in_part", 6),
    ("refunded_then_cancelled", 4),
    ("charged_back_then_cancelled", 4),
    ("undone_then_repaid", 4),
    ("cancelled_unpaid", 5),
    ("part_paid_then_cancelled", 4),
)


@dataclass
class Slot:
    """One invoice's story, played by one thread in order."""

    org: Org
    story: str
    amount: Decimal  # the line's tax-inclusive unit amount
    quantity: Decimal
    customer_index: int
    method: str
    at: float  # seconds after the start when it is issued
    invoice: Invoice | None = None
    payments: list[Payment] = field(default_factory=list)


@dataclass
class Tally:
    invoices: int = 0
    payments: int = 0
    reversals: Counter[str] = field(default_factory=Counter)
    cancellations: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str) -> None:
        with self.lock:
            if what == "invoice":
                self.invoices += 1
            elif what == "payment":
                self.payments += 1
            elif what == "cancel":
                self.cancellations += 1
            else:
                self.reversals[what] += 1

    @property
    def objects(self) -> int:
        return self.invoices + self.payments + sum(self.reversals.values()) + self.cancellations


def plan(orgs: list[Org], invoices: int, window_s: float, rng: random.Random) -> list[Slot]:
    """`invoices` stories spread over the organisations and over `window_s` seconds, from the seed."""
    names = [name for name, _ in STORIES]
    weights = [weight for _, weight in STORIES]
    slots = []
    for n in range(invoices):
        org = orgs[n % len(orgs)]
        story = rng.choices(names, weights)[0]
        cents = rng.randint(15_000, 2_500_000)  # 150.00 to 25,000.00
        method = (
            rng.choice(("cash", "cheque"))
            if story == "undone_then_repaid"
            else rng.choice(("card", "bank_transfer", "finance"))
        )
        if story == "paid" and rng.random() < 0.3:
            method = rng.choice(("cash", "cheque"))
        quantity = Decimal(rng.choice((1, 1, 1, 2, 3)))
        slots.append(
            Slot(
                org,
                story,
                Decimal(cents) / 100,
                quantity,
                rng.randrange(len(org.customers)),
                method,
                rng.uniform(0, window_s),
            )
        )
    return sorted(slots, key=lambda slot: slot.at)


def _fresh(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def _issue(slot: Slot) -> Invoice:
    org = slot.org
    line = services.LineInput(
        "service", f"Solar service ({slot.story})", slot.quantity, slot.amount, org.gst.pk
    )
    draft = services.create_invoice(
        org.organisation,
        services.InvoiceInput(
            customer_id=org.customers[slot.customer_index].pk,
            kind="custom",
            due_date=services.organisation_today(org.organisation) + dt.timedelta(days=30),
            tax_inclusive=True,
            lines=[line],
        ),
    )
    return services.issue_invoice(draft)


def _part(total: Decimal, share: str) -> Decimal:
    return (total * Decimal(share)).quantize(CENT, ROUND_HALF_UP)


def play(slot: Slot, tally: Tally) -> None:
    """Issue the invoice and play its story through CashFlow's services."""
    invoice = _issue(slot)
    slot.invoice = invoice
    tally.add("invoice")
    total = invoice.total

    def pay(amount: Decimal, method: str | None = None) -> Payment:
        payment = services.record_payment(_fresh(invoice), amount, method or slot.method)
        tally.add("payment")
        return payment

    def cancel() -> None:
        services.cancel_invoice(_fresh(invoice))
        tally.add("cancel")

    story = slot.story
    if story == "paid":
        pay(total)
    elif story == "paid_in_two":
        pay(_part(total, "0.4"))
        pay(total - _part(total, "0.4"))
    elif story == "part_paid":
        pay(_part(total, "0.5"))
    elif story == "refunded_in_part":
        services.refund_payment(pay(total), _part(total, "0.3"))
        tally.add("refund")
    elif story == "refunded_then_cancelled":
        services.refund_payment(pay(total))
        tally.add("refund")
        cancel()
    elif story == "charged_back_then_cancelled":
        services.charge_back(pay(_part(total, "0.6")))
        tally.add("chargeback")
        cancel()
    elif story == "undone_then_repaid":
        services.undo_offline_payment(pay(total))
        tally.add("undo")
        pay(total, "bank_transfer")
    elif story == "cancelled_unpaid":
        cancel()
    elif story == "part_paid_then_cancelled":
        pay(_part(total, "0.25"))
        cancel()


def run(slots: list[Slot], threads: int, tally: Tally, stop: Callable[[], bool]) -> None:
    """Play every slot no earlier than its time, `threads` at once (slot n on thread n % threads, so the
    order within a thread is the plan's order)."""
    started = time.monotonic()

    def worker(index: int) -> None:
        try:
            for slot in slots[index::threads]:
                if stop():
                    return
                wait = slot.at - (time.monotonic() - started)
                if wait > 0:
                    time.sleep(wait)
                try:
                    play(slot, tally)
                except Exception as error:  # a refused step is a finding, reported, not a crash
                    with tally.lock:
                        tally.failures.append(f"{slot.story}: {type(error).__name__}: {error}")
        finally:
            db.close()

    workers = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
