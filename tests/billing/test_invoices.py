"""Billing invoices: rendering, the pages scoped to the user's organisation, and email through a real SMTP
server (aiosmtpd on loopback)."""

from __future__ import annotations

from datetime import date

import pytest

from ledgerlink.billing import invoicing, services
from ledgerlink.billing.models import BillingInvoice
from ledgerlink.billing.scheduler import run_billing
from ledgerlink.cashflow.models import Membership, Role
from ledgerlink.devtools.ports import free_port

from .helpers import local_noon, make_organisation, make_user

pytestmark = pytest.mark.django_db
SYDNEY = "Australia/Sydney"


def enabled(organisation, day=date(2026, 11, 24)):
    admin = make_user(organisation, Role.ADMIN)
    services.enable_connector(organisation, admin, None, "", now=local_noon(day, organisation.time_zone))
    return admin


def test_an_issued_invoice_is_emailed_once_to_the_accounting_contact(smtp_outbox):
    organisation = make_organisation(SYDNEY, "AUD", email="books@sunny.example")
    enabled(organisation)
    run = run_billing(local_noon(date(2027, 1, 1), SYDNEY))
    assert (run.invoices_issued, run.emails_sent) == (1, 1)
    invoice = BillingInvoice.objects.get()
    assert invoice.number == "LL-2027-000001" and invoice.emailed_at is not None
    (message,) = smtp_outbox
    assert message["To"] == "books@sunny.example"
    assert message["Subject"] == "LedgerLink invoice LL-2027-000001 for January 2027: 69.00 AUD"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Period:  1 January 2027 to 31 January 2027" in text and "Total: 69.00 AUD" in text
    assert "<h1>Invoice LL-2027-000001</h1>" in html and "69.00 AUD" in html
    assert run_billing(local_noon(date(2027, 1, 2), SYDNEY)).emails_sent == 0
    assert len(smtp_outbox) == 1


def test_without_an_accounting_contact_the_administrators_get_the_invoice(smtp_outbox):
    organisation = make_organisation(SYDNEY, "AUD", email="")
    admin = enabled(organisation)
    make_user(organisation, Role.MEMBER)
    run_billing(local_noon(date(2027, 1, 1), SYDNEY))
    (message,) = smtp_outbox
    assert message["To"] == admin.email


def test_an_unreachable_mail_server_delays_the_email_never_the_invoice(smtp_outbox, settings):
    organisation = make_organisation(SYDNEY, "AUD")
    enabled(organisation)
    live_port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()
    run = run_billing(local_noon(date(2027, 1, 1), SYDNEY))
    assert (run.invoices_issued, run.emails_sent) == (1, 0)
    assert BillingInvoice.objects.get().emailed_at is None
    settings.EMAIL_PORT = live_port
    assert run_billing(local_noon(date(2027, 1, 1), SYDNEY)).emails_sent == 1
    assert len(smtp_outbox) == 1


def test_only_one_sender_claims_an_invoices_email(organisation, admin):
    services.enable_connector(organisation, admin, None, "", now=local_noon(date(2026, 11, 24), SYDNEY))
    run_billing(local_noon(date(2027, 1, 1), SYDNEY))  # locmem backend here: sends and records
    invoice = BillingInvoice.objects.get()
    BillingInvoice.objects.filter(pk=invoice.pk).update(emailed_at=None, email_claimed_until=None)
    now = local_noon(date(2027, 1, 1), SYDNEY)
    assert invoicing.claim_emails(now)[1] == [invoice]
    assert invoicing.claim_emails(now)[1] == []  # held by the first sender
    assert invoicing.claim_emails(now + invoicing.EMAIL_LEASE * 2)[1] == [invoice]  # a crashed claim lapses


def test_one_invoices_failing_email_does_not_stop_the_others(smtp_outbox, caplog):
    broken, healthy = make_organisation(SYDNEY, "AUD"), make_organisation(SYDNEY, "AUD")
    enabled(broken)
    enabled(healthy)
    type(broken).objects.filter(pk=broken.pk).update(time_zone="Mars/Olympus_Mons")
    run = run_billing(local_noon(date(2027, 1, 1), SYDNEY), as_of=date(2027, 1, 1))
    assert (run.invoices_issued, run.emails_sent) == (2, 1)
    assert [message["To"] for message in smtp_outbox] == [healthy.accounting_email]
    assert "email failed; retried after the claim lapses" in caplog.text
    assert BillingInvoice.objects.get(organisation=broken).emailed_at is None


