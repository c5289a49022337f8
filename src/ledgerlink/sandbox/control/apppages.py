"""The ledger's own app pages, which a connector deep-links to (an invoice in Xero, a customer in QuickBooks):
the sandbox stands in for them with its read-only ledger page of the tenant, at the object's row.
Provider-neutral; each provider matches its own app paths and finds the tenant."""

from __future__ import annotations

from urllib.parse import quote

from werkzeug.wrappers import Response


def row_id(object_id: str) -> str:
    """The id of an object's row on a tenant's ledger page (an HTML id and the link's fragment)."""
    return f"obj-{object_id}"


def to_ledger_page(tenant_id: str | None, object_id: str) -> Response:
    """A redirect to the tenant's ledger page at the object's row; 404 when no tenant holds it."""
    if not tenant_id:
        return Response("No such object in the sandbox", 404, content_type="text/plain")
    location = f"/_sandbox/tenants/{quote(tenant_id, safe='')}#{quote(row_id(object_id), safe='')}"
    return Response(status=302, headers={"Location": location})
