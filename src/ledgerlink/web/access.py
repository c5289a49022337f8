"""Who may see and change what: every page looks its organisation up through the user's membership, so an
id from another organisation is a 404, never a leak."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ledgerlink.cashflow.models import Membership, Organisation, Role


def memberships(user: Any) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user).select_related("organisation").order_by("organisation__name")
    )


def organisation_for(user: Any, organisation_id: object, *, admin: bool = False) -> tuple[Organisation, bool]:
    """The organisation and whether the user administers it; 404 for non-members, 403 for members asking
    for an admin action."""
    membership = (
        Membership.objects.filter(user=user, organisation_id=organisation_id)
        .select_related("organisation")
        .first()
    )
    if membership is None:
        raise Http404("No such organisation")
    is_admin = membership.role == Role.ADMIN
    if admin and not is_admin:
        raise PermissionDenied("Only an administrator of this organisation can do that.")
    return membership.organisation, is_admin
