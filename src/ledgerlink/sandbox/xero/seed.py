"""What a new organisation looks like per region: its Organisation record, chart of accounts (with a bank
account, a payments-enabled clearing account, system accounts and an archived account), tax rates, items and
tracking categories (xero.md §3 "TaxRates"; codes follow Xero's default charts for each region)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..control.state import new_id

REGIONS: tuple[str, ...] = ("AU", "UK", "NZ", "US")

_CLASS_OF_TYPE = {
    **dict.fromkeys(("BANK", "CURRENT", "FIXED", "INVENTORY", "NONCURRENT", "PREPAYMENT"), "ASSET"),
    **dict.fromkeys(("CURRLIAB", "LIABILITY", "TERMLIAB", "PAYG"), "LIABILITY"),
    "EQUITY": "EQUITY",
    **dict.fromkeys(("REVENUE", "SALES", "OTHERINCOME"), "REVENUE"),
    **dict.fromkeys(("EXPENSE", "DIRECTCOSTS", "OVERHEADS", "DEPRECIATN"), "EXPENSE"),
}


@dataclass(frozen=True)
class Region:
    """The constants of one region's organisation."""

    version: str
    country: str
    currency: str
    timezone: str
    year_end: tuple[int, int]
    tax_basis: str
    tax_period: str
    sales_tax: str  # default sales TaxType
    purchase_tax: str
    exempt_tax: str  # TaxType for bank and balance-sheet accounts


CURRENCY_NAMES = {
    "AUD": "Australian Dollar",
    "GBP": "British Pound",
    "NZD": "New Zealand Dollar",
    "USD": "United States Dollar",
    "EUR": "Euro",
    "CAD": "Canadian Dollar",
}

_REGIONS = {
    "AU": Region("AU", "AU", "AUD", "AUSEASTERNSTANDARDTIME", (30, 6), "ACCRUALS", "QUARTERLY1",
                 "OUTPUT", "INPUT", "BASEXCLUDED"),
    "UK": Region("UK", "GB", "GBP", "GMTSTANDARDTIME", (31, 3), "ACCRUAL", "QUARTERLY1",
                 "OUTPUT2", "INPUT2", "NONE"),
    "NZ": Region("NZ", "NZ", "NZD", "NEWZEALANDSTANDARDTIME", (31, 3), "INVOICE", "TWOMONTHS",
                 "OUTPUT2", "INPUT2", "NONE"),
    "US": Region("US", "US", "USD", "EASTERNSTANDARDTIME", (31, 12), "ACCRUAL", "MONTHLY",
                 "TAX001", "INPUT", "NONE"),
}  # fmt: skip

