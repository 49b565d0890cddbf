"""``tocsin oncall`` on a schedule built with the services (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tocsin.audit import service as audit
from tocsin.audit.repository import AuditFilter
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.oncall import service as oncall
from tocsin.users import service as users

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# A daily rotation in UTC handing over at 09:00: Alice from Monday 5 January 2026, then Bob, then Alice ...
ROTATION_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def cli(db: Database, *args: str, **env: str | None) -> Result:
    environment: dict[str, str | None] = {
        "TOCSIN_DATABASE_URL": db.url,
        "TOCSIN_CLI_USER": None,
        "COLUMNS": "200",
        **env,
    }
    return CliRunner().invoke(app, list(args), env=environment)


def ok_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@dataclass
class Rota:
    db: Database
    alice: int
    bob: int
    carol: int


@pytest.fixture
def rota(db: Database) -> Rota:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        alice = users.create_user(s, email="alice@example.com", name="Alice", role="admin", now=now)
        bob = users.create_user(s, email="bob@example.com", name="Bob", now=now)
        carol = users.create_user(s, email="carol@example.com", name="Carol", now=now)
        schedule = oncall.create_schedule(s, name="Primary", timezone="UTC", now=now)
        oncall.set_layers(
            s,
            schedule,
            [{"name": "weekdays", "rotation": "daily", "start": ROTATION_START, "users": [alice.id, bob.id]}],
        )
        escalation.create_policy(s, name="Payments", steps=[([{"kind": "schedule", "ref": schedule.id}], 600)], now=now)
        escalation.create_policy(s, name="Direct", steps=[([{"kind": "user", "ref": carol.id}], 600)], now=now)
        return Rota(db, alice.id, bob.id, carol.id)


def on_call(rota: Rota, *args: str) -> dict[str, list[str]]:
    """{"schedule:Primary": [emails], "policy:Payments": [...]} as the command reports it."""
    report = ok_json(cli(rota.db, "oncall", "--json", *args))
    out: dict[str, list[str]] = {}
    for entry in report["on_call"]:
        kind = "schedule" if "schedule" in entry else "policy"
        out[f"{kind}:{entry[kind]['name']}"] = [u["email"] for u in entry["users"]]
    return out


def test_who_is_on_call_follows_at(rota: Rota) -> None:
    monday = on_call(rota, "--schedule", "Primary", "--at", "2026-01-05T10:00:00Z")
    assert monday == {"schedule:Primary": ["alice@example.com"]}
    # A minute before the Tuesday handover Alice still has it; after it, Bob.
    assert on_call(rota, "--schedule", "Primary", "--at", "2026-01-06T08:59") == {
        "schedule:Primary": ["alice@example.com"]
    }
    assert on_call(rota, "--schedule", "Primary", "--at", "2026-01-06T09:00") == {
        "schedule:Primary": ["bob@example.com"]
    }
    # An offset in --at is honoured: 10:30 in Berlin is 09:30 UTC.
    assert on_call(rota, "--schedule", "Primary", "--at", "2026-01-06T10:30+01:00") == {
        "schedule:Primary": ["bob@example.com"]
    }
    assert on_call(rota, "--policy", "Payments", "--at", "2026-01-06T10:00") == {"policy:Payments": ["bob@example.com"]}

    human = cli(rota.db, "oncall", "--at", "2026-01-05T10:00")
    assert human.exit_code == 0, human.output
    assert "Alice <alice@example.com>" in human.stdout
    assert "Carol <carol@example.com>" in human.stdout


@sqlite_only
def test_without_filters_every_schedule_and_policy_is_listed(rota: Rota) -> None:
    assert on_call(rota, "--at", "2026-01-07T12:00") == {
        "schedule:Primary": ["alice@example.com"],
        "policy:Payments": ["alice@example.com"],
        "policy:Direct": ["carol@example.com"],
    }
    assert on_call(rota, "--schedule", "Primary", "--policy", "Direct", "--at", "2026-01-08T12:00") == {
        "schedule:Primary": ["bob@example.com"],
        "policy:Direct": ["carol@example.com"],
    }


def test_a_users_current_and_upcoming_shifts(rota: Rota) -> None:
    report = ok_json(cli(rota.db, "oncall", "--user", "bob@example.com", "--at", "2026-01-06T12:00Z", "--json"))
    assert report["user"]["email"] == "bob@example.com"
    shifts = report["shifts"]
    # Every other day until 20 January 12:00: the current shift (shown from its real start) and seven more.
    assert len(shifts) == 8
    assert shifts[0]["now"] is True
    assert (shifts[0]["start"], shifts[0]["end"]) == ("2026-01-06T09:00:00+00:00", "2026-01-07T09:00:00+00:00")
    assert [s["now"] for s in shifts[1:]] == [False] * 7
    assert shifts[-1]["start"] == "2026-01-20T09:00:00+00:00"
    assert shifts[1]["start"] == "2026-01-08T09:00:00+00:00"
    assert {s["schedule"]["name"] for s in shifts} == {"Primary"}

    human = cli(rota.db, "oncall", "--user", "bob@example.com", "--at", "2026-01-06T12:00Z")
    assert human.exit_code == 0, human.output
    assert "2026-01-08 09:00" in human.stdout


@sqlite_only
def test_final_shifts_of_a_schedule(rota: Rota) -> None:
    report = ok_json(
        cli(rota.db, "oncall", "shifts", "Primary", "--start", "2026-01-05T09:00Z", "--days", "2", "--json")
    )
    assert [(s["user"]["email"], s["start"], s["end"]) for s in report["shifts"]] == [
        ("alice@example.com", "2026-01-05T09:00:00+00:00", "2026-01-06T09:00:00+00:00"),
        ("bob@example.com", "2026-01-06T09:00:00+00:00", "2026-01-07T09:00:00+00:00"),
    ]
    human = cli(rota.db, "oncall", "shifts", "Primary", "--start", "2026-01-05T09:00Z", "--days", "2")
    assert human.exit_code == 0, human.output
    assert "Bob <bob@example.com>" in human.stdout


def test_override_takes_over_and_deleting_it_gives_back(rota: Rota) -> None:
    regular = on_call(rota, "--schedule", "Primary", "--at", "+2h")["schedule:Primary"]
    assert regular in (["alice@example.com"], ["bob@example.com"])

    added = cli(
        rota.db, "oncall", "override", "Primary", "--user", "carol@example.com", "--start", "+1h", "--end", "+3h"
    )
    assert added.exit_code == 0, added.output
    assert on_call(rota, "--schedule", "Primary", "--at", "+2h") == {"schedule:Primary": ["carol@example.com"]}
    assert on_call(rota, "--schedule", "Primary", "--at", "+4h")["schedule:Primary"] != ["carol@example.com"]

    (listed,) = ok_json(cli(rota.db, "oncall", "overrides", "Primary", "--json"))
    assert listed["user"]["email"] == "carol@example.com"
    with rota.db.reader() as s:
        (stored,) = oncall.overrides(s, oncall.get_schedule(s, "Primary"))
    assert stored.id == listed["id"]
    assert stored.created_by_user_id == rota.alice  # the first admin, as no one else was named

    deleted = cli(rota.db, "oncall", "override-delete", "Primary", str(listed["id"]))
    assert deleted.exit_code == 0, deleted.output
    assert on_call(rota, "--schedule", "Primary", "--at", "+2h") == {"schedule:Primary": regular}
    assert ok_json(cli(rota.db, "oncall", "overrides", "Primary", "--json")) == []


def _add_override(rota: Rota) -> int:
    added = cli(
        rota.db, "oncall", "override", "Primary", "--user", "carol@example.com", "--start", "+1h", "--end", "+3h"
    )
    assert added.exit_code == 0, added.output
    (listed,) = ok_json(cli(rota.db, "oncall", "overrides", "Primary", "--json"))
    return int(listed["id"])


def test_override_edit_changes_who_and_when_and_keeps_the_rest(rota: Rota) -> None:
    override_id = _add_override(rota)
    with rota.db.reader() as s:
        (before,) = oncall.overrides(s, oncall.get_schedule(s, "Primary"))
        start = before.start

    shown = ok_json(
        cli(
            rota.db,
            "oncall",
            "override-edit",
            "Primary",
            str(override_id),
            "--user",
            "bob@example.com",
            "--end",
            "+5h",
            "--json",
        )
    )
    assert shown["id"] == override_id
    assert shown["user"]["email"] == "bob@example.com"
    with rota.db.reader() as s:
        (stored,) = oncall.overrides(s, oncall.get_schedule(s, "Primary"))
        entries, _ = audit.list_entries(s, AuditFilter(channel="cli", object_id=str(override_id)), limit=50)
    assert stored.user_id == rota.bob
    assert stored.start == start
    assert stored.end - stored.start > timedelta(hours=3, minutes=59)
    assert any(e.action == "schedule_override.updated" for e in entries), [(e.object_type, e.action) for e in entries]

    human = cli(rota.db, "oncall", "override-edit", "Primary", str(override_id), "--start", "+2h")
    assert human.exit_code == 0, human.output
    assert f"override {override_id}: Bob <bob@example.com> on call in Primary" in human.stdout


def test_override_edit_refuses_observers_and_bad_times(rota: Rota) -> None:
    override_id = _add_override(rota)
    with rota.db.unit_of_work() as s:
        users.create_user(s, email="olga@example.com", name="Olga", role="observer", now=datetime.now(UTC))
    for args in (
        ["override-edit", "Primary", str(override_id), "--end", "+9h"],
        ["override-delete", "Primary", str(override_id)],
        ["override", "Primary", "--user", "bob@example.com", "--start", "+5h", "--end", "+6h"],
    ):
        as_observer = cli(rota.db, "oncall", *args, "--as", "olga@example.com")
        assert as_observer.exit_code == 1
        assert "olga@example.com is an observer" in as_observer.stderr
    inverted = cli(rota.db, "oncall", "override-edit", "Primary", str(override_id), "--end", "-1h")
    assert inverted.exit_code == 1
    assert "an override must end after it starts" in inverted.stderr
    missing = cli(rota.db, "oncall", "override-edit", "Primary", "999", "--end", "+9h")
    assert missing.exit_code == 1
    assert "override 999 not found" in missing.stderr
    with rota.db.reader() as s:
        (stored,) = oncall.overrides(s, oncall.get_schedule(s, "Primary"))
    assert stored.user_id == rota.carol
    assert stored.end - stored.start < timedelta(hours=2, minutes=1)


@sqlite_only
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "Secondary"], "schedule Secondary not found"),
        (["--policy", "Nope"], "escalation policy Nope not found"),
        (["--user", "zed@example.com"], "user zed@example.com not found"),
        (["--at", "tomorrow"], "not a time: 'tomorrow'"),
        (["--at", "+3x"], "not a duration: '3x'"),
        (["shifts", "Secondary"], "schedule Secondary not found"),
        (
            ["override", "Primary", "--user", "carol@example.com", "--start", "+3h", "--end", "+1h"],
            "an override must end after it starts",
        ),
        (
            ["override", "Primary", "--user", "zed@example.com", "--start", "+1h", "--end", "+3h"],
            "user zed@example.com",
        ),
        (["override-delete", "Primary", "999"], "override 999 not found"),
    ],
)
def test_bad_input_is_one_clear_error(rota: Rota, args: list[str], message: str) -> None:
    result = cli(rota.db, "oncall", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    with rota.db.reader() as s:
        assert oncall.overrides(s, oncall.get_schedule(s, "Primary")) == []
