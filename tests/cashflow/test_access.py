"""The one membership check: strangers, malformed ids and anonymous users get nothing; members get their
organisation; only administrators pass an admin check."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ledgerlink.cashflow import access, services
from ledgerlink.cashflow.models import Membership, Role

pytestmark = pytest.mark.django_db


def _user(name: str):
    return get_user_model().objects.create_user(name, password="x" * 16)


def test_membership_and_roles_decide_everything():
    mine = services.create_organisation("Mine Solar", "AU")
    theirs = services.create_organisation("Theirs Solar", "AU")
    admin, member = _user("admin"), _user("member")
    Membership.objects.create(user=admin, organisation=mine, role=Role.ADMIN)
    Membership.objects.create(user=member, organisation=mine, role=Role.MEMBER)

    assert access.organisation_for(admin, mine.pk, admin=True) == (mine, True)
    assert access.organisation_for(member, mine.pk) == (mine, False)
    with pytest.raises(PermissionDenied):
        access.organisation_for(member, mine.pk, admin=True)
    for user, organisation_id in ((admin, theirs.pk), (admin, "not-a-uuid"), (AnonymousUser(), mine.pk)):
        with pytest.raises(Http404):
            access.organisation_for(user, organisation_id)
    assert access.admin_organisation(admin, mine.pk) == mine
    assert access.admin_organisation(member, mine.pk) is None
    assert access.admin_organisation(admin, "not-a-uuid") is None
    assert access.admin_organisations(admin) == [mine] and access.admin_organisations(member) == []
    assert access.is_admin(admin, mine) and not access.is_admin(member, mine)
