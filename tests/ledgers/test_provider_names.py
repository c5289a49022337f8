"""Ledgers are named as their users know them, everywhere a page or a message names one."""

from ledgerlink.ledgers import quickbooks, xero
from ledgerlink.ledgers.models import Connection
from ledgerlink.ledgers.providers import CHOICES, provider_name


def test_a_ledger_is_called_by_its_own_name():
    assert provider_name("xero") == "Xero"
    assert provider_name("quickbooks") == "QuickBooks Online"  # not "Quickbooks", as .title() wrote it
    assert provider_name("sage") == "sage"  # an unknown key is shown as it is, never a crash


def test_each_provider_declares_itself_and_the_choices_are_built_from_that():
    assert [("xero", xero.INFO.display_name), ("quickbooks", quickbooks.INFO.display_name)] == CHOICES
    assert Connection._meta.get_field("provider").choices == CHOICES
    assert quickbooks.INFO.connect_label == "Connect QuickBooks Online"
