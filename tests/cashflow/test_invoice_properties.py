"""Property tests through the services: whatever lines are submitted, a stored invoice's totals are the sums
of its rounded lines, it is never negative, and a refused invoice leaves nothing behind."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerlink.cashflow import services
from ledgerlink.cashflow.errors import ValidationError
from ledgerlink.cashflow.models import LINE_SIGNS, Invoice

line_types = st.sampled_from(sorted(LINE_SIGNS))
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("500"), places=4)
unit_amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20000"), places=2)


@st.composite
def signed_lines(draw):
    line_type = draw(line_types)
    sign = LINE_SIGNS[line_type] or draw(st.sampled_from([1, -1]))
    return line_type, draw(quantities), sign * draw(unit_amounts), draw(st.integers(0, 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(signed_lines(), min_size=1, max_size=8), inclusive=st.booleans())
def test_stored_totals_are_the_sum_of_stored_lines(organisation, customer, gst, gst_free, lines, inclusive):
    rates = (gst, gst_free)
    data = services.InvoiceInput(
        customer_id=customer.pk,
        kind="custom",
        due_date=dt.date(2030, 1, 1),
        tax_inclusive=inclusive,
        lines=tuple(services.LineInput(t, "Line", q, u, rates[r].pk) for t, q, u, r in lines),
    )
    before = Invoice.objects.count()
    try:
        invoice = services.create_invoice(organisation, data)
    except ValidationError as refused:
        assert {error.loc for error in refused.errors} == {("lines",)}  # only a negative total is refused
        assert Invoice.objects.count() == before
        return
    stored = list(invoice.lines.all())
    assert invoice.total_minor >= 0
    assert invoice.tax_minor == sum(line.tax_minor for line in stored)
    amounts = sum(line.line_amount_minor for line in stored)
    assert (invoice.total_minor if inclusive else invoice.subtotal_minor) == amounts
    assert invoice.total_minor == invoice.subtotal_minor + invoice.tax_minor
    assert invoice.total == invoice.subtotal + invoice.tax
