"""Domain events: CashFlow's transactional outbox.

Contract (the sync engine and anything else reacting to CashFlow relies on it):

- `emit(organisation, kind, subject, **payload)` appends one `DomainEvent` row. It must be called inside the
  transaction that makes the change (it asserts `in_atomic_block`), so an event exists if and only if its
  change committed: nothing is emitted for a rolled-back change, and nothing committed lacks its event.
- Every handler registered with `register_handler(fn)` is called synchronously, in registration order,
  inside that same transaction, with the new event: `fn(event) -> None`. A handler that raises rolls the
  whole change back (the caller sees the exception). Handlers must therefore be quick, database-only and
  idempotent per event id; anything slow or remote belongs in `transaction.on_commit`.
- `subject` is the model the event is about: an `Invoice` for invoice.*, a `Payment` for payment.received,
  a `PaymentReversal` for payment.refunded / payment.charged_back / payment.undone. The payload is small
  (ids, numbers, money as decimal strings); readers load the rows for the rest.
- cashflow never imports its consumers; they register from their AppConfig.ready().
- `DomainEvent.id` grows with insertion, but on PostgreSQL concurrent transactions can commit out of id
  order: a consumer scanning by id must allow a grace window before trusting "nothing below N is missing".

Payloads (money as decimal strings in the invoice's currency):

- invoice.issued (subject: invoice): number, total, currency.
- invoice.cancelled (subject: invoice): number, credit_note_id, credit_note_number, credit_amount,
  amount_paid. A draft is cancelled without an event: it was never sent, so no ledger knows it.
- payment.received (subject: payment): invoice_id, invoice_number, amount, method, offline.
- payment.refunded / payment.charged_back / payment.undone (subject: payment_reversal): payment_id,
  invoice_id, invoice_number, amount, remaining (what is left of the payment), credit_note_id (null, or
  set when the invoice was already cancelled: the reversed money is then credited so it stays at zero due).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models, transaction

from ledgerlink.cashflow.models import DomainEvent, EventKind, Organisation

EventHandler = Callable[[DomainEvent], None]

_handlers: list[EventHandler] = []


def register_handler(handler: EventHandler) -> EventHandler:
    """Call `handler(event)` inside the transaction of every future event. Registering twice is a no-op,
    so an AppConfig.ready() that runs again does not double-handle. Usable as a decorator."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def unregister_handler(handler: EventHandler) -> None:
    """Stop calling `handler` (tests use this to clean up)."""
    if handler in _handlers:
        _handlers.remove(handler)


def subject_type(subject: models.Model) -> str:
    """The name an event uses for its subject's model: "invoice", "payment", "payment_reversal"."""
    return {"paymentreversal": "payment_reversal", "creditnote": "credit_note"}.get(
        subject._meta.model_name, subject._meta.model_name
    )


def emit(
    organisation: Organisation, kind: EventKind | str, subject: models.Model, **payload: Any
) -> DomainEvent:
    """Append an event for a change made in the current transaction and run the handlers on it."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("emit() must run inside the transaction that makes the change")
    event = DomainEvent.objects.create(
        organisation=organisation,
        kind=EventKind(kind),
        subject_type=subject_type(subject),
        subject_id=str(subject.pk),
        payload=payload,
    )
    for handler in list(_handlers):
        handler(event)
    return event
