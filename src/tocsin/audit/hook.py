"""Records every insert, update and delete of an audited table in the transaction that makes it.

A listener on every session's ``after_flush``: at that point the session still lists what it flushed (new, dirty,
deleted) with each attribute's history, and the rows have their keys. Only instances of audited classes are looked
at, with the answer cached per class, so a flush of incidents, alerts or pages costs a dictionary look-up per
object. The entries go in through the session's connection, in the same transaction as the change.

Rows the database deletes or clears by itself along with a deleted audited row (``ON DELETE CASCADE``, ``SET
NULL``) are read by a ``before_flush`` listener and recorded with it (``audit/cascade.py``).

Statements that bypass the unit of work (Core ``insert``/``update``/``delete``) are not seen here: audited tables
are written through the ORM only (the paging path's Core statements touch incidents, escalations and
notifications, none of them audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, event, inspect
from sqlalchemy.orm import InstanceState, Mapper, Session, UOWTransaction

from tocsin.audit import cascade, service
from tocsin.audit.catalog import AUDITED, BOOKKEEPING, mask, secret_columns
from tocsin.audit.service import Change


@dataclass(frozen=True, slots=True)
class _Spec:
    table: str
    object_type: str
    columns: tuple[tuple[str, str], ...]  # (attribute key, column name), bookkeeping columns left out
    key_attrs: tuple[str, ...]
    local_table: Table


_CASCADE_KEY = "tocsin_audit_cascade"
_specs: dict[type, _Spec | None] = {}


def _spec(cls: type) -> _Spec | None:
    try:
        return _specs[cls]
    except KeyError:
        pass
    table = getattr(cls, "__tablename__", None)
    found: _Spec | None = None
    if table in AUDITED:
        mapper: Mapper[Any] = inspect(cls)
        skip = BOOKKEEPING.get(table, frozenset())
        columns = tuple(
            (attr.key, attr.columns[0].name) for attr in mapper.column_attrs if attr.columns[0].name not in skip
        )
        keys = tuple(mapper.get_property_by_column(col).key for col in mapper.primary_key)
        local = mapper.local_table
        assert isinstance(local, Table)
        found = _Spec(table=table, object_type=AUDITED[table], columns=columns, key_attrs=keys, local_table=local)
    _specs[cls] = found
    return found


def _object_id(spec: _Spec, state: InstanceState[Any]) -> str:
    if state.identity is not None:  # also when the attributes were expired by an earlier commit
        return ":".join(str(value) for value in state.identity)
    return ":".join(str(state.dict.get(key, "")) for key in spec.key_attrs)


def _masked(spec: _Spec, values: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    secrets = secret_columns(spec.table, row)
    return {name: (mask(value, secrets[name]) if name in secrets else value) for name, value in values.items()}


def _row(spec: _Spec, state: InstanceState[Any]) -> dict[str, Any]:
    # state.dict: what is loaded, never a lazy load in the middle of a flush.
    return {name: state.dict[key] for key, name in spec.columns if key in state.dict}


def _created(spec: _Spec, state: InstanceState[Any]) -> Change:
    row = _row(spec, state)
    return Change(
        f"{spec.object_type}.created", spec.object_type, _object_id(spec, state), {"after": _masked(spec, row, row)}
    )


def _deleted(spec: _Spec, state: InstanceState[Any]) -> Change:
    row = _row(spec, state)
    return Change(
        f"{spec.object_type}.deleted", spec.object_type, _object_id(spec, state), {"before": _masked(spec, row, row)}
    )


def _updated(spec: _Spec, state: InstanceState[Any]) -> Change | None:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key, name in spec.columns:
        history = state.attrs[key].history
        if not history.added and not history.deleted:
            continue
        old = history.deleted[0] if history.deleted else (history.unchanged[0] if history.unchanged else None)
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[name] = old
        after[name] = new
    if not after:
        return None
    row = _row(spec, state)
    old_row = {**row, **before}
    data = {"before": _masked(spec, before, old_row), "after": _masked(spec, after, row)}
    return Change(f"{spec.object_type}.updated", spec.object_type, _object_id(spec, state), data)


def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Reads the rows the database will delete or clear along with the audited rows this flush deletes."""
    deleted: list[tuple[Table, dict[str, Any]]] = []
    for obj in session.deleted:
        spec = _spec(type(obj))
        if spec is not None:
            state = inspect(obj)
            row = _row(spec, state)
            # The key is known even when the attributes were expired by an earlier commit.
            for column, value in zip(state.mapper.primary_key, state.identity or (), strict=False):
                row.setdefault(column.name, value)
            deleted.append((spec.local_table, row))
    if not deleted:
        session.info.pop(_CASCADE_KEY, None)
        return
    changing = set()
    for obj in session.dirty:
        spec = _spec(type(obj))
        if spec is not None:
            changing.add((spec.table, _object_id(spec, inspect(obj))))
    session.info[_CASCADE_KEY] = cascade.changes(session, deleted, changing=changing)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    changes: list[Change] = list(session.info.pop(_CASCADE_KEY, ()))
    for obj in session.new:
        spec = _spec(type(obj))
        if spec is not None:
            changes.append(_created(spec, inspect(obj)))
    for obj in session.dirty:
        spec = _spec(type(obj))
        if spec is not None:
            change = _updated(spec, inspect(obj))
            if change is not None:
                changes.append(change)
    for obj in session.deleted:
        spec = _spec(type(obj))
        if spec is not None:
            changes.append(_deleted(spec, inspect(obj)))
    if changes:
        changes.sort(key=lambda c: (c.object_type, c.object_id))
        service.append(session, changes)


def install() -> None:
    """Listens on every session of the process (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
