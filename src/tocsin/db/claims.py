"""Claiming due rows with a lease and a fencing token — the one mechanism every engine module uses.

A claim sets ``lease_owner``/``lease_until`` and increments ``fence``. Later writes about the row are conditional on
the fence the claimer got, so a worker that stalled past its lease (and whose row was re-claimed) changes nothing.
A worker may re-claim rows it holds itself (each module of a worker runs its claims to the end within one pass, so
a row still leased to it at the next pass was abandoned by an error); owners must therefore be unique per process.
On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several workers claim disjoint rows concurrently; SQLite has a single
writer, which serialises claims by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    fence: int


class DueRows:
    """The due rows of one table, claimed with a lease and a fencing token. Every statement is built once, on the
    table rather than the mapped class: a claim then costs its execution, not its construction and the ORM's
    bookkeeping (most of a small claim's CPU otherwise)."""

    def __init__(
        self,
        table: Table,
        *,
        due_column: Column[Any],
        ready: ColumnElement[bool],
        first: ColumnElement[Any] | None = None,
    ) -> None:
        c = table.c
        # A lease keeps other workers away. Its holder may take the row again at once: a pass that died half-way
        # (the database dropped its connection after the claim committed) then resumes on the next pass instead of
        # waiting out the lease. The new fence voids whatever the earlier claim could still try to write.
        now = bindparam("now", type_=due_column.type)
        lease_free = or_(c.lease_until.is_(None), c.lease_until < now, c.lease_owner == bindparam("owner"))
        order = [due_column, c.id] if first is None else [first, due_column, c.id]
        self._find = (
            select(c.id, first if first is not None else literal(0))
            .where(and_(ready, due_column.is_not(None), due_column <= now, lease_free))
            .order_by(*order)
            .limit(bindparam("limit", type_=Integer()))
        )
        self._find_skip_locked = self._find.with_for_update(skip_locked=True)
        self._take = (
            update(table)
            .where(c.id.in_(bindparam("ids", expanding=True)))
            .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"), fence=c.fence + 1)
            .returning(c.id, c.fence)
        )
        self._release = (
            update(table)
            .where(ready, c.lease_owner == bindparam("owner"), c.lease_until.is_not(None))
            .values(lease_owner=None, lease_until=None, fence=c.fence + 1)
        )
        self._next = select(due_column).where(ready, due_column.is_not(None)).order_by(due_column).limit(1)

    def claim(self, session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
        """Claim up to ``limit`` due rows, oldest due first; ``first`` (an expression, lower sorts first) puts some
        kinds of due work ahead of the rest whatever their due times, so that a backlog cannot delay it. A batch
        then holds one rank only: its rows are worked on together (pages sent concurrently), and work of a later
        rank must not be in flight beside work that goes first."""
        postgres = session.get_bind().dialect.name == "postgresql"
        find = self._find_skip_locked if postgres else self._find
        found = session.execute(find, {"now": now, "owner": owner, "limit": limit}).all()
        if not found:
            return []
        ids = [row[0] for row in found if row[1] == found[0][1]]
        rows = session.execute(self._take, {"ids": ids, "owner": owner, "until": now + lease}).all()
        order = {row_id: i for i, row_id in enumerate(ids)}
        return sorted((Claim(id=r[0], fence=r[1]) for r in rows), key=lambda c: order[c.id])

    def release_owned(self, session: Session, *, owner: str) -> int:
        """Drop the leases a named worker holds, moving the fence on so that anything it still has in hand is
        stale.

        A worker restarting under the same name calls this: its previous life is gone, and waiting for those
        leases to run out would hold back work that is due now. Worker names must be unique among live workers.
        """
        result = session.execute(self._release, {"owner": owner})
        return int(getattr(result, "rowcount", 0) or 0)

    def next_due(self, session: Session) -> datetime | None:
        value: datetime | None = session.execute(self._next).scalar_one_or_none()
        return value


def fenced_rows(table: Table, columns: Sequence[ColumnElement[Any]]) -> Select[Any]:
    """The statement (to build once) reading these columns of the claimed rows whose fence is still the claimer's,
    locked for the transaction, in id order; ``lock_fenced`` runs it."""
    return (
        select(*columns)
        .where(tuple_(table.c.id, table.c.fence).in_(bindparam("claims", expanding=True)))
        .order_by(table.c.id)
        .with_for_update()
    )


def lock_fenced(session: Session, stmt: Select[Any], claims: Iterable[Claim]) -> Sequence[Any]:
    """Run a ``fenced_rows`` statement for these claims; a row claimed again since is left out."""
    wanted = sorted({(c.id, c.fence) for c in claims})
    return session.execute(stmt, {"claims": wanted}).all() if wanted else []


def lock_if_fenced(session: Session, model: Any, claim: Claim) -> Any | None:
    """The row, locked for this transaction, if our fence is still the current one; otherwise None."""
    stmt = select(model).where(model.id == claim.id, model.fence == claim.fence).with_for_update()
    return session.execute(stmt).scalar_one_or_none()
