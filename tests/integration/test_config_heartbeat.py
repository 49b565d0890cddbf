"""Heartbeat period and grace in the configuration file: apply, change, export, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.config.plan import Plan
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.heartbeats import service as heartbeats
from tocsin.services import service as services

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
CONFIG = """
services:
  - name: nightly-backup
    integrations:
      - {name: backup-job, type: heartbeat, key: backupjob0123456789, heartbeat: {period: 5m, grace: 1m}}
      - {name: alerts, type: generic}
"""


def apply(db: Database, text: str) -> Plan:
    with db.unit_of_work() as session:
        return apply_config(session, document.parse(text), now=NOW)


def monitor(db: Database) -> tuple[int, int]:
    with db.reader() as s:
        [integration] = [i for i in services.list_integrations(s) if i.type == "heartbeat"]
        found = heartbeats.monitor_of(s, integration)
        assert found is not None
        return found.period_seconds, found.grace_seconds


def test_apply_change_and_export_round_trip(db: Database) -> None:
    apply(db, CONFIG)
    assert monitor(db) == (300, 60)
    assert {c.action for c in apply(db, CONFIG).changes} == {"unchanged"}

    plan = apply(db, CONFIG.replace("period: 5m, grace: 1m", "period: 1h"))
    [change] = [c for c in plan.changes if c.kind == "integration" and c.action == "update"]
    assert change.fields == ("heartbeat: 'every 5m, grace 1m' → 'every 1h, grace 1h'",)
    assert monitor(db) == (3600, 3600)

    with db.reader() as s:
        exported = document.to_data(export_config(s, now=NOW))
    [service] = exported["services"]
    by_name = {i["name"]: i for i in service["integrations"]}
    assert by_name["backup-job"]["heartbeat"] == {"period": "1h", "grace": "1h"}
    assert "heartbeat" not in by_name["alerts"]
    assert {c.action for c in apply(db, document.to_yaml(export_config_of(db))).changes} == {"unchanged"}


def export_config_of(db: Database):  # type: ignore[no-untyped-def]
    with db.reader() as s:
        return export_config(s, now=NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CONFIG.replace("type: heartbeat, key", "type: generic, key"), "only an integration of type heartbeat"),
        (CONFIG.replace("period: 5m", "period: 30s"), "heartbeat.period"),
        (CONFIG.replace("grace: 1m", "grace: banana"), "heartbeat.grace"),
    ],
)
def test_refusals_name_the_field(db: Database, text: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        apply(db, text)

    assert any(expected in m for m in [raised.value.detail, *raised.value.errors])
    with db.reader() as s:
        assert services.list_integrations(s) == []
