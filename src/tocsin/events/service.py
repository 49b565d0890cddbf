"""Event use cases: write (from timeline rows), sequence, deliver to one consumer, prune. Each takes a session and
never commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.db.claims import Claim
from tocsin.events import repository as repo
from tocsin.events.models import IncidentEvent
from tocsin.events.registry import ConsumerRegistry, Event, idempotency_key
from tocsin.events.retry import consumer_retry_delay


def sequence(session: Session, *, limit: int = 1000) -> int:
    return repo.sequence(session, limit=limit)


def register_consumers(session: Session, registry: ConsumerRegistry, *, now: datetime) -> None:
    """Give every registered consumer a cursor; a new one starts after the events already there (it is not
    handed the past)."""
    known = {c.name for c in repo.consumers(session, registry.names())}
    start = repo.last_seq(session)
    for name in registry.names():
        if name not in known:
            repo.add_consumer(session, name, position=start, now=now)


def has_work(session: Session, names: Collection[str], *, now: datetime) -> bool:
    """Whether a pass would find anything: events to sequence, or a due consumer behind the last ``seq``."""
    if repo.any_unsequenced(session):
        return True
    last = repo.last_seq(session)
    return any(c.position < last and (c.due_at is None or c.due_at <= now) for c in repo.consumers(session, names))


def claim_consumers(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return repo.CONSUMER_CLAIMS.claim(session, now=now, owner=owner, lease=lease, limit=limit)


def _event(row: IncidentEvent, consumer: str) -> Event:
    assert row.seq is not None
    return Event(
        id=row.id,
        seq=row.seq,
        incident_id=row.incident_id,
        type=row.type,
        at=row.at,
        source=row.source,
        actor_user_id=row.actor_user_id,
        actor=row.actor,
        message=row.message,
        changes=dict(row.changes or {}),
        key=idempotency_key(consumer, row.id),
    )


def deliver(session: Session, claim: Claim, registry: ConsumerRegistry, *, now: datetime) -> int:
    """Hand the claimed consumer its next events and move its cursor past them, in this transaction; returns how
    many it was given. Nothing happens when the claim's fence is no longer the current one."""
    row = repo.lock_consumer(session, claim)
    if row is None:
        return 0
    consumer = registry.get(row.name)
    if consumer is None:
        # A consumer this version no longer has: its cursor stops being claimed (retention only counts the
        # registered consumers).
        row.due_at = None
        return 0
    # Read first: every event up to it is committed and visible to the next statement (the sequencer writes it in
    # the transaction that numbers them), so a batch shorter than asked for means the consumer is past ``top``.
    top = repo.last_seq(session)
    rows = repo.after(session, row.position, upto=top, types=consumer.types, limit=consumer.batch)
    if rows:
        consumer.handler(session, [_event(r, consumer.name) for r in rows], now)
    if len(rows) < consumer.batch:
        row.position = max(row.position, top)
    else:
        last = rows[-1].seq
        assert last is not None
        row.position = last
    row.attempts = 0
    row.last_error = None
    row.due_at = now
    row.updated_at = now
    return len(rows)


def delivery_failed(session: Session, claim: Claim, error: str, *, now: datetime) -> None:
    """Back off a consumer whose handler raised; its cursor stays, so it gets the same events again."""
    row = repo.lock_consumer(session, claim)
    if row is None:
        return
    row.attempts += 1
    row.last_error = error[:2000]
    row.due_at = now + consumer_retry_delay(row.attempts)
    row.updated_at = now


def recover_worker(session: Session, owner: str) -> int:
    return repo.release_claims_of(session, owner)


def prune(session: Session, registry: ConsumerRegistry, *, before: datetime, limit: int) -> int:
    """Delete events older than ``before`` that every registered consumer has passed."""
    cursors = repo.consumers(session, registry.names())
    if len(cursors) < len(registry):
        return 0
    upto = min((c.position for c in cursors), default=repo.last_seq(session))
    return repo.delete_events(session, repo.prunable_ids(session, before=before, upto_seq=upto, limit=limit))