# (TaxType, Name, components [(name, rate, compound)], ReportTaxType, applies to: "sales"|"purchases"|"any")
_TAX_RATES: dict[str, list[tuple[str, str, list[tuple[str, str, bool]], str, str]]] = {
    "AU": [
        ("OUTPUT", "GST on Income", [("GST", "10.0000", False)], "OUTPUT", "sales"),
        ("INPUT", "GST on Expenses", [("GST", "10.0000", False)], "INPUT", "purchases"),
        ("EXEMPTOUTPUT", "GST Free Income", [("GST", "0.0000", False)], "EXEMPTOUTPUT", "sales"),
        ("EXEMPTEXPENSES", "GST Free Expenses", [("GST", "0.0000", False)], "EXEMPTEXPENSES", "purchases"),
        ("EXEMPTCAPITAL", "GST Free Capital", [("GST", "0.0000", False)], "EXEMPTCAPITAL", "purchases"),
        ("EXEMPTEXPORT", "GST Free Exports", [("GST", "0.0000", False)], "EXEMPTEXPORT", "sales"),
        ("CAPEXINPUT", "GST on Capital", [("GST", "10.0000", False)], "CAPITALEXINPUT", "purchases"),
        ("GSTONIMPORTS", "GST on Imports", [("GST", "0.0000", False)], "GSTONIMPORTS", "purchases"),
        ("INPUTTAXED", "Input Taxed", [("GST", "0.0000", False)], "INPUTTAXED", "any"),
        ("BASEXCLUDED", "BAS Excluded", [("GST", "0.0000", False)], "BASEXCLUDED", "any"),
    ],
    "UK": [
        ("OUTPUT2", "20% (VAT on Income)", [("VAT", "20.0000", False)], "OUTPUT", "sales"),
        ("INPUT2", "20% (VAT on Expenses)", [("VAT", "20.0000", False)], "INPUT", "purchases"),
        ("RROUTPUT", "5% (VAT on Income)", [("VAT", "5.0000", False)], "OUTPUT", "sales"),
        ("RRINPUT", "5% (VAT on Expenses)", [("VAT", "5.0000", False)], "INPUT", "purchases"),
        ("ZERORATEDOUTPUT", "Zero Rated Income", [("VAT", "0.0000", False)], "ZERORATEDOUTPUT", "sales"),
        ("ZERORATEDINPUT", "Zero Rated Expenses", [("VAT", "0.0000", False)], "ZERORATEDINPUT", "purchases"),
        ("EXEMPTOUTPUT", "Exempt Income", [("VAT", "0.0000", False)], "EXEMPTOUTPUT", "sales"),
        ("EXEMPTINPUT", "Exempt Expenses", [("VAT", "0.0000", False)], "EXEMPTINPUT", "purchases"),
        ("ECZROUTPUT", "Zero Rated EC Goods Income", [("VAT", "0.0000", False)], "ECOUTPUT", "sales"),
        ("ECZROUTPUTSERVICES", "Zero Rated EC Services", [("VAT", "0.0000", False)], "ECOUTPUTSERVICES",
         "sales"),
        ("REVERSECHARGES", "Reverse Charge Expenses (20%)", [("VAT", "20.0000", False)], "REVERSECHARGES",
         "purchases"),
        ("CAPEXINPUT2", "20% VAT on Capital Purchases", [("VAT", "20.0000", False)], "CAPEXINPUT",
         "purchases"),
        ("NONE", "No VAT", [("VAT", "0.0000", False)], "NONE", "any"),
    ],
    "NZ": [
        ("OUTPUT2", "15% GST on Income", [("GST", "15.0000", False)], "OUTPUT", "sales"),
        ("INPUT2", "15% GST on Expenses", [("GST", "15.0000", False)], "INPUT", "purchases"),
        ("ZERORATED", "Zero Rated", [("GST", "0.0000", False)], "ZERORATEDOUTPUT", "any"),
        ("GSTONIMPORTS", "GST on Imports", [("GST", "0.0000", False)], "GSTONIMPORTS", "purchases"),
        ("NONE", "No GST", [("GST", "0.0000", False)], "NONE", "any"),
    ],
    "US": [
        ("TAX001", "NY City Sales Tax",
         [("State Tax", "4.0000", False), ("City Tax", "4.5000", False), ("MCTD", "0.3750", False)],
         "USSALESTAX", "sales"),
        ("TAX002", "California Sales Tax", [("State Tax", "7.2500", False)], "USSALESTAX", "sales"),
        # State rates installers invoice with: Texas's 6.25% plus the 2% local cap, Minnesota's 6.875% plus a
        # 0.5% city tax, Massachusetts's flat 6.25%, and Oregon, which has no sales tax.
        ("TAX003", "Texas Sales Tax",
         [("State Tax", "6.2500", False), ("Local Tax", "2.0000", False)], "USSALESTAX", "sales"),
        ("TAX004", "Minnesota Sales Tax",
         [("State Tax", "6.8750", False), ("City Tax", "0.5000", False)], "USSALESTAX", "sales"),
        ("TAX005", "Massachusetts Sales Tax", [("State Tax", "6.2500", False)], "USSALESTAX", "sales"),
        ("TAX006", "Oregon Sales Tax", [("State Tax", "0.0000", False)], "USSALESTAX", "sales"),
        ("OUTPUT", "Tax on Sales", [("Sales Tax", "0.0000", False)], "OUTPUT", "sales"),
        ("INPUT", "Tax on Purchases", [("Sales Tax", "0.0000", False)], "INPUT", "purchases"),
        ("NONE", "Tax Exempt", [("Sales Tax", "0.0000", False)], "NONE", "any"),
    ],
}  # fmt: skip

