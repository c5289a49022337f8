"""One organisation's books with Xero's rules (xero.md §3 and §10 items 9-14).

Entities are kept in Xero's own field names (PascalCase), money as Decimal, dates as ISO strings and
timestamps as sandbox epoch seconds; ``wire.render`` turns them into JSON. Every ``save_*`` call validates a
whole element first and only then writes it, so an element is either fully saved or not at all; a batch is
a sequence of such elements (Xero's batches are not transactional, xero.md §3 "Batching").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from ..control.state import new_id
from . import keys
from . import messages as msg
from .wire import parse_date, parse_decimal

CENT = Decimal("0.01")
TAX_OVERRIDE_TOLERANCE = Decimal("0.01")
ROUNDING_MODES = {"ROUND_HALF_EVEN": ROUND_HALF_EVEN, "ROUND_HALF_UP": ROUND_HALF_UP}
LINE_AMOUNT_TYPES = {"exclusive": "Exclusive", "inclusive": "Inclusive", "notax": "NoTax"}
# Allowed status changes on update (xero.md §3 "Status semantics").
TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"SUBMITTED", "AUTHORISED", "DRAFT", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": {"PAID"},
}
CREATE_STATUSES = {"DRAFT", "SUBMITTED", "AUTHORISED"}
# Fields of a paid ACCREC invoice that may still change (xero.md §3 "Editability").
PAID_EDITABLE = {
    "Reference",
    "DueDate",
    "InvoiceNumber",
    "BrandingThemeID",
    "Contact",
    "Url",
    "ExpectedPaymentDate",
}
PAID_EDITABLE_LINE = {"Description", "AccountCode", "Tracking"}
CONTACT_FIELDS = {
    "ContactNumber": 50, "AccountNumber": 50, "Name": 255, "FirstName": 255, "LastName": 255,
    "CompanyNumber": 50, "EmailAddress": 255, "TaxNumber": 50, "BankAccountDetails": 255, "Website": 255,
    "DefaultCurrency": 3, "AccountsReceivableTaxType": 50, "AccountsPayableTaxType": 50,
    "SalesDefaultAccountCode": 10, "PurchasesDefaultAccountCode": 10,
}  # fmt: skip
CONTACT_LISTS = ("Addresses", "Phones", "ContactPersons", "ContactGroups")
INVOICE_TEXT = {"Reference": 255, "InvoiceNumber": 255, "Url": 2000, "BrandingThemeID": 36}
DOC = {
    "invoice": ("invoices", "InvoiceID", "InvoiceNumber", ("ACCREC", "ACCPAY"), "INV-"),
    "credit_note": (
        "credit_notes",
        "CreditNoteID",
        "CreditNoteNumber",
        ("ACCRECCREDIT", "ACCPAYCREDIT"),
        "CN-",
    ),
}


class Problems(Exception):
    """Validation messages for one element: element-level and per-line."""

    def __init__(self) -> None:
        super().__init__("validation failed")
        self.messages: list[str] = []
        self.lines: dict[int, list[str]] = {}

    def add(self, message: str, line: int | None = None) -> None:
        if message not in self.messages:
            self.messages.append(message)
        if line is not None:
            self.lines.setdefault(line, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.messages)


@dataclass
class Outcome:
    """The result of saving one element: the entity (saved, or the echo of a refused one)."""

    entity: dict[str, Any]
    problems: Problems | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rounding(ledger: dict[str, Any]) -> str:
    return ROUNDING_MODES[ledger.get("settings", {}).get("tax_rounding", "ROUND_HALF_EVEN")]


def _text(raw: dict[str, Any], name: str, limit: int, problems: Problems) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    text = str(value)
    if len(text) > limit:
        problems.add(msg.FIELD_TOO_LONG.format(field=name, limit=limit))
    return text


def canonical_keys(raw: dict[str, Any]) -> dict[str, Any]:
    """Accept mis-cased keys (hotglue sends ``addresses``/``phones``), keeping the first exact match."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        canonical = key[:1].upper() + key[1:]
        out.setdefault(key if key in out else canonical, value)
    return out


