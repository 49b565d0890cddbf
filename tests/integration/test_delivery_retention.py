"""Remembered delivery ids: a retry within the week changes nothing; ids older than a week are forgotten."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.factories import make_service
from tocsin.alerts.models import InboundDelivery
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.delivery_retention import DeliveryRetentionModule


def deliver(db: Database, clock: FakeClock, key: str, delivery_id: str) -> list[str]:
    with db.unit_of_work() as s:
        event = NormalizedEvent("trigger", "alarm-1", summary="High CPU")
        [result] = ingest_batch(s, [Submission(key, events=[event], delivery_id=delivery_id)], now=clock.now())
    return result.outcomes


def remembered(db: Database) -> int:
    with db.reader() as s:
        return int(s.execute(select(func.count()).select_from(InboundDelivery)).scalar_one())


def test_retries_are_recognised_and_old_ids_forgotten(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        key = make_service(s, clock.now(), type="cloudwatch")[1].key
    assert deliver(db, clock, key, "m-1") == ["created"]
    assert deliver(db, clock, key, "m-1") == ["redelivered"]
    clock.advance(timedelta(days=6))
    assert deliver(db, clock, key, "m-2") == ["deduplicated"]
    module = DeliveryRetentionModule(db)

    clock.advance(timedelta(days=1, seconds=1))
    assert module.run_once(clock.now()) == 1
    assert remembered(db) == 1
    assert module.run_once(clock.now()) == 0  # not due again before its cadence
    assert module.next_due() == clock.now() + timedelta(hours=1)
    assert deliver(db, clock, key, "m-2") == ["redelivered"]