# (Code, Name, Type, tax: "sales"|"purchases"|"exempt", extras)
_ACCOUNTS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("090", "Business Bank Account", "BANK", "exempt", {"BankAccountType": "BANK"}),
    ("091", "Business Savings Account", "BANK", "exempt", {"BankAccountType": "BANK"}),
    ("200", "Sales", "REVENUE", "sales", {}),
    ("205", "Solar Feed-in Rebates (old)", "REVENUE", "sales", {"Status": "ARCHIVED"}),
    ("260", "Other Revenue", "REVENUE", "sales", {}),
    ("270", "Interest Income", "OTHERINCOME", "exempt", {}),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "purchases", {}),
    ("400", "Advertising", "OVERHEADS", "purchases", {}),
    ("404", "Bank Fees", "OVERHEADS", "exempt", {}),
    ("429", "General Expenses", "OVERHEADS", "purchases", {}),
    ("449", "Motor Vehicle Expenses", "OVERHEADS", "purchases", {}),
    ("610", "Accounts Receivable", "CURRENT", "exempt", {"SystemAccount": "DEBTORS"}),
    ("615", "Card Payments Clearing", "CURRENT", "exempt", {"EnablePaymentsToAccount": True}),
    ("620", "Prepayments", "PREPAYMENT", "exempt", {}),
    ("630", "Inventory", "INVENTORY", "exempt", {}),
    ("710", "Office Equipment", "FIXED", "purchases", {}),
    ("800", "Accounts Payable", "CURRLIAB", "exempt", {"SystemAccount": "CREDITORS"}),
    ("820", "Sales Tax", "CURRLIAB", "exempt", {"SystemAccount": "GST"}),
    ("840", "Historical Adjustment", "CURRLIAB", "exempt", {"SystemAccount": "HISTORICAL"}),
    ("860", "Rounding", "CURRLIAB", "exempt", {"SystemAccount": "ROUNDING"}),
    ("877", "Tracking Transfers", "CURRLIAB", "exempt", {"SystemAccount": "TRACKINGTRANSFERS"}),
    ("960", "Retained Earnings", "EQUITY", "exempt", {"SystemAccount": "RETAINEDEARNINGS"}),
    ("970", "Owner Funds Introduced", "EQUITY", "exempt", {}),
]

_TAX_NAME = {"AU": "GST", "UK": "VAT", "NZ": "GST", "US": "Sales Tax"}

_ITEMS = [
    ("PANEL-440", "440W solar panel", "Monocrystalline 440 W panel", "385.00"),
    ("INV-5K", "5 kW hybrid inverter", "Hybrid inverter, 5 kW", "2150.00"),
    ("BATT-10", "10 kWh battery", "Home battery, 10 kWh", "7400.00"),
    ("INSTALL", "Installation labour", "Installation labour per hour", "95.00"),
]


def region_of(code: str) -> Region:
    return _REGIONS[code]


def effective_rate(components: list[tuple[str, Decimal, bool]]) -> Decimal:
    """A compound component taxes the amount plus the simple components' tax (Xero's Canadian QST): 5% and
    a compound 9.975% make 15.4738%, not 14.975%."""
    simple = sum((rate for _, rate, compound in components if not compound), Decimal(0))
    compound = sum((rate for _, rate, is_compound in components if is_compound), Decimal(0))
    return (simple + compound * (1 + simple / 100)).quantize(Decimal("0.0001"))


def tax_rate(
    tax_type: str,
    name: str,
    components: list[tuple[str, Decimal, bool]],
    report: str | None,
    applies: str,
) -> dict[str, Any]:
    """One TaxRate as Xero shows it; ``applies`` is "sales", "purchases" or "any"; ``report`` is None
    where the region has no report tax types (US rates created through the API)."""
    sales, purchases = applies in ("sales", "any"), applies in ("purchases", "any")
    return {
        "Name": name,
        "TaxType": tax_type,
        "TaxComponents": [
            {"Name": n, "Rate": r, "IsCompound": c, "IsNonRecoverable": False} for n, r, c in components
        ],
        "Status": "ACTIVE",
        "ReportTaxType": report,
        "CanApplyToAssets": True,
        "CanApplyToEquity": True,
        "CanApplyToExpenses": purchases,
        "CanApplyToLiabilities": True,
        "CanApplyToRevenue": sales,
        "DisplayTaxRate": sum((r for _, r, _ in components), Decimal(0)),
        "EffectiveRate": effective_rate(components),
    }


def report_tax_types(region: str) -> dict[str, str]:
    """The ReportTaxTypes a region's new tax rates may use, each with what it applies to, as the region's
    default rates use them. Empty for the US, whose rates take none."""
    if region == "US":
        return {}
    return {report: applies for _, _, _, report, applies in _TAX_RATES[region]}


