"""Which organisation a signed-in request is about. The web area keeps the user's choice in the session
(`organisation_id`); only an organisation the user belongs to is ever returned."""

from __future__ import annotations

from django.http import HttpRequest

from ledgerlink.cashflow import access
from ledgerlink.cashflow.models import Membership, Organisation

SESSION_KEY = "organisation_id"


def chosen_organisation(request: HttpRequest) -> Organisation | None:
    """The session's organisation when the user is a member of it, else the user's only organisation, else
    None (no membership, or several and no valid choice)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=user).select_related("organisation").order_by("id")
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    membership = access.membership(user, chosen)
    if membership is None:
        only = list(memberships[:2])
        membership = only[0] if len(only) == 1 else None
    return membership.organisation if membership else None


def page_organisation(request: HttpRequest) -> Organisation | None:
    """For the billing pages: the chosen organisation, else the user's first membership (a user in several
    organisations who has not chosen yet still sees one of their own)."""
    organisation = chosen_organisation(request)
    if organisation is None:
        first = (
            Membership.objects.filter(user=request.user).select_related("organisation").order_by("id").first()
        )
        organisation = first.organisation if first else None
    return organisation
