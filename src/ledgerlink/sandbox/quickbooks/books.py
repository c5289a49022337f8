"""One company's books and QBO's rules for the entities a connector writes (quickbooks.md §2, §10 items
7-15): name lists (Customer, Item) with their uniqueness rules, sales forms (Invoice, CreditMemo,
RefundReceipt) with line checks, discounts and both tax models, Payment application, SyncToken and sparse
updates, void and delete.

Balances are derived, never stored by hand: after every write ``settle`` recomputes each invoice's
``Balance``/``LinkedTxn`` and each credit memo's ``RemainingCredit`` from the live payments, so a void or a
delete restores them by construction. Every refusal is a ``QBOError``; nothing here knows HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..control.keys import id_order
from .errors import QBOError, business, invalid_ref, missing, too_long
from .keys import INDEX, NAME_LISTS, SALES_FORMS
from .tax import compute_tax
from .wire import CENT, local_date, money, obj, optional_money, parse_bool, present, ref_value

TRANSACTIONS = (*SALES_FORMS, "Payment")
# Fields a client may not set: QBO computes them (python-quickbooks sends them with defaults anyway).
READ_ONLY = frozenset(
    {
        "Id",
        "SyncToken",
        "MetaData",
        "domain",
        "sparse",
        "TotalAmt",
        "Balance",
        "HomeBalance",
        "HomeTotalAmt",
        "BalanceWithJobs",
        "FullyQualifiedName",
        "Level",
        "LinkedTxn",
        "UnappliedAmt",
        "RemainingCredit",
        "status",
        "InvoiceLink",
    }
)
INACTIVE_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)
DOC_NUMBER_MAX = 21
BANK_LIKE = frozenset({"Bank", "Other Current Asset"})
_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$")


def next_number(previous: str | None) -> str:
    """QBO's auto-numbering: last + 1, any prefix kept (``CF-1000`` → ``CF-1001``); starts at 1001."""
    match = _TRAILING_DIGITS.match(previous or "")
    if match is None:
        return "1001"
    prefix, digits = match.groups()
    return prefix + str(int(digits) + 1).zfill(len(digits))


class BatchSight:
    """What the items of one batch see: the books as they stood when it began, so an item cannot see what
    an earlier item created (quickbooks.md §3). Kept as what the batch created, not as a copy of every id
    the company holds, which cost each batch the size of the books."""

    def __init__(self) -> None:
        self.created: set[str] = set()

    def sees(self, entity: str, id_: str) -> bool:
        return f"{entity}:{id_}" not in self.created


