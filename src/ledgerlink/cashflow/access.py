"""Who belongs to which organisation, and as what: the one membership check every page and view uses
(web, ledgers' connection screens, billing, notices). An organisation is only ever looked up through the
user's membership, so an id from another organisation is a 404, never a leak."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404

from ledgerlink.cashflow.models import Membership, Organisation, Role


def membership(user: Any, organisation_id: object) -> Membership | None:
    """The user's membership of that organisation; None for strangers, anonymous users and malformed ids."""
    if user is None or not getattr(user, "is_authenticated", False) or not organisation_id:
        return None
    try:
        return (
            Membership.objects.filter(user=user, organisation_id=organisation_id)
            .select_related("organisation")
            .first()
        )
    except (ValidationError, ValueError):  # a malformed UUID
        return None


def memberships(user: Any) -> list[Membership]:
    """Every organisation the user belongs to, by name."""
    return list(
        Membership.objects.filter(user=user).select_related("organisation").order_by("organisation__name")
    )


def is_admin(user: Any, organisation: Organisation) -> bool:
    found = membership(user, organisation.pk)
    return found is not None and found.is_admin


def admin_organisation(user: Any, organisation_id: object) -> Organisation | None:
    """The organisation when the user administers it; None for members, strangers and malformed ids."""
    found = membership(user, organisation_id)
    return found.organisation if found is not None and found.is_admin else None


def admin_organisations(user: Any) -> list[Organisation]:
    return [m.organisation for m in memberships(user) if m.is_admin]


def organisation_for(user: Any, organisation_id: object, *, admin: bool = False) -> tuple[Organisation, bool]:
    """For views: the organisation and whether the user administers it; 404 for non-members, 403 for
    members asking for an admin action."""
    found = membership(user, organisation_id)
    if found is None:
        raise Http404("No such organisation")
    administers = found.is_admin
    if admin and not administers:
        raise PermissionDenied("Only an administrator of this organisation can do that.")
    return found.organisation, administers


def administrators_with_email(organisation: Organisation) -> QuerySet[Membership]:
    return Membership.objects.filter(organisation=organisation, role=Role.ADMIN).exclude(user__email="")


def accounting_contacts(organisation: Organisation) -> list[str]:
    """Who hears about the organisation's books and bills: its accounting email; when it has none, its
    administrators (sorted)."""
    if organisation.accounting_email:
        return [organisation.accounting_email]
    return sorted(administrators_with_email(organisation).values_list("user__email", flat=True))
