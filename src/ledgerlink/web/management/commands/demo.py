"""`ledgerlink demo` (what `make demo` runs): the whole product on the embedded default, offline.

It refuses ports already taken (naming them), migrates, seeds the demo organisations once, starts an SMTP
sink, the Xero and QuickBooks sandboxes (their state kept in the data folder, so a restart finds the same
tenants and companies), the web server and a huey consumer, each once and supervised by this one process
(their output goes to var/logs), and prints every organisation with its API key and both sandbox ledgers.
Each organisation has a Xero tenant and a QuickBooks company of its own, so either can be connected through
that sandbox's consent page. Ctrl-C or SIGTERM stops everything."""

from __future__ import annotations

import json
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ledgerlink.cashflow import apikeys
from ledgerlink.cashflow.demo import DEMO_PASSWORD, DEMO_USERNAME, AlreadySeeded, seed_demo
from ledgerlink.cashflow.models import Organisation
from ledgerlink.devtools import smtp_sink
from ledgerlink.devtools.ports import port_is_free
from ledgerlink.devtools.sandboxes import SandboxControl
from ledgerlink.devtools.supervisor import Child, Stopped, Supervisor

PORT_OPTIONS = {
    "web": "port",
    "xero-sandbox": "xero_port",
    "quickbooks-sandbox": "qbo_port",
    "smtp": "smtp_port",
}
LEDGERLINK = [sys.executable, "-m", "ledgerlink"]
GUNICORN_CONFIG = "python:ledgerlink.gunicorn_conf"
MAKE_VARIABLES = {
    "web": "PORT",
    "xero-sandbox": "XERO_PORT",
    "quickbooks-sandbox": "QBO_PORT",
    "smtp": "SMTP_PORT",
}


def _xero_env(url: str, app: dict[str, str]) -> dict[str, str]:
    return {
        "XERO_CLIENT_ID": app["client_id"],
        "XERO_CLIENT_SECRET": app["client_secret"],
        "XERO_AUTHORIZE_URL": f"{url}/identity/connect/authorize",
        "XERO_IDENTITY_URL": url,
        "XERO_API_URL": url,
        "XERO_WEB_URL": url,  # the sandbox answers Xero's invoice and contact pages with its ledger page
    }


def _quickbooks_env(url: str, app: dict[str, str]) -> dict[str, str]:
    # Intuit's endpoints live on three hosts in production; the sandbox serves them all at their paths.
    return {
        "QBO_CLIENT_ID": app["client_id"],
        "QBO_CLIENT_SECRET": app["client_secret"],
        "QBO_AUTHORIZE_URL": f"{url}/connect/oauth2",
        "QBO_TOKEN_URL": f"{url}/oauth2/v1/tokens/bearer",
        "QBO_REVOKE_URL": f"{url}/v2/oauth2/tokens/revoke",
        "QBO_API_URL": url,
        "QBO_WEB_URL": url,
    }


@dataclass(frozen=True)
class SandboxKind:
    """What differs between the demo's two sandboxes: the name users know, the country-to-region table of
    its seeded tenants, and the settings (environment) that point LedgerLink at it and at the demo's app."""

    provider: str
    display_name: str
    regions: dict[str, str]
    settings_env: Callable[[str, dict[str, str]], dict[str, str]]
    fallback_region: str = "AU"

    @property
    def child(self) -> str:
        """The supervised child's name, which is also its port's name in messages."""
        return f"{self.provider}-sandbox"


# Xero seeds AU, UK, NZ and US organisations; QuickBooks US, AU, UK and CA companies (no NZ edition).
SANDBOXES = (
    SandboxKind("xero", "Xero", {"AU": "AU", "GB": "UK", "US": "US", "NZ": "NZ"}, _xero_env),
    SandboxKind(
        "quickbooks", "QuickBooks", {"AU": "AU", "GB": "UK", "US": "US", "CA": "CA"}, _quickbooks_env
    ),
)


