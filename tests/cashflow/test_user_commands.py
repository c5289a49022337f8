"""`ledgerlink create-user` and `ledgerlink add-member`: people and their place in organisations."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from ledgerlink.cashflow import services
from ledgerlink.cashflow.models import Membership

PASSWORD = "solar-panels-on-every-roof"
REPO = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    """Standard input attached to a terminal, so the command prompts."""

    def isatty(self) -> bool:
        return True


def _run(*args: str, stdin: io.StringIO | None = None) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **({"stdin": stdin} if stdin is not None else {}))
    return out.getvalue().strip()


def _create(username: str, email: str, password: str = PASSWORD) -> str:
    return _run(
        "create-user", username, "--email", email, "--password-stdin", stdin=io.StringIO(password + "\n")
    )


@pytest.fixture
def organisation(db):
    return services.create_organisation("Harbour Solar Pty Ltd", "AU")


def _role(organisation, username: str) -> str | None:
    membership = Membership.objects.filter(organisation=organisation, user__username=username).first()
    return membership.role if membership else None


# --- create-user ----------------------------------------------------------------------------------------


def test_a_password_from_stdin_is_set_and_never_printed(db):
    output = _create("ada", "ada@harbour.example")
    user = get_user_model().objects.get(username="ada")
    assert user.email == "ada@harbour.example" and user.check_password(PASSWORD)
    assert PASSWORD not in output and output == "Created the user ada <ada@harbour.example> with a password."


def test_at_a_terminal_the_password_is_asked_twice(db, monkeypatch):
    answers = iter([PASSWORD, PASSWORD, PASSWORD, "something-else-entirely"])
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or next(answers))
    _run("create-user", "ada", "--email", "ada@harbour.example", stdin=Terminal())
    assert get_user_model().objects.get(username="ada").check_password(PASSWORD)
    assert prompts == ["Password: ", "Password (again): "]
    with pytest.raises(CommandError, match="do not match"):
        _run("create-user", "bob", "--email", "bob@harbour.example", stdin=Terminal())
    assert not get_user_model().objects.filter(username="bob").exists()


def test_without_a_terminal_a_password_source_is_required(db):
    with pytest.raises(CommandError, match="--password-stdin"):
        _run("create-user", "ada", "--email", "ada@harbour.example", stdin=io.StringIO(PASSWORD))
    with pytest.raises(CommandError, match="no password"):
        _run(
            "create-user", "ada", "--email", "ada@harbour.example", "--password-stdin", stdin=io.StringIO("")
        )
    assert not get_user_model().objects.exists()


def test_no_password_makes_an_unusable_one(db):
    output = _run("create-user", "ada", "--email", "ada@harbour.example", "--no-password")
    assert not get_user_model().objects.get(username="ada").has_usable_password()
    assert output.endswith("(set one with: ledgerlink changepassword ada).")


def test_passwords_go_through_djangos_validators(db):
    with pytest.raises(CommandError, match="at least 8 characters") as refused:
        _create("ada", "ada@harbour.example", password="sun")
    assert "sun" not in str(refused.value)
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(
    ("username", "email", "message"),
    [
        ("ADA", "other@harbour.example", "A user named 'ada' already exists."),
        ("bob", "Ada@Harbour.example", "The email 'Ada@Harbour.example' already belongs to the user 'ada'."),
        ("bob", "bob-at-harbour", "'bob-at-harbour' is not a valid email address."),
        (" ", "bob@harbour.example", "The username must not be empty."),
    ],
)
def test_taken_names_and_emails_and_bad_emails_are_refused(db, username, email, message):
    _create("ada", "ada@harbour.example")
    with pytest.raises(CommandError) as refused:
        _create(username, email)
    assert str(refused.value) == message
    assert get_user_model().objects.count() == 1


# --- add-member -----------------------------------------------------------------------------------------


def test_add_by_id_and_username_then_by_name_and_email(organisation):
    _create("ada", "ada@harbour.example")
    _create("bob", "bob@harbour.example")
    assert _run("add-member", str(organisation.pk), "ada", "--role", "admin") == (
        "Added ada to Harbour Solar Pty Ltd as admin."
    )
    assert _run("add-member", "Harbour Solar Pty Ltd", "BOB@harbour.example", "--role", "member") == (
        "Added bob to Harbour Solar Pty Ltd as member."
    )
    assert (_role(organisation, "ada"), _role(organisation, "bob")) == ("admin", "member")


def test_adding_again_changes_nothing_and_a_new_role_says_from_and_to(organisation):
    _create("ada", "ada@harbour.example")
    _create("bob", "bob@harbour.example")
    _run("add-member", str(organisation.pk), "ada", "--role", "admin")
    _run("add-member", str(organisation.pk), "bob", "--role", "member")
    assert _run("add-member", str(organisation.pk), "bob", "--role", "member") == (
        "bob is already member of Harbour Solar Pty Ltd; nothing changed."
    )
    assert _run("add-member", str(organisation.pk), "bob", "--role", "admin") == (
        "Changed bob's role in Harbour Solar Pty Ltd from member to admin."
    )
    assert Membership.objects.filter(organisation=organisation).count() == 2


def test_the_last_admin_is_neither_removed_nor_demoted(organisation):
    _create("ada", "ada@harbour.example")
    _create("bob", "bob@harbour.example")
    _run("add-member", str(organisation.pk), "ada", "--role", "admin")
    _run("add-member", str(organisation.pk), "bob", "--role", "member")
    last_admin = "ada is the last admin of Harbour Solar Pty Ltd: make another member admin first."
    with pytest.raises(CommandError) as removing:
        _run("add-member", str(organisation.pk), "ada", "--remove")
    with pytest.raises(CommandError) as demoting:
        _run("add-member", str(organisation.pk), "ada", "--role", "member")
    assert str(removing.value) == str(demoting.value) == last_admin
    assert _run("add-member", str(organisation.pk), "bob", "--remove") == (
        "Removed bob (member) from Harbour Solar Pty Ltd."
    )
    assert _run("add-member", str(organisation.pk), "bob", "--remove") == (
        "bob is not a member of Harbour Solar Pty Ltd; nothing changed."
    )
    _run("add-member", str(organisation.pk), "bob", "--role", "admin")
    assert _run("add-member", str(organisation.pk), "ada", "--remove") == (
        "Removed ada (admin) from Harbour Solar Pty Ltd."
    )
    assert (_role(organisation, "ada"), _role(organisation, "bob")) == (None, "admin")


def test_an_ambiguous_name_lists_the_organisations_and_unknowns_are_named(organisation):
    twin = services.create_organisation("Harbour Solar Pty Ltd", "NZ")
    _create("ada", "ada@harbour.example")
    with pytest.raises(CommandError) as ambiguous:
        _run("add-member", "Harbour Solar Pty Ltd", "ada", "--role", "admin")
    message = str(ambiguous.value)
    assert message.startswith("2 organisations are named 'Harbour Solar Pty Ltd'; give one's id:")
    assert f"{organisation.pk}  Harbour Solar Pty Ltd (AU)" in message and f"{twin.pk}" in message
    with pytest.raises(CommandError, match="No organisation has the id or the name 'Nowhere Solar'"):
        _run("add-member", "Nowhere Solar", "ada", "--role", "admin")
    with pytest.raises(CommandError, match="No user has the username or the email 'zed'"):
        _run("add-member", str(organisation.pk), "zed", "--role", "admin")
    assert not Membership.objects.exists()


def test_an_email_shared_by_two_users_asks_for_the_username(organisation):
    users = get_user_model().objects
    users.create_user("ada", "team@harbour.example")  # the admin site allows a shared email
    users.create_user("bob", "team@harbour.example")
    with pytest.raises(CommandError, match=r"2 users have the email 'team@harbour.example' \(ada, bob\)"):
        _run("add-member", str(organisation.pk), "team@harbour.example", "--role", "member")


def test_the_installed_command_creates_a_user_and_refuses_a_second(tmp_path):
    """Through `python -m ledgerlink`, on a database of its own: the hyphenated names are found, the password
    comes from a pipe, and a refusal is an error line and exit status 1, not a traceback."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"LEDGERLINK_SQLITE_PATH": str(tmp_path / "db.sqlite3"), "LEDGERLINK_DATA_DIR": str(tmp_path)}

    def ledgerlink(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ledgerlink", *args]
        return subprocess.run(
            command, env=env, cwd=REPO, input=PASSWORD, capture_output=True, text=True, timeout=60
        )

    assert ledgerlink("migrate", "-v0").returncode == 0
    created = ledgerlink("create-user", "ada", "--email", "ada@harbour.example", "--password-stdin")
    assert (created.returncode, created.stdout.strip()) == (
        0,
        "Created the user ada <ada@harbour.example> with a password.",
    )
    assert PASSWORD not in created.stdout + created.stderr
    again = ledgerlink("create-user", "ada", "--email", "ada@harbour.example", "--password-stdin")
    assert (again.returncode, again.stderr.strip()) == (1, "CommandError: A user named 'ada' already exists.")
