"""The seeded QuickBooks companies (quickbooks.md §2.1-2.2, issue 17): a US company with automated sales
tax (``TAX``/``NON`` on lines, one jurisdiction code on the transaction), and AU, UK and CA companies with
real tax codes and rates; CA has **no 0% code** (a connector must not assume one exists). Each has a chart
with types and subtypes, Undeposited Funds, an inactive income account, payment methods, a term, a vendor
and an inactive employee (their names count for Customer DisplayName uniqueness), one item, and
preferences: custom transaction numbers on (AU, UK) or off (US, CA), multicurrency off.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

REGIONS = ("US", "AU", "UK", "CA")

COUNTRY = {
    "US": ("USA", "USD", "America/Los_Angeles", "CA"),
    "AU": ("AUS", "AUD", "Australia/Sydney", "NSW"),
    "UK": ("GBR", "GBP", "Europe/London", ""),
    "CA": ("CAN", "CAD", "America/Toronto", "ON"),
}
# (Id, Name, AccountType, AccountSubType, Active)
ACCOUNTS = (
    ("1", "Checking", "Bank", "Checking", True),
    ("2", "Savings", "Bank", "Savings", True),
    ("3", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", True),
    ("4", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", True),
    ("5", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", True),
    ("6", "Sales of Product Income", "Income", "SalesOfProductIncome", True),
    ("7", "Services", "Income", "ServiceFeeIncome", True),
    ("8", "Discounts given", "Income", "DiscountsRefundsGiven", True),
    ("9", "Sales Tax Payable", "Other Current Liability", "GlobalTaxPayable", True),
    ("10", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", True),
    ("11", "Old Installation Income (deleted)", "Income", "ServiceFeeIncome", False),
)
CLASSIFICATION = {
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Accounts Payable": "Liability",
    "Other Current Liability": "Liability",
    "Income": "Revenue",
    "Cost of Goods Sold": "Expense",
}
# Tax codes: (Id, Name, [rate ids]); rates: (Id, Name, RateValue). US lines use the pseudo-codes TAX/NON.
TAX: dict[str, tuple[tuple[tuple[str, str, list[str]], ...], tuple[tuple[str, str, str], ...]]] = {
    "US": (
        (("TAX", "TAX", []), ("NON", "NON", []), ("2", "California", ["3"])),
        (("3", "California", "7.25"),),
    ),
    "AU": (
        (("4", "GST", ["5"]), ("6", "GST free", ["7"]), ("8", "Out of scope", ["9"])),
        (("5", "GST (sales)", "10"), ("7", "GST free (sales)", "0"), ("9", "Out of scope (sales)", "0")),
    ),
    "UK": (
        (("4", "20.0% S", ["5"]), ("6", "5.0% R", ["7"]), ("8", "0.0% Z", ["9"]), ("10", "Exempt", ["11"])),
        (
            ("5", "20.0% S (sales)", "20"),
            ("7", "5.0% R (sales)", "5"),
            ("9", "0.0% Z (sales)", "0"),
            ("11", "Exempt (sales)", "0"),
        ),
    ),
    "CA": (
        (("4", "HST ON", ["5"]), ("6", "GST", ["7"])),
        (("5", "HST ON (sales)", "13"), ("7", "GST (sales)", "5")),
    ),
}
PAYMENT_METHODS = (
    ("1", "Cash", "NON_CREDIT_CARD"),
    ("2", "Check", "NON_CREDIT_CARD"),
    ("3", "Credit Card", "CREDIT_CARD"),
)
CUSTOM_TXN_NUMBERS = {"US": False, "AU": True, "UK": True, "CA": False}
FIRST_OWN_ID = 100


def _meta(now: float) -> dict[str, float]:
    return {"CreateTime": now, "LastUpdatedTime": now}


def _accounts(now: float) -> dict[str, dict[str, Any]]:
    return {
        id_: {
            "Id": id_,
            "Name": name,
            "FullyQualifiedName": name,
            "AccountType": kind,
            "AccountSubType": sub,
            "Classification": CLASSIFICATION[kind],
            "Active": active,
            "SubAccount": False,
            "CurrentBalance": Decimal("0"),
            "CurrentBalanceWithSubAccounts": Decimal("0"),
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": _meta(now),
        }
        for id_, name, kind, sub, active in ACCOUNTS
    }


def _tax(region: str, now: float) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    codes, rates = TAX[region]
    rate_rows = {
        id_: {
            "Id": id_,
            "Name": name,
            "RateValue": Decimal(value),
            "AgencyRef": {"value": "1"},
            "Active": True,
            "SpecialTaxType": "NONE",
            "DisplayType": "ReadOnly",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": _meta(now),
        }
        for id_, name, value in rates
    }
    code_rows: dict[str, dict[str, Any]] = {}
    for id_, name, rate_ids in codes:
        details = [
            {
                "TaxRateRef": {"value": r, "name": rate_rows[r]["Name"]},
                "TaxTypeApplicable": "TaxOnAmount",
                "TaxOrder": 0,
            }
            for r in rate_ids
        ]
        code_rows[id_] = {
            "Id": id_,
            "Name": name,
            "Description": name,
            "Active": True,
            "Hidden": False,
            "Taxable": id_ != "NON",
            "TaxGroup": bool(rate_ids),
            "SalesTaxRateList": {"TaxRateDetail": details},
            "PurchaseTaxRateList": {"TaxRateDetail": []},
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": _meta(now),
        }
    return code_rows, rate_rows


def _named(kind: str, id_: str, name: str, active: bool, now: float) -> dict[str, Any]:
    return {
        "Id": id_,
        "DisplayName": name,
        "PrintOnCheckName": name,
        "Active": active,
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": _meta(now),
        "_kind": kind,
    }


def _preferences(region: str, now: float) -> dict[str, Any]:
    currency = COUNTRY[region][1]
    return {
        "Id": "1",
        "AccountingInfoPrefs": {"TrackDepartments": False, "ClassTrackingPerTxn": False},
        "SalesFormsPrefs": {
            "CustomTxnNumbers": CUSTOM_TXN_NUMBERS[region],
            "AllowDiscount": True,
            "AllowDeposit": False,
            "AllowShipping": False,
            "ETransactionEnabledStatus": "NotApplicable",
        },
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": currency}},
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": region == "US"},
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": _meta(now),
    }


def new_ledger(region: str, name: str, realm_id: str, now: float) -> dict[str, Any]:
    """A fresh company's books."""
    country, currency, zone, state = COUNTRY[region]
    codes, rates = _tax(region, now)
    address = {"Line1": "1 Solar Way", "City": "Sandbox", "CountrySubDivisionCode": state, "Country": country}
    return {
        "company": {
            "Id": "1",
            "CompanyName": name,
            "LegalName": name,
            "Country": region if region != "UK" else "GB",
            "CompanyAddr": address,
            "LegalAddr": address,
            "CustomerCommunicationAddr": address,
            "SupportedLanguages": "en",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": _meta(now),
        },
        "realm_id": realm_id,
        "region": region,
        "zone": zone,
        "currency": currency,
        "ast_code": "2" if region == "US" else None,
        "preferences": _preferences(region, now),
        "next_id": FIRST_OWN_ID,
        "Account": _accounts(now),
        "TaxCode": codes,
        "TaxRate": rates,
        "PaymentMethod": {
            id_: {
                "Id": id_,
                "Name": n,
                "Type": t,
                "Active": True,
                "SyncToken": "0",
                "domain": "QBO",
                "sparse": False,
                "MetaData": _meta(now),
            }
            for id_, n, t in PAYMENT_METHODS
        },
        "Term": {
            "3": {
                "Id": "3",
                "Name": "Net 30",
                "Type": "STANDARD",
                "DueDays": 30,
                "Active": True,
                "SyncToken": "0",
                "domain": "QBO",
                "sparse": False,
                "MetaData": _meta(now),
            }
        },
        "Customer": {},
        "Vendor": {"50": _named("Vendor", "50", "Sunny Supplies", True, now)},
        "Employee": {"51": _named("Employee", "51", "Pat Installer", False, now)},
        "Item": {
            "1": {
                "Id": "1",
                "Name": "Services",
                "FullyQualifiedName": "Services",
                "Type": "Service",
                "IncomeAccountRef": {"value": "7", "name": "Services"},
                "UnitPrice": Decimal("0"),
                "Taxable": region == "US",
                "Active": True,
                "TrackQtyOnHand": False,
                "SyncToken": "0",
                "domain": "QBO",
                "sparse": False,
                "MetaData": _meta(now),
            }
        },
        "Invoice": {},
        "Payment": {},
        "CreditMemo": {},
        "RefundReceipt": {},
        "deleted": {},
        "settings": {},
    }
