"""`ledgerlink demo` (what `make demo` runs): the whole product on the embedded default, offline.

It migrates, seeds the demo organisations once, starts an SMTP sink, the Xero sandbox (its state kept in the
data folder, so a restart finds the same tenants), the web server and a huey consumer, all supervised by this
one process, and prints where to go and how to sign in. Ctrl-C stops everything."""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ledgerlink.cashflow import apikeys
from ledgerlink.cashflow.demo import DEMO_PASSWORD, DEMO_USERNAME, AlreadySeeded, seed_demo
from ledgerlink.cashflow.models import Organisation
from ledgerlink.devtools import smtp_sink
from ledgerlink.devtools.sandboxes import SandboxControl
from ledgerlink.devtools.supervisor import Child, Supervisor

REGIONS = {"AU": "AU", "GB": "UK", "US": "US", "NZ": "NZ"}


class Command(BaseCommand):
    help = "Run LedgerLink with the Xero sandbox, an SMTP sink and seeded organisations (offline)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web port")
        parser.add_argument("--xero-port", type=int, default=8100, help="Xero sandbox port")
        parser.add_argument("--smtp-port", type=int, default=8025, help="SMTP sink port")
        parser.add_argument(
            "--check", action="store_true", help="start, verify every part answers, then stop"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = Path(settings.DATA_DIR)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        self._seed()
        smtp, _ = smtp_sink.start(port=options["smtp_port"], folder=data / "mail")
        web_url = f"http://127.0.0.1:{options['port']}"
        xero_url = f"http://127.0.0.1:{options['xero_port']}"
        state = self._demo_state(data)
        sandbox_argv = [
            sys.executable,
            "-m",
            "ledgerlink.sandbox",
            "xero",
            "--port",
            str(options["xero_port"]),
        ]
        sandbox_argv += [
            "--state",
            str(data / "xero-sandbox.json"),
            "--control-token",
            state["control_token"],
        ]
        sandbox = Child("xero-sandbox", sandbox_argv)
        supervisor = Supervisor([sandbox])
        sandbox.start()
        app = self._sandbox_app(SandboxControl(xero_url, state["control_token"]), state, web_url, data)
        env = {
            "LEDGERLINK_DATA_DIR": str(data),
            "LEDGERLINK_PUBLIC_URL": web_url,
            "LEDGERLINK_SMTP_HOST": "127.0.0.1",
            "LEDGERLINK_SMTP_PORT": str(smtp.port),
            "XERO_CLIENT_ID": app["client_id"],
            "XERO_CLIENT_SECRET": app["client_secret"],
            "XERO_AUTHORIZE_URL": f"{xero_url}/identity/connect/authorize",
            "XERO_IDENTITY_URL": xero_url,
            "XERO_API_URL": xero_url,
        }
        ledgerlink = [sys.executable, "-m", "ledgerlink"]
        supervisor.children += [
            Child(
                "web",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "ledgerlink.wsgi",
                    "--bind",
                    f"127.0.0.1:{options['port']}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--access-logfile",
                    "-",
                ],
                env,
            ),
            Child("worker", [*ledgerlink, "run_huey"], env),
        ]
        for child in supervisor.children[1:]:
            child.start()
        self._welcome(web_url, xero_url, data, smtp.port)
        if options["check"]:
            self._check(web_url, xero_url, supervisor)
            supervisor.stop_all()
            smtp.stop()
            return
        try:
            supervisor.run()
        finally:
            smtp.stop()

    def _seed(self) -> None:
        try:
            seed_demo()
            self.stdout.write("Seeded the demo organisations.")
        except AlreadySeeded:
            self.stdout.write("Demo organisations already seeded.")

    def _demo_state(self, data: Path) -> dict[str, Any]:
        path = data / "demo.json"
        state = json.loads(path.read_text()) if path.exists() else {}
        state.setdefault("control_token", secrets.token_urlsafe(18))
        path.write_text(json.dumps(state, indent=2))
        return state

    def _sandbox_app(self, control: SandboxControl, state: dict[str, Any], web_url: str, data: Path) -> dict:
        """The sandbox's OAuth app and one tenant per demo organisation, made once and kept in demo.json
        (the sandbox keeps them in its own state file)."""
        _wait_for(f"{control.base_url}/_sandbox/health")
        sandbox_state = data / "xero-sandbox.json"
        if "app" not in state or not sandbox_state.exists():
            app = control.create_app([f"{web_url}/connections/xero/callback/"], name="LedgerLink demo")
            state["app"] = {"client_id": app.client_id, "client_secret": app.client_secret}
            state["tenants"] = {
                org.name: control.create_tenant(REGIONS.get(org.country, "AU"), org.name)
                for org in Organisation.objects.order_by("name")
            }
            (data / "demo.json").write_text(json.dumps(state, indent=2))
        return state["app"]

    def _welcome(self, web_url: str, xero_url: str, data: Path, smtp_port: int) -> None:
        organisation = Organisation.objects.order_by("name").first()
        key = apikeys.create_api_key(organisation, "demo session")[1] if organisation else "(no organisation)"
        self.stdout.write(
            f"\nLedgerLink is running at {web_url}\n"
            f"  Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}\n"
            f"  API key for {organisation.name if organisation else '-'} (shown once): {key}\n"
            f"    curl -H 'Authorization: Bearer {key}' {web_url}/api/v1/invoices\n"
            f"  Xero sandbox: {xero_url} (each organisation's ledger: {xero_url}/_sandbox/tenants/<id>)\n"
            f"  Mail sink: 127.0.0.1:{smtp_port}, messages saved in {data / 'mail'}\n"
            "Ctrl-C stops everything.\n"
        )

    def _check(self, web_url: str, xero_url: str, supervisor: Supervisor) -> None:
        for url in (f"{web_url}/api/v1/health", f"{web_url}/login/", f"{xero_url}/_sandbox/health"):
            _wait_for(url)
            self.stdout.write(f"ok {url}")
        dead = [c.name for c in supervisor.children if c.exited() is not None]
        if dead:
            raise SystemExit(f"not running: {', '.join(dead)}")


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