class Command(BaseCommand):
    help = "Run LedgerLink with both ledger sandboxes, an SMTP sink and demo organisations (offline)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web port")
        parser.add_argument("--xero-port", type=int, default=8100, help="Xero sandbox port")
        parser.add_argument("--qbo-port", type=int, default=8200, help="QuickBooks sandbox port")
        parser.add_argument("--smtp-port", type=int, default=8025, help="SMTP sink port")

    def handle(self, *args: Any, **options: Any) -> None:
        ports = {name: options[option] for name, option in PORT_OPTIONS.items()}
        _refuse_taken_ports(ports)
        data = Path(settings.DATA_DIR)
        supervisor = Supervisor(out=sys.stderr)
        supervisor.install_signal_handlers()  # Ctrl-C during startup still stops what has started
        smtp = None
        try:
            call_command("migrate", interactive=False, verbosity=0)
            self._seed()
            smtp, _ = smtp_sink.start(port=ports["smtp"], folder=data / "mail")
            demo = DemoParts(data, ports)
            for kind in SANDBOXES:
                supervisor.start(demo.sandbox(kind))
            apps = {kind.provider: self._sandbox_app(demo, kind) for kind in SANDBOXES}
            for child in demo.service(apps, smtp.port):
                supervisor.start(child)
            _wait_for(f"{demo.web_url}/api/v1/health")
            self._welcome(demo, smtp.port)
            supervisor.run()
        except Stopped:
            pass
        finally:
            supervisor.stop_all()
            if smtp is not None:
                smtp.stop()

    def _seed(self) -> None:
        try:
            seed_demo()
            self.stdout.write("Seeded the demo organisations.")
        except AlreadySeeded:
            self.stdout.write("Demo organisations already seeded.")

    def _sandbox_app(self, demo: DemoParts, kind: SandboxKind) -> dict[str, str]:
        """The sandbox's OAuth app and one tenant (company) per demo organisation, made once and kept in
        demo.json (the sandbox keeps them in its own state file). A new web port needs a new app, since both
        ledgers match redirect URIs exactly; the tenants stay."""
        url = demo.url(kind)
        control = SandboxControl(url, demo.state["control_token"])
        _wait_for(f"{url}/_sandbox/health")
        state = demo.state.setdefault(kind.provider, {})
        if not demo.sandbox_state(kind).exists():
            state.clear()
        if "tenants" not in state:
            state["tenants"] = {
                org.name: control.create_tenant(kind.regions.get(org.country, kind.fallback_region), org.name)
                for org in Organisation.objects.order_by("name")
            }
        callback = demo.callback_url(kind)
        if state.get("app", {}).get("callback") != callback:
            app = control.create_app([callback], name="LedgerLink demo")
            state["app"] = {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "callback": callback,
            }
        demo.save()
        return dict(state["app"])

    def _welcome(self, demo: DemoParts, smtp_port: int) -> None:
        lines = [
            f"\nLedgerLink is running at {demo.web_url}",
            f"  Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}",
            f"  API docs: {demo.web_url}/api/v1/docs",
            f"  Organisations (their API keys are kept in {demo.path} for the next start):",
        ]
        for organisation in Organisation.objects.order_by("name"):
            lines += [
                f"    {organisation.name} ({organisation.country})",
                f"      API key: {demo.api_key(organisation)}",
            ]
            for kind in SANDBOXES:
                tenant = demo.state[kind.provider]["tenants"].get(organisation.name)
                ledger = f"{demo.url(kind)}/_sandbox/tenants/{tenant}" if tenant else "(no sandbox tenant)"
                lines.append(f"      {kind.display_name} sandbox ledger: {ledger}")
        first_key = next(iter(demo.state["api_keys"].values()), "KEY")
        lines.append(f"  Try: curl -H 'Authorization: Bearer {first_key}' {demo.web_url}/api/v1/invoices")
        lines += [f"  {kind.display_name} sandbox: {demo.url(kind)}/_sandbox" for kind in SANDBOXES]
        lines += [
            "  Connect either ledger from an organisation's page: on the sandbox's consent page, pick the",
            "  tenant (Xero) or company (QuickBooks) of the same name.",
            f"  Mail sink: 127.0.0.1:{smtp_port}, messages saved in {demo.data / 'mail'}",
            f"  Mail received (recaps, alerts, invoices): {demo.web_url}/_demo/mail/",
            f"  Logs: {demo.data / 'logs'}",
            "Ctrl-C stops everything.\n",
        ]
        demo.save()
        self.stdout.write("\n".join(lines))
        self.stdout.flush()


