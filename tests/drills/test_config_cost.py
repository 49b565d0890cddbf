"""``tocsin apply`` / ``export``: a service's cost of downtime is set, changed, cleared, refused when negative and
round-trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.services import service as services

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def apply(db: Database, text: str) -> list[tuple[str, tuple[str, ...]]]:
    with db.unit_of_work() as session:
        plan = apply_config(session, document.parse(text), now=NOW)
    return [(c.action, c.fields) for c in plan.changes if c.kind == "service"]


def cost_of(db: Database, name: str) -> float | None:
    with db.reader() as s:
        return services.get_service(s, name).downtime_cost_per_minute


def test_a_service_cost_is_applied_changed_cleared_and_exported(db: Database) -> None:
    assert apply(db, "services: [{name: checkout, tier: 1, downtime_cost_per_minute: 120.5}]")[0][0] == "create"
    assert cost_of(db, "checkout") == 120.5
    [(action, fields)] = apply(db, "services: [{name: checkout, downtime_cost_per_minute: 80}]")
    assert action == "update"
    assert fields == ("downtime_cost_per_minute: 120.5 → 80.0",)
    assert cost_of(db, "checkout") == 80
    with db.reader() as s:
        exported = export_config(s, now=NOW)
    assert "downtime_cost_per_minute: 80.0" in document.to_yaml(exported)
    assert apply(db, "services: [{name: checkout, downtime_cost_per_minute: 80}]")[0][0] == "unchanged"
    apply(db, "services: [{name: checkout, downtime_cost_per_minute: null}]")
    assert cost_of(db, "checkout") is None


def test_a_negative_cost_is_refused_with_its_path(db: Database) -> None:
    with pytest.raises(InvalidInput) as refused:
        apply(db, "services: [{name: checkout, downtime_cost_per_minute: -5}]")
    assert "services[0].downtime_cost_per_minute" in str(refused.value.errors)
    with db.reader() as s:
        assert services.list_services(s) == []