class Books:
    """Operations on one tenant's ledger. Callers hold the store lock."""

    def __init__(self, ledger: dict[str, Any], now: float, client_id: str | None = None, unitdp: int = 2):
        self.ledger = ledger
        self.now = now
        self.client_id = client_id
        self.unit_quantum = Decimal("0.0001") if unitdp == 4 else CENT
        self.today = datetime.fromtimestamp(now, UTC).date().isoformat()

    # -- look-ups ---------------------------------------------------------------------------------------
    def account(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        account_id, code = ref.get("AccountID"), ref.get("Code", ref.get("AccountCode"))
        for account in self.ledger["accounts"]:
            if account_id and account["AccountID"].lower() == str(account_id).lower():
                return account
            if code is not None and account.get("Code") == str(code):
                return account
        return None

    def currencies(self) -> list[dict[str, Any]]:
        """Tenants seeded before currencies were kept have their base currency only."""
        base = self.ledger["organisation"]["BaseCurrency"]
        kept = list(self.ledger.get("currencies") or [{"Code": base, "Description": base}])
        added = self.ledger.get("settings", {}).get("currencies", [])
        return kept + [
            {"Code": c.upper(), "Description": c.upper()}
            for c in added
            if c.upper() not in {k["Code"] for k in kept}
        ]

    def add_currency(self, raw: Any) -> Outcome:
        code = str((raw or {}).get("Code") or "").upper() if isinstance(raw, dict) else ""
        if len(code) != 3 or not code.isalpha():
            problems = Problems()
            problems.add(msg.CURRENCY_CODE_INVALID)
            return Outcome({"Code": code}, problems)
        known = self.currencies()
        if all(c["Code"] != code for c in known):
            self.ledger["currencies"] = [*known, {"Code": code, "Description": code}]
        return Outcome({"Code": code, "Description": code})

    def tax_rate(self, tax_type: str) -> dict[str, Any] | None:
        return next((t for t in self.ledger["tax_rates"] if t["TaxType"] == tax_type), None)

    def item(self, code: str) -> dict[str, Any] | None:
        return next((i for i in self.ledger["items"] if i["Code"] == code), None)

    def find_document(self, kind: str, key: str) -> dict[str, Any] | None:
        """By id or by number (``/Invoices/INV-0001`` works like ``/Invoices/{InvoiceID}``)."""
        store, _, number_field, _, _ = DOC[kind]
        docs = self.ledger[store]
        found = docs.get(key) or docs.get(key.lower())
        if found:
            return found
        matches = keys.with_key(self.ledger, store, number_field, key)
        return next((d for d in matches if d.get(number_field) == key and d["Status"] != "DELETED"), None)

    # -- contacts ---------------------------------------------------------------------------------------
    def _contact_conflicts(self, contact: dict[str, Any], problems: Problems) -> None:
        name, number = contact.get("Name"), contact.get("ContactNumber")
        if name and contact.get("ContactStatus", "ACTIVE") == "ACTIVE":
            namesakes = keys.with_key(self.ledger, "contacts", "Name", name)
            if any(
                c["ContactID"] != contact.get("ContactID") and c["ContactStatus"] == "ACTIVE"
                for c in namesakes
            ):
                problems.add(msg.CONTACT_NAME_TAKEN.format(name=name))
        if number:
            holders = keys.with_key(self.ledger, "contacts", "ContactNumber", number)
            if any(c["ContactID"] != contact.get("ContactID") for c in holders):
                problems.add(msg.CONTACT_NUMBER_TAKEN.format(number=number))

    def save_contact(self, raw: Any, create_only: bool, url_id: str | None = None) -> Outcome:
        """PUT (create) or POST (update by ContactID, else create) one contact."""
        problems = Problems()
        if not isinstance(raw, dict):
            problems.add(msg.CONTACT_IDENTITY)
            return Outcome({}, problems)
        raw = canonical_keys(raw)
        contact_id = url_id or raw.get("ContactID")
        existing = self.ledger["contacts"].get(str(contact_id).lower()) if contact_id else None
        if contact_id and existing is None:
            problems.add(msg.CONTACT_NOT_FOUND)
        if existing is not None and create_only and url_id is None:
            problems.add(msg.ID_ON_CREATE.format(field="ContactID"))
        contact: dict[str, Any] = dict(existing) if existing else self._blank_contact()
        for name, limit in CONTACT_FIELDS.items():
            value = _text(raw, name, limit, problems)
            if value is not None:
                contact[name] = value
        for name in CONTACT_LISTS:
            if isinstance(raw.get(name), list) and raw[name]:
                contact[name] = [canonical_keys(x) for x in raw[name] if isinstance(x, dict)]
        status = raw.get("ContactStatus")
        if status is not None:
            if status not in ("ACTIVE", "ARCHIVED"):
                problems.add(msg.CONTACT_STATUS_INVALID)
            else:
                contact["ContactStatus"] = status
        if not contact.get("Name", "").strip():
            problems.add(msg.CONTACT_IDENTITY)
        self._contact_conflicts(contact, problems)
        if problems:
            if existing is None:
                contact.pop("ContactID", None)  # a refused new contact has no id yet
            return Outcome(contact, problems)
        contact["UpdatedDateUTC"] = self.now
        self.ledger["contacts"][contact["ContactID"]] = contact
        keys.saved(self.ledger, "contacts", contact, existing)
        return Outcome(contact)

    def _blank_contact(self) -> dict[str, Any]:
        return {
            "ContactID": new_id(),
            "ContactStatus": "ACTIVE",
            "Name": "",
            "Addresses": [{"AddressType": "STREET"}, {"AddressType": "POBOX"}],
            "Phones": [{"PhoneType": t} for t in ("DEFAULT", "DDI", "FAX", "MOBILE")],
            "ContactGroups": [],
            "ContactPersons": [],
            "IsSupplier": False,
            "IsCustomer": False,
            "HasAttachments": False,
            "HasValidationErrors": False,
        }

    def _resolve_contact(self, ref: Any, problems: Problems) -> dict[str, Any] | None:
        """An invoice's Contact by ContactID, ContactNumber or Name. A Name alone finds the active contact of
        that name or creates one with that name, as Xero staff have described it (community.xero.com
        developer discussion 106550833). Nothing Xero publishes says the nested contact's other fields
        (EmailAddress, ContactNumber) are kept on such a contact, so the sandbox keeps the name only: a client
        that relied on them would see them lost here, as it might against Xero."""
        if not isinstance(ref, dict):
            problems.add(msg.CONTACT_IDENTITY)
            return None
        ref = canonical_keys(ref)
        found = None
        if ref.get("ContactID"):
            found = self.ledger["contacts"].get(str(ref["ContactID"]).lower())
            if found is None:
                problems.add(msg.CONTACT_NOT_FOUND)
                return None
        elif ref.get("ContactNumber"):
            found = next(
                iter(keys.with_key(self.ledger, "contacts", "ContactNumber", ref["ContactNumber"])), None
            )
        if found is None and ref.get("Name") and not ref.get("ContactID"):
            # Compared as the uniqueness rule compares names (`save_contact`): one it would refuse is found.
            namesakes = keys.with_key(self.ledger, "contacts", "Name", ref["Name"])
            found = next((c for c in namesakes if c["ContactStatus"] == "ACTIVE"), None)
            if found is None:
                created = self.save_contact({"Name": ref["Name"]}, True)
                if not created.ok:
                    for message in created.problems.messages:  # type: ignore[union-attr]
                        problems.add(message)
                    return None
                found = created.entity
        if found is None:
            problems.add(msg.CONTACT_IDENTITY)
            return None
        if found["ContactStatus"] != "ACTIVE":
            problems.add(msg.CONTACT_ARCHIVED)
        return found

    # -- lines and totals -------------------------------------------------------------------------------
    def _line_account(self, line: dict[str, Any], raw: dict[str, Any], problems: Problems, n: int) -> None:
        code, account_id = raw.get("AccountCode"), raw.get("AccountID")
        if code is None and account_id is None:
            return
        account = self.account({"AccountID": account_id, "Code": code})
        shown = code if code is not None else account_id
        if account is None or account.get("Type") == "BANK" or account.get("SystemAccount"):
            problems.add(msg.ACCOUNT_INVALID_FOR_DOCUMENT.format(code=shown), n)
            return
        if account["Status"] != "ACTIVE":
            problems.add(msg.ACCOUNT_ARCHIVED.format(code=shown), n)
            return
        line["AccountCode"], line["AccountID"] = account.get("Code"), account["AccountID"]
        line["_account"] = account

    def _line_tax(self, line: dict[str, Any], raw: dict[str, Any], problems: Problems, n: int) -> None:
        tax_type = raw.get("TaxType") or (line.get("_account") or {}).get("TaxType")
        if not tax_type:
            return
        rate = self.tax_rate(str(tax_type))
        if rate is None or rate["Status"] != "ACTIVE":
            problems.add(msg.TAX_UNKNOWN.format(tax=tax_type), n)
            return
        account = line.get("_account")
        if account is not None:
            applies = {
                "REVENUE": "CanApplyToRevenue",
                "EXPENSE": "CanApplyToExpenses",
                "ASSET": "CanApplyToAssets",
                "LIABILITY": "CanApplyToLiabilities",
                "EQUITY": "CanApplyToEquity",
            }[account["Class"]]
            if not rate[applies]:
                problems.add(msg.TAX_NOT_FOR_ACCOUNT.format(tax=tax_type, code=account.get("Code")), n)
                return
        line["TaxType"] = rate["TaxType"]
        line["_rate"] = rate["EffectiveRate"] / 100

    def _line_tracking(self, line: dict[str, Any], raw: Any, problems: Problems, n: int) -> None:
        if not raw:
            return
        if not isinstance(raw, list) or len(raw) > 2:
            problems.add(msg.TRACKING_TOO_MANY, n)
            return
        resolved = []
        for ref in raw:
            ref = canonical_keys(ref) if isinstance(ref, dict) else {}
            option = self._tracking_option(ref)
            if option is None:
                problems.add(msg.TRACKING_UNKNOWN, n)
                return
            resolved.append(option)
        line["Tracking"] = resolved

    def _tracking_option(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        for category in self.ledger["tracking"]:
            if category["Status"] != "ACTIVE":
                continue
            if ref.get("TrackingCategoryID", "").lower() not in ("", category["TrackingCategoryID"]):
                continue
            if ref.get("Name") and ref["Name"].lower() != category["Name"].lower():
                continue
            for option in category["Options"]:
                if option["Status"] != "ACTIVE":
                    continue
                if ref.get("TrackingOptionID", "").lower() == option["TrackingOptionID"] or (
                    ref.get("Option") and ref["Option"].lower() == option["Name"].lower()
                ):
                    return {
                        "Name": category["Name"],
                        "Option": option["Name"],
                        "TrackingCategoryID": category["TrackingCategoryID"],
                        "TrackingOptionID": option["TrackingOptionID"],
                    }
        return None

    def number(self, raw: dict[str, Any], name: str, problems: Problems, n: int | None) -> Decimal | None:
        if raw.get(name) is None:
            return None
        try:
            return parse_decimal(raw[name])
        except ValueError:
            problems.add(msg.NUMBER_INVALID.format(field=name), n)
            return None

    def _line(self, raw: Any, n: int, doc_type: str, problems: Problems, old: dict[str, Any] | None) -> dict:
        line: dict[str, Any] = {
            "LineItemID": (old or {}).get("LineItemID") or new_id(),
            "ValidationErrors": [],
        }
        if not isinstance(raw, dict):
            problems.add(msg.LINE_ITEMS_REQUIRED, n)
            return line
        raw = dict(raw)
        if raw.get("ItemCode"):
            self._apply_item(line, raw, doc_type, problems, n)
        if raw.get("Description") is not None:
            line["Description"] = str(raw["Description"])[:4000]
        quantity = self.number(raw, "Quantity", problems, n)
        unit = self.number(raw, "UnitAmount", problems, n)
        given_amount = self.number(raw, "LineAmount", problems, n)
        discount_rate = self.number(raw, "DiscountRate", problems, n)
        discount_amount = self.number(raw, "DiscountAmount", problems, n)
        given_tax = self.number(raw, "TaxAmount", problems, n)
        description_only = quantity is None and unit is None and given_amount is None
        if description_only:
            line.update(
                Quantity=Decimal(0), UnitAmount=Decimal(0), LineAmount=Decimal(0), TaxAmount=Decimal(0)
            )
            self._line_account(line, raw, problems, n)
            return line
        if quantity is None and unit is None:
            quantity, unit = Decimal(1), given_amount
        quantity = Decimal(1) if quantity is None else quantity
        unit = Decimal(0) if unit is None else unit.quantize(self.unit_quantum, ROUND_HALF_UP)
        if quantity < 0:
            problems.add(msg.QUANTITY_NEGATIVE, n)
        if (discount_rate or discount_amount) and doc_type != "ACCREC":
            problems.add(msg.DISCOUNT_NOT_ALLOWED, n)
        amount = self._discounted(line, quantity * unit, discount_rate, discount_amount, problems, n)
        if given_amount is not None and abs(given_amount - amount) > CENT:
            problems.add(
                msg.LINE_TOTAL_MISMATCH.format(given=f"{given_amount:.2f}", expected=f"{amount:.2f}"), n
            )
        line.update(Quantity=quantity, UnitAmount=unit, LineAmount=amount)
        self._line_account(line, raw, problems, n)
        self._line_tax(line, raw, problems, n)
        self._line_tracking(line, raw.get("Tracking"), problems, n)
        line["_given_tax"] = given_tax
        return line

    def _apply_item(
        self, line: dict[str, Any], raw: dict[str, Any], doc_type: str, problems: Problems, n: int
    ) -> None:
        """``ItemCode`` fills the line's missing description, price, account and tax from the item."""
        item = self.item(str(raw["ItemCode"]))
        if item is None:
            problems.add(msg.ITEM_CODE_INVALID.format(code=raw["ItemCode"]), n)
            return
        details = item.get("SalesDetails" if doc_type.startswith("ACCREC") else "PurchaseDetails") or {}
        raw.setdefault("Description", item.get("Description") or item.get("Name"))
        raw.setdefault("UnitAmount", details.get("UnitPrice"))
        raw.setdefault("AccountCode", details.get("AccountCode"))
        raw.setdefault("TaxType", details.get("TaxType"))
        line["ItemCode"] = item["Code"]
        line["Item"] = {"ItemID": item["ItemID"], "Name": item.get("Name"), "Code": item["Code"]}

    def _discounted(
        self,
        line: dict[str, Any],
        gross: Decimal,
        rate: Decimal | None,
        amount_off: Decimal | None,
        problems: Problems,
        n: int,
    ) -> Decimal:
        """``LineAmount = Quantity x UnitAmount x (100 - DiscountRate)/100`` or ``- DiscountAmount``
        (xero.md §3 "LineItem"), rounded to the cent."""
        amount = gross
        if rate:
            amount = gross * (100 - rate) / 100
            line["DiscountRate"] = rate
        elif amount_off:
            amount = gross - amount_off
            line["DiscountAmount"] = amount_off
        if (rate or 0) > 100 or (amount_off or 0) > abs(gross):
            problems.add(msg.DISCOUNT_TOO_BIG.format(rate=rate or amount_off), n)
        return amount.quantize(CENT, _rounding(self.ledger))

    def _apply_tax(self, lines: list[dict[str, Any]], amount_types: str, problems: Problems) -> None:
        """Per-line tax rounded to the cent (mode: the tenant's tax_rounding, ROUND_HALF_EVEN by default);
        a client's TaxAmount within 0.01 of ours is accepted as an override."""
        mode = _rounding(self.ledger)
        for n, line in enumerate(lines):
            rate = line.get("_rate", Decimal(0))
            amount = line.get("LineAmount", Decimal(0))
            if amount_types == "NoTax":
                tax = Decimal(0)
            elif amount_types == "Inclusive":
                tax = (amount * rate / (1 + rate)).quantize(CENT, mode)
            else:
                tax = (amount * rate).quantize(CENT, mode)
            given = line.get("_given_tax")
            if given is not None and amount_types != "NoTax":
                if abs(given - tax) <= TAX_OVERRIDE_TOLERANCE:
                    tax = given.quantize(CENT, mode)
                else:
                    problems.add(msg.TAX_OVERRIDE_OUT_OF_RANGE.format(given=f"{given:.2f}", expected=tax), n)
            line["TaxAmount"] = tax

    @staticmethod
    def _totals(doc: dict[str, Any]) -> None:
        lines = doc.get("LineItems", [])
        tax = sum((line["TaxAmount"] for line in lines), Decimal(0))
        amounts = sum((line["LineAmount"] for line in lines), Decimal(0))
        if doc["LineAmountTypes"] == "Inclusive":
            doc["SubTotal"], doc["TotalTax"], doc["Total"] = amounts - tax, tax, amounts
        else:
            doc["SubTotal"], doc["TotalTax"], doc["Total"] = amounts, tax, amounts + tax
        discount = sum(
            (
                line["Quantity"] * line["UnitAmount"] - line["LineAmount"]
                for line in lines
                if "DiscountRate" in line or "DiscountAmount" in line
            ),
            Decimal(0),
        )
        if discount:
            doc["TotalDiscount"] = discount.quantize(CENT)

    # -- invoices and credit notes ----------------------------------------------------------------------
    def save_document(self, kind: str, raw: Any, create_only: bool, url_key: str | None = None) -> Outcome:
        """PUT/POST one invoice or credit note with Xero's create, update and status rules."""
        store, id_field, number_field, _, prefix = DOC[kind]
        problems = Problems()
        if not isinstance(raw, dict):
            problems.add(msg.TYPE_FOR_CREATION)
            return Outcome({}, problems)
        existing = self._existing_document(kind, raw, create_only, url_key, problems)
        if existing is None and url_key is not None and not problems:
            problems.add(msg.DOCUMENT_NOT_FOUND if kind == "invoice" else msg.CREDIT_NOTE_NOT_FOUND)
        doc = self._document_fields(kind, raw, existing, problems)
        if existing is None and (not problems or doc.get("Type")):
            self._check_number(kind, doc, problems)
        if existing is not None:
            self._check_update(kind, existing, doc, raw, problems)
        warnings = []
        if raw.get("SentToContact") and doc.get("Status") != "AUTHORISED":
            warnings.append(msg.SENT_TO_CONTACT)
            doc.pop("SentToContact", None)
        if problems:
            return Outcome(self._echo(kind, doc, problems), problems)
        if existing is None:
            doc[id_field] = new_id()
            if not doc.get(number_field) and doc["Type"] in ("ACCREC", "ACCRECCREDIT"):
                doc[number_field] = self._next_number(kind, doc["Type"], prefix)
            doc["_client_id"] = self.client_id
        self._finish_lines(doc)
        self.settle(kind, doc)
        doc["UpdatedDateUTC"] = self.now
        self.ledger[store][doc[id_field]] = doc
        keys.saved(self.ledger, store, doc, existing)
        self._mark_contact_role(doc)
        return Outcome(doc, None, warnings)

    def _existing_document(
        self, kind: str, raw: dict[str, Any], create_only: bool, url_key: str | None, problems: Problems
    ) -> dict[str, Any] | None:
        _, id_field, number_field, _, _ = DOC[kind]
        if url_key:
            return self.find_document(kind, url_key)
        if raw.get(id_field):
            found = self.ledger[DOC[kind][0]].get(str(raw[id_field]).lower())
            if found is None:
                problems.add(msg.DOCUMENT_NOT_FOUND if kind == "invoice" else msg.CREDIT_NOTE_NOT_FOUND)
            elif create_only:
                problems.add(msg.ID_ON_CREATE.format(field=id_field))
            return found
        if not create_only and raw.get(number_field) and raw.get("Type", "").startswith("ACCREC"):
            # POST with a known ACCREC number updates that document (xero.md §3 "PUT vs POST").
            return self.find_document(kind, str(raw[number_field]))
        return None

    def _document_fields(
        self, kind: str, raw: dict[str, Any], existing: dict[str, Any] | None, problems: Problems
    ) -> dict[str, Any]:
        _, _, number_field, types, _ = DOC[kind]
        doc: dict[str, Any] = (
            dict(existing) if existing else {"Status": "DRAFT", "LineAmountTypes": "Exclusive"}
        )
        doc_type = raw.get("Type", doc.get("Type"))
        if doc_type not in types:
            problems.add(msg.TYPE_FOR_CREATION)
        else:
            doc["Type"] = doc_type
        if existing is None or "Contact" in raw:
            contact = self._resolve_contact(raw.get("Contact"), problems)
            if contact is not None:
                doc["Contact"] = {"ContactID": contact["ContactID"], "Name": contact["Name"]}
                if contact.get("ContactNumber"):
                    doc["Contact"]["ContactNumber"] = contact["ContactNumber"]
        for name in ("Date", "DueDate", "ExpectedPaymentDate"):
            if raw.get(name) is not None:
                try:
                    doc[name] = parse_date(raw[name])
                except ValueError:
                    problems.add(msg.DATE_INVALID.format(field=name))
        doc.setdefault("Date", self.today)
        self.check_lock_date(doc, existing, problems)
        for name, limit in INVOICE_TEXT.items():
            name = number_field if name == "InvoiceNumber" else name
            value = _text(raw, name, limit, problems)
            if value is not None:
                doc[name] = value
        if raw.get("LineAmountTypes") is not None:
            canonical = LINE_AMOUNT_TYPES.get(str(raw["LineAmountTypes"]).lower())
            if canonical is None:
                problems.add(msg.LINE_AMOUNT_TYPES_INVALID)
            else:
                doc["LineAmountTypes"] = canonical
        currency = (
            raw.get("CurrencyCode") or doc.get("CurrencyCode") or self.ledger["organisation"]["BaseCurrency"]
        )
        doc["CurrencyCode"] = str(currency).upper()
        if all(c["Code"] != doc["CurrencyCode"] for c in self.currencies()):
            problems.add(msg.CURRENCY_NOT_SUBSCRIBED.format(code=doc["CurrencyCode"]))
        rate = (
            self.number(raw, "CurrencyRate", problems, None) if raw.get("CurrencyRate") is not None else None
        )
        doc["CurrencyRate"] = rate or doc.get("CurrencyRate") or Decimal(1)
        if raw.get("SentToContact") is not None:
            doc["SentToContact"] = bool(raw["SentToContact"])
        status = raw.get("Status")
        if status is not None:
            doc["Status"] = str(status).upper()
            if existing is None and doc["Status"] not in CREATE_STATUSES:
                problems.add(msg.STATUS_FOR_CREATION)
        if "LineItems" in raw or existing is None:
            doc["LineItems"] = self._lines(raw.get("LineItems"), doc, existing, problems)
        return doc

    def check_lock_date(
        self, doc: dict[str, Any], existing: dict[str, Any] | None, problems: Problems
    ) -> None:
        """Nothing dated on or before the lock date may be created or changed (xero.md §6): invoices, credit
        notes and payments alike."""
        lock_date = self.ledger.get("settings", {}).get("lock_date")
        if not lock_date:
            return
        dates = [doc["Date"]] + ([existing["Date"]] if existing else [])
        if min(dates) <= lock_date:
            problems.add(msg.LOCK_DATE.format(date=lock_date))

    def _lines(
        self, raw_lines: Any, doc: dict[str, Any], existing: dict[str, Any] | None, problems: Problems
    ) -> list[dict[str, Any]]:
        if not isinstance(raw_lines, list) or not raw_lines:
            problems.add(msg.LINE_ITEMS_REQUIRED)
            return []
        old_lines = {line["LineItemID"]: line for line in (existing or {}).get("LineItems", [])}
        lines = []
        for n, raw in enumerate(raw_lines):
            old = old_lines.get(str(raw.get("LineItemID", "")).lower()) if isinstance(raw, dict) else None
            lines.append(self._line(raw, n, doc.get("Type", ""), problems, old))
        self._apply_tax(lines, doc.get("LineAmountTypes", "Exclusive"), problems)
        if doc.get("Status") in ("SUBMITTED", "AUTHORISED"):
            for n, line in enumerate(lines):
                if line.get("LineAmount") and "AccountID" not in line and n not in problems.lines:
                    problems.add(msg.ACCOUNT_MISSING, n)
        for n, messages in problems.lines.items():
            if n < len(lines):
                lines[n]["ValidationErrors"] = [{"Message": m} for m in messages]
        return lines

    def _check_number(self, kind: str, doc: dict[str, Any], problems: Problems) -> None:
        store, id_field, number_field, _, _ = DOC[kind]
        number = doc.get(number_field)
        if not number or doc.get("Type") not in ("ACCREC", "ACCRECCREDIT"):
            return
        for other in keys.with_key(self.ledger, store, number_field, number):
            if (
                other[id_field] != doc.get(id_field)
                and other.get(number_field) == number
                and other["Type"] == doc["Type"]
                and other["Status"] != "DELETED"
            ):
                problems.add(msg.INVOICE_NUMBER_TAKEN if kind == "invoice" else msg.CREDIT_NOTE_NUMBER_TAKEN)
                return

    def _check_update(
        self, kind: str, old: dict[str, Any], doc: dict[str, Any], raw: dict[str, Any], problems: Problems
    ) -> None:
        self._check_number(kind, doc, problems)
        new_status = doc["Status"]
        if new_status not in TRANSITIONS.get(old["Status"], set()):
            problems.add(msg.STATUS_FOR_MODIFICATION)
            return
        settled = (
            old.get("AmountPaid", 0)
            or old.get("AmountCredited", 0)
            or old.get("Allocations")
            or any(p for p in old.get("Payments", []))
        )
        if not settled:
            return
        if new_status == "VOIDED" or old["Type"] in ("ACCPAY", "ACCPAYCREDIT"):
            problems.add(msg.EDIT_WHEN_PAID)
            return
        locked = ("Date", "LineAmountTypes", "CurrencyCode", "CurrencyRate")
        if any(old.get(k) != doc.get(k) for k in locked) or self._lines_changed(old, doc):
            problems.add(msg.EDIT_WHEN_PAID)

    @staticmethod
    def _lines_changed(old: dict[str, Any], doc: dict[str, Any]) -> bool:
        old_lines, new_lines = old.get("LineItems", []), doc.get("LineItems", [])
        if len(old_lines) != len(new_lines):
            return True
        money = ("Quantity", "UnitAmount", "LineAmount", "TaxAmount", "TaxType")
        return any(
            a["LineItemID"] != b["LineItemID"] or any(a.get(k) != b.get(k) for k in money)
            for a, b in zip(old_lines, new_lines, strict=True)
        )

    def _echo(self, kind: str, doc: dict[str, Any], problems: Problems) -> dict[str, Any]:
        echo = {k: v for k, v in doc.items() if not k.startswith("_")}
        echo["LineItems"] = [
            {k: v for k, v in line.items() if not k.startswith("_")} for line in doc.get("LineItems", [])
        ]
        for line in echo["LineItems"]:
            line.setdefault("TaxAmount", Decimal(0))
            line.setdefault("LineAmount", Decimal(0))
        if echo["LineItems"]:
            self._totals(echo)
        echo["HasErrors"] = True
        echo["ValidationErrors"] = [{"Message": m} for m in problems.messages]
        return echo

    def _finish_lines(self, doc: dict[str, Any]) -> None:
        for line in doc.get("LineItems", []):
            for private in [k for k in line if k.startswith("_") or k == "ValidationErrors"]:
                del line[private]
        self._totals(doc)

    def _next_number(self, kind: str, doc_type: str, prefix: str) -> str:
        store, _, number_field, _, _ = DOC[kind]
        counter = self.ledger["counters"].get(doc_type, 0)
        while True:
            counter += 1
            number = f"{prefix}{counter:04d}"
            if not keys.taken(self.ledger, store, number_field, number):
                self.ledger["counters"][doc_type] = counter
                return number

    def settle(self, kind: str, doc: dict[str, Any]) -> None:
        """Recompute amounts due/paid and the automatic PAID status (xero.md §3 "Status semantics")."""
        paid = sum((p["Amount"] for p in doc.get("Payments", [])), Decimal(0))
        if kind == "invoice":
            credited = sum((c["AppliedAmount"] for c in doc.get("CreditNotes", [])), Decimal(0))
            doc["AmountPaid"], doc["AmountCredited"] = paid, credited
            doc["AmountDue"] = doc["Total"] - paid - credited
            doc.setdefault("Payments", [])
            doc.setdefault("CreditNotes", [])
            doc["IsDiscounted"] = bool(doc.get("TotalDiscount"))
            doc["HasAttachments"] = False
            doc["HasErrors"] = False
            due = doc["AmountDue"]
        else:
            allocated = sum((a["Amount"] for a in doc.get("Allocations", [])), Decimal(0))
            doc["RemainingCredit"] = doc["Total"] - paid - allocated
            doc["AppliedAmount"] = paid + allocated
            doc.setdefault("Allocations", [])
            doc.setdefault("Payments", [])
            doc["HasAttachments"] = False
            doc["HasErrors"] = False
            due = doc["RemainingCredit"]
        if doc["Status"] == "AUTHORISED" and due == 0:
            doc["Status"] = "PAID"
            doc["FullyPaidOnDate"] = self._last_settlement_date(doc) or self.today
        elif doc["Status"] == "PAID" and due != 0:
            doc["Status"] = "AUTHORISED"
            doc.pop("FullyPaidOnDate", None)

    @staticmethod
    def _last_settlement_date(doc: dict[str, Any]) -> str | None:
        dates = [p["Date"] for p in doc.get("Payments", [])]
        dates += [c.get("Date") for c in doc.get("CreditNotes", []) if c.get("Date")]
        dates += [a["Date"] for a in doc.get("Allocations", [])]
        return max(dates) if dates else None

    def _mark_contact_role(self, doc: dict[str, Any]) -> None:
        contact = self.ledger["contacts"].get(doc.get("Contact", {}).get("ContactID", ""))
        if contact is not None:
            key = "IsCustomer" if doc["Type"].startswith("ACCREC") else "IsSupplier"
            contact[key] = True

    # -- items ------------------------------------------------------------------------------------------
    def save_item(self, raw: Any, create_only: bool) -> Outcome:
        problems = Problems()
        if not isinstance(raw, dict) or not raw.get("Code"):
            problems.add(msg.ITEM_CODE_REQUIRED)
            return Outcome(raw if isinstance(raw, dict) else {}, problems)
        existing = self.item(str(raw["Code"]))
        if raw.get("ItemID"):
            existing = next(
                (i for i in self.ledger["items"] if i["ItemID"] == str(raw["ItemID"]).lower()), None
            )
        if existing is not None and create_only:
            problems.add(msg.ITEM_CODE_TAKEN.format(code=raw["Code"]))
            return Outcome({"Code": str(raw["Code"])}, problems)
        item = dict(existing) if existing else {"ItemID": new_id(), "IsSold": True, "IsPurchased": True}
        for name in ("Code", "Name", "Description", "PurchaseDescription"):
            if raw.get(name) is not None:
                item[name] = str(raw[name])
        for name in ("IsSold", "IsPurchased"):
            if raw.get(name) is not None:
                item[name] = bool(raw[name])
        for name in ("SalesDetails", "PurchaseDetails"):
            if isinstance(raw.get(name), dict):
                details = dict(raw[name])
                if details.get("UnitPrice") is not None:
                    details["UnitPrice"] = parse_decimal(details["UnitPrice"])
                item[name] = details
        item.setdefault("IsTrackedAsInventory", False)
        item["UpdatedDateUTC"] = self.now
        if existing is None:
            self.ledger["items"].append(item)
        else:
            self.ledger["items"][self.ledger["items"].index(existing)] = item
        return Outcome(item)
