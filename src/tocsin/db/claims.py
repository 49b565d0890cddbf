"""Claiming due rows with a lease and a fencing token — the one mechanism every engine module uses.

A claim sets ``lease_owner``/``lease_until`` and increments ``fence``. Later writes about the row are conditional on
the fence the claimer got, so a worker that stalled past its lease (and whose row was re-claimed) changes nothing.
A worker may re-claim rows it holds itself (each module of a worker runs its claims to the end within one pass, so
a row still leased to it at the next pass was abandoned by an error); owners must therefore be unique per process.
On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several workers claim disjoint rows concurrently; SQLite has a single
writer, which serialises claims by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, select, tuple_, update
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    fence: int


def claim_due(
    session: Session,
    model: Any,
    *,
    due_column: Any,
    ready: ColumnElement[bool],
    now: datetime,
    owner: str,
    lease: timedelta,
    limit: int,
    first: ColumnElement[Any] | None = None,
) -> list[Claim]:
    """Claim up to ``limit`` due rows, oldest due first; ``first`` (an expression, lower sorts first) puts some
    kinds of due work ahead of the rest whatever their due times, so that a backlog cannot delay it. A batch then
    holds one rank only: its rows are worked on together (pages sent concurrently), and work of a later rank must
    not be in flight beside work that goes first."""
    # A lease keeps other workers away. Its holder may take the row again at once: a pass that died half-way
    # (the database dropped its connection after the claim committed) then resumes on the next pass instead of
    # waiting out the lease. The new fence voids whatever the earlier claim could still try to write.
    lease_free = or_(model.lease_until.is_(None), model.lease_until < now, model.lease_owner == owner)
    order = [due_column, model.id] if first is None else [first, due_column, model.id]
    stmt = (
        select(model.id, first if first is not None else literal(0))
        .where(and_(ready, due_column.is_not(None), due_column <= now, lease_free))
        .order_by(*order)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    found = session.execute(stmt).all()
    if not found:
        return []
    ids = [row[0] for row in found if row[1] == found[0][1]]
    rows = session.execute(
        update(model)
        .where(model.id.in_(ids))
        .values(lease_owner=owner, lease_until=now + lease, fence=model.fence + 1)
        .returning(model.id, model.fence)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted((Claim(id=r[0], fence=r[1]) for r in rows), key=lambda c: ids.index(c.id))


def release_owned(session: Session, model: Any, *, owner: str, ready: ColumnElement[bool]) -> int:
    """Drop the leases a named worker holds, moving the fence on so that anything it still has in hand is stale.

    A worker restarting under the same name calls this: its previous life is gone, and waiting for those leases
    to run out would hold back work that is due now. Worker names must be unique among live workers.
    """
    result = session.execute(
        update(model)
        .where(ready, model.lease_owner == owner, model.lease_until.is_not(None))
        .values(lease_owner=None, lease_until=None, fence=model.fence + 1)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def lock_if_fenced(session: Session, model: Any, claim: Claim) -> Any | None:
    """The row, locked for this transaction, if our fence is still the current one; otherwise None."""
    stmt = select(model).where(model.id == claim.id, model.fence == claim.fence).with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def lock_claimed_many(session: Session, model: Any, claims: Iterable[Claim]) -> dict[int, Any]:
    """Those of the claimed rows whose fence is still the claimer's, locked for this transaction, by id; a row
    claimed again since is left out."""
    wanted = sorted({(c.id, c.fence) for c in claims})
    if not wanted:
        return {}
    stmt = select(model).where(tuple_(model.id, model.fence).in_(wanted)).order_by(model.id).with_for_update()
    return {row.id: row for row in session.execute(stmt).scalars()}


def next_due(session: Session, model: Any, *, due_column: Any, ready: ColumnElement[bool]) -> datetime | None:
    stmt = select(due_column).where(ready, due_column.is_not(None)).order_by(due_column).limit(1)
    value: datetime | None = session.execute(stmt).scalar_one_or_none()
    return value
