"""``tocsin silence``: silences and maintenance windows from the command line (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tocsin.alerts import silence_service as silences
from tocsin.audit import service as audit
from tocsin.audit.repository import AuditFilter
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.services import service as services
from tocsin.users import service as users

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def cli(db: Database, *args: str) -> Result:
    env: dict[str, str | None] = {"TOCSIN_DATABASE_URL": db.url, "TOCSIN_CLI_USER": None, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def people(db: Database) -> Database:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="root@example.com", name="Root", role="admin", now=now)
        users.create_user(s, email="resp@example.com", name="Resp", role="responder", now=now)
        users.create_user(s, email="obs@example.com", name="Obs", role="observer", now=now)
        services.create_service(s, name="Payments", now=now)
    return db


def cli_audit(db: Database, silence_id: int) -> list[str]:
    with db.reader() as s:
        entries, _ = audit.list_entries(s, AuditFilter(channel="cli", object_id=str(silence_id)), limit=50)
    return [e.action for e in entries if e.object_type == "silence"]


def test_create_list_edit_and_end_a_silence(people: Database) -> None:
    db = people
    created = ok_json(
        cli(
            db,
            "silence",
            "create",
            "--match",
            "labels.env=prod",
            "--match",
            "severity!=info",
            "--ends-at",
            "+2h",
            "--comment",
            "deploy",
            "--service",
            "Payments",
            "--as",
            "resp@example.com",
            "--json",
        )
    )
    assert created["matchers"] == [
        {"field": "labels.env", "op": "=", "value": "prod"},
        {"field": "severity", "op": "!=", "value": "info"},
    ]
    assert (created["service"], created["state"], created["author"]) == ("Payments", "active", "resp@example.com")
    with db.reader() as s:
        stored = silences.get_silence(s, created["id"])
        assert stored.comment == "deploy"
        assert stored.ends_at is not None
        first_end = stored.ends_at
    assert timedelta(hours=1, minutes=59) < first_end - datetime.now(UTC) <= timedelta(hours=2)

    (listed,) = ok_json(cli(db, "silence", "list", "--json"))
    assert listed["id"] == created["id"]

    edited = ok_json(
        cli(db, "silence", "edit", str(created["id"]), "--ends-at", "+5h", "--comment", "longer", "--json")
    )
    assert edited["matchers"] == created["matchers"]  # not given: kept
    with db.reader() as s:
        stored = silences.get_silence(s, created["id"])
        assert (stored.comment, stored.service_id is not None) == ("longer", True)
        assert stored.ends_at is not None
        assert stored.ends_at - first_end > timedelta(hours=2, minutes=59)
        assert stored.author == "root@example.com"  # the first admin acted, no --as given

    ended = cli(db, "silence", "end", str(created["id"]))
    assert ended.exit_code == 0, ended.output
    assert f"silence {created['id']} ended" in ended.stdout
    assert ok_json(cli(db, "silence", "list", "--json")) == []
    (kept,) = ok_json(cli(db, "silence", "list", "--all", "--json"))
    assert kept["state"] == "ended"
    assert cli_audit(db, created["id"]).count("silence.updated") >= 2
    assert "silence.created" in cli_audit(db, created["id"])


def test_a_recurring_maintenance_window(people: Database) -> None:
    db = people
    window = ok_json(
        cli(
            db,
            "silence",
            "create",
            "--name",
            "sunday-maintenance",
            "--match",
            "labels.team exists",
            "--recurrence",
            "FREQ=WEEKLY;BYDAY=SU",
            "--duration",
            "2h",
            "--starts-at",
            "2026-01-04T02:00:00Z",
            "--comment",
            "weekly patching",
            "--json",
        )
    )
    assert window["matchers"] == [{"field": "labels.team", "op": "exists"}]
    with db.reader() as s:
        stored = silences.get_silence(s, window["id"])
        assert (stored.name, stored.recurrence, stored.duration_seconds) == (
            "sunday-maintenance",
            "FREQ=WEEKLY;BYDAY=SU",
            7200,
        )
    edited = ok_json(cli(db, "silence", "edit", str(window["id"]), "--duration", "3h", "--json"))
    assert (edited["name"], edited["duration_seconds"], edited["recurrence"]) == (
        "sunday-maintenance",
        10800,
        "FREQ=WEEKLY;BYDAY=SU",
    )
    endless = ok_json(cli(db, "silence", "edit", str(window["id"]), "--ends-at", "2027-01-01T00:00:00Z", "--json"))
    assert endless["ends_at"].startswith("2027-01-01")
    endless = ok_json(cli(db, "silence", "edit", str(window["id"]), "--no-end", "--json"))
    assert endless["ends_at"] is None
    with db.reader() as s:
        assert silences.get_silence(s, window["id"]).ends_at is None
    both = cli(db, "silence", "edit", str(window["id"]), "--no-end", "--ends-at", "+1d")
    assert both.exit_code == 1
    assert "give --ends-at or --no-end, not both" in both.stderr
    human = cli(db, "silence", "list")
    assert human.exit_code == 0, human.output
    assert "sunday-maintenance" in human.stdout
    assert "FREQ=WEEKLY;BYDAY=SU" in human.stdout


@sqlite_only
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--ends-at", "+1h"], "comment: Field required"),
        (["create", "--comment", "x", "--ends-at", "soon"], "ends_at: Input should be a valid datetime"),
        (["create", "--comment", "x", "--duration", "0"], "duration_seconds: Input should be greater than 0"),
        (["create", "--comment", "x", "--ends-at", "-1h"], "which has passed"),
        (["create", "--comment", "x", "--service", "Nope"], "silence: unknown service 'Nope'"),
        (["create", "--comment", "x", "--match", "labels.env"], "not a matcher: 'labels.env'"),
        (["create", "--comment", "x", "--match", "colour=red"], "unknown field 'colour'"),
        (["create", "--comment", "x", "--recurrence", "FREQ=SOMETIMES", "--duration", "1h"], "RRULE"),
        (["edit", "999", "--comment", "x"], "silence 999 not found"),
        (["end", "999"], "silence 999 not found"),
    ],
)
def test_bad_input_is_refused_in_the_apis_words(people: Database, args: list[str], message: str) -> None:
    result = cli(people, "silence", *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    with people.reader() as s:
        assert silences.list_silences(s, now=datetime.now(UTC), include_expired=True) == []


@sqlite_only
def test_observers_cannot_change_silences(people: Database) -> None:
    refused = cli(people, "silence", "create", "--comment", "x", "--ends-at", "+1h", "--as", "obs@example.com")
    assert refused.exit_code == 1
    assert "obs@example.com is an observer" in refused.stderr
    created = ok_json(
        cli(people, "silence", "create", "--comment", "x", "--match", "labels.env=dev", "--ends-at", "+1h", "--json")
    )
    for args in (["edit", str(created["id"]), "--comment", "y"], ["end", str(created["id"])]):
        result = cli(people, "silence", *args, "--as", "obs@example.com")
        assert result.exit_code == 1
        assert "obs@example.com is an observer" in result.stderr
    with people.reader() as s:
        stored = silences.get_silence(s, created["id"])
    assert stored.comment == "x"
    assert stored.ends_at is not None
    assert stored.ends_at > datetime.now(UTC)
