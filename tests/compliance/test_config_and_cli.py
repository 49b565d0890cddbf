"""Regimes in ``tocsin apply`` and ``export`` (created, unchanged on a second apply and after a round trip through
export, a bad duration refused with its place in the file), and ``tocsin clocks`` on the command line: classify,
list (private incidents hidden from whoever may not see them), submit; late without a reason refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_service
from tests.integration.test_cli_incidents import cli, ok
from tocsin.compliance import service as compliance
from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.users import service as users

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CONFIG = """
users:
  - {email: dpo@example.com, name: DPO, role: responder}
regimes:
  - key: uk-ico
    name: UK GDPR personal data breach
    timezone: Europe/London
    holidays: ["2026-12-25"]
    deadlines:
      - key: notification
        title: Notification to the ICO
        rules: [{after: PT72H, anchor: awareness}]
      - key: follow-up
        rules: [{after: P1M, anchor: "submission:notification"}]
    reminders: ["50%", PT2H, overdue]
    contacts: [dpo@example.com]
    headings:
      - {title: What happened, fill: summary}
      - {title: Timeline, fill: times}
"""


def test_apply_creates_a_regime_then_finds_nothing_to_change(db: Database) -> None:
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(CONFIG), now=NOW)
    assert [(c.key, c.action) for c in plan.changes if c.kind == "regime"] == [("uk-ico", "create")]
    with db.unit_of_work() as s:
        again = apply_config(s, document.parse(CONFIG), now=NOW)
    assert [c.action for c in again.changes if c.kind == "regime"] == ["unchanged"]
    with db.reader() as s:
        spec = compliance.as_spec(s, compliance.get_regime(s, "uk-ico"))
        assert spec["contacts"] == ["dpo@example.com"]
        assert spec["deadlines"][1]["title"] == "follow-up"
        exported = export_config(s, now=NOW)
    assert [r.key for r in exported.regimes] == ["uk-ico"]
    with db.unit_of_work() as s:
        round_trip = apply_config(s, document.parse(document.to_yaml(exported)), now=NOW)
    assert [c.action for c in round_trip.changes if c.kind == "regime"] == ["unchanged"]
    changed = CONFIG.replace("PT2H", "PT3H")
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(changed), now=NOW)
    (regime,) = [c for c in plan.changes if c.kind == "regime"]
    assert (regime.action, regime.fields) == ("update", ("reminders",))


def test_a_regime_with_an_invalid_duration_is_refused_with_its_place(db: Database) -> None:
    bad = CONFIG.replace("after: P1M", "after: one month")
    with pytest.raises(InvalidInput) as refused, db.unit_of_work() as s:
        apply_config(s, document.parse(bad), now=NOW)
    assert refused.value.detail.startswith("regimes[0].deadlines[1].rules[0].after: ")
    with db.reader() as s:
        assert [r.key for r in compliance.list_regimes(s)] == []


def test_clocks_from_the_command_line(db: Database) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        users.create_user(s, email="ann@example.com", name="Ann", role="admin", now=now)
        users.create_user(s, email="rob@example.com", name="Rob", role="responder", now=now)
        compliance.seed_defaults(s, now=now)
        service, _ = make_service(s, now, name="payments")
        actor = Actor(label="Ann", source="cli")
        public = incidents.declare(s, service_id=service.id, title="Records exposed", actor=actor, now=now)
        secret = incidents.declare(s, service_id=service.id, title="Insider leak", actor=actor, now=now, private=True)
        numbers = public.number, secret.number
    for number in numbers:
        ok(cli(db, "clocks", "classify", f"#{number}", "gdpr-33", "--as", "ann@example.com"))
    listed = json.loads(ok(cli(db, "clocks", "--json", "--as", "ann@example.com")).output)
    assert sorted(r["incident"] for r in listed) == sorted(numbers)
    seen_by_rob = json.loads(ok(cli(db, "clocks", "--json", "--as", "rob@example.com")).output)
    assert [r["incident"] for r in seen_by_rob] == [numbers[0]]
    assert seen_by_rob[0]["deadline"] == "notification"
    assert 71 * 3600 < seen_by_rob[0]["seconds_left"] <= 72 * 3600
    table = ok(cli(db, "clocks", "--as", "rob@example.com")).output
    assert "Records exposed" in table
    assert "Insider leak" not in table
    hidden = cli(db, "clocks", "classify", f"#{numbers[1]}", "gdpr-33", "--as", "rob@example.com")
    assert hidden.exit_code != 0
    ok(cli(db, "clocks", "submit", f"#{numbers[0]}", "gdpr-33", "notification", "--summary", "Sent"))
    long_ago = (now - timedelta(days=5)).isoformat()
    ok(cli(db, "clocks", "classify", f"#{numbers[1]}", "gdpr-33", "--awareness", long_ago))
    late = cli(db, "clocks", "submit", f"#{numbers[1]}", "gdpr-33", "notification", "--summary", "Sent")
    assert late.exit_code != 0
    assert "late_reason" in late.output
    listed = json.loads(ok(cli(db, "clocks", "--json")).output)
    assert [r["incident"] for r in listed] == [numbers[1]]
    regimes = ok(cli(db, "clocks", "regimes")).output
    assert "sec-8k-105" in regimes
    assert "P4BD after determination" in regimes
