"""Ledgers are named as their users know them, everywhere a page or a message names one."""

from ledgerlink.ledgers.models import provider_name


def test_a_ledger_is_called_by_its_own_name():
    assert provider_name("xero") == "Xero"
    assert provider_name("quickbooks") == "QuickBooks Online"  # not "Quickbooks", as .title() wrote it
    assert provider_name("sage") == "sage"  # an unknown key is shown as it is, never a crash