def _tax_rates(region: str) -> list[dict[str, Any]]:
    return [
        tax_rate(tax_type, name, [(n, Decimal(r), c) for n, r, c in components], report, applies)
        for tax_type, name, components, report, applies in _TAX_RATES[region]
    ]


def _accounts(region: Region, now: float) -> list[dict[str, Any]]:
    taxes = {"sales": region.sales_tax, "purchases": region.purchase_tax, "exempt": region.exempt_tax}
    accounts = []
    for code, name, account_type, tax, extras in _ACCOUNTS:
        if extras.get("SystemAccount") == "GST":
            name = _TAX_NAME[region.version]
        account: dict[str, Any] = {
            "AccountID": new_id(),
            "Code": code,
            "Name": name,
            "Status": "ACTIVE",
            "Type": account_type,
            "TaxType": taxes[tax],
            "Class": _CLASS_OF_TYPE[account_type],
            "EnablePaymentsToAccount": False,
            "ShowInExpenseClaims": account_type in ("OVERHEADS", "EXPENSE"),
            "BankAccountType": "",
            "ReportingCode": f"{_CLASS_OF_TYPE[account_type][:3]}",
            "HasAttachments": False,
            "UpdatedDateUTC": now,
            "AddToWatchlist": False,
        }
        account.update(extras)
        if account_type == "BANK":
            account["BankAccountNumber"] = f"{secrets.randbelow(10**8):08d}"
            account["CurrencyCode"] = region.currency
        accounts.append(account)
    return accounts


def _items(region: Region, now: float) -> list[dict[str, Any]]:
    return [
        {
            "ItemID": new_id(),
            "Code": code,
            "Name": name,
            "Description": description,
            "IsSold": True,
            "IsPurchased": False,
            "IsTrackedAsInventory": False,
            "SalesDetails": {"UnitPrice": Decimal(price), "AccountCode": "200", "TaxType": region.sales_tax},
            "PurchaseDetails": {},
            "UpdatedDateUTC": now,
        }
        for code, name, description, price in _ITEMS
    ]


def _tracking() -> list[dict[str, Any]]:
    category_id = new_id()
    options = [("North", "ACTIVE"), ("South", "ACTIVE"), ("Metro", "ACTIVE"), ("Legacy Depot", "ARCHIVED")]
    return [
        {
            "TrackingCategoryID": category_id,
            "Name": "Region",
            "Status": "ACTIVE",
            "Options": [
                {"TrackingOptionID": new_id(), "Name": n, "Status": s, "TrackingCategoryID": category_id}
                for n, s in options
            ],
        }
    ]


def organisation(region_code: str, name: str, tenant_id: str, now: float) -> dict[str, Any]:
    region = _REGIONS[region_code]
    day, month = region.year_end
    return {
        "OrganisationID": tenant_id,
        "APIKey": secrets.token_hex(15).upper(),
        "Name": name,
        "LegalName": name,
        "PaysTax": True,
        "Version": region.version,
        "OrganisationType": "COMPANY",
        "BaseCurrency": region.currency,
        "CountryCode": region.country,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": day,
        "FinancialYearEndMonth": month,
        "SalesTaxBasis": region.tax_basis,
        "SalesTaxPeriod": region.tax_period,
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": now,
        "Timezone": region.timezone,
        "OrganisationEntityType": "COMPANY",
        "ShortCode": "!" + secrets.token_hex(3)[:5],
        "Class": "PREMIUM",
        "Edition": "BUSINESS",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }


def new_ledger(region_code: str, name: str, tenant_id: str, now: float) -> dict[str, Any]:
    """A fresh organisation's books for a region (``AU``, ``UK``, ``NZ`` or ``US``)."""
    region = _REGIONS[region_code]
    return {
        "organisation": organisation(region_code, name, tenant_id, now),
        "currencies": [{"Code": region.currency, "Description": CURRENCY_NAMES[region.currency]}],
        "accounts": _accounts(region, now),
        "tax_rates": _tax_rates(region_code),
        "items": _items(region, now),
        "tracking": _tracking(),
        "contacts": {},
        "invoices": {},
        "payments": {},
        "credit_notes": {},
        "counters": {"ACCREC": 0, "ACCRECCREDIT": 0},
    }
