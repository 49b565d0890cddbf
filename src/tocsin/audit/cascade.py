"""Audited rows the database deletes or clears by itself when their parent is deleted (``ON DELETE CASCADE`` or
``SET NULL``): an integration with its service, a token and contact methods with their user, a layer with its
schedule. The session never sees them, so they are read just before the flush that deletes the parent and recorded
with it, as if deleted (or updated) one by one.

Only foreign keys from an audited table to an audited table are followed, found once per table from the metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.orm import Session

from tocsin.audit import repository as repo
from tocsin.audit.catalog import AUDITED, BOOKKEEPING, mask, secret_columns
from tocsin.audit.service import Change


@dataclass(frozen=True, slots=True)
class _Link:
    child: Table
    column: Column[Any]  # the child's foreign key column
    target: Column[Any]  # the parent's column it refers to
    clears: bool  # SET NULL rather than CASCADE


_links: dict[Table, tuple[_Link, ...]] = {}


def _links_to(parent: Table) -> tuple[_Link, ...]:
    try:
        return _links[parent]
    except KeyError:
        pass
    found = tuple(
        _Link(child, fk.parent, fk.column, clears=(fk.ondelete or "").upper() == "SET NULL")
        for child in parent.metadata.tables.values()
        if child.name in AUDITED
        for fk in child.foreign_keys
        if fk.column.table is parent and (fk.ondelete or "").upper() in ("CASCADE", "SET NULL")
    )
    _links[parent] = found
    return found


def _object_id(table: Table, row: dict[str, Any]) -> str:
    return ":".join(str(row.get(col.name, "")) for col in table.primary_key.columns)


def _recorded(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    skip = BOOKKEEPING.get(table.name, frozenset())
    secrets = secret_columns(table.name, row)
    return {
        name: (mask(value, secrets[name]) if name in secrets else value)
        for name, value in row.items()
        if name not in skip
    }


def changes(
    session: Session, deleted: Iterable[tuple[Table, dict[str, Any]]], *, changing: set[tuple[str, str]]
) -> list[Change]:
    """What the database will do by itself when these audited rows (table, values by column name) are deleted.
    ``changing``: rows (table, object id) the same flush updates, whose own entry shows what they become."""
    queue = list(deleted)
    gone = {(table.name, _object_id(table, row)) for table, row in queue}
    found: list[Change] = []
    cleared: dict[tuple[str, str, str], Change] = {}
    while queue:
        parent, row = queue.pop()
        for link in _links_to(parent):
            value = row.get(link.target.name)
            if value is None:
                continue
            kind = AUDITED[link.child.name]
            for child in repo.rows_referencing(session, link.child, link.column, value):
                key = (link.child.name, _object_id(link.child, child))
                if link.clears:
                    data = {"before": {link.column.name: value}, "after": {link.column.name: None}}
                    cleared[(*key, link.column.name)] = Change(f"{kind}.updated", kind, key[1], data)
                elif key not in gone:
                    gone.add(key)
                    found.append(Change(f"{kind}.deleted", kind, key[1], {"before": _recorded(link.child, child)}))
                    queue.append((link.child, child))
    # A row both cleared by one parent and deleted through another is only deleted.
    found.extend(change for (table, oid, _), change in cleared.items() if (table, oid) not in gone | changing)
    return found
