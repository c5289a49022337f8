"""Sign-in throttling per account and address: after `MAX_FAILURES` wrong passwords within `WINDOW` for one
username from one IP address, that pair is refused for `LOCKOUT`, even with the right password. Counted in
the database (row-locked), so it holds across worker processes without another service.

The backend enforces it for every sign-in form (ours and the admin's); the form says why in plain words."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from ledgerlink.cashflow.models import SignInThrottle

MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)


def client_address(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or behind `SIGNIN_TRUSTED_PROXIES` proxies the X-Forwarded-For
    entry that the outermost of them added. Never an entry further left: a client writes those itself, and
    could name a new address on every guess."""
    if request is None:
        return ""
    hops = int(getattr(settings, "SIGNIN_TRUSTED_PROXIES", 0))
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if hops and len(forwarded) >= hops:
        return forwarded[-hops]
    return str(request.META.get("REMOTE_ADDR") or "")


def _key(username: str, request: HttpRequest | None) -> str:
    address = client_address(request)
    material = f"{settings.SECRET_KEY}|{username.strip().casefold()}|{address}"
    return hashlib.sha256(material.encode()).hexdigest()


def locked_for(username: str, request: HttpRequest | None, now: dt.datetime | None = None) -> dt.timedelta:
    """How long this username is still refused from this address (zero when it is not)."""
    now = now or timezone.now()
    until = SignInThrottle.objects.filter(key=_key(username, request)).values_list("locked_until", flat=True)
    locked_until = until.first()
    return locked_until - now if locked_until and locked_until > now else dt.timedelta(0)


def record_failure(username: str, request: HttpRequest | None, now: dt.datetime | None = None) -> None:
    """Count one wrong password; the `MAX_FAILURES`th within `WINDOW` locks the pair for `LOCKOUT`. Each
    step is one UPDATE the database applies atomically, so racing processes never lose a failure."""
    now = now or timezone.now()
    rows = SignInThrottle.objects.filter(key=_key(username, request))
    try:
        with transaction.atomic():
            SignInThrottle.objects.get_or_create(
                key=_key(username, request), defaults={"first_failure_at": now}
            )
    except IntegrityError:  # two first failures raced: the other one created the row
        pass
    rows.filter(first_failure_at__lt=now - WINDOW).update(failures=0, first_failure_at=now)
    rows.update(failures=F("failures") + 1)
    rows.filter(failures__gte=MAX_FAILURES).update(locked_until=now + LOCKOUT)


def clear(username: str, request: HttpRequest | None) -> None:
    """A successful sign-in forgets the pair's failures."""
    SignInThrottle.objects.filter(key=_key(username, request)).delete()


def locked_message(remaining: dt.timedelta) -> str:
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    return (
        f"Too many wrong passwords for this account from your address. Sign-in is paused for "
        f"{minutes} minute{'s' if minutes != 1 else ''}; try again then, or ask an administrator to reset "
        f"your password."
    )


class ThrottledBackend(ModelBackend):
    """Django's model backend behind the throttle: a locked pair is refused before the password is checked
    (so a right guess teaches nothing), each wrong password is counted, a right one clears the count."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None or password is None:
            return None
        if locked_for(username, request):
            raise PermissionDenied("signin locked")  # stops every backend: Django's contract for a refusal
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(username, request)
        else:
            clear(username, request)
        return user


class ThrottledAuthenticationForm(AuthenticationForm):
    """The sign-in form, saying plainly when the throttle (not the password) refused."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username:
            remaining = locked_for(username, self.request)
            if remaining:
                raise forms.ValidationError(locked_message(remaining), code="throttled")
        return super().clean()