class DemoParts:
    """The demo's URLs, children and kept state (var/demo.json: the sandboxes' control token, each sandbox's
    app and tenants, and each organisation's API key), so a restart finds the same tenants and keys."""

    def __init__(self, data: Path, ports: dict[str, int]) -> None:
        self.data = data
        self.ports = ports
        self.web_url = f"http://127.0.0.1:{ports['web']}"
        self.path = data / "demo.json"
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        # demo.json from before QuickBooks kept Xero's app and tenants at the top level.
        if "tenants" in self.state:
            self.state["xero"] = {"tenants": self.state.pop("tenants"), "app": self.state.pop("app", {})}
        self.state.setdefault("control_token", secrets.token_urlsafe(18))
        self.state.setdefault("api_keys", {})
        self.save()

    def save(self) -> None:
        self.path.write_text(json.dumps(self.state, indent=2))
        self.path.chmod(0o600)

    def url(self, kind: SandboxKind) -> str:
        return f"http://127.0.0.1:{self.ports[kind.child]}"

    def callback_url(self, kind: SandboxKind) -> str:
        return f"{self.web_url}/connections/{kind.provider}/callback/"

    def sandbox_state(self, kind: SandboxKind) -> Path:
        return self.data / f"{kind.child}.json"

    def sandbox(self, kind: SandboxKind) -> Child:
        argv = [*LEDGERLINK, "sandbox", kind.provider, "--port", str(self.ports[kind.child])]
        # "=" form: a token may start with "-", which argparse would read as an option.
        argv += ["--state", str(self.sandbox_state(kind)), f"--control-token={self.state['control_token']}"]
        return Child(kind.child, argv, log_path=self.data / "logs" / f"{kind.child}.log")

    def service(self, apps: dict[str, dict[str, str]], smtp_port: int) -> list[Child]:
        env = {
            "LEDGERLINK_DATA_DIR": str(self.data),
            "LEDGERLINK_PUBLIC_URL": self.web_url,
            "LEDGERLINK_SMTP_HOST": "127.0.0.1",
            "LEDGERLINK_SMTP_PORT": str(smtp_port),
        }
        for kind in SANDBOXES:
            env.update(kind.settings_env(self.url(kind), apps[kind.provider]))
        web = [sys.executable, "-m", "gunicorn", "ledgerlink.wsgi", "--config", GUNICORN_CONFIG]
        web += ["--bind", f"127.0.0.1:{self.ports['web']}", "--workers", "2", "--threads", "4"]
        web += ["--graceful-timeout", "3"]  # the demo stops within seconds of Ctrl-C
        logs = self.data / "logs"
        return [
            Child("web", web, env, log_path=logs / "web.log"),
            Child("worker", [*LEDGERLINK, "run_huey"], env, log_path=logs / "worker.log"),
        ]

    def api_key(self, organisation: Organisation) -> str:
        """The organisation's demo key: the kept one while it still works, else a new one (kept)."""
        kept = self.state["api_keys"].get(organisation.name)
        found = apikeys.authenticate(kept) if kept else None
        if found is None or found.organisation_id != organisation.pk:
            kept = apikeys.create_api_key(organisation, "demo")[1]
            self.state["api_keys"][organisation.name] = kept
        return kept


def _refuse_taken_ports(ports: dict[str, int]) -> None:
    """Stop before starting anything if a port is taken, saying which and how to choose another."""
    for name, port in ports.items():
        if not port_is_free(port):
            option = PORT_OPTIONS[name]
            variable = MAKE_VARIABLES[name]
            other = next(candidate for candidate in range(port + 1, port + 100) if port_is_free(candidate))
            raise CommandError(
                f"Port {port} ({name}) is already in use on 127.0.0.1. Choose another: "
                f"make demo {variable}={other}  (or: ledgerlink demo --{option.replace('_', '-')} {other})"
            )


def _wait_for(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {timeout_s:.0f}s")
        time.sleep(0.2)
