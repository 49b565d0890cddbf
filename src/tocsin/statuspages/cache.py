"""In-process cache of what the public side renders (summary JSON, the page's HTML), invalidated on change.

A service that changes what a page shows marks the page in its session (``touched``); when that session commits,
the page's generation moves on and every entry built for an older generation is dropped. Other processes sharing
the database see a change at the latest after ``MAX_AGE`` (an entry is rebuilt when older than that).

One build at a time per entry: while it runs, other callers of ``get`` wait for it rather than build the same thing
again, and ``peek`` (the event loop's fast path) keeps serving the aged entry of the same generation while one
caller refreshes it in the background (a change made here drops the entry at once; only other processes' changes
wait for the refresh).
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
# Entries about every page (which page a slug names): dropped whenever any page changes.
ANY_PAGE = 0
MISSING: Any = object()
_KEY = "statuspages_touched"
_lock = threading.Lock()
_generation: dict[int, int] = {}
_entries: dict[tuple[int, str], tuple[int, float, Any]] = {}
_builds: dict[tuple[int, str], threading.Lock] = {}
_building: set[tuple[int, str]] = set()
_refreshing: set[tuple[int, str]] = set()
_installed = False


def touched(session: Session, page_id: int) -> None:
    session.info.setdefault(_KEY, set()).add(page_id)
    install()


def invalidate(page_id: int) -> None:
    with _lock:
        for pid in {page_id, ANY_PAGE}:
            _generation[pid] = _generation.get(pid, 0) + 1
        for key in [k for k in _entries if k[0] in (page_id, ANY_PAGE)]:
            del _entries[key]


def clear() -> None:
    with _lock:
        _entries.clear()
        _generation.clear()


def _fresh(key: tuple[int, str], now: float) -> tuple[int, Any]:
    """(generation, the fresh value or MISSING), under the lock."""
    generation = _generation.get(key[0], 0)
    found = _entries.get(key)
    if found is not None and found[0] == generation and now - found[1] < MAX_AGE:
        return generation, found[2]
    return generation, MISSING


def get(page_id: int, name: str, build: Callable[[], T], *, keep: Callable[[T], bool] | None = None) -> T:
    """The entry ``name`` of the page, built (and kept, unless ``keep`` says otherwise) when missing or stale."""
    key = (page_id, name)
    with _lock:
        _, value = _fresh(key, time.monotonic())
        if value is not MISSING:
            return value  # type: ignore[no-any-return]
        if len(_builds) > 10_000:
            _builds.clear()
        gate = _builds.setdefault(key, threading.Lock())
    with gate:
        with _lock:
            generation, value = _fresh(key, time.monotonic())
            if value is not MISSING:
                return value  # type: ignore[no-any-return]
            _building.add(key)
        try:
            built = build()
        finally:
            with _lock:
                _building.discard(key)
                _refreshing.discard(key)
        if keep is not None and not keep(built):
            return built
        with _lock:
            _refreshing.discard(key)
            if _generation.get(page_id, 0) == generation:
                _entries[key] = (generation, time.monotonic(), built)
        return built


def peek(page_id: int, name: str) -> tuple[Any, bool]:
    """(the entry ``name`` of the page or ``MISSING``, whether the caller should refresh it). Never builds, so it is
    safe on the event loop: an aged entry of the current generation is still served, and the first caller to see
    it aged is told to rebuild it (in the background), the others keep getting it meanwhile."""
    key = (page_id, name)
    with _lock:
        generation, value = _fresh(key, time.monotonic())
        if value is not MISSING:
            return value, False
        found = _entries.get(key)
        if found is None or found[0] != generation:
            return MISSING, False
        if key in _building or key in _refreshing:
            return found[2], False
        _refreshing.add(key)
        return found[2], True


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
