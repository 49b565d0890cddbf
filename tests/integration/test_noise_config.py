"""The routing and noise sections of the configuration file: apply, idempotence, export round trip, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tocsin.alerts import routing_service, silence_service
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.incidents.models import Incident

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

CONFIG = """
services:
  - name: checkout-api
    tier: 2
    integrations:
      - {name: prom, type: alertmanager, key: prom-key-0123456789}
  - name: payments
    tier: 1
event_rules:
  - name: pay-to-payments
    integration: checkout-api/prom
    matchers: [{field: labels.team, op: "=", value: pay}]
    actions: {service: payments, title: "[pay] {summary}"}
  - name: drop-tests
    matchers: [{field: labels.env, value: test}]
    actions: {drop: true}
priority_matrix:
  cells: {high: {high: P1, low: P2}}
major_incident: {priorities: [P1]}
flapping: {max_changes: 4, window_seconds: 900}
grouping:
  - {service: checkout-api, group_by: [cluster], window: 10m}
inhibit_rules:
  - name: node-down
    source: [{field: labels.alertname, value: NodeDown}]
    target: [{field: labels.alertname, op: "!=", value: NodeDown}]
    equal: [node]
silences:
  - name: db-migration
    matchers: [{field: labels.instance, op: "=~", value: "db[0-9]+"}]
    starts_at: 2026-11-01T12:00:00Z
    ends_at: 2026-11-01T14:00:00Z
    comment: schema migration
maintenance_windows:
  - name: sunday-patching
    service: payments
    start: 2026-11-01T02:00:00Z
    rrule: FREQ=WEEKLY;BYDAY=SU
    duration: 2h
"""


def test_apply_creates_everything_then_is_idempotent_and_exports(db: Database) -> None:
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(CONFIG), now=NOW)
    kinds = {(c.kind, c.key): c.action for c in plan.changes}
    assert kinds[("event_rule", "pay-to-payments")] == "create"
    assert kinds[("setting", "priority_matrix")] == "create"
    assert kinds[("grouping", "checkout-api")] == "create"
    assert kinds[("inhibit_rule", "node-down")] == "create"
    assert kinds[("silence", "db-migration")] == "create"
    assert kinds[("maintenance_window", "sunday-patching")] == "create"
    with db.unit_of_work() as s:
        again = apply_config(s, document.parse(CONFIG), now=NOW)
    noisy = [
        c
        for c in again.changes
        if c.kind in ("event_rule", "setting", "grouping", "inhibit_rule", "silence", "maintenance_window")
    ]
    assert noisy
    assert {c.action for c in noisy} == {"unchanged"}, [c.line() for c in noisy if c.action != "unchanged"]
    with db.reader() as s:
        exported = export_config(s, now=NOW)
        assert [r.name for r in exported.event_rules] == ["pay-to-payments", "drop-tests"]
        assert exported.event_rules[0].integration == "checkout-api/prom"
        assert exported.flapping == {"max_changes": 4, "window_seconds": 900}
        assert [w.name for w in exported.maintenance_windows] == ["sunday-patching"]
        assert [x.name for x in exported.silences] == ["db-migration"]
        assert routing_service.ruleset(s, NOW).rule_count == 2
        assert len(silence_service.list_silences(s, now=NOW)) == 2
    # The exported file applies cleanly and changes nothing.
    with db.unit_of_work() as s:
        round_trip = apply_config(s, document.parse(document.to_yaml(exported)), now=NOW)
    assert not round_trip.changed, [c.line() for c in round_trip.changes if c.action != "unchanged"]
    # The applied rules are live on the ingest path.
    with db.unit_of_work() as s:
        event = NormalizedEvent(action="trigger", dedup_key="k", summary="Slow", labels={"team": "pay"})
        (result,) = ingest_batch(s, [Submission(integration_key="prom-key-0123456789", events=[event])], now=NOW)
    assert result.outcomes == ["created"]
    with db.reader() as s:
        incident = s.execute(select(Incident)).scalar_one()
    assert incident.title == "[pay] Slow"
    assert (incident.priority, incident.major) == ("P1", True)  # tier 1, high urgency


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("value: pay}]", "event_rules[0]: event rule 'pay-to-payments'"),
        ('op: "=~", value: "pay("}]', "bad regular expression"),
    ],
)
def test_invalid_rules_are_refused_at_apply_time_naming_the_rule(db: Database, bad: str, message: str) -> None:
    text = CONFIG.replace('op: "=", value: pay}]', bad.replace("value: pay}]", "value: pay}]"))
    text = text.replace("actions: {service: payments,", "actions: {service: nowhere,") if "=~" not in bad else text
    with db.unit_of_work() as s, pytest.raises(InvalidInput) as err:
        apply_config(s, document.parse(text), now=NOW)
    assert message in err.value.detail
    with db.reader() as s:
        assert routing_service.list_event_rules(s) == []
