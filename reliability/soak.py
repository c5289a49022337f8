"""`python -m reliability.soak CONFIG OUT`: the soak's second process. Sustained load on the CashFlow API
over loopback while the campaign syncs and breaks things: drafts issued, part payments, sync-status reads,
bounded in requests and seconds and paced. A request that got no answer (the service was being restarted)
is sent again with the same Idempotency-Key, as a careful client does; an answer >= 500 is an error. Writes
every accepted invoice and payment, so the campaign can prove none was lost."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

RETRY_FOR_S = 60.0  # how long a request is retried while the service does not answer


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in seconds to the millisecond."""
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)], 3) if ordered else 0.0


class Soak:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.base = config["base_url"]
        self.http = requests.Session()
        self.latencies: dict[str, list[float]] = {"xero": [], "quickbooks": []}
        self.requests = 0
        self.provider = ""
        self.errors: list[str] = []
        self.unanswered = 0
        self.accepted_invoices: list[dict[str, str]] = []
        self.accepted_payments: list[dict[str, str]] = []

    def call(
        self, method: str, path: str, key: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """One request (retried with its key while unanswered); the body of a 2xx, else None."""
        headers = {"Authorization": f"Bearer {key}"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        deadline = time.monotonic() + RETRY_FOR_S
        while True:
            started = time.perf_counter()
            try:
                response = self.http.request(method, self.base + path, json=body, headers=headers, timeout=30)
            except requests.RequestException:
                self.unanswered += 1
                if time.monotonic() > deadline:
                    self.errors.append(f"{method} {path}: no answer for {RETRY_FOR_S:.0f}s")
                    return None
                time.sleep(0.5)
                continue
            self.requests += 1
            self.latencies[self.provider].append(time.perf_counter() - started)
            if response.status_code >= 500:
                self.errors.append(f"{method} {path}: {response.status_code}")
                return None
            if response.status_code >= 300:
                self.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
                return None
            return dict(response.json())

    def one_invoice(self, rng: random.Random) -> None:
        org = rng.choice(self.config["orgs"])
        key, self.provider = org["api_key"], org["provider"]
        body = {
            "customer_id": rng.choice(org["customer_ids"]),
            "kind": "custom",
            "due_date": (dt.date.fromisoformat(org["today"]) + dt.timedelta(days=14)).isoformat(),
            "tax_inclusive": True,
            "lines": [
                {
                    "line_type": "service",
                    "description": "Soak",
                    "unit_amount": f"{rng.randint(100, 9000)}.{rng.randint(0, 99):02d}",
                    "tax_rate_id": org["tax_rate_id"],
                }
            ],
        }
        draft = self.call("POST", "/api/v1/invoices", key, body)
        if draft is None:
            return
        issued = self.call("POST", f"/api/v1/invoices/{draft['id']}/issue", key)
        if issued is None:
            return
        self.accepted_invoices.append(
            {"id": issued["id"], "number": issued["number"], "provider": org["provider"]}
        )
        if rng.random() < 0.5:
            amount = f"{int(float(issued['total']) / 2)}.00"
            paid = self.call(
                "POST", f"/api/v1/invoices/{issued['id']}/payments", key, {"amount": amount, "method": "card"}
            )
            if paid is not None:
                self.accepted_payments.append(
                    {"id": paid["id"], "invoice_id": issued["id"], "amount": paid["amount"]}
                )
        self.call("GET", f"/api/v1/invoices/{issued['id']}/sync", key)

    def run(self) -> dict[str, Any]:
        rng = random.Random(self.config["seed"])
        started = time.monotonic()
        pace = 1.0 / self.config["rate_per_s"]
        while (
            self.requests < self.config["max_requests"]
            and time.monotonic() - started < self.config["max_seconds"]
        ):
            began = time.monotonic()
            self.one_invoice(rng)
            time.sleep(max(0.0, pace * 4 - (time.monotonic() - began)))  # about four requests per round
        every = [latency for latencies in self.latencies.values() for latency in latencies]
        return {
            "requests": self.requests,
            "by_provider": {
                provider: {"requests": len(latencies), "p99_s": percentile(latencies, 99)}
                for provider, latencies in self.latencies.items()
            },
            "errors": len(self.errors),
            "error_examples": self.errors[:10],
            "unanswered_retried": self.unanswered,
            "p99_s": percentile(every, 99),
            "p50_s": percentile(every, 50),
            "seconds": round(time.monotonic() - started, 1),
            "accepted_invoices": self.accepted_invoices,
            "accepted_payments": self.accepted_payments,
        }


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[1]).read_text())
    Path(argv[2]).write_text(json.dumps(Soak(config).run()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