class Books:
    """A company's ledger during one call; ``sight`` during a batch."""

    def __init__(
        self,
        ledger: dict[str, Any],
        now: float,
        params: dict[str, str],
        sight: BatchSight | None = None,
    ) -> None:
        self.ledger = ledger
        self.now = now
        self.params = params
        self.sight = sight
        self.us = ledger["region"] == "US"

    # -- lookups ----------------------------------------------------------------------------------------
    def can_see(self, entity: str, id_: str) -> bool:
        return self.sight is None or self.sight.sees(entity, id_)

    def get(self, entity: str, id_: str) -> dict[str, Any]:
        """Read by id: 610 when deleted or unknown (quickbooks.md §2.8)."""
        record = self.ledger.get(entity, {}).get(id_)
        if record is None or not self.can_see(entity, id_):
            if f"{entity}:{id_}" in self.ledger["deleted"]:
                raise QBOError(
                    "610", "Object Not Found", "Object Not Found : Another user has deleted this transaction."
                )
            raise QBOError("610", "Object Not Found", f"Object Not Found : {entity} {id_} was not found.")
        return record

    def ref(self, entity: str, body: dict[str, Any], field: str, element: str = "") -> dict[str, Any] | None:
        """Resolve ``body[field]``: None when absent, 2500 when unknown, 610 when inactive."""
        value = ref_value(body.get(field))
        if value is None:
            return None
        record = self.ledger[entity].get(value)
        if record is None or not self.can_see(entity, value):
            raise invalid_ref(element or field, value)
        if record.get("Active") is False:
            raise QBOError("610", "Object Not Found", INACTIVE_DETAIL, element or field)
        return record

    def required_ref(
        self, entity: str, body: dict[str, Any], field: str, element: str = ""
    ) -> dict[str, Any]:
        record = self.ref(entity, body, field, element)
        if record is None:
            raise missing(element or field)
        return record

    def _new_id(self) -> str:
        self.ledger["next_id"] += 1
        return str(self.ledger["next_id"])

    def today(self) -> str:
        return local_date(self.now, self.ledger["zone"])

    # -- the write path shared by every entity ----------------------------------------------------------
    def _existing(self, entity: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The object an update names, after the SyncToken check (5010 when stale)."""
        if not present(body.get("Id")):
            return None
        current = self.get(entity, str(body["Id"]))
        token = body.get("SyncToken")
        if not present(token):
            raise missing("SyncToken")
        if str(token) != current["SyncToken"]:
            raise QBOError(
                "5010",
                "Stale Object Error",
                "Stale Object Error : You and Sandbox User were working on this at the same time. "
                "Sandbox User finished before you did, so your work was not saved.",
            )
        return current

    def edited_elsewhere(self, entity: str, body: Any) -> None:
        """Another user saves the object a write names (its SyncToken and update time move on, nothing
        else changes), as happens between a client's read and its write; objects not found are left."""
        if not isinstance(body, dict) or not present(body.get("Id")):
            return
        current = self.ledger.get(entity, {}).get(str(body["Id"]))
        if current is None:
            return
        current["SyncToken"] = str(int(current["SyncToken"]) + 1)
        current["MetaData"] = {**current["MetaData"], "LastUpdatedTime": self.now}

    @staticmethod
    def _read_only(entity: str) -> frozenset[str]:
        """A payment's TotalAmt is what the client says was paid; elsewhere QBO computes it."""
        return READ_ONLY - {"TotalAmt"} if entity == "Payment" else READ_ONLY

    def _merged(self, entity: str, current: dict[str, Any] | None, body: dict[str, Any]) -> dict[str, Any]:
        """Sparse updates change only what is sent; a full update nulls what is left out (§2.8)."""
        read_only = self._read_only(entity)
        fields = {k: v for k, v in body.items() if k not in read_only and present(v)}
        if current is None:
            return fields
        if parse_bool(body.get("sparse")):
            kept = {k: v for k, v in current.items() if k not in read_only and not k.startswith("_")}
            return {**kept, **fields}
        return fields

    def _store(self, entity: str, current: dict[str, Any] | None, record: dict[str, Any]) -> dict[str, Any]:
        if current is None:
            record.update(
                Id=self._new_id(),
                SyncToken="0",
                MetaData={"CreateTime": self.now, "LastUpdatedTime": self.now},
            )
        else:
            meta = {**current["MetaData"], "LastUpdatedTime": self.now}
            private = {k: v for k, v in current.items() if k.startswith("_")}
            record.update(
                private, Id=current["Id"], SyncToken=str(int(current["SyncToken"]) + 1), MetaData=meta
            )
        record.update(domain="QBO", sparse=False)
        self.ledger[entity][record["Id"]] = record
        INDEX.saved(self.ledger, entity, record, current)
        if current is None and self.sight is not None:
            self.sight.created.add(f"{entity}:{record['Id']}")
        self.settle(_settled_by(entity, current, record))
        return record

    def save(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create (no ``Id``) or update an entity; the saved object as QBO returns it."""
        current = self._existing(entity, body)
        fields = self._merged(entity, current, body)
        if entity == "Customer":
            record = self._customer(fields, current)
        elif entity == "Item":
            record = self._item(fields, current)
        elif entity == "Payment":
            record = self._payment(fields, current)
        else:
            record = self._sales_form(entity, fields, current)
        self._check_period_open(entity, record)
        return self._store(entity, current, record)

    def _check_period_open(self, entity: str, record: dict[str, Any]) -> None:
        """A transaction dated on or before the company's closing date is refused (6210, quickbooks.md 6):
        the accountant closed the books for that period."""
        closed = self.ledger["settings"].get("book_close_date")
        if closed and entity != "Customer" and entity != "Item" and str(record.get("TxnDate")) <= closed:
            raise QBOError(
                "6210",
                "Account Period Closed",
                f"The account period has closed. The books are closed through {closed}: "
                "transactions on or before that date cannot be added or changed.",
                "TxnDate",
            )

    # -- name lists -------------------------------------------------------------------------------------
    def _display_name(self, fields: dict[str, Any]) -> str:
        name = fields.get("DisplayName")
        if not present(name):
            parts = [fields.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
            name = " ".join(str(p).strip() for p in parts if present(p))
        if not name:
            raise QBOError(
                "6080", "No name provided", "Please provide a DisplayName or a name.", "DisplayName"
            )
        if len(name) > 500:
            raise too_long("DisplayName", 500)
        return str(name).strip()

    def _customer(self, fields: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """DisplayName unique across customers, vendors and employees, inactive ones included (6240)."""
        name = self._display_name(fields)
        own_id = None if current is None else current["Id"]
        for kind in NAME_LISTS:
            for other in INDEX.with_key(self.ledger, kind, "DisplayName", name):
                if not (kind == "Customer" and other["Id"] == own_id):
                    raise QBOError(
                        "6240",
                        "Duplicate Name Exists Error",
                        "The name supplied already exists. : Another customer, vendor or employee is "
                        "already using this name. Please use a different name.",
                        "DisplayName",
                    )
        if (
            current is not None
            and "CurrencyRef" in fields
            and fields["CurrencyRef"] != current.get("CurrencyRef")
        ):
            raise business("The currency of a customer cannot be changed.", "CurrencyRef")
        for field, limit in (("GivenName", 100), ("FamilyName", 100), ("CompanyName", 100), ("Notes", 2000)):
            if len(str(fields.get(field, ""))) > limit:
                raise too_long(field, limit)
        record = {**fields, "DisplayName": name, "FullyQualifiedName": name, "PrintOnCheckName": name}
        record.setdefault("Active", True)
        record.setdefault("CurrencyRef", self.currency_ref())
        return record

    def currency_ref(self) -> dict[str, str]:
        return {"value": self.ledger["currency"]}

    def _item(self, fields: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """Service/NonInventory items post to their IncomeAccountRef (quickbooks.md §2.4)."""
        name = fields.get("Name")
        if not present(name):
            raise missing("Name")
        name = str(name).strip()
        if len(name) > 100:
            raise too_long("Name", 100)
        own_id = None if current is None else current["Id"]
        if any(
            i["Name"].casefold() == name.casefold() and i["Id"] != own_id
            for i in self.ledger["Item"].values()
        ):
            raise QBOError(
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another product or service is already using this name.",
                "Name",
            )
        kind = fields.get("Type")
        if kind not in ("Service", "NonInventory"):
            if not present(kind):
                raise missing("Type")
            raise business(
                f"Item type {kind} is not supported by the sandbox (Service, NonInventory).", "Type"
            )
        account = self.required_ref("Account", fields, "IncomeAccountRef")
        if account["AccountType"] in ("Accounts Receivable", "Accounts Payable"):
            raise QBOError(
                "6430",
                "Invalid account type",
                "Invalid account type : You need to select a different type of account for this item.",
                "IncomeAccountRef",
            )
        record = {**fields, "Name": name, "FullyQualifiedName": name}
        record["IncomeAccountRef"] = {"value": account["Id"], "name": account["Name"]}
        if "UnitPrice" in record:
            record["UnitPrice"] = money(record["UnitPrice"], "UnitPrice")
        record.setdefault("Active", True)
        return record

    # -- sales forms ------------------------------------------------------------------------------------
    def _doc_number(self, entity: str, fields: dict[str, Any], own_id: str | None) -> str | None:
        """Kept as sent; auto-numbered when custom numbers are off (or AUTO_GENERATE); unique per type."""
        number = fields.get("DocNumber")
        default = self.ledger["preferences"]["SalesFormsPrefs"]["CustomTxnNumbers"]
        custom = self.ledger["settings"].get("custom_txn_numbers", default)
        if number == "AUTO_GENERATE" or (not present(number) and not custom and own_id is None):
            numbers = [d["DocNumber"] for d in self.ledger[entity].values() if d.get("DocNumber")]
            return next_number(numbers[-1] if numbers else None)
        if not present(number):
            return None
        number = str(number)
        if len(number) > DOC_NUMBER_MAX:
            raise too_long("DocNumber", DOC_NUMBER_MAX)
        if "allowduplicatedocnum" not in self.params.get("include", "").lower():
            for other in INDEX.with_key(self.ledger, entity, "DocNumber", number):
                if other["Id"] != own_id:
                    raise QBOError(
                        "6140",
                        "Duplicate Document Number Error",
                        "Duplicate Document Number Error : You must specify a different number. "
                        f"This number has already been used. DocNumber={number} is assigned to "
                        f"TxnType={entity} with TxnId={other['Id']}",
                        "DocNumber",
                    )
        return number

    def _sales_form(
        self, entity: str, fields: dict[str, Any], current: dict[str, Any] | None
    ) -> dict[str, Any]:
        customer = self.ref("Customer", fields, "CustomerRef")
        if customer is None and entity != "RefundReceipt":
            raise missing("CustomerRef")
        if entity == "RefundReceipt":
            self._bank_account(fields, required=True)
        if "CurrencyRef" in fields and ref_value(fields["CurrencyRef"]) != self.ledger["currency"]:
            raise business(
                "Multicurrency is off for this company: only the home currency can be used.", "CurrencyRef"
            )
        if len(str(fields.get("PrivateNote", ""))) > 4000:
            raise too_long("PrivateNote", 4000)
        lines = [
            line
            for line in fields.get("Line", [])
            if isinstance(line, dict) and line.get("DetailType") != "SubTotalLineDetail"
        ]
        if not lines:
            raise missing("Line")
        own_id = None if current is None else current["Id"]
        record = dict(fields)
        number = self._doc_number(entity, record, own_id)
        record["DocNumber"] = number
        record["Line"] = self._lines(lines, current)
        if customer is not None:
            record["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
        record["CurrencyRef"] = self.currency_ref()
        record["TxnDate"] = str(fields.get("TxnDate") or self.today())[:10]
        record["DueDate"] = self._due_date(record)
        record["ApplyTaxAfterDiscount"] = parse_bool(fields.get("ApplyTaxAfterDiscount"))
        if not self.us:
            record["GlobalTaxCalculation"] = fields.get("GlobalTaxCalculation", "TaxExcluded")
            if record["GlobalTaxCalculation"] not in ("TaxExcluded", "TaxInclusive", "NotApplicable"):
                raise QBOError(
                    "2170",
                    "Invalid Enumeration",
                    "GlobalTaxCalculation is not a valid value.",
                    "GlobalTaxCalculation",
                )
        else:
            record.pop(
                "GlobalTaxCalculation", None
            )  # python-quickbooks sends TaxExcluded even to US companies
        total = compute_tax(self, record)
        if total < 0:
            raise business("Transaction amount must be positive: use a credit memo instead.", "TotalAmt")
        record["TotalAmt"] = total
        record.setdefault("EmailStatus", "NotSet")
        record.setdefault("PrintStatus", "NotSet")
        if entity == "RefundReceipt":
            record["Balance"] = Decimal("0.00")
        return record

    def _due_date(self, record: dict[str, Any]) -> str | None:
        if record.get("DueDate"):
            return str(record["DueDate"])[:10]
        term = self.ref("Term", record, "SalesTermRef")
        if term is None:
            return record["TxnDate"]
        return (date.fromisoformat(record["TxnDate"]) + timedelta(days=int(term["DueDays"]))).isoformat()

    def _bank_account(self, fields: dict[str, Any], required: bool) -> dict[str, Any] | None:
        account = self.ref("Account", fields, "DepositToAccountRef")
        if account is None:
            if required:
                raise missing("DepositToAccountRef")
            return None
        if account["AccountType"] not in BANK_LIKE:
            raise business(
                "DepositToAccountRef must be a Bank or Other Current Asset account.", "DepositToAccountRef"
            )
        return account

    def _lines(self, lines: list[dict[str, Any]], current: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Lines with a known Id keep it; others are new; lines left out are gone (§2.5 "Line Id")."""
        known = {str(line["Id"]) for line in (current or {}).get("Line", []) if "Id" in line}
        counter = max([int(i) for i in known if i.isdigit()] + [0])
        out = []
        for number, line in enumerate(lines, start=1):
            clean = self._line(line, number)
            line_id = str(line.get("Id", ""))
            if line_id not in known:
                counter += 1
                line_id = str(counter)
            out.append({"Id": line_id, "LineNum": number, **clean})
        return out

    def _line(self, line: dict[str, Any], number: int) -> dict[str, Any]:
        kind = line.get("DetailType")
        if kind == "SalesItemLineDetail":
            return self._sales_line(line)
        if kind == "DiscountLineDetail":
            return self._discount_line(line)
        if kind == "DescriptionOnly":
            out = {"DetailType": kind, "Description": line.get("Description"), "DescriptionLineDetail": {}}
            if present(line.get("Amount")):
                out["Amount"] = money(line["Amount"], "Line.Amount")
            return out
        if not present(kind):
            raise missing("Line.DetailType")
        raise business(
            f"Line {number}: DetailType {kind} is not supported by the sandbox.", "Line.DetailType"
        )

    def _sales_line(self, line: dict[str, Any]) -> dict[str, Any]:
        detail = obj(line.get("SalesItemLineDetail"))
        amount = money(line.get("Amount"), "Line.Amount")
        item = self.required_ref("Item", detail, "ItemRef", "Line.SalesItemLineDetail.ItemRef")
        qty = optional_money(detail.get("Qty"), "Line.SalesItemLineDetail.Qty")
        price = optional_money(detail.get("UnitPrice"), "Line.SalesItemLineDetail.UnitPrice")
        if (
            qty is not None
            and price is not None
            and (qty * price).quantize(CENT, ROUND_HALF_UP) != amount.quantize(CENT, ROUND_HALF_UP)
        ):
            raise QBOError(
                "6070",
                "Amount is not equal to UnitPrice * Qty",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                "Line.Amount",
            )
        out_detail: dict[str, Any] = {"ItemRef": {"value": item["Id"], "name": item["Name"]}}
        if qty is not None:
            out_detail["Qty"] = qty
        if price is not None:
            out_detail["UnitPrice"] = price
        out_detail["TaxCodeRef"] = {"value": self._line_tax_code(detail, item)}
        for field in ("ServiceDate", "ClassRef", "ItemAccountRef"):
            if present(detail.get(field)):
                out_detail[field] = detail[field]
        out_detail["ItemAccountRef"] = item["IncomeAccountRef"]
        out = {
            "DetailType": "SalesItemLineDetail",
            "Amount": amount.quantize(CENT, ROUND_HALF_UP),
            "SalesItemLineDetail": out_detail,
        }
        if present(line.get("Description")):
            if len(str(line["Description"])) > 4000:
                raise too_long("Line.Description", 4000)
            out["Description"] = line["Description"]
        return out

    def _line_tax_code(self, detail: dict[str, Any], item: dict[str, Any]) -> str:
        """US: the pseudo-codes TAX/NON only (6100), defaulting from the item; elsewhere a real TaxCode Id,
        required on every line (quickbooks.md §2.2)."""
        code = ref_value(detail.get("TaxCodeRef"))
        if self.us:
            if code is None:
                return "TAX" if item.get("Taxable") else "NON"
            if code not in ("TAX", "NON"):
                raise QBOError(
                    "6100",
                    "Invalid line TaxCode",
                    f"Invalid TaxCode {code}: US lines take TAX or NON.",
                    "Line.SalesItemLineDetail.TaxCodeRef",
                )
            return code
        if code is None:
            raise business(
                "Make sure all your transactions have a tax rate before you save.",
                "Line.SalesItemLineDetail.TaxCodeRef",
            )
        tax_code = self.ledger["TaxCode"].get(code)
        if tax_code is None or not tax_code["SalesTaxRateList"]["TaxRateDetail"]:
            raise invalid_ref("Line.SalesItemLineDetail.TaxCodeRef", code)
        return code

    def _discount_line(self, line: dict[str, Any]) -> dict[str, Any]:
        detail = obj(line.get("DiscountLineDetail"))
        if not self.ledger["preferences"]["SalesFormsPrefs"]["AllowDiscount"]:
            raise business("Discounts are turned off for this company.", "Line.DiscountLineDetail")
        percent_based = parse_bool(detail.get("PercentBased"))
        percent = optional_money(detail.get("DiscountPercent"), "Line.DiscountLineDetail.DiscountPercent")
        amount = optional_money(line.get("Amount"), "Line.Amount")
        if (percent_based and percent is None) or (not percent_based and amount is None):
            raise QBOError(
                "6090",
                "Discount amount or percent required",
                "A discount line needs an Amount or a DiscountPercent.",
                "Line.DiscountLineDetail",
            )
        account = self.ref(
            "Account", detail, "DiscountAccountRef", "Line.DiscountLineDetail.DiscountAccountRef"
        )
        account = account or self.ledger["Account"]["8"]
        out_detail: dict[str, Any] = {
            "PercentBased": percent_based,
            "DiscountAccountRef": {"value": account["Id"], "name": account["Name"]},
        }
        if percent_based:
            out_detail["DiscountPercent"] = percent
        return {"DetailType": "DiscountLineDetail", "Amount": amount, "DiscountLineDetail": out_detail}

    # -- payments ---------------------------------------------------------------------------------------
    def _payment(self, fields: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """Lines link invoices (and credit memos) of the same customer (620); the rest is UnappliedAmt;
        no DepositToAccountRef means Undeposited Funds (quickbooks.md §2.6)."""
        customer = self.required_ref("Customer", fields, "CustomerRef")
        total = money(fields.get("TotalAmt"), "TotalAmt")
        if total < 0:
            raise business("The payment amount cannot be negative.", "TotalAmt")
        account = self._bank_account(fields, required=False) or self.ledger["Account"]["3"]
        self.ref("PaymentMethod", fields, "PaymentMethodRef")
        own_id = None if current is None else current["Id"]
        lines, applied = [], Decimal("0")
        for line in fields.get("Line", []):
            amount, link = self._payment_line(line, customer["Id"], own_id)
            applied += amount if link["TxnType"] == "Invoice" else -amount
            lines.append({"Amount": amount, "LinkedTxn": [link]})
        if applied > total:
            raise business("The amounts applied are more than the payment amount.", "TotalAmt")
        record = {
            **fields,
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "TotalAmt": total,
        }
        record.update(Line=lines, UnappliedAmt=total - applied, CurrencyRef=self.currency_ref())
        record["DepositToAccountRef"] = {"value": account["Id"], "name": account["Name"]}
        record["TxnDate"] = str(fields.get("TxnDate") or self.today())[:10]
        record["ProcessPayment"] = False
        return record

    def _payment_line(
        self, line: Any, customer_id: str, own_id: str | None
    ) -> tuple[Decimal, dict[str, str]]:
        if not isinstance(line, dict):
            raise missing("Line")
        amount = money(line.get("Amount"), "Line.Amount")
        links = line.get("LinkedTxn") or []
        if not links or not isinstance(links[0], dict):
            raise missing("Line.LinkedTxn")
        txn_id, txn_type = str(links[0].get("TxnId", "")), links[0].get("TxnType")
        if txn_type not in ("Invoice", "CreditMemo"):
            raise business(f"A payment line cannot link a {txn_type}.", "Line.LinkedTxn.TxnType")
        target = self.ledger[txn_type].get(txn_id)
        if target is None or not self.can_see(txn_type, txn_id):
            raise invalid_ref("Line.LinkedTxn.TxnId", txn_id)
        if target["CustomerRef"]["value"] != customer_id:
            raise QBOError(
                "620",
                "Transaction cannot be linked",
                f"TxnID {txn_id} belongs to another customer and cannot be linked.",
                "Line.LinkedTxn",
            )
        open_amount = self._open_amount(txn_type, target, own_id)
        if amount <= 0 or amount > open_amount:
            raise business(
                f"The amount applied to {txn_type} {txn_id} must be more than 0 and at most {open_amount}.",
                "Line.Amount",
            )
        return amount, {"TxnId": txn_id, "TxnType": txn_type}

    def _open_amount(self, txn_type: str, target: dict[str, Any], own_id: str | None) -> Decimal:
        """What is still open on a document, counting this payment's own earlier application as open: its
        balance (kept by `settle` after every write) plus what this payment applies to it now."""
        own = self.ledger["Payment"].get(own_id or "")
        mine = sum(
            (
                line["Amount"]
                for line in (own["Line"] if own is not None and not own.get("_voided") else ())
                if line["LinkedTxn"][0] == {"TxnId": target["Id"], "TxnType": txn_type}
            ),
            Decimal("0"),
        )
        return target["Balance"] + mine

    def _live_payments(self, applied: frozenset[tuple[str, str]] | None) -> Iterable[dict[str, Any]]:
        """The payments not voided; only those applied to a document in `applied` when it is given."""
        if applied is None:
            payments: Iterable[dict[str, Any]] = self.ledger["Payment"].values()
        else:
            found = {
                payment["Id"]: payment
                for txn_type, txn_id in applied
                for payment in INDEX.with_key(self.ledger, "Payment", "applied_to", f"{txn_type}:{txn_id}")
            }
            payments = (found[id_] for id_ in sorted(found, key=id_order))
        return (p for p in payments if not p.get("_voided"))

    def settle(self, only: frozenset[tuple[str, str]] | None = None) -> None:
        """Recompute every invoice's Balance and LinkedTxn and every credit memo's RemainingCredit, or only
        those of the documents in `only` ((type, Id): what one write can change), so a write costs what
        it touches, not the whole company's books."""
        if only is not None and not only:
            return
        used: dict[tuple[str, str], Decimal] = {}
        links: dict[tuple[str, str], list[dict[str, str]]] = {}
        for payment in self._live_payments(only):
            for line in payment["Line"]:
                key = (line["LinkedTxn"][0]["TxnType"], line["LinkedTxn"][0]["TxnId"])
                if only is not None and key not in only:
                    continue
                used[key] = used.get(key, Decimal("0")) + line["Amount"]
                links.setdefault(key, []).append({"TxnId": payment["Id"], "TxnType": "Payment"})
        for invoice in self._settled("Invoice", only):
            key = ("Invoice", invoice["Id"])
            invoice["Balance"] = invoice["TotalAmt"] - used.get(key, Decimal("0"))
            invoice["LinkedTxn"] = links.get(key, [])
        for memo in self._settled("CreditMemo", only):
            key = ("CreditMemo", memo["Id"])
            memo["RemainingCredit"] = memo["TotalAmt"] - used.get(key, Decimal("0"))
            memo["Balance"] = memo["RemainingCredit"]
            memo["LinkedTxn"] = links.get(key, [])

    def _settled(self, entity: str, only: frozenset[tuple[str, str]] | None) -> Iterable[dict[str, Any]]:
        if only is None:
            return list(self.ledger[entity].values())
        found = (self.ledger[entity].get(id_) for kind, id_ in only if kind == entity)
        return [document for document in found if document is not None]

    # -- void and delete --------------------------------------------------------------------------------
    def void(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Amounts become 0 and "Voided" heads the PrivateNote; the object stays readable (§2.8)."""
        current = self._existing(entity, body)
        if current is None:
            raise missing("Id")
        if entity == "Invoice" and current.get("LinkedTxn"):
            raise business("This invoice has payments applied: void or delete them first.")
        if entity == "CreditMemo" and current["RemainingCredit"] != current["TotalAmt"]:
            raise business("This credit memo has been applied: void or delete the payment first.")
        record = {k: v for k, v in current.items() if k not in ("Id", "SyncToken", "MetaData")}
        note = current.get("PrivateNote")
        record["PrivateNote"] = f"Voided - {note}" if note else "Voided"
        record["TotalAmt"] = Decimal("0.00")
        record["Line"] = [self._zeroed(line) for line in current["Line"]]
        if "TxnTaxDetail" in record:
            record["TxnTaxDetail"] = {**record["TxnTaxDetail"], "TotalTax": Decimal("0.00"), "TaxLine": []}
        if entity == "Payment":
            record.update(_voided=True, UnappliedAmt=Decimal("0.00"))
        return self._store(entity, current, record)

    @staticmethod
    def _zeroed(line: dict[str, Any]) -> dict[str, Any]:
        out = {**line, "Amount": Decimal("0.00")}
        detail = line.get("SalesItemLineDetail")
        if detail is not None:
            out["SalesItemLineDetail"] = {**detail, "Qty": Decimal("0"), "UnitPrice": Decimal("0")}
        return out

    def delete(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        """Transactions only; a document with payments applied must be unlinked first (§2.8)."""
        if entity not in TRANSACTIONS:
            raise QBOError("500", "Unsupported Operation", f"Operation Delete is not supported for {entity}.")
        current = self._existing(entity, body)
        if current is None:
            raise missing("Id")
        if entity in ("Invoice", "CreditMemo") and current.get("LinkedTxn"):
            raise business(f"This {entity} is linked to payments: delete or void them first.")
        del self.ledger[entity][current["Id"]]
        self.ledger["deleted"][f"{entity}:{current['Id']}"] = self.now
        self.settle()
        return {"Id": current["Id"], "status": "Deleted", "domain": "QBO"}


def _settled_by(
    entity: str, current: dict[str, Any] | None, record: dict[str, Any]
) -> frozenset[tuple[str, str]]:
    """The documents whose balance a write of `entity` can change: a payment's targets, before and after
    (a void or an edit frees what it applied); an invoice or credit memo itself (its total); nothing for
    name lists and the rest."""
    if entity == "Payment":
        lines = [*((current or {}).get("Line") or []), *(record.get("Line") or [])]
        return frozenset(
            (line["LinkedTxn"][0]["TxnType"], line["LinkedTxn"][0]["TxnId"])
            for line in lines
            if line.get("LinkedTxn")
        )
    if entity in ("Invoice", "CreditMemo"):
        return frozenset({(entity, record["Id"])})
    return frozenset()
