"""`ledgerlink add-member ORG USER --role admin|member` and `ledgerlink add-member ORG USER --remove`: who
belongs to an organisation, and whether they may connect ledgers and map accounts (admins). ORG is an id or
an exact name, USER a username or an email. Running it again changes nothing; an organisation never loses its
last admin."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.management.base import BaseCommand, CommandError

from ledgerlink.cashflow import services
from ledgerlink.cashflow.errors import ValidationError
from ledgerlink.cashflow.models import Organisation, Role
from ledgerlink.cashflow.services import MembershipChange


def _organisation(ref: str) -> Organisation:
    try:
        return Organisation.objects.get(pk=uuid.UUID(ref))
    except (ValueError, Organisation.DoesNotExist):
        pass
    matches = list(Organisation.objects.filter(name=ref).order_by("created_at"))
    if not matches:
        raise CommandError(f"No organisation has the id or the name {ref!r}.")
    if len(matches) > 1:
        listed = "\n".join(f"  {o.pk}  {o.name} ({o.country})" for o in matches)
        raise CommandError(f"{len(matches)} organisations are named {ref!r}; give one's id:\n{listed}")
    return matches[0]


def _user(ref: str) -> AbstractUser:
    users = get_user_model().objects
    by_name = users.filter(username=ref).first()
    if by_name is not None:
        return by_name
    matches = list(users.filter(email__iexact=ref).order_by("username"))
    if not matches:
        raise CommandError(f"No user has the username or the email {ref!r}.")
    if len(matches) > 1:
        names = ", ".join(u.username for u in matches)
        raise CommandError(f"{len(matches)} users have the email {ref!r} ({names}); give the username.")
    return matches[0]


def _said(change: MembershipChange, user: AbstractUser, organisation: Organisation) -> str:
    who, where = user.get_username(), organisation.name
    if change.before is None and change.after is None:
        return f"{who} is not a member of {where}; nothing changed."
    if change.after is None:
        return f"Removed {who} ({change.before}) from {where}."
    if change.before is None:
        return f"Added {who} to {where} as {change.after}."
    if change.before == change.after:
        return f"{who} is already {change.after} of {where}; nothing changed."
    return f"Changed {who}'s role in {where} from {change.before} to {change.after}."


class Command(BaseCommand):
    help = "Add a user to an organisation as admin or member, change their role, or --remove them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("organisation", help="The organisation's id or exact name")
        parser.add_argument("user", help="A username or an email")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--role", choices=Role.values, help="admin: may connect ledgers and map accounts")
        action.add_argument("--remove", action="store_true", help="Take the user out of the organisation")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation, user = _organisation(options["organisation"]), _user(options["user"])
        try:
            if options["remove"]:
                change = services.remove_membership(organisation, user)
            else:
                change = services.set_membership(organisation, user, options["role"])
        except ValidationError as error:
            raise CommandError(" ".join(e.msg for e in error.errors)) from None
        self.stdout.write(_said(change, user, organisation))
