"""Rows a transaction appends as it goes but writes only when it commits, in one executemany per statement.

Append-only rows that nothing reads back inside the transaction that writes them (incident events) are gathered
here: a transaction that writes one such row at a time (the ingest path resolving a thousand incidents one by one)
then pays one statement for all of them instead of one statement per row. The rows are written in the order they
were appended, inside the same transaction (just before it commits), and dropped if it rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, event
from sqlalchemy.orm import Session

_PENDING = "tocsin_deferred_rows"


def defer(session: Session, stmt: Insert, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` with ``stmt`` (an INSERT built once) when this session's transaction commits."""
    pending: dict[Insert, list[dict[str, Any]]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(stmt, []).extend(rows)


def pending(session: Session, stmt: Insert) -> list[dict[str, Any]]:
    """The rows deferred with ``stmt`` in this transaction so far."""
    found: dict[Insert, list[dict[str, Any]]] = session.info.get(_PENDING, {})
    return list(found.get(stmt, []))


@event.listens_for(Session, "before_commit")
def write_now(session: Session) -> None:
    """Write the rows deferred so far (a commit does it by itself)."""
    deferred: dict[Insert, list[dict[str, Any]]] | None = session.info.pop(_PENDING, None)
    for stmt, rows in (deferred or {}).items():
        session.execute(stmt, rows)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)
