"""`ledgerlink create-user USERNAME --email E [--password-stdin | --no-password]`: someone who signs in to
LedgerLink's screens. Without either flag the password is asked for twice on a terminal; it is checked by
Django's password validators and never printed. `ledgerlink add-member` then gives the user an
organisation."""

from __future__ import annotations

import getpass
import sys
from typing import IO, Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email


def _check_new(username: str, email: str) -> None:
    """Usernames and emails are unique ignoring case: `add-member` finds a user by either."""
    users = get_user_model().objects
    if not username:
        raise CommandError("The username must not be empty.")
    try:
        validate_email(email)
    except ValidationError:
        raise CommandError(f"{email!r} is not a valid email address.") from None
    taken = users.filter(username__iexact=username).first()
    if taken is not None:
        raise CommandError(f"A user named {taken.username!r} already exists.")
    taken = users.filter(email__iexact=email).first()
    if taken is not None:
        raise CommandError(f"The email {email!r} already belongs to the user {taken.username!r}.")


def _read_password(stdin: IO[str], from_stdin: bool) -> str:
    """The first line of standard input, or two matching answers at a terminal prompt."""
    if from_stdin:
        password = stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("Standard input held no password.")
        return password
    if not stdin.isatty():
        raise CommandError(
            "No terminal to ask for a password: pipe it in with --password-stdin, or give --no-password "
            "and set one later with `ledgerlink changepassword`."
        )
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise CommandError("The passwords do not match; nothing was created.")
    return password


def _set_password(user: AbstractUser, password: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise CommandError(" ".join(error.messages)) from None
    user.set_password(password)


class Command(BaseCommand):
    help = "Create a user who signs in to LedgerLink. The password is read, validated and never printed."
    # call_command(..., stdin=io.StringIO(...)) feeds the password in tests, as Django's createsuperuser does.
    stealth_options = ("stdin",)

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--password-stdin", action="store_true", help="Read the password from the first line of stdin"
        )
        source.add_argument(
            "--no-password", action="store_true", help="No usable password until `changepassword` sets one"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username, email = options["username"].strip(), options["email"].strip()
        _check_new(username, email)
        user = get_user_model()(username=username, email=email)
        if options["no_password"]:
            user.set_unusable_password()
        else:
            stdin = options.get("stdin") or sys.stdin
            _set_password(user, _read_password(stdin, options["password_stdin"]))
        user.save()
        if options["no_password"]:
            how = f"no usable password yet (set one with: ledgerlink changepassword {username})"
        else:
            how = "a password"
        self.stdout.write(f"Created the user {username} <{email}> with {how}.")
