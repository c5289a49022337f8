"""Run a ledger sandbox as a subprocess for tests, the demo and benchmarks, and talk to its control API.
The same control API drives both sandboxes: at QuickBooks a tenant is a company and its id the realmId.

    with running_sandbox("xero", time_scale=60) as sandbox:
        control = sandbox.control
        app = control.create_app(["http://localhost/callback"])
        tenant = control.create_tenant("AU", "Sunny Installs")
        code = control.consent(app.client_id, [tenant], "offline_access accounting.invoices ...")

The sandbox is a separate program (``ledgerlink sandbox xero|quickbooks``); this module only starts it and
speaks HTTP to it, so nothing here imports ``ledgerlink.sandbox``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests


class SandboxError(RuntimeError):
    """The control API refused a request (the message carries its status and error)."""


@dataclass(frozen=True)
class SandboxApp:
    """An OAuth app registered in the sandbox."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


LEDGER_READ_S = 300.0


class SandboxControl:
    """A typed client for ``/_sandbox`` (docs/sandbox.md "Control API")."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["X-Sandbox-Token"] = token
        self.timeout = timeout

    def _call(
        self,
        verb: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        response = self.session.request(
            verb, f"{self.base_url}/_sandbox{path}", json=body, params=params, timeout=timeout or self.timeout
        )
        if response.status_code >= 400:
            raise SandboxError(f"{verb} /_sandbox{path} -> {response.status_code}: {response.text}")
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def create_app(
        self,
        redirect_uris: list[str],
        name: str = "LedgerLink",
        granular_only: bool = False,
        tier: str = "",
        certified: bool = True,
    ) -> SandboxApp:
        """Register an OAuth app; ``granular_only`` models an app created after 2026-03-02; ``tier``
        (starter, core, plus, advanced, enterprise) caps connections and, for starter, the day budget;
        ``certified=False`` makes the two-uncertified-apps-per-organisation rule apply."""
        body = {
            "redirect_uris": redirect_uris,
            "name": name,
            "granular_only": granular_only,
            "tier": tier,
            "certified": certified,
        }
        data = self._call("POST", "/apps", body)
        return SandboxApp(data["client_id"], data["client_secret"], tuple(data["redirect_uris"]))

    def create_tenant(
        self,
        region: str = "AU",
        name: str | None = None,
        limits: dict[str, int] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> str:
        """Create an organisation seeded for ``region``; returns its tenant id.
        Xero: AU, UK, NZ, US; ``limits`` may set in_flight, per_minute, per_day, app_per_minute; ``settings``
        may set tax_rounding (ROUND_HALF_EVEN | ROUND_HALF_UP) and allow_reconciled_delete.
        QuickBooks: US, AU, UK, CA; ``limits`` may set per_minute, in_flight, batch_app_per_minute,
        batch_per_minute; ``settings`` may set batch_metering (item | request) and custom_txn_numbers."""
        body: dict[str, Any] = {"region": region}
        if name:
            body["name"] = name
        if limits:
            body["limits"] = limits
        if settings:
            body["settings"] = settings
        return str(self._call("POST", "/tenants", body)["tenant_id"])

    def create_company(
        self,
        region: str = "US",
        name: str | None = None,
        limits: dict[str, int] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> str:
        """QuickBooks' word for ``create_tenant``: a seeded company; returns its realmId."""
        return self.create_tenant(region, name, limits, settings)

    def reset_tenant(self, tenant_id: str) -> None:
        self._call("POST", f"/tenants/{tenant_id}/reset")

    def update_settings(self, tenant_id: str, **settings: Any) -> dict[str, Any]:
        """Merge tenant settings: tax_rounding, allow_reconciled_delete, lock_date ("YYYY-MM-DD" or None)."""
        return dict(self._call("POST", f"/tenants/{tenant_id}/settings", dict(settings))["settings"])

    def delete_tenant(self, tenant_id: str) -> None:
        """Remove an organisation (deleted, or its trial ended): calls to it then answer 403."""
        self._call("DELETE", f"/tenants/{tenant_id}")

    def set_limits(self, tenant_id: str, **limits: int) -> None:
        self._call("POST", f"/tenants/{tenant_id}/limits", dict(limits))

    def windows(self, tenant_id: str, client_id: str) -> dict[str, dict[str, float]]:
        """The tenant's rate windows as app `client_id` sees them: {field: used, size, resets_in_s}."""
        return dict(
            self._call("GET", f"/tenants/{tenant_id}/windows", params={"client_id": client_id})["windows"]
        )

    def open_window(self, tenant_id: str, client_id: str, field: str = "per_minute") -> None:
        """Move the sandbox clock to the moment the tenant's `field` window opens anew for that app, so a
        run starts at a known phase (the worst: a whole window to wait after its first window's calls)."""
        self.advance_clock(self.windows(tenant_id, client_id)[field]["resets_in_s"] + 1e-3)  # past the edge

    def consent(
        self,
        client_id: str,
        tenant_ids: list[str],
        scope: str,
        redirect_uri: str | None = None,
        state: str | None = None,
        code_challenge: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """Mint an authorization code without a browser; exchange it at ``/connect/token``."""
        body: dict[str, Any] = {"client_id": client_id, "tenant_ids": tenant_ids, "scope": scope}
        for key, value in (
            ("redirect_uri", redirect_uri),
            ("state", state),
            ("code_challenge", code_challenge),
            ("user_id", user_id),
        ):
            if value is not None:
                body[key] = value
        return str(self._call("POST", "/consent", body)["code"])

    def consent_to(self, authorize_url: str, tenant_ids: list[str]) -> tuple[str, str]:
        """Answer an authorize redirect as the user on the consent page would (granting these tenants):
        returns (code, state) for the callback. Client, scope, redirect URI, state and PKCE challenge come
        from the URL the connector built."""
        query = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        code = self.consent(
            query["client_id"],
            tenant_ids,
            query["scope"],
            redirect_uri=query.get("redirect_uri"),
            state=query.get("state"),
            code_challenge=query.get("code_challenge"),
        )
        return code, query.get("state", "")

    def ledger(self, tenant_id: str) -> dict[str, Any]:
        """Contacts, Invoices, Payments (incl. DELETED), CreditNotes, Items in Xero's JSON."""
        # The whole books in one answer: 100,000 invoices take the sandbox tens of seconds to render.
        return dict(
            self._call("GET", f"/tenants/{tenant_id}/ledger", timeout=max(self.timeout, LEDGER_READ_S))
        )

    def requests(self, tenant_id: str, **filters: Any) -> list[dict[str, Any]]:
        """The tenant's request log; filters: since (seq), method, path (glob), status."""
        return list(self._call("GET", f"/tenants/{tenant_id}/requests", params=filters)["requests"])

    def count(self, tenant_id: str, **filters: Any) -> int:
        return int(self._call("GET", f"/tenants/{tenant_id}/requests/count", params=filters)["count"])

    def all_requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Every logged request, identity calls included; filters add client_id (e.g. count the token
        endpoint calls of one app: ``all_requests(client_id=..., path="/connect/token")``)."""
        return list(self._call("GET", "/requests", params=filters)["requests"])

    def set_faults(self, *rules: dict[str, Any]) -> list[dict[str, Any]]:
        """Add fault rules (docs/sandbox.md "Fault rules"); returns them with their ids."""
        return list(self._call("POST", "/faults", {"rules": list(rules)})["rules"])

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults")["rules"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock forward by sandbox seconds; returns the new sandbox time."""
        return float(self._call("POST", "/clock", {"advance_s": seconds})["now"])

    def clock(self) -> float:
        return float(self._call("GET", "/clock")["now"])

    def expire_tokens(self, client_id: str | None = None, tenant_id: str | None = None) -> int:
        return int(
            self._call("POST", "/tokens/expire", {"client_id": client_id, "tenant_id": tenant_id})["grants"]
        )

    def revoke_tokens(self, client_id: str | None = None, tenant_id: str | None = None) -> int:
        return int(
            self._call("POST", "/tokens/revoke", {"client_id": client_id, "tenant_id": tenant_id})["grants"]
        )

    def reset(self) -> None:
        """Forget every app, tenant, grant, fault, cached key and counter."""
        self._call("POST", "/reset")


@dataclass
class RunningSandbox:
    """A sandbox subprocess: its base URL, control client and process."""

    provider: str
    base_url: str
    token: str
    process: subprocess.Popen[str]
    control: SandboxControl

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (the sandbox saves its state file), then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _read_ready_line(process: subprocess.Popen[str], deadline: float) -> str:
    """The sandbox prints ``READY http://host:port ...`` once it listens; port 0 avoids any port race."""
    assert process.stdout is not None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited with {process.returncode} before it was ready")
        readable, _, _ = select.select([process.stdout], [], [], 0.1)
        if readable:
            line = process.stdout.readline()
            if line.startswith("READY "):
                return line.split()[1]
    raise RuntimeError("sandbox did not report READY in time")


def start_sandbox(
    provider: str = "xero",
    *,
    port: int = 0,
    state_file: Path | None = None,
    time_scale: float = 1.0,
    token: str | None = None,
    extra_args: list[str] | None = None,
    ready_timeout: float = 60.0,
) -> RunningSandbox:
    """Start ``python -m ledgerlink.sandbox <provider>`` on a loopback port (0: the OS picks a free one) and
    wait until it answers its health check."""
    token = token or secrets.token_urlsafe(18)
    command = [sys.executable, "-m", "ledgerlink.sandbox", provider, "--port", str(port)]
    # "=" form: a token may start with "-", which argparse would read as an option.
    command += ["--time-scale", str(time_scale), f"--control-token={token}"]
    if state_file is not None:
        command += ["--state", str(state_file)]
    command += extra_args or []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
    deadline = time.monotonic() + ready_timeout
    try:
        base_url = _read_ready_line(process, deadline)
    except RuntimeError:
        if process.poll() is None:
            process.kill()
        raise
    sandbox = RunningSandbox(provider, base_url, token, process, SandboxControl(base_url, token))
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base_url}/_sandbox/health", timeout=0.5).ok:
                return sandbox
        time.sleep(0.05)
    sandbox.stop()
    raise RuntimeError(f"sandbox did not answer on {base_url} within {ready_timeout:.0f}s")


@contextlib.contextmanager
def running_sandbox(provider: str = "xero", **kwargs: Any) -> Iterator[RunningSandbox]:
    """Context manager around ``start_sandbox``/``stop``."""
    sandbox = start_sandbox(provider, **kwargs)
    try:
        yield sandbox
    finally:
        sandbox.stop()
