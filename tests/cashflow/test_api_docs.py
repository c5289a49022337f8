"""/api/v1/docs works offline: the page references only the app's own static files (no CDN), each of which
the app serves, and the spec the page loads is served too."""

from __future__ import annotations

import json
import re

from django.test import Client


def test_the_docs_page_loads_every_script_and_stylesheet_from_the_app_itself(db):
    client = Client()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    references = re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', html)
    scripts = [ref for ref in references if ref.endswith(".js")]
    stylesheets = [ref for ref in references if ref.endswith(".css")]
    assert scripts and stylesheets, references
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), (
            f"{reference} is not the app's own"
        )
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        assert b"".join(asset.streaming_content if asset.streaming else [asset.content]), reference
    settings = json.loads(re.search(r'id="swagger-settings">(.*?)</script>', html, re.S).group(1))
    spec = client.get(settings["url"])
    assert spec.status_code == 200 and spec.json()["info"]["title"]
