"""The browser consent page: lists the sandbox's tenants with checkboxes and posts the choice back, as a
ledger's own login-and-consent screen would. Provider-neutral; the provider supplies the wording."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;color:#1b2733}"
    "fieldset{border:1px solid #cfd8dc;border-radius:6px;padding:1rem}label{display:block;margin:.4rem 0}"
    "button{background:#13b5ea;color:#fff;border:0;border-radius:4px;padding:.6rem 1.2rem;font-size:1rem}"
)


def consent_page(
    provider_title: str,
    app_name: str,
    scope: str,
    tenants: Iterable[Mapping[str, Any]],
    hidden: Mapping[str, str],
    action: str,
    single: bool = False,
) -> str:
    """The HTML of the consent screen; ``hidden`` carries the authorize parameters through the POST.
    ``single`` makes it a picker of one organisation (QBO connects one company per authorization)."""
    kind = "radio" if single else "checkbox"
    boxes = "".join(
        f'<label><input type="{kind}" name="tenant_id" value="{html.escape(t["tenant_id"])}"'
        f"{' checked' if not single or index == 0 else ''}> "
        f"{html.escape(t['name'])} ({html.escape(t['region'])})</label>"
        for index, t in enumerate(tenants)
    )
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in hidden.items()
        if v
    )
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in scope.split())
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(provider_title)} consent</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(app_name)} wants to connect</h1>"
        f"<p>It asks for:</p><ul>{scopes}</ul><form method='post' action='{html.escape(action)}'>"
        f"<fieldset><legend>Organisations to connect</legend>{boxes or '<p>No organisations yet.</p>'}"
        f"</fieldset>{fields}<p><button type='submit' name='decision' value='allow'>Allow access</button> "
        f"<button type='submit' name='decision' value='deny' style='background:#78909c'>Cancel</button></p>"
        "</form></body></html>"
    )
