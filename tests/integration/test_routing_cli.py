"""``tocsin route test`` and ``tocsin noise`` on a real database, through the real command-line app."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.factories import make_service, make_user
from tocsin.alerts import routing_service
from tocsin.alerts.models import Alert
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.cli import app
from tocsin.db.session import Database
from tocsin.escalation import service as escalation

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def cli(db: Database, *args: str) -> Result:
    env: dict[str, str | None] = {"TOCSIN_DATABASE_URL": db.url, "TOCSIN_PUBLIC_URL": None, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_route_test_names_the_rule_service_and_who_is_paged(db: Database, tmp_path: Path) -> None:
    with db.unit_of_work() as s:
        _, integration = make_service(s, NOW, name="checkout-api")
        payments, _ = make_service(s, NOW, name="payments")
        user = make_user(s, NOW, email="ann@example.com")
        policy = escalation.create_policy(
            s, name="pay", steps=[([{"kind": "user", "ref": str(user.id)}], 300)], now=NOW
        )
        payments.escalation_policy_id = policy.id
        routing_service.put_event_rule(
            s,
            name="disk-to-payments",
            matchers=[{"field": "summary", "op": "=~", "value": "Disk.*"}],
            actions={"service": "payments", "priority": "P2"},
            now=NOW,
        )
    payload = tmp_path / "event.json"
    payload.write_text(
        json.dumps(
            {
                "routing_key": integration.key,
                "event_action": "trigger",
                "payload": {"summary": "Disk full", "source": "db1", "severity": "critical"},
            }
        )
    )
    r = cli(db, "route", "test", str(payload), "--json", "--at", "2026-11-02T09:00:00Z")
    assert r.exit_code == 0, r.output
    (event,) = json.loads(r.stdout)["events"]
    assert event["rule"] == "disk-to-payments"
    assert event["service"] == "payments"
    assert event["priority"] == "P2"
    assert event["would_page"] == ["Ann"]
    table = cli(db, "route", "test", str(payload))
    assert table.exit_code == 0, table.output
    assert "disk-to-payments" in table.output
    assert "pages Ann" in table.output
    with db.reader() as s:
        assert s.execute(select(func.count()).select_from(Alert)).scalar_one() == 0
    # The integration can be named instead of taken from the payload.
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps({"event_action": "trigger", "payload": {"summary": "CPU", "source": "a", "severity": "info"}})
    )
    named = cli(db, "route", "test", str(other), "--integration", integration.key, "--json")
    assert named.exit_code == 0, named.output
    (plain,) = json.loads(named.stdout)["events"]
    assert plain["rule"] is None
    assert plain["service"] == "checkout-api"
    missing = cli(db, "route", "test", str(other))
    assert missing.exit_code == 1
    assert "integration_key" in missing.output
    payload.write_text("[1]")
    bad = cli(db, "route", "test", str(payload))
    assert bad.exit_code == 1
    assert "must hold a JSON object" in bad.output


def test_noise_command_reports_counts(db: Database) -> None:
    with db.unit_of_work() as s:
        _, integration = make_service(s, NOW)
    with db.unit_of_work() as s:
        events = [NormalizedEvent(action="trigger", dedup_key="k", summary="Load high") for _ in range(3)]
        ingest_batch(s, [Submission(integration_key=integration.key, events=events)], now=NOW)
    r = cli(db, "noise", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z", "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["totals"]["events"] == 3
    assert body["totals"]["suppressed"]["dedup"] == 2
    assert body["noisiest"][0]["alert"] == "Load high"
    text = cli(db, "noise", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-03T00:00:00Z")
    assert text.exit_code == 0, text.output
    assert "checkout-api" in text.output
    assert "Load high" in text.output
    bad = cli(db, "noise", "--since", "yesterday")
    assert bad.exit_code == 1
    assert "not a date and time" in bad.output
