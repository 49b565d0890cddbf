"""``tocsin user reset-password``: a temporary password (printed once) or one read from stdin, checked against the
password policy; every console session of the user ends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.test_cli_people import cli, make_admin
from tocsin.auth import sessions
from tocsin.core.errors import Unauthorized
from tocsin.db.session import Database
from tocsin.users import service as users


def _session(db: Database) -> str:
    with db.unit_of_work() as s:
        return sessions.new_session(s, user_id=users.get_user(s, "root@example.com").id, now=datetime.now(UTC))


def test_a_temporary_password_is_printed_once_and_sessions_end(db: Database) -> None:
    make_admin(db)
    cookie = _session(db)
    result = cli(db, "user", "reset-password", "root@example.com")
    assert result.exit_code == 0, result.output
    temporary = result.stdout.strip()
    assert len(temporary) >= 16
    assert "1 session(s) signed out" in result.stderr
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        assert sessions.user_of(s, cookie, now=now) is None
        sessions.sign_in(s, email="root@example.com", password=temporary, now=now)


def test_a_password_from_stdin_must_meet_the_policy(db: Database) -> None:
    make_admin(db)
    weak = cli(db, "user", "reset-password", "root@example.com", "--password-stdin", stdin="password1234\n")
    assert weak.exit_code != 0
    assert "commonly used" in weak.output
    good = cli(db, "user", "reset-password", "root@example.com", "--password-stdin", stdin="a long and odd phrase 9\n")
    assert good.exit_code == 0, good.output
    assert good.stdout.strip() == ""
    with db.unit_of_work() as s:
        with pytest.raises(Unauthorized):
            sessions.sign_in(s, email="root@example.com", password="password1234", now=datetime.now(UTC))
        sessions.sign_in(s, email="root@example.com", password="a long and odd phrase 9", now=datetime.now(UTC))
