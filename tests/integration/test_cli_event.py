"""``tocsin event send`` against a real Tocsin server (uvicorn on a free 127.0.0.1 port, in a thread)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.compat.live_server import live_server
from tests.factories import make_service
from tocsin.alerts import service as alerts
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def cli(db: Database, *args: str, **env: str | None) -> Result:
    environment: dict[str, str | None] = {
        "TOCSIN_DATABASE_URL": db.url,
        "TOCSIN_PUBLIC_URL": None,
        "COLUMNS": "200",
        **env,
    }
    return CliRunner().invoke(app, list(args), env=environment)


@pytest.fixture
def server(db: Database) -> Iterator[str]:
    """A Tocsin server (no engine) on the test database; yields its base URL."""
    with live_server(db) as url:
        yield url


@pytest.fixture
def integration_key(db: Database) -> str:
    with db.unit_of_work() as s:
        _, integration = make_service(s, datetime.now(UTC), name="web")
        return integration.key


def test_trigger_opens_an_incident_and_resolve_closes_it(db: Database, server: str, integration_key: str) -> None:
    sent = cli(
        db,
        "event",
        "send",
        "--key",
        integration_key,
        "--summary",
        "Disk 95% on db1",
        "--severity",
        "warning",
        "--source",
        "db1",
        "--url",
        server,
    )
    assert sent.exit_code == 0, sent.output
    dedup_key = sent.stdout.strip()
    assert len(sent.stdout.splitlines()) == 1
    assert dedup_key

    with db.reader() as s:
        (incident,) = incidents.list_incidents(s, IncidentFilter())[0]
        (alert,) = alerts.alerts_of_incident(s, incident.id)
    assert incident.title == "Disk 95% on db1"
    assert incident.status == "triggered"
    assert (alert.dedup_key, alert.severity, alert.source) == (dedup_key, "warning", "db1")

    # With no --url, the base URL comes from the settings (TOCSIN_PUBLIC_URL).
    resolved = cli(
        db,
        "event",
        "send",
        "--key",
        integration_key,
        "--action",
        "resolve",
        "--dedup-key",
        dedup_key,
        TOCSIN_PUBLIC_URL=server,
    )
    assert resolved.exit_code == 0, resolved.output
    assert resolved.stdout.strip() == dedup_key
    with db.reader() as s:
        assert incidents.get(s, incident.id).status == "resolved"


def test_the_dedup_key_given_is_kept(db: Database, server: str, integration_key: str) -> None:
    for _ in range(2):
        sent = cli(
            db, "event", "send", "--key", integration_key, "--summary", "x", "--dedup-key", "web/5xx", "--url", server
        )
        assert sent.exit_code == 0, sent.output
        assert sent.stdout.strip() == "web/5xx"
    with db.reader() as s:
        (incident,) = incidents.list_incidents(s, IncidentFilter())[0]
        (alert,) = alerts.alerts_of_incident(s, incident.id)
    assert alert.event_count == 2


def test_unknown_key_prints_the_servers_message(db: Database, server: str) -> None:
    result = cli(db, "event", "send", "--key", "0" * 32, "--summary", "x", "--url", server)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "404" in result.stderr
    assert "Invalid routing key" in result.stderr
    with db.reader() as s:
        assert incidents.list_incidents(s, IncidentFilter())[0] == []


@sqlite_only
def test_the_servers_validation_errors_are_shown(db: Database, server: str, integration_key: str) -> None:
    result = cli(db, "event", "send", "--key", integration_key, "--summary", "x" * 2000, "--url", server)
    assert result.exit_code == 1
    assert "400: Event object is invalid" in result.stderr
    assert "'payload.summary' must be at most 1024 characters, got 2000" in result.stderr
    assert "Traceback" not in result.output


@sqlite_only
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--action", "snooze"], "--action must be trigger, acknowledge or resolve"),
        (["--severity", "fatal"], "--severity must be one of critical, error, warning, info"),
        ([], "--summary is needed to trigger an event"),
        (["--action", "resolve"], "--dedup-key is needed to resolve an event"),
    ],
)
def test_bad_arguments_are_refused_before_sending(db: Database, args: list[str], message: str) -> None:
    result = cli(db, "event", "send", "--key", "k" * 32, *args, "--url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert message in result.stderr


@sqlite_only
def test_an_unreachable_server_is_one_clear_line(db: Database) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli(db, "event", "send", "--key", "k" * 32, "--summary", "x", "--url", f"http://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert f"cannot reach Tocsin at http://127.0.0.1:{port}/v2/enqueue" in result.stderr


@sqlite_only
def test_json_lines_match_what_the_incident_commands_see(db: Database, server: str, integration_key: str) -> None:
    cli(db, "event", "send", "--key", integration_key, "--summary", "cache misses", "--url", server)
    listed = json.loads(cli(db, "incident", "list", "--json").stdout)
    assert [(i["title"], i["service"], i["alert_count"]) for i in listed] == [("cache misses", "web", 1)]
