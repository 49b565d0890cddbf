"""Facts kept per incident (ADR 0038): written by the ``analytics`` events consumer and the backfill, trusted only
while their stamp is the incident's, and giving the same figures as the timeline they stand for; on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_service
from tocsin.analytics import consumer, facts, metrics
from tocsin.analytics import repository as repo
from tocsin.analytics.models import IncidentFacts
from tocsin.analytics.periods import Period
from tocsin.db.session import Database
from tocsin.engine.modules.analytics_facts import AnalyticsFactsModule
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.events.registry import ConsumerRegistry
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind, timeline_row

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WHO = Actor("ana", "web")
ENGINE = Actor("engine", "engine")
P = Period(T0, T0 + timedelta(days=1))


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _declare(db: Database, count: int) -> list[int]:
    with db.unit_of_work() as s:
        service, _ = make_service(s, T0)
        return [
            incidents.declare(s, service_id=service.id, title=f"incident {n}", actor=WHO, now=_at(n)).id
            for n in range(count)
        ]


def _kept(db: Database) -> dict[int, IncidentFacts]:
    with db.reader() as s:
        return {f.incident_id: f for f in s.execute(select(IncidentFacts)).scalars()}


def _report(db: Database, now: datetime) -> dict[str, object]:
    with db.reader() as s:
        return metrics.report(s, P, by="service", now=now)


def test_backfill_writes_a_batch_at_a_time_then_waits_an_hour(db: Database) -> None:
    ids = _declare(db, 5)
    module = AnalyticsFactsModule(db, batch=2)
    assert module.run_once(_at(10)) == 2
    # More were waiting: due again at once.
    assert module.next_due() == _at(10)
    assert module.run_once(_at(10)) == 2
    assert module.run_once(_at(10)) == 1
    assert module.next_due() == _at(10) + timedelta(hours=1)
    assert sorted(_kept(db)) == ids
    assert module.run_once(_at(11)) == 0


def test_kept_facts_give_the_figures_the_timeline_gives(db: Database) -> None:
    a, b, c = _declare(db, 3)
    with db.unit_of_work() as s:
        incidents.acknowledge(s, a, actor=WHO, now=_at(10))
        incident_repo.add_timeline(s, [timeline_row(a, TimelineKind.ESCALATED, ENGINE, _at(5))])
        incidents.resolve(s, a, actor=WHO, now=_at(40))
        incidents.reopen(s, a, actor=WHO, now=_at(45))
        incidents.resolve(s, a, actor=WHO, now=_at(50))
        incidents.set_phase_model(s, c, "nist", actor=WHO, now=_at(3))
        incidents.acknowledge(s, c, actor=WHO, now=_at(20))
    computed = _report(db, _at(120))
    with db.unit_of_work() as s:
        assert facts.backfill(s, now=_at(60)) == (3, False)
    with db.reader() as s:
        assert all(r.known for r in repo.incident_rows(s, P.since, P.until))
    assert _report(db, _at(120)) == computed
    overall = computed["overall"]
    assert isinstance(overall, dict)
    assert overall["escalations"] == {"total": 1, "per_incident": 0.333}
    assert overall["reopened"] == 1
    kept = _kept(db)
    # A: triage 10 min, investigating 30, resolved 5, investigating again 5, then resolved since 50.
    assert kept[a].in_triage == 600.0
    assert kept[a].in_investigating == 2100.0
    assert (kept[a].open_status, kept[a].open_since) == ("resolved", _at(50).timestamp())
    assert (kept[a].escalations, kept[a].reopened, kept[a].resolve) == (1, 1, pytest.approx(3000.0, abs=0.01))
    assert (kept[b].open_status, kept[b].in_triage) == ("triage", None)
    assert kept[c].phase_model == "nist"


def test_a_fact_older_than_its_incident_is_not_trusted(db: Database) -> None:
    a, _, _ = _declare(db, 3)
    with db.unit_of_work() as s:
        facts.backfill(s, now=_at(3))
    with db.unit_of_work() as s:
        # Acknowledged after the fact was written, and no consumer has run since.
        incidents.acknowledge(s, a, actor=WHO, now=_at(7))
    with db.reader() as s:
        assert [r.known for r in repo.incident_rows(s, P.since, P.until)] == [False, True, True]
    overall = _report(db, _at(30))["overall"]
    assert isinstance(overall, dict)
    assert overall["mtta"]["median"] == 420.0
    assert _kept(db)[a].ack is None


def test_the_consumer_rewrites_the_facts_of_the_incidents_its_events_name(db: Database) -> None:
    module = EventDeliveryModule(db, ConsumerRegistry([consumer.consumer()]), owner="facts-test")
    module.run_once(T0)
    a, b = _declare(db, 2)
    with db.unit_of_work() as s:
        incidents.acknowledge(s, a, actor=WHO, now=_at(4))
        incident_repo.add_timeline(s, [timeline_row(a, TimelineKind.ESCALATED, ENGINE, _at(5))])
    module.run_once(_at(6))
    kept = _kept(db)
    assert set(kept) == {a, b}
    assert (kept[a].ack, kept[a].escalations, kept[a].open_status) == (
        pytest.approx(240.0, abs=0.01),
        1,
        "investigating",
    )
    with db.reader() as s:
        assert all(r.known for r in repo.incident_rows(s, P.since, P.until))
    # A page sent is none of its business: no event type of paging is asked for.
    assert "incident.notified" not in consumer.TYPES
    assert {"incident.escalated", "incident.acknowledged", "incident.updated"} <= consumer.TYPES


def test_writing_the_same_facts_twice_or_from_an_older_incident_keeps_the_newest(db: Database) -> None:
    (a,) = _declare(db, 1)
    with db.unit_of_work() as s:
        assert facts.refresh(s, [a], now=_at(1)) == 1
        # A second writer (another engine's backfill, the consumer) writing the same incident: no key clash.
        assert facts.refresh(s, [a], now=_at(1)) == 1
        (older,) = facts.compute_for(s, [a])
        old_stamp = incidents.get(s, a).updated_at
    with db.unit_of_work() as s:
        incidents.acknowledge(s, a, actor=WHO, now=_at(8))
        facts.refresh(s, [a], now=_at(9))
    with db.unit_of_work() as s:
        # A writer that read the incident before the acknowledgement commits last: its row does not win.
        repo.upsert_facts(s, [facts._row(older, old_stamp, _at(10))])
    kept = _kept(db)[a]
    assert kept.open_status == "investigating"
    assert kept.ack == pytest.approx(480.0, abs=0.01)