def test_invoice_pages_are_scoped_to_the_users_organisation(client):
    ours, theirs = make_organisation(SYDNEY, "AUD"), make_organisation("Europe/London", "GBP", "GB")
    our_admin = enabled(ours)
    enabled(theirs)
    run_billing(local_noon(date(2027, 2, 1), SYDNEY))
    our_invoice = BillingInvoice.objects.filter(organisation=ours).order_by("period_start").first()
    their_invoice = BillingInvoice.objects.filter(organisation=theirs).first()

    assert (
        client.get(f"/orgs/{ours.pk}/billing/invoices/{our_invoice.pk}").status_code == 302
    )  # sign in first
    client.force_login(our_admin)
    page = client.get(f"/orgs/{ours.pk}/billing/invoices/{our_invoice.pk}")
    assert page.status_code == 200
    assert our_invoice.number in page.content.decode() and "69.00 AUD" in page.content.decode()
    text = client.get(f"/orgs/{ours.pk}/billing/invoices/{our_invoice.pk}.txt")
    assert text["Content-Type"].startswith("text/plain")
    assert f"LedgerLink invoice {our_invoice.number}" in text.content.decode()
    assert client.get(f"/orgs/{ours.pk}/billing/invoices/{their_invoice.pk}").status_code == 404
    assert client.get(f"/orgs/{ours.pk}/billing/invoices/{their_invoice.pk}.txt").status_code == 404
    assert client.get(f"/orgs/{ours.pk}/billing/invoices/999999").status_code == 404
    legacy = client.get(f"/billing/invoices/{our_invoice.pk}")  # an emailed link finds its organisation
    assert legacy["Location"] == f"/orgs/{ours.pk}/billing/invoices/{our_invoice.pk}"
    assert client.get(f"/orgs/{theirs.pk}/billing/invoices/{their_invoice.pk}").status_code == 404


@pytest.mark.parametrize(
    ("currency", "country", "shown", "billed_in"),
    [
        ("AUD", "AU", "$69.00", "AUD"),
        ("USD", "US", "$49.00", "USD"),
        ("GBP", "GB", "£49.00", "GBP"),
        ("NZD", "NZ", "US$49.00", "USD"),  # a New Zealand page says which dollar
    ],
)
def test_enable_page_shows_the_price_in_the_organisations_currency_and_the_terms(
    client, currency, country, shown, billed_in
):
    organisation = make_organisation("UTC", currency, country)
    client.force_login(make_user(organisation, Role.ADMIN))
    page = client.get(f"/orgs/{organisation.pk}/billing/enable").content.decode()
    assert f"{shown} per month" in page
    assert "The first month is free." in page
    assert "Billing starts on the 1st of the month after the trial ends" in page
    assert 'name="agree"' in page and "csrfmiddlewaretoken" in page
    billed_elsewhere = f"organisations in {currency} are billed in {billed_in}"
    assert (billed_elsewhere in page) == (currency != billed_in)


def test_enabling_needs_the_box_ticked_and_a_csrf_token(organisation):
    from django.test import Client

    admin = make_user(organisation, Role.ADMIN)
    browser = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="198.51.100.20")
    browser.force_login(admin)
    browser.get(f"/orgs/{organisation.pk}/billing/enable")
    token = browser.cookies["csrftoken"].value
    assert (
        browser.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"}).status_code == 403
    )  # no CSRF token
    refused = browser.post(f"/orgs/{organisation.pk}/billing/enable", {"csrfmiddlewaretoken": token})
    assert refused.status_code == 400 and "Tick “I agree”" in refused.content.decode()
    assert not services.can_connect(organisation)
    accepted = browser.post(
        f"/orgs/{organisation.pk}/billing/enable", {"csrfmiddlewaretoken": token, "agree": "on"}
    )
    assert accepted.status_code == 302 and accepted["Location"] == f"/orgs/{organisation.pk}/"
    acceptance = organisation.terms_acceptances.get()
    assert (acceptance.user, acceptance.ip_address, acceptance.user_agent) == (
        admin,
        "198.51.100.20",
        "Firefox/140",
    )
    assert services.can_connect(organisation)


