"""Every query of the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.audit.chain import HASHED_FIELDS, Head
from tocsin.audit.models import AuditEntry, AuditHead, TokenAddress

_ENTRIES: Table = AuditEntry.__table__  # type: ignore[assignment]
_HEAD: Table = AuditHead.__table__  # type: ignore[assignment]
_ADDRESSES: Table = TokenAddress.__table__  # type: ignore[assignment]
_COLUMNS = [_ENTRIES.c[name] for name in (*HASHED_FIELDS, "hash")]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_user_id: int | None = None
    actor: str | None = None
    token_id: int | None = None
    channel: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def lock_head(conn: Connection) -> Head:
    """The head, locked until the transaction ends (PostgreSQL; on SQLite the writer lock already serialises)."""
    stmt = select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.id == 1).with_for_update()
    row = conn.execute(stmt).one_or_none()
    if row is None:
        _restore_head(conn)
        row = conn.execute(stmt).one()
    return Head(last_id=int(row.last_id), last_hash=row.last_hash)


def _restore_head(conn: Connection) -> None:
    """A database whose head row is gone (emptied by hand, or built without the migrations) goes on from its last
    entry; concurrent appenders insert it once (ON CONFLICT DO NOTHING) and then queue on it as usual."""
    last = conn.execute(select(_ENTRIES.c.id, _ENTRIES.c.hash).order_by(_ENTRIES.c.id.desc()).limit(1)).one_or_none()
    values = {"id": 1, "last_id": last.id if last else 0, "last_hash": last.hash if last else ""}
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(dialect_insert(_HEAD).values(**values).on_conflict_do_nothing())


def append(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(_ENTRIES), rows)
    last = rows[-1]
    conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(last_id=last["id"], last_hash=last["hash"]))


def head(session: Session) -> Head | None:
    row = session.execute(select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.id == 1)).one_or_none()
    return None if row is None else Head(last_id=int(row.last_id), last_hash=row.last_hash)


def _filtered(flt: AuditFilter) -> Any:
    stmt = select(AuditEntry)
    if flt.actor_user_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == flt.actor_user_id)
    if flt.actor:
        stmt = stmt.where(AuditEntry.actor == flt.actor)
    if flt.token_id is not None:
        stmt = stmt.where(AuditEntry.token_id == flt.token_id)
    if flt.channel:
        stmt = stmt.where(AuditEntry.channel == flt.channel)
    if flt.action:
        stmt = stmt.where(AuditEntry.action == flt.action)
    if flt.object_type:
        stmt = stmt.where(AuditEntry.object_type == flt.object_type)
    if flt.object_id:
        stmt = stmt.where(AuditEntry.object_id == flt.object_id)
    if flt.since is not None:
        stmt = stmt.where(AuditEntry.at >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(AuditEntry.at < flt.until)
    return stmt


def newest_first(session: Session, flt: AuditFilter, *, before_id: int | None, limit: int) -> list[AuditEntry]:
    stmt = _filtered(flt)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    return list(session.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit)).scalars())


def oldest_first(session: Session, flt: AuditFilter, *, after_id: int, limit: int) -> list[AuditEntry]:
    stmt = _filtered(flt).where(AuditEntry.id > after_id).order_by(AuditEntry.id).limit(limit)
    return list(session.execute(stmt).scalars())


def chain_rows(session: Session, *, after_id: int, limit: int) -> list[dict[str, Any]]:
    stmt = select(*_COLUMNS).where(_ENTRIES.c.id > after_id).order_by(_ENTRIES.c.id).limit(limit)
    return [dict(row._mapping) for row in session.execute(stmt)]


def iter_chain(session: Session, batch: int = 1000) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        rows = chain_rows(session, after_id=after, limit=batch)
        yield from rows
        if len(rows) < batch:
            return
        after = int(rows[-1]["id"])


def add_token_address(session: Session, token_id: int, ip: str, now: datetime) -> bool:
    """Remembers that a token was used from an address; False when it already was. Two first requests racing on
    PostgreSQL do not fail: the second waits for the first and inserts nothing."""
    conn = session.connection()
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(_ADDRESSES).values(token_id=token_id, ip=ip, first_seen_at=now).on_conflict_do_nothing()
    return conn.execute(stmt.returning(_ADDRESSES.c.token_id)).first() is not None


def rows_referencing(session: Session, table: Table, column: Column[Any], value: Any) -> list[dict[str, Any]]:
    """The rows of ``table`` whose ``column`` holds ``value``, by column name."""
    return [dict(row._mapping) for row in session.execute(select(table).where(column == value))]
