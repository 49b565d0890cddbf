"""Incident events on a real database (SQLite and PostgreSQL): one event per change in the change's transaction,
numbered in commit order, handed to each consumer in order, once per cursor move, with stable idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import make_service, make_user
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import FakeClock
from tocsin.db import deferred
from tocsin.db.session import Database
from tocsin.engine.modules.delivery_retention import DeliveryRetentionModule
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.events import repository as events_repo
from tocsin.events import service as events
from tocsin.events.models import EventConsumer, IncidentEvent
from tocsin.events.registry import Consumer, ConsumerRegistry, Event
from tocsin.incidents import service as incidents
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.schemas import Actor


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.seen: list[Event] = []
        self.fail_times = fail_times

    def __call__(self, session: Session, batch: Sequence[Event], now: datetime) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("consumer down")
        self.seen.extend(batch)


def _open(db: Database, clock: FakeClock, *keys: str) -> list[int]:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    trigger = [NormalizedEvent(action="trigger", dedup_key=k, summary=f"down {k}", severity="critical") for k in keys]
    with db.unit_of_work() as s:
        ingest_batch(s, [Submission(integration_key=integ.key, events=trigger)], now=clock.now())
    with db.reader() as s:
        return sorted(s.execute(select(TimelineEntry.incident_id).distinct()).scalars())


def _events(db: Database) -> list[IncidentEvent]:
    with db.reader() as s:
        return list(s.execute(select(IncidentEvent).order_by(IncidentEvent.id)).scalars())


def test_every_change_writes_one_event_of_the_timeline_kind_with_the_changed_fields(
    db: Database, clock: FakeClock
) -> None:
    (incident_id,) = _open(db, clock, "a")
    with db.unit_of_work() as s:
        user = make_user(s, clock.now())
    actor = Actor(label="alice", source="api", user_id=user.id)
    with db.unit_of_work() as s:
        incidents.acknowledge(s, incident_id, actor=actor, now=clock.now())
    with db.unit_of_work() as s:
        incidents.update_fields(s, incident_id, actor=actor, now=clock.now(), severity="SEV2", title="db down")
    with db.unit_of_work() as s:
        incidents.add_note(s, incident_id, "looking", actor=actor, now=clock.now())
    with db.unit_of_work() as s:
        incidents.resolve(s, incident_id, actor=actor, now=clock.now())

    with db.reader() as s:
        kinds = [t.kind for t in incidents.timeline(s, incident_id)]
    found = _events(db)
    assert [e.type for e in found] == ["incident." + k for k in kinds]
    by_type = {e.type: e for e in found}
    assert by_type["incident.acknowledged"].changes == {
        "status": ["triggered", "acknowledged"],
        "response_status": ["triage", "investigating"],
    }
    assert by_type["incident.acknowledged"].actor_user_id == user.id
    assert by_type["incident.updated"].changes == {"severity": ["SEV1", "SEV2"], "title": ["down a", "db down"]}
    assert by_type["incident.note"].message == "looking"
    assert by_type["incident.note"].changes == {}
    assert by_type["incident.resolved"].changes == {
        "status": ["acknowledged", "resolved"],
        "response_status": ["investigating", "resolved"],
    }
    assert all(e.seq is None for e in found)


def test_a_change_rolled_back_leaves_no_event(db: Database, clock: FakeClock) -> None:
    (incident_id,) = _open(db, clock, "a")
    before = len(_events(db))
    added: list[int] = []

    def change_that_fails() -> None:
        with db.unit_of_work() as s:
            incidents.acknowledge(s, incident_id, actor=Actor(label="x", source="api"), now=clock.now())
            added.append(len(events_repo.pending(s)))
            raise RuntimeError("the change fails after its event was added")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert added == [1]
    assert len(_events(db)) == before
    with db.reader() as s:
        assert [t.kind for t in incidents.timeline(s, incident_id)] == ["triggered"]
    # The same change, committed, writes its event; the rolled-back one left nothing behind in the session.
    with db.unit_of_work() as s:
        incidents.acknowledge(s, incident_id, actor=Actor(label="x", source="api"), now=clock.now())
    assert [e.type for e in _events(db)][before:] == ["incident.acknowledged"]


def test_the_ingest_path_writes_the_events_of_a_batch(db: Database, clock: FakeClock) -> None:
    ids = _open(db, clock, "a", "b", "c")
    assert len(ids) == 3
    assert sorted(e.incident_id for e in _events(db) if e.type == "incident.triggered") == ids


def _module(db: Database, *consumers: Consumer) -> EventDeliveryModule:
    return EventDeliveryModule(db, ConsumerRegistry(consumers), owner="w1", lease=timedelta(seconds=30))


def test_consumers_get_every_event_once_in_order_with_a_key_per_event_and_consumer(
    db: Database, clock: FakeClock
) -> None:
    everything, resolved = Recorder(), Recorder()
    module = _module(
        db,
        Consumer("everything", everything),
        Consumer("resolved-only", resolved, types=frozenset({"incident.resolved"}), batch=2),
    )
    module.run_once(clock.now())  # registers the cursors: they start after what exists (nothing here)
    ids = _open(db, clock, "a", "b")
    actor = Actor(label="x", source="api")
    for incident_id in ids:
        with db.unit_of_work() as s:
            incidents.acknowledge(s, incident_id, actor=actor, now=clock.now())
        with db.unit_of_work() as s:
            incidents.resolve(s, incident_id, actor=actor, now=clock.now())
    while module.run_once(clock.now()):
        pass

    stored = _events(db)
    assert [e.id for e in everything.seen] == [e.id for e in stored]
    assert [e.seq for e in everything.seen] == sorted(e.seq for e in everything.seen)
    for incident_id in ids:
        mine = [e.type for e in everything.seen if e.incident_id == incident_id]
        assert mine[0] == "incident.triggered"
        assert mine[-2:] == ["incident.acknowledged", "incident.resolved"]
    assert [e.type for e in resolved.seen] == ["incident.resolved", "incident.resolved"]
    assert {e.key for e in everything.seen} == {f"everything.{e.id}" for e in stored}
    assert resolved.seen[0].key == f"resolved-only.{resolved.seen[0].id}"
    # Nothing new: nothing handed again.
    assert module.run_once(clock.now()) == 0
    assert len(everything.seen) == len(stored)


def test_a_failing_consumer_gets_the_same_events_again_after_its_back_off(db: Database, clock: FakeClock) -> None:
    flaky = Recorder(fail_times=1)
    module = _module(db, Consumer("flaky", flaky))
    module.run_once(clock.now())
    _open(db, clock, "a")
    module.run_once(clock.now())
    assert flaky.seen == []
    with db.reader() as s:
        cursor = s.execute(select(EventConsumer)).scalar_one()
        assert cursor.attempts == 1
        assert cursor.last_error is not None
        assert "consumer down" in cursor.last_error
        assert cursor.due_at is not None
        assert cursor.due_at > clock.now()
    assert module.run_once(clock.now()) == 0  # backing off
    clock.advance(2)
    module.run_once(clock.now())
    assert [e.key for e in flaky.seen] == [f"flaky.{e.id}" for e in _events(db)]


def test_a_claim_whose_fence_moved_on_moves_nothing(db: Database, clock: FakeClock) -> None:
    seen = Recorder()
    registry = ConsumerRegistry([Consumer("c", seen)])
    with db.unit_of_work() as s:
        events.register_consumers(s, registry, now=clock.now())
    _open(db, clock, "a")
    with db.unit_of_work() as s:
        events.sequence(s)
    lease = timedelta(seconds=5)
    with db.unit_of_work() as s:
        (stale,) = events.claim_consumers(s, now=clock.now(), owner="w1", lease=lease, limit=5)
    clock.advance(10)  # w1 stalls past its lease; w2 takes the cursor over
    with db.unit_of_work() as s:
        (fresh,) = events.claim_consumers(s, now=clock.now(), owner="w2", lease=lease, limit=5)
    assert fresh.fence == stale.fence + 1
    with db.unit_of_work() as s:
        assert events.deliver(s, stale, registry, now=clock.now()) == 0
    assert seen.seen == []
    with db.unit_of_work() as s:
        assert events.deliver(s, fresh, registry, now=clock.now()) == 1


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_an_event_committed_after_a_later_one_is_still_delivered(db: Database, clock: FakeClock) -> None:
    """PostgreSQL hands out ids before commit: a transaction that took a lower id and commits late must not be
    skipped by a consumer that already passed the higher one."""
    seen = Recorder()
    module = _module(db, Consumer("c", seen))
    module.run_once(clock.now())
    first, second = _open(db, clock, "a", "b")
    while module.run_once(clock.now()):
        pass
    seen.seen.clear()
    actor = Actor(label="x", source="api")
    with db.unit_of_work() as slow:
        incidents.acknowledge(slow, first, actor=actor, now=clock.now())
        # Take the event's id now, as a transaction whose commit is slow to come after its rows were written.
        deferred.write_now(slow)
        with db.unit_of_work() as fast:
            incidents.acknowledge(fast, second, actor=actor, now=clock.now())
        while module.run_once(clock.now()):
            pass
        assert [e.incident_id for e in seen.seen] == [second]
    while module.run_once(clock.now()):
        pass
    assert [e.incident_id for e in seen.seen] == [second, first]
    assert seen.seen[1].id < seen.seen[0].id
    assert seen.seen[1].seq > seen.seen[0].seq  # type: ignore[operator]


def test_retention_prunes_old_events_only_once_every_consumer_has_passed_them(db: Database, clock: FakeClock) -> None:
    fast, slow = Recorder(), Recorder(fail_times=1000)
    registry = ConsumerRegistry([Consumer("fast", fast), Consumer("slow", slow)])
    module = EventDeliveryModule(db, registry, owner="w1")
    module.run_once(clock.now())
    _open(db, clock, "a")
    module.run_once(clock.now())
    retention = DeliveryRetentionModule(db, consumers=registry, events_keep=timedelta(days=1))
    clock.advance(2 * 86400)
    retention.run_once(clock.now())
    assert len(_events(db)) == 1  # slow has not passed it
    slow.fail_times = 0
    module.run_once(clock.now())
    assert len(slow.seen) == 1
    retention._next = None
    retention.run_once(clock.now())
    assert _events(db) == []
