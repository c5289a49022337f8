"""The read-only ledger page of one company (``/_sandbox/tenants/{realmId}``), like the Xero sandbox's:
what the connector wrote, as a person checking the books would look at it. Refreshes every 5 seconds."""

from __future__ import annotations

import html
from typing import Any

from ..control.apppages import row_id

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b2733}table{border-collapse:collapse;"
    "margin-bottom:2rem}td,th{border-bottom:1px solid #e0e6ea;padding:.3rem .8rem;text-align:left}"
    ".n{text-align:right;font-variant-numeric:tabular-nums}"
)
# (heading, store, columns): a column is (title, getter, numeric)
SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str, bool], ...]], ...] = (
    (
        "Invoices",
        "Invoice",
        (
            ("No.", "DocNumber", False),
            ("Customer", "CustomerRef", False),
            ("Date", "TxnDate", False),
            ("Total", "TotalAmt", True),
            ("Balance", "Balance", True),
            ("Note", "PrivateNote", False),
        ),
    ),
    (
        "Payments",
        "Payment",
        (
            ("Customer", "CustomerRef", False),
            ("Date", "TxnDate", False),
            ("Amount", "TotalAmt", True),
            ("Unapplied", "UnappliedAmt", True),
            ("Deposit to", "DepositToAccountRef", False),
            ("Note", "PrivateNote", False),
        ),
    ),
    (
        "Credit memos",
        "CreditMemo",
        (
            ("No.", "DocNumber", False),
            ("Customer", "CustomerRef", False),
            ("Date", "TxnDate", False),
            ("Total", "TotalAmt", True),
            ("Remaining", "RemainingCredit", True),
        ),
    ),
    (
        "Refund receipts",
        "RefundReceipt",
        (
            ("No.", "DocNumber", False),
            ("Customer", "CustomerRef", False),
            ("Date", "TxnDate", False),
            ("Total", "TotalAmt", True),
            ("From", "DepositToAccountRef", False),
        ),
    ),
)


def _cell(record: dict[str, Any], field: str, numeric: bool) -> str:
    value = record.get(field)
    if isinstance(value, dict):
        value = value.get("name") or value.get("value")
    if numeric:
        return f"<td class=n>{value:.2f}</td>" if value is not None else "<td class=n></td>"
    return f"<td>{html.escape(str(value or ''))}</td>"


def _table(heading: str, rows: list[dict[str, Any]], columns: tuple[tuple[str, str, bool], ...]) -> str:
    head = "".join(f"<th>{title}</th>" for title, _, _ in columns)
    body = "".join(
        f"<tr id='{html.escape(row_id(str(r.get('Id', ''))))}'>"
        + "".join(_cell(r, f, n) for _, f, n in columns)
        + "</tr>"
        for r in rows
    )
    return f"<h2>{heading}</h2><table><tr>{head}</tr>{body}</table>"


def company_page(tenant: dict[str, Any]) -> str:
    ledger = tenant["ledger"]
    name = html.escape(tenant["name"])
    tables = "".join(_table(h, list(ledger[store].values()), cols) for h, store, cols in SECTIONS)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><meta http-equiv='refresh' content='5'>"
        f"<title>{name}</title><style>{STYLE}</style></head><body>"
        f"<h1>{name} <small>({tenant['region']}, realm {html.escape(tenant['tenant_id'])}, "
        f"QuickBooks sandbox)</small></h1>"
        f"<p>{len(ledger['Customer'])} customers, {len(ledger['Item'])} items</p>"
        f"{tables}</body></html>"
    )
