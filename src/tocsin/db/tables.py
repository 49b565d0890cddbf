"""The Core table behind a mapped class, for the hot paths that insert plain rows in bulk.

``insert(Model)`` executed with a list of rows goes through the ORM's bulk machinery, which does per-row work we do
not need for append-only rows (events, timeline entries, timers); ``insert(table_of(Model))`` is a plain
executemany of the same rows and column defaults.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table


def table_of(model: Any) -> Table:
    return cast(Table, model.__table__)
