"""The browser leg of OAuth, shared by the sandboxes: validate the authorize request, show the consent page
(a list of tenants, or a picker of one), then redirect back with a code, the state and whatever the provider
adds (Xero: scope; QBO: realmId). Also the HTTP Basic client credentials both token endpoints read."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .consent import consent_page

if TYPE_CHECKING:
    from .plane import ControlPlane

FORM_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True)
class ConsentScreen:
    """How one ledger words its consent leg. ``refuse`` answers what cannot be redirected (an unknown app or
    redirect URI); ``scope_description`` goes with ``error=invalid_scope``; ``single`` picks one tenant."""

    title: str
    refuse: Callable[[str], Response]
    scope_description: str
    single: bool = False


def basic_credentials(request: Request) -> tuple[str | None, str | None]:
    """``Authorization: Basic base64(client_id:secret)``, or (None, None)."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def authorize(plane: ControlPlane, request: Request, screen: ConsentScreen) -> Response:
    """GET shows the consent page; its POST (``decision=allow`` and the ticked ``tenant_id``s) redirects
    back to the app with a code, or with ``error=access_denied``."""
    params = request.form if request.method == "POST" else request.args
    app = plane.store.apps.get(params.get("client_id", ""))
    if app is None:
        return screen.refuse("unauthorized_client: unknown client_id")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app["redirect_uris"]:
        return screen.refuse("invalid_request: redirect_uri is not registered for this app")
    state = params.get("state", "")

    def back(**query: str) -> Response:
        if state:
            query["state"] = state
        return Response(status=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}"})

    if params.get("response_type") != "code":
        return back(error="unsupported_response_type")
    scope = params.get("scope", "")
    error = plane.provider.scope_error(app, scope)
    if error:
        return back(error=error, error_description=screen.scope_description)
    challenge = params.get("code_challenge") or None
    if challenge and params.get("code_challenge_method") != "S256":
        return back(error="invalid_request", error_description="code_challenge_method must be S256")
    if request.method == "GET":
        hidden = {k: params.get(k, "") for k in FORM_FIELDS}
        with plane.store.lock:
            tenants = list(plane.store.tenants.values())
        page = consent_page(screen.title, app["name"], scope, tenants, hidden, request.path, screen.single)
        return Response(page, content_type="text/html; charset=utf-8")
    if params.get("decision") != "allow":
        return back(error="access_denied")
    tenant_ids = [t for t in request.form.getlist("tenant_id") if t in plane.store.tenants]
    refused = plane.provider.consent_error(app, tenant_ids)
    if refused:
        return back(error="access_denied", error_description=refused)
    code = plane.grants.issue_code(
        app["client_id"], redirect_uri, scope, tenant_ids, params.get("user_id") or None, challenge
    )
    return back(code=code, **plane.provider.redirect_params(scope, tenant_ids))
