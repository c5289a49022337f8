"""Billing fixtures: an organisation (Sydney, AUD), an administrator and a member of it."""

import pytest

from ledgerlink.cashflow.models import Organisation, Role

from .helpers import make_organisation, make_user


@pytest.fixture
def organisation(db) -> Organisation:
    return make_organisation()


@pytest.fixture
def admin(organisation):
    return make_user(organisation, Role.ADMIN)


@pytest.fixture
def member(organisation):
    return make_user(organisation, Role.MEMBER)
