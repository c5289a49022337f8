"""Absolute links in notices: each opens a page of that organisation, behind the membership check."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings


def _org(organisation_id: object, path: str = "") -> str:
    return f"{settings.PUBLIC_URL}/orgs/{organisation_id}/{path}"


def organisation_page(organisation_id: object) -> str:
    return _org(organisation_id)


def setting_page(organisation_id: object, setting_key: str) -> str:
    """The mapping page, scrolled to the field when the setting is one (its form id is `id_<field>`)."""
    page = _org(organisation_id, "mapping/")
    return page if setting_key.startswith("ledger:") else f"{page}#id_{setting_key}"


def retry_page(organisation_id: object, setting_key: str) -> str:
    # A page with a button, not an action: an email link is a GET, and mail scanners follow links.
    return _org(organisation_id, "notices/retry/?" + urlencode({"setting": setting_key}))


def waiting_invoices(organisation_id: object) -> str:
    return _org(organisation_id, "invoices/?sync=needs_attention")


def notice_settings(organisation_id: object) -> str:
    return _org(organisation_id, "notices/")


def billing_invoice(organisation_id: object, invoice_id: object) -> str:
    return _org(organisation_id, f"billing/invoices/{invoice_id}")