def test_members_see_the_status_but_cannot_enable_or_cancel(client, organisation, member):
    client.force_login(member)
    assert client.get(f"/orgs/{organisation.pk}/billing/enable").status_code == 403
    assert client.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"}).status_code == 403
    status = client.get(f"/orgs/{organisation.pk}/billing/")
    assert status.status_code == 200 and "An administrator can enable it." in status.content.decode()
    enabled(organisation)
    assert client.post(f"/orgs/{organisation.pk}/billing/cancel").status_code == 403
    assert services.can_connect(organisation)


def test_status_page_shows_the_subscription_and_cancel_then_enable_again(client, organisation, admin):
    client.force_login(admin)
    assert client.post(f"/orgs/{organisation.pk}/billing/enable", {"agree": "on"}).status_code == 302
    subscription = services.subscription_of(organisation)
    page = client.get(f"/orgs/{organisation.pk}/billing/").content.decode()
    assert '<dd id="state">Free trial</dd>' in page
    assert f"{subscription.first_billing_date:%-d %B %Y}" in page
    assert "Cancel the subscription" in page
    assert f'<dd id="next-invoice">{subscription.first_billing_date:%-d %B %Y}</dd>' in page
    assert client.post(f"/orgs/{organisation.pk}/billing/cancel").status_code == 302
    page = client.get(f"/orgs/{organisation.pk}/billing/").content.decode()
    assert '<dd id="state">Cancelled</dd>' in page and "Enable the connector again" in page
    assert 'id="next-invoice"' not in page
    again = client.get(f"/orgs/{organisation.pk}/billing/enable").content.decode()
    assert "there is no second trial" in again
    assert (
        client.post(f"/orgs/{organisation.pk}/billing/cancel").status_code == 302
    )  # a repeated cancel is harmless


def test_another_organisations_billing_is_not_found(client, organisation, django_user_model):
    client.force_login(django_user_model.objects.create_user("loner", "l@example.com", None))
    assert client.get(f"/orgs/{organisation.pk}/billing/").status_code == 404
    assert client.get(f"/orgs/{organisation.pk}/billing/cancel").status_code == 404


def test_old_billing_addresses_never_guess_an_organisation(client, organisation, admin):
    client.force_login(admin)
    assert client.get("/billing/")["Location"] == "/"
    assert client.get("/billing/enable")["Location"] == "/"


def test_support_staff_see_billing_in_the_admin_and_can_only_change_an_invoices_status(
    client, django_user_model
):
    organisation = make_organisation(SYDNEY, "AUD")
    enabled(organisation)
    run_billing(local_noon(date(2027, 1, 1), SYDNEY))
    invoice = BillingInvoice.objects.get()
    client.force_login(django_user_model.objects.create_superuser("support", "s@ledgerlink.example", None))
    for model in ("subscription", "termsacceptance", "billinginvoice", "apiusage"):
        assert client.get(f"/admin/billing/{model}/").status_code == 200
    change = f"/admin/billing/billinginvoice/{invoice.pk}/change/"
    assert client.get(change).status_code == 200
    response = client.post(change, {"status": "paid", "amount_minor": 1})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_minor) == ("paid", 6900)
    assert client.get("/admin/billing/billinginvoice/add/").status_code == 403


def test_billing_pages_act_on_the_organisation_in_their_url_whatever_was_opened_last(client):
    """Two tabs, two organisations: the page names its organisation; the session's choice plays no part."""
    first, second, stranger = (make_organisation(SYDNEY, "AUD") for _ in range(3))
    user = make_user(first, Role.ADMIN)
    Membership.objects.create(user=user, organisation=second, role=Role.MEMBER)
    client.force_login(user)
    session = client.session
    session["organisation_id"] = str(second.pk)
    session.save()
    page = client.get(f"/orgs/{first.pk}/billing/").content.decode()
    assert first.name in page and "Enable the connector" in page
    assert client.post(f"/orgs/{first.pk}/billing/enable", {"agree": "on"}).status_code == 302
    assert services.subscription_of(first) and not services.subscription_of(second)
    page = client.get(f"/orgs/{second.pk}/billing/").content.decode()
    assert second.name in page and "An administrator can enable it." in page  # a member of the second
    assert client.post(f"/orgs/{second.pk}/billing/cancel").status_code == 403
    assert client.get(f"/orgs/{stranger.pk}/billing/").status_code == 404
