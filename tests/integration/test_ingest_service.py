"""The ingest service on a real database (SQLite and PostgreSQL): PagerDuty's dedup semantics."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import make_service
from tocsin.alerts.models import Alert, AlertEvent
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.incidents.models import Incident, TimelineEntry


def trigger(key: str | None, summary: str = "CPU high", severity: str = "critical") -> NormalizedEvent:
    return NormalizedEvent(action="trigger", dedup_key=key, summary=summary, severity=severity, source="db1")


def ack(key: str) -> NormalizedEvent:
    return NormalizedEvent(action="acknowledge", dedup_key=key)


def resolve(key: str) -> NormalizedEvent:
    return NormalizedEvent(action="resolve", dedup_key=key)


def run(db: Database, clock: FakeClock, ikey: str, *events: NormalizedEvent) -> list[str]:
    with db.unit_of_work() as s:
        (result,) = ingest_batch(s, [Submission(integration_key=ikey, events=list(events))], now=clock.now())
    assert result.found
    return result.outcomes


def incidents(db: Database) -> list[Incident]:
    with db.reader() as s:
        return list(s.execute(select(Incident).order_by(Incident.number)).scalars())


def test_trigger_opens_one_incident_and_repeats_count(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    assert run(db, clock, integ.key, trigger("k1")) == ["created"]
    clock.advance(5)
    assert run(db, clock, integ.key, trigger("k1"), trigger("k1")) == ["deduplicated", "deduplicated"]
    (incident,) = incidents(db)
    assert incident.number == 1
    assert incident.status == "triggered"
    assert incident.severity == "SEV1"
    assert incident.priority == "P1"
    assert incident.urgency == "high"
    assert incident.alert_count == 1
    with db.reader() as s:
        alert = s.execute(select(Alert)).scalar_one()
        assert alert.event_count == 3
        assert s.execute(select(func.count()).select_from(AlertEvent)).scalar_one() == 3


def test_acknowledge_then_resolve_follow_the_alert(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    run(db, clock, integ.key, trigger("k1"))
    assert run(db, clock, integ.key, ack("k1")) == ["acknowledged"]
    assert incidents(db)[0].status == "acknowledged"
    assert run(db, clock, integ.key, ack("k1")) == ["ignored"]
    assert run(db, clock, integ.key, resolve("k1")) == ["resolved"]
    (incident,) = incidents(db)
    assert incident.status == "resolved"
    assert incident.resolved_at == clock.now()
    with db.reader() as s:
        kinds = list(
            s.execute(
                select(TimelineEntry.kind).where(TimelineEntry.incident_id == incident.id).order_by(TimelineEntry.id)
            ).scalars()
        )
    assert kinds == ["triggered", "acknowledged", "resolved"]


def test_ack_and_resolve_never_create(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    assert run(db, clock, integ.key, ack("nope"), resolve("nope")) == ["ignored", "ignored"]
    assert incidents(db) == []


def test_trigger_after_resolve_opens_a_new_incident(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    run(db, clock, integ.key, trigger("k1"), resolve("k1"))
    run(db, clock, integ.key, trigger("k1"))
    first, second = incidents(db)
    assert (first.status, second.status) == ("resolved", "triggered")
    assert (first.number, second.number) == (1, 2)


def test_dedup_is_per_integration(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, a = make_service(s, clock.now(), name="a")
        _, b = make_service(s, clock.now(), name="b")
    run(db, clock, a.key, trigger("same"))
    run(db, clock, b.key, trigger("same"))
    assert len(incidents(db)) == 2


def test_missing_dedup_key_is_generated_and_returned(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    with db.unit_of_work() as s:
        (result,) = ingest_batch(s, [Submission(integ.key, events=[trigger(None)])], now=clock.now())
    assert len(result.dedup_keys[0]) == 32
    assert run(db, clock, integ.key, resolve(result.dedup_keys[0])) == ["resolved"]


def test_unknown_key_is_reported_and_others_in_the_batch_still_apply(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    with db.unit_of_work() as s:
        results = ingest_batch(
            s,
            [Submission("0" * 32, events=[trigger("x")]), Submission(integ.key, events=[trigger("x")])],
            now=clock.now(),
        )
    assert [r.found for r in results] == [False, True]
    assert len(incidents(db)) == 1


def test_trigger_and_resolve_in_one_batch(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    assert run(db, clock, integ.key, trigger("k"), ack("k"), resolve("k"), trigger("k")) == [
        "created",
        "acknowledged",
        "resolved",
        "created",
    ]
    first, second = incidents(db)
    assert first.status == "resolved"
    assert first.acknowledged_at is not None
    assert second.status == "triggered"


def test_auto_resolve_off_keeps_incident_open(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now(), auto_resolve=False)
    run(db, clock, integ.key, trigger("k"), resolve("k"))
    assert incidents(db)[0].status == "triggered"


def test_severity_based_urgency(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now(), urgency="severity_based")
    run(db, clock, integ.key, trigger("a", severity="warning"), trigger("b", severity="error"))
    low, high = incidents(db)
    assert (low.urgency, low.priority) == ("low", "P4")
    assert (high.urgency, high.priority) == ("high", "P2")


def test_alerts_opened_in_one_batch_are_stored_in_order_with_their_events(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    run(db, clock, integ.key, trigger("old"))
    outcomes = run(
        db, clock, integ.key, resolve("old"), trigger("old"), trigger("a"), resolve("a"), trigger("a"), trigger("b")
    )
    assert outcomes == ["resolved", "created", "created", "resolved", "created", "created"]
    with db.reader() as s:
        alerts = list(s.execute(select(Alert).order_by(Alert.id)).scalars())
        assert [(a.dedup_key, a.status) for a in alerts] == [
            ("old", "resolved"),
            ("old", "triggered"),
            ("a", "resolved"),
            ("a", "triggered"),
            ("b", "triggered"),
        ]
        # Nothing muted them: no reason stored, as SQL NULL rather than JSON null.
        assert s.execute(select(func.count()).where(Alert.suppressed_by.is_(None))).scalar_one() == 5
        events = list(s.execute(select(AlertEvent).order_by(AlertEvent.id)).scalars())
        first_old, second_old, first_a, second_a, b = (a.id for a in alerts)
        assert [e.alert_id for e in events] == [first_old, first_old, second_old, first_a, first_a, second_a, b]
        counts = {i.id: i.alert_count for i in s.execute(select(Incident)).scalars()}
        assert all(counts[a.incident_id] == 1 for a in alerts if a.incident_id is not None)
