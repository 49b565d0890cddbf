"""Rows read into plain objects and written back column by column: the hot paths' alternative to mapped objects.

Loading a batch of mapped objects and flushing their changes costs about ten times what the same SELECT and
UPDATE cost as statements built once: on SQLite that CPU is spent holding the database's only write lock. A
``RowWriter`` remembers, per row, the values of the columns a path may change, and writes back only those that
did change, batch by batch: one executemany per set of changed columns. Columns it does not own stay as they are,
so a change made to them through a mapped object in the same transaction stands.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from sqlalchemy import JSON, Table, Update, bindparam, update
from sqlalchemy.orm import Session


class TrackedRow(Protocol):
    id: int
    # The values of the writer's columns when last read or written, in the writer's order.
    loaded: tuple[Any, ...]


R = TypeVar("R", bound=TrackedRow)


class RowWriter:
    def __init__(self, table: Table, columns: Iterable[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        unknown = [name for name in self.columns if name not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column {', '.join(unknown)}")
        # attrgetter reads all the columns in one call; with one column it returns the value, not a tuple.
        getter = operator.attrgetter(*self.columns)
        self._values: Callable[[Any], tuple[Any, ...]] = (
            getter if len(self.columns) > 1 else (lambda row: (getter(row),))
        )
        # JSON values are copied when remembered, so that one changed in place still differs from the copy.
        self._json = tuple(i for i, name in enumerate(self.columns) if isinstance(table.c[name].type, JSON))
        self._statements: dict[tuple[str, ...], Update] = {}

    def remember(self, row: R) -> R:
        """Take the row's current values as what the database holds; returns the row."""
        values = self._values(row)
        if self._json:
            copied = list(values)
            for i in self._json:
                copied[i] = copy.copy(copied[i])
            values = tuple(copied)
        row.loaded = values
        return row

    def save(self, session: Session, rows: Iterable[TrackedRow]) -> int:
        """Write what changed in these rows since they were remembered; returns how many rows changed."""
        changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            current = self._values(row)
            if current == row.loaded:
                continue
            changed = tuple(
                name for name, old, new in zip(self.columns, row.loaded, current, strict=True) if old != new
            )
            changes.setdefault(changed, []).append(
                {"row_id": row.id, **{f"new_{name}": getattr(row, name) for name in changed}}
            )
            self.remember(row)
        for changed, params in changes.items():
            session.execute(self._statement(changed), params)
        return sum(len(params) for params in changes.values())

    def _statement(self, changed: tuple[str, ...]) -> Update:
        stmt = self._statements.get(changed)
        if stmt is None:
            stmt = self._statements[changed] = (
                update(self.table)
                .where(self.table.c.id == bindparam("row_id"))
                .values({name: bindparam(f"new_{name}") for name in changed})
            )
        return stmt
