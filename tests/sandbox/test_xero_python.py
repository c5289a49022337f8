"""The official xero-python SDK against the sandbox (real-clients.md): connect, refresh with rotation,
connections, settings, create a tax rate, a contact, an invoice and a payment, read back. One subprocess per
app (trap 5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import Xero


def test_xero_python_round_trip(xero: Xero) -> None:
    driver = Path(__file__).with_name("sdk_driver.py")
    args = [xero.sandbox.base_url, xero.app.client_id, xero.app.client_secret, xero.tenant_id]
    completed = subprocess.run(
        [sys.executable, str(driver), *args, json.dumps(xero.tokens)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    seen = json.loads(completed.stdout)
    assert seen["rotated"] is True
    assert seen["connections"] == [xero.tenant_id]
    assert sorted(seen["bank_accounts"]) == ["090", "091"]
    assert "OUTPUT" in seen["tax_types"]
    assert seen["created_tax_rate"] == ["TAX001", "ACTIVE", "2.25"]
    assert seen["read_tax_rate"] == ["SDK Levy", "OUTPUT", True]
    assert seen["contact_status"] == "OK"
    assert seen["found_contacts"] == [seen["contact_id"]]
    assert (seen["invoice_status"], seen["invoice_total"]) == ("AUTHORISED", "125749.8")
    assert seen["invoice_date"] == "2026-10-25"  # a date-only field survives the SDK's UTC conversion
    assert seen["payment_status"] == "AUTHORISED"
    assert (seen["read_back_status"], seen["read_back_due"]) == ("PAID", "0.0")
    assert seen["read_back_payments"] == ["125749.8"]
    assert seen["fully_paid_on"] == "2026-10-30"
