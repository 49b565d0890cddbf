"""Every query on incident events, the sequencer and the consumers' cursors."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, true, update
from sqlalchemy.orm import Session

from tocsin.db import deferred
from tocsin.db.claims import Claim, DueRows
from tocsin.db.session import EVENT_WORK, note_new_work
from tocsin.db.tables import table_of
from tocsin.events.models import EventConsumer, EventSequencer, IncidentEvent

_EVENTS = table_of(IncidentEvent)
_INSERT_EVENTS = insert(_EVENTS)
_SEQUENCER = table_of(EventSequencer)
_CONSUMERS = table_of(EventConsumer)
SEQUENCER_ROW = 1

# A no-op write that takes the sequencer's row lock: sequencing runs one worker at a time, and the rows it then
# reads were all committed before it got the lock.
_LOCK_SEQUENCER = (
    update(_SEQUENCER)
    .where(_SEQUENCER.c.id == SEQUENCER_ROW)
    .values(last_seq=_SEQUENCER.c.last_seq)
    .returning(_SEQUENCER.c.last_seq)
)
_SET_SEQUENCER = update(_SEQUENCER).where(_SEQUENCER.c.id == SEQUENCER_ROW).values(last_seq=bindparam("last"))
_UNSEQUENCED = select(_EVENTS.c.id).where(_EVENTS.c.seq.is_(None)).order_by(_EVENTS.c.id).limit(bindparam("limit"))
_GIVE_SEQ = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("event_id"), _EVENTS.c.seq.is_(None))
    .values(seq=bindparam("new_seq"))
)
_ANY_UNSEQUENCED = select(_EVENTS.c.id).where(_EVENTS.c.seq.is_(None)).limit(1)
_LAST_SEQ = select(_SEQUENCER.c.last_seq).where(_SEQUENCER.c.id == SEQUENCER_ROW)

CONSUMER_CLAIMS = DueRows(_CONSUMERS, due_column=_CONSUMERS.c.due_at, ready=true())


def add(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append events in the caller's transaction (written when it commits, all in one executemany) and wake the
    engines that deliver them."""
    if rows:
        deferred.defer(session, _INSERT_EVENTS, rows)
        note_new_work(session, EVENT_WORK)


def pending(session: Session) -> list[dict[str, Any]]:
    """The events this transaction has added so far (they are written when it commits)."""
    return deferred.pending(session, _INSERT_EVENTS)


def sequence(session: Session, *, limit: int) -> int:
    """Give the next ``seq`` numbers to up to ``limit`` committed events without one, in id order."""
    last = session.execute(_LOCK_SEQUENCER).scalar_one_or_none()
    if last is None:
        # A database whose row is gone (a wiped test database) gets it back, starting after what is there.
        top = session.execute(select(func.max(_EVENTS.c.seq))).scalar_one_or_none() or 0
        session.execute(insert(_SEQUENCER), {"id": SEQUENCER_ROW, "last_seq": top})
        last = top
    ids = session.execute(_UNSEQUENCED, {"limit": limit}).scalars().all()
    if not ids:
        return 0
    session.execute(_GIVE_SEQ, [{"event_id": i, "new_seq": last + n} for n, i in enumerate(ids, start=1)])
    session.execute(_SET_SEQUENCER, {"last": last + len(ids)})
    return len(ids)


def any_unsequenced(session: Session) -> bool:
    return session.execute(_ANY_UNSEQUENCED).first() is not None


def last_seq(session: Session) -> int:
    return int(session.execute(_LAST_SEQ).scalar_one_or_none() or 0)


def after(
    session: Session, position: int, *, upto: int, types: Collection[str] | None, limit: int
) -> list[IncidentEvent]:
    """Sequenced events in (``position``, ``upto``], in ``seq`` order; only those of ``types`` when given."""
    stmt = select(IncidentEvent).where(IncidentEvent.seq > position, IncidentEvent.seq <= upto)
    if types is not None:
        stmt = stmt.where(IncidentEvent.type.in_(types))
    return list(session.execute(stmt.order_by(IncidentEvent.seq).limit(limit)).scalars())


def consumers(session: Session, names: Collection[str] | None = None) -> list[EventConsumer]:
    stmt = select(EventConsumer).order_by(EventConsumer.name)
    if names is not None:
        stmt = stmt.where(EventConsumer.name.in_(names))
    return list(session.execute(stmt).scalars())


def add_consumer(session: Session, name: str, *, position: int, now: datetime) -> EventConsumer:
    consumer = EventConsumer(name=name, position=position, due_at=now, attempts=0, fence=0, updated_at=now)
    session.add(consumer)
    session.flush()
    return consumer


def lock_consumer(session: Session, claim: Claim) -> EventConsumer | None:
    """The consumer's row, locked, if ``claim`` still holds it (its fence is the current one)."""
    stmt = (
        select(EventConsumer).where(EventConsumer.id == claim.id, EventConsumer.fence == claim.fence).with_for_update()
    )
    return session.execute(stmt).scalar_one_or_none()


def release_claims_of(session: Session, owner: str) -> int:
    return CONSUMER_CLAIMS.release_owned(session, owner=owner)


def prunable_ids(session: Session, *, before: datetime, upto_seq: int, limit: int) -> list[int]:
    stmt = (
        select(_EVENTS.c.id).where(_EVENTS.c.seq <= upto_seq, _EVENTS.c.at < before).order_by(_EVENTS.c.id).limit(limit)
    )
    return list(session.execute(stmt).scalars())


def delete_events(session: Session, ids: Sequence[int]) -> int:
    if not ids:
        return 0
    result = session.execute(delete(_EVENTS).where(_EVENTS.c.id.in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)
