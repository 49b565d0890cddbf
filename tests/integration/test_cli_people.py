"""``tocsin user`` and ``tocsin token`` against a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import Result
from typer.testing import CliRunner

from tocsin.cli import app
from tocsin.core.errors import Unauthorized
from tocsin.db.session import Database
from tocsin.users import service as users

# The key cases run on both databases; the rest, which exercise the command line rather than the storage, on SQLite.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def cli(db: Database, *args: str, stdin: str | None = None, **env: str | None) -> Result:
    environment: dict[str, str | None] = {
        "TOCSIN_DATABASE_URL": db.url,
        "TOCSIN_CLI_USER": None,
        "COLUMNS": "200",
        **env,
    }
    return CliRunner().invoke(app, list(args), input=stdin, env=environment)


def make_admin(db: Database, email: str = "root@example.com") -> None:
    with db.unit_of_work() as s:
        users.create_user(s, email=email, name="Root", role="admin", now=datetime.now(UTC))


@sqlite_only
def test_user_create_then_list(db: Database) -> None:
    created = cli(
        db, "user", "create", "Alice@Example.com", "--name", "Alice", "--role", "admin", "--timezone", "Europe/Berlin"
    )
    assert created.exit_code == 0, created.output
    assert "alice@example.com" in created.stdout

    listed = cli(db, "user", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["email"], row["name"], row["role"]) == ("alice@example.com", "Alice", "admin")
    assert row["timezone"] == "Europe/Berlin"
    with db.reader() as s:
        assert users.get_user(s, "alice@example.com").password_hash is None

    human = cli(db, "user", "list")
    assert human.exit_code == 0
    assert "alice@example.com" in human.stdout
    assert "Europe/Berlin" in human.stdout


def test_duplicate_user_is_one_clear_error(db: Database) -> None:
    assert cli(db, "user", "create", "bob@example.com", "--name", "Bob").exit_code == 0
    again = cli(db, "user", "create", "BOB@example.com", "--name", "Bob again")
    assert again.exit_code == 1
    assert "a user with email bob@example.com already exists" in again.stderr
    assert "Traceback" not in again.output
    with db.reader() as s:
        assert [u.name for u in users.list_users(s)] == ["Bob"]


@sqlite_only
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "owner"], "role must be one of admin, responder, observer"),
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_invalid_user_fields_are_named(db: Database, args: list[str], message: str) -> None:
    result = cli(db, "user", "create", "carol@example.com", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    with db.reader() as s:
        assert users.list_users(s) == []


def test_password_from_stdin_is_stored_as_argon2_hash(db: Database) -> None:
    result = cli(db, "user", "create", "dana@example.com", "--password-stdin", stdin="correct horse battery\n")
    assert result.exit_code == 0, result.output
    with db.reader() as s:
        stored = users.get_user(s, "dana@example.com").password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert PasswordHasher().verify(stored, "correct horse battery")


@sqlite_only
def test_short_password_is_refused_and_nothing_is_created(db: Database) -> None:
    result = cli(db, "user", "create", "erin@example.com", "--password-stdin", stdin="short\n")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.stderr
    with db.reader() as s:
        assert users.list_users(s) == []


def test_token_create_prints_only_a_token_that_authenticates(db: Database) -> None:
    make_admin(db)
    result = cli(db, "token", "create", "--user", "root@example.com", "--name", "deploys")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    secret = lines[0]
    assert secret.startswith("tocsin_")
    with db.reader() as s:
        token, user = users.authenticate_token(s, secret)
    assert user.email == "root@example.com"
    assert token.name == "deploys"

    listed = json.loads(cli(db, "token", "list", "--json").stdout)
    assert [(t["id"], t["user"], t["name"], t["revoked_at"]) for t in listed] == [
        (token.id, "root@example.com", "deploys", None)
    ]
    assert secret not in cli(db, "token", "list").stdout


@sqlite_only
def test_token_for_unknown_user_fails_cleanly(db: Database) -> None:
    result = cli(db, "token", "create", "--user", "nobody@example.com")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "user nobody@example.com not found" in result.stderr


def test_revoked_token_no_longer_authenticates(db: Database) -> None:
    make_admin(db)
    secret = cli(db, "token", "create", "--user", "root@example.com").stdout.strip()
    with db.reader() as s:
        token, _ = users.authenticate_token(s, secret)

    revoked = cli(db, "token", "revoke", str(token.id))
    assert revoked.exit_code == 0, revoked.output
    with db.reader() as s, pytest.raises(Unauthorized, match="revoked"):
        users.authenticate_token(s, secret)
    assert json.loads(cli(db, "token", "list", "--json").stdout)[0]["revoked_at"] is not None

    missing = cli(db, "token", "revoke", "9999")
    assert missing.exit_code == 1
    assert "token 9999 not found" in missing.stderr


@sqlite_only
def test_a_responder_revokes_only_own_tokens(db: Database) -> None:
    make_admin(db)
    assert cli(db, "user", "create", "frank@example.com", "--role", "responder").exit_code == 0
    admin_secret = cli(db, "token", "create", "--user", "root@example.com").stdout.strip()
    with db.reader() as s:
        admin_token, _ = users.authenticate_token(s, admin_secret)

    refused = cli(db, "token", "revoke", str(admin_token.id), "--as", "frank@example.com")
    assert refused.exit_code == 1
    assert f"token {admin_token.id} not found" in refused.stderr
    with db.reader() as s:
        users.authenticate_token(s, admin_secret)  # still valid


def test_a_database_without_the_schema_is_one_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(app, ["user", "list"], env={"TOCSIN_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "database error: no such table: users" in result.stderr
    assert "tocsin db upgrade" in result.stderr
    assert "Traceback" not in result.output
