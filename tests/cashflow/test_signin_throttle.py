"""Sign-in throttling per account and address: guessing stops working, the right password does not slip
through a lock, other addresses and accounts are untouched, and the lock ends on time."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import RequestFactory

from ledgerlink.cashflow import signin
from ledgerlink.cashflow.models import SignInThrottle

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
RIGHT = "correct horse battery"


@pytest.fixture
def user():  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_user("alex", "alex@sunny.example", RIGHT)


def sign_in(client, password: str, address: str = "198.51.100.7", username: str = "alex"):  # type: ignore[no-untyped-def]
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and not response["Location"].startswith("/login/")


def test_twenty_wrong_passwords_then_the_right_one_is_refused(client, user):
    with time_machine.travel(START, tick=False):
        for _ in range(20):
            assert sign_in(client, "guess").status_code == 200
        refused = sign_in(client, RIGHT)
    assert not signed_in(refused)
    page = refused.content.decode()
    assert "Too many wrong passwords for this account from your address" in page
    assert "15 minutes" in page
    assert SignInThrottle.objects.get().failures == signin.MAX_FAILURES  # counting stops at the lock


def test_the_lock_is_per_account_and_address_and_ends_on_time(client, user):
    get_user_model().objects.create_user("sam", "sam@sunny.example", RIGHT)
    with time_machine.travel(START, tick=False):
        for _ in range(signin.MAX_FAILURES):
            sign_in(client, "guess")
        assert signed_in(sign_in(client, RIGHT, address="203.0.113.50"))  # another address
        client.logout()
        assert signed_in(sign_in(client, RIGHT, username="sam"))  # another account
        client.logout()
    with time_machine.travel(START + signin.LOCKOUT - dt.timedelta(seconds=1), tick=False):
        assert not signed_in(sign_in(client, RIGHT))
    with time_machine.travel(START + signin.LOCKOUT, tick=False):
        assert signed_in(sign_in(client, RIGHT))
    assert not SignInThrottle.objects.exists()  # a success forgets the failures


def test_failures_spread_beyond_the_window_never_lock(client, user):
    # One fewer than the limit fits in each window: a slow typist is never locked out.
    step = signin.WINDOW / (signin.MAX_FAILURES - 1) + dt.timedelta(seconds=1)
    last = START
    for n in range(3 * signin.MAX_FAILURES):
        last = START + n * step
        with time_machine.travel(last, tick=False):
            sign_in(client, "typo")
    with time_machine.travel(last + dt.timedelta(seconds=1), tick=False):
        assert signed_in(sign_in(client, RIGHT))


def test_the_admin_sign_in_is_throttled_too(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    with time_machine.travel(START, tick=False):
        for _ in range(signin.MAX_FAILURES):
            client.post(
                "/admin/login/", {"username": "Alex ", "password": "guess"}, REMOTE_ADDR="198.51.100.7"
            )
        response = client.post(
            "/admin/login/", {"username": "alex", "password": RIGHT}, REMOTE_ADDR="198.51.100.7"
        )
    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert "_auth_user_id" not in client.session


def test_behind_a_proxy_the_address_it_saw_counts_not_what_the_client_wrote(client, user, settings):
    settings.SIGNIN_TRUSTED_PROXIES = 1
    with time_machine.travel(START, tick=False):
        for n in range(signin.MAX_FAILURES):
            # The attacker invents a new leftmost entry on every guess; the proxy appends what it saw.
            client.post(
                "/login/",
                {"username": "alex", "password": "guess"},
                REMOTE_ADDR="10.0.0.2",
                HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.7",
            )
        locked = client.post(
            "/login/",
            {"username": "alex", "password": RIGHT},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
        other = client.post(
            "/login/",
            {"username": "alex", "password": RIGHT},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    assert not signed_in(locked) and signed_in(other)


@pytest.mark.django_db(transaction=True)
def test_racing_processes_lose_no_failure():
    """Failures counted at once by many workers all count (one atomic UPDATE each)."""
    if connection.vendor != "postgresql":
        pytest.skip("racing threads need a database that waits on locks (the PostgreSQL pass)")
    request = RequestFactory().post("/login/", REMOTE_ADDR="198.51.100.7")
    errors: list[BaseException] = []

    def fail_once() -> None:
        try:
            signin.record_failure("alex", request, now=START)
        except BaseException as error:  # raised in the test's thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=fail_once) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    row = SignInThrottle.objects.get()
    assert row.failures == 12 and row.locked_until == START + signin.LOCKOUT
