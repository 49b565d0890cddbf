"""In-process cache of what the public side renders (summary JSON, the page's HTML), invalidated on change.

A service that changes what a page shows marks the page in its session (``touched``); when that session commits,
the page's generation moves on and every entry built for an older generation is dropped. Other processes sharing
the database see a change at the latest after ``MAX_AGE`` (an entry is never older than that).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_AGE = 5.0
_KEY = "statuspages_touched"
_lock = threading.Lock()
_generation: dict[int, int] = {}
_entries: dict[tuple[int, str], tuple[int, float, Any]] = {}
_installed = False


def touched(session: Session, page_id: int) -> None:
    session.info.setdefault(_KEY, set()).add(page_id)
    install()


def invalidate(page_id: int) -> None:
    with _lock:
        _generation[page_id] = _generation.get(page_id, 0) + 1
        for key in [k for k in _entries if k[0] == page_id]:
            del _entries[key]


def clear() -> None:
    with _lock:
        _entries.clear()
        _generation.clear()


def get(page_id: int, name: str, build: Callable[[], T]) -> T:
    now = time.monotonic()
    with _lock:
        generation = _generation.get(page_id, 0)
        found = _entries.get((page_id, name))
    if found is not None and found[0] == generation and now - found[1] < MAX_AGE:
        value: T = found[2]
        return value
    value = build()
    with _lock:
        if _generation.get(page_id, 0) == generation:
            _entries[(page_id, name)] = (generation, now, value)
    return value


def _after_commit(session: Session) -> None:
    pages = session.info.pop(_KEY, None)
    for page_id in pages or ():
        invalidate(page_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


def install() -> None:
    global _installed
    if _installed:
        return
    with _lock:
        if not _installed:
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
            _installed = True
