"""``tocsin incident`` against a migrated database (SQLite and PostgreSQL): every change lands in the database and
in the timeline with source "cli"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.factories import make_service
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.schemas import IncidentFilter
from tocsin.response import service as response
from tocsin.users import service as users

# The key cases run on both databases; the rest, which exercise the command line rather than the storage, on SQLite.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def cli(db: Database, *args: str, **env: str | None) -> Result:
    environment: dict[str, str | None] = {
        "TOCSIN_DATABASE_URL": db.url,
        "TOCSIN_CLI_USER": None,
        "COLUMNS": "200",
        **env,
    }
    return CliRunner().invoke(app, list(args), env=environment)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@dataclass
class World:
    db: Database
    admin_id: int
    bob_id: int
    service_name: str
    integration_key: str


@pytest.fixture
def world(db: Database) -> World:
    """Two people, a two-step escalation policy (admin, then bob) and a service that uses it."""
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
        bob = users.create_user(s, email="bob@example.com", name="Bob", role="responder", now=now)
        users.create_user(s, email="olive@example.com", name="Olive", role="observer", now=now)
        policy = escalation.create_policy(
            s,
            name="checkout",
            steps=[([{"kind": "user", "ref": admin.id}], 600), ([{"kind": "user", "ref": bob.id}], 600)],
            now=now,
        )
        service, integration = make_service(s, now, name="checkout-api")
        service.escalation_policy_id = policy.id
        return World(db, admin.id, bob.id, service.name, integration.key)


def open_with_alert(world: World, summary: str = "Checkout p99 above 2s", dedup_key: str = "p99") -> Incident:
    event = NormalizedEvent(action="trigger", dedup_key=dedup_key, summary=summary, severity="critical", source="lb1")
    with world.db.unit_of_work() as s:
        ingest_batch(s, [Submission(integration_key=world.integration_key, events=[event])], now=datetime.now(UTC))
    with world.db.reader() as s:
        (incident,) = incidents.list_incidents(s, IncidentFilter(), limit=1)[0]
        return incident


def incident(world: World, ref: str) -> Incident:
    with world.db.reader() as s:
        return incidents.get(s, ref)


def timeline(world: World, incident_id: int) -> list[TimelineEntry]:
    with world.db.reader() as s:
        return incidents.timeline(s, incident_id)


def by_cli(entries: list[TimelineEntry], kind: str) -> TimelineEntry:
    (entry,) = [e for e in entries if e.kind == kind]
    assert entry.source == "cli"
    return entry


def test_declare_ack_note_escalate_resolve(world: World) -> None:
    declared = json.loads(
        ok(
            cli(
                world.db,
                "incident",
                "declare",
                "--service",
                world.service_name,
                "--title",
                "Payments failing [EU]",
                "--severity",
                "SEV1",
                "--json",
            )
        ).stdout
    )
    ref = f"#{declared['number']}"
    opened = incident(world, ref)
    assert (opened.status, opened.severity, opened.priority) == ("triggered", "SEV1", "P1")
    assert opened.title == "Payments failing [EU]"
    assert opened.created_by_user_id == world.admin_id
    assert by_cli(timeline(world, opened.id), "triggered").actor_user_id == world.admin_id

    ok(cli(world.db, "incident", "ack", ref, "--as", "bob@example.com"))
    assert incident(world, ref).status == "acknowledged"
    assert by_cli(timeline(world, opened.id), "acknowledged").actor_user_id == world.bob_id

    ok(cli(world.db, "incident", "note", ref, "Rolled back the deploy"))
    note = by_cli(timeline(world, opened.id), "note")
    assert note.message == "Rolled back the deploy"
    assert note.actor_user_id == world.admin_id

    # Escalating an acknowledged incident hands it on: it pages again, from the next step.
    ok(cli(world.db, "incident", "escalate", ref))
    assert incident(world, ref).status == "triggered"
    entries = timeline(world, opened.id)
    assert by_cli(entries, "escalate_now").message == "Escalated by hand"
    assert by_cli(entries, "retriggered").actor_user_id == world.admin_id

    ok(cli(world.db, "incident", "resolve", str(opened.id), "--message", "fixed by rollback"))
    resolved = incident(world, ref)
    assert resolved.status == "resolved"
    assert resolved.resolved_at is not None
    assert by_cli(timeline(world, opened.id), "resolved").message == "fixed by rollback"


def test_show_lists_alerts_and_timeline(world: World) -> None:
    opened = open_with_alert(world)
    ok(cli(world.db, "incident", "ack", f"#{opened.number}"))

    shown = json.loads(ok(cli(world.db, "incident", "show", f"#{opened.number}", "--json")).stdout)
    assert shown["incident"]["id"] == opened.id
    assert shown["incident"]["status"] == "acknowledged"
    assert shown["incident"]["service"] == "checkout-api"
    assert [(a["dedup_key"], a["summary"]) for a in shown["alerts"]] == [("p99", "Checkout p99 above 2s")]
    kinds = [(e["kind"], e["source"]) for e in shown["timeline"]]
    assert ("triggered", "integration") in kinds
    assert ("acknowledged", "cli") in kinds

    human = ok(cli(world.db, "incident", "show", str(opened.id))).stdout
    assert "Checkout p99 above 2s" in human
    assert "acknowledged" in human
    assert "Timeline" in human


@sqlite_only
def test_list_filters_by_status_and_service(world: World) -> None:
    first = open_with_alert(world, "disk full", "disk")
    second = open_with_alert(world, "queue backlog", "queue")
    ok(cli(world.db, "incident", "resolve", f"#{first.number}"))

    def numbers(*args: str) -> list[int]:
        return [r["number"] for r in json.loads(ok(cli(world.db, "incident", "list", "--json", *args)).stdout)]

    assert numbers() == [second.number, first.number]
    assert numbers("--status", "triggered") == [second.number]
    assert numbers("--status", "resolved", "--status", "triggered") == [second.number, first.number]
    assert numbers("--service", "checkout-api", "--limit", "1") == [second.number]
    assert "queue backlog" in ok(cli(world.db, "incident", "list")).stdout

    unknown = cli(world.db, "incident", "list", "--service", "nope")
    assert unknown.exit_code == 1
    assert "service nope not found" in unknown.stderr
    bad_status = cli(world.db, "incident", "list", "--status", "open")
    assert bad_status.exit_code == 1
    assert "--status must be one of triggered, acknowledged, resolved" in bad_status.stderr


@sqlite_only
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "#404"], "incident #404 not found"),
        (["ack", "abc"], "not an incident id: 'abc'"),
        (["resolve", "#x1"], "not an incident number: '#x1'"),
        (["note", "12345", "hello"], "incident 12345 not found"),
        (["escalate", "#77"], "incident #77 not found"),
    ],
)
def test_bad_ref_is_one_clear_line(world: World, args: list[str], message: str) -> None:
    result = cli(world.db, "incident", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@sqlite_only
def test_refused_changes_leave_the_incident_alone(world: World) -> None:
    opened = open_with_alert(world)
    ref = f"#{opened.number}"
    ok(cli(world.db, "incident", "ack", ref))
    before = len(timeline(world, opened.id))

    again = cli(world.db, "incident", "ack", ref)
    assert again.exit_code == 1
    assert "incident is already acknowledged" in again.stderr

    observer = cli(world.db, "incident", "resolve", ref, "--as", "olive@example.com")
    assert observer.exit_code == 1
    assert "observers can read but not act" in observer.stderr

    empty_note = cli(world.db, "incident", "note", ref, "   ")
    assert empty_note.exit_code == 1
    assert "a note needs some text" in empty_note.stderr

    assert incident(world, ref).status == "acknowledged"
    assert len(timeline(world, opened.id)) == before


@sqlite_only
def test_actor_comes_from_as_then_env_then_first_admin(world: World) -> None:
    opened = open_with_alert(world)
    ref = f"#{opened.number}"
    ok(cli(world.db, "incident", "note", ref, "from env", TOCSIN_CLI_USER="bob@example.com"))
    ok(cli(world.db, "incident", "note", ref, "explicit", "--as", "ann@example.com", TOCSIN_CLI_USER="bob@example.com"))
    ok(cli(world.db, "incident", "note", ref, "default"))
    notes = {e.message: e.actor_user_id for e in timeline(world, opened.id) if e.kind == "note"}
    assert notes == {"from env": world.bob_id, "explicit": world.admin_id, "default": world.admin_id}

    stranger = cli(world.db, "incident", "ack", ref, TOCSIN_CLI_USER="nobody@example.com")
    assert stranger.exit_code == 1
    assert "user nobody@example.com not found" in stranger.stderr


@sqlite_only
def test_escalate_without_a_policy_is_a_clear_conflict(db: Database) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
        make_service(s, now, name="unpaged")
    number = json.loads(ok(cli(db, "incident", "declare", "--service", "unpaged", "--title", "t", "--json")).stdout)[
        "number"
    ]
    result = cli(db, "incident", "escalate", f"#{number}")
    assert result.exit_code == 1
    assert "this incident's service has no escalation policy" in result.stderr


@sqlite_only
def test_acting_needs_someone_to_act_as(db: Database) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        make_service(s, now, name="lonely")
    result = cli(db, "incident", "declare", "--service", "lonely", "--title", "t")
    assert result.exit_code == 1
    assert "no user to act as" in result.stderr
    with db.reader() as s:
        assert incidents.list_incidents(s, IncidentFilter())[0] == []


@sqlite_only
def test_declare_validates_its_fields(world: World) -> None:
    cases: list[tuple[list[str], str]] = [
        (["--severity", "SEV9"], "severity must be one of SEV1"),
        (["--urgency", "urgent"], "urgency must be one of high, low"),
        (["--priority", "P0"], "priority must be one of P1"),
    ]
    for extra, message in cases:
        result = cli(world.db, "incident", "declare", "--service", world.service_name, "--title", "x", *extra)
        assert result.exit_code == 1, extra
        assert message in result.stderr
    with world.db.reader() as s:
        assert incidents.list_incidents(s, IncidentFilter())[0] == []


def test_response_status_reopen_and_milestones_from_the_command_line(world: World) -> None:
    opened = open_with_alert(world)
    ref = f"#{opened.number}"
    assert (
        "response mitigated (paging acknowledged)" in ok(cli(world.db, "incident", "status", ref, "mitigated")).stdout
    )
    assert incident(world, ref).response_status == "mitigated"
    ok(cli(world.db, "incident", "status", ref, "resolved", "-m", "pool resized"))
    assert incident(world, ref).status == "resolved"
    refused = cli(world.db, "incident", "status", ref, "triage")
    assert refused.exit_code != 0
    assert "cannot go from resolved to triage" in refused.output

    ok(cli(world.db, "incident", "reopen", ref, "-m", "back again"))
    reopened = incident(world, ref)
    assert (reopened.status, reopened.response_status) == ("triggered", "investigating")
    assert by_cli(timeline(world, opened.id), "reopened").message == "back again"

    detected = reopened.detected_at
    assert detected is not None
    earlier = detected.replace(microsecond=0).isoformat()
    shown = ok(cli(world.db, "incident", "milestone", ref, "impact_started", earlier, "--reason", "graphs")).stdout
    assert "impact started:" in shown
    assert incident(world, ref).impact_started_at == detected.replace(microsecond=0)
    missing = cli(world.db, "incident", "milestone", ref, "impact_started", earlier)
    assert missing.exit_code != 0
    assert "reason" in missing.output
    shown = json.loads(ok(cli(world.db, "incident", "show", ref, "--json")).stdout)
    assert shown["incident"]["response_status"] == "investigating"
    assert shown["incident"]["phase"] == "Investigating"


def test_tasks_and_checklists_from_the_command_line(world: World) -> None:
    opened = open_with_alert(world)
    ref = f"#{opened.number}"
    with world.db.unit_of_work() as s:
        response.save_template(s, "db", ["Snapshot the volume", "Fail over"], now=datetime.now(UTC))
    assert "2 tasks added" in ok(cli(world.db, "incident", "checklist", ref, "db")).stdout
    ok(
        cli(
            world.db,
            "incident",
            "task",
            "add",
            ref,
            "Call the vendor",
            "--for",
            "bob@example.com",
            "--due",
            "2030-01-01T10:00",
        )
    )
    listed = json.loads(ok(cli(world.db, "incident", "task", "list", ref, "--json")).stdout)
    assert [(t["title"], t["assignee"]) for t in listed["items"]] == [
        ("Snapshot the volume", ""),
        ("Fail over", ""),
        ("Call the vendor", "Bob"),
    ]
    first = listed["items"][0]["id"]
    ok(cli(world.db, "incident", "task", "done", ref, str(first)))
    again = cli(world.db, "incident", "task", "done", ref, str(first))
    assert again.exit_code != 0
    assert "already done" in again.output
    shown = json.loads(ok(cli(world.db, "incident", "task", "list", ref, "--json")).stdout)
    assert (shown["done"], shown["total"]) == (1, 3)
    assert cli(world.db, "incident", "checklist", ref, "nope").exit_code != 0
