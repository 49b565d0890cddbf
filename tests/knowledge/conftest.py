"""Helpers of the knowledge tests: an organisation with teams, incidents brought in by alerts, and the engine run
until the search index has caught up (through the incident events consumer, as in production)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.conftest import ApiHarness
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users


@dataclass
class Org:
    tokens: dict[str, str]
    service_id: int
    other_service_id: int
    key: str
    other_key: str


def org(api: ApiHarness) -> Org:
    """Team ``ops`` owns ``checkout`` (Max, Olly are members); Sue is in ``sec``; ``search`` has no team."""
    tokens = {name: api.token_for(f"{name}@example.com") for name in ("max", "olly", "sue")}
    tokens["admin"] = api.token
    with api.runtime.db.unit_of_work() as s:
        now = api.clock.now()
        ops = teams.create_team(s, name="ops", now=now)
        sec = teams.create_team(s, name="sec", now=now)
        for name in ("max", "olly"):
            teams.set_member(s, ops, users.get_user(s, f"{name}@example.com"))
        teams.set_member(s, sec, users.get_user(s, "sue@example.com"))
        service = services.create_service(s, name="checkout", team_id=ops.id, now=now)
        other = services.create_service(s, name="search", now=now)
        key = services.add_integration(s, service, name="events", type="pagerduty_v2", now=now).key
        other_key = services.add_integration(s, other, name="events", type="pagerduty_v2", now=now).key
    return Org(tokens=tokens, service_id=service.id, other_service_id=other.id, key=key, other_key=other_key)


def declare(api: ApiHarness, service_id: int, title: str, token: str | None = None, **extra: Any) -> dict[str, Any]:
    r = api.post("/api/v1/incidents", json={"service_id": service_id, "title": title, **extra}, token=token)
    assert r.status_code == 201, r.text
    return dict(r.json())


def alert(api: ApiHarness, key: str, dedup: str, summary: str, **labels: str) -> None:
    """An alert through the ingest path: it opens an incident (or joins the open one of its dedup key)."""
    with api.runtime.db.unit_of_work() as s:
        ingest_batch(
            s,
            [Submission(key, events=[NormalizedEvent("trigger", dedup, summary=summary, labels=dict(labels))])],
            now=api.clock.now(),
        )


def resolve(api: ApiHarness, ref: int | str, message: str) -> None:
    r = api.post(f"/api/v1/incidents/{ref}/resolve", json={"message": message})
    assert r.status_code == 200, r.text


def index(api: ApiHarness) -> None:
    """Run the engine until idle: events reach the knowledge consumer, the knowledge module polls its sources."""
    api.clock.advance(timedelta(seconds=30))
    engine = api.runtime.build_engine(owner="knowledge-test")
    for module in engine.modules:
        if isinstance(module, EventDeliveryModule):
            module.gap = timedelta(0)
    engine.run_until_idle()
