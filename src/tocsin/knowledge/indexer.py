"""Keeping the search index current (ADR 0030).

Incident-bound documents (incidents, their alerts and notes, and any source with ``for_incidents``) are rewritten
by the incident events consumer for the incidents an event batch names: events come in commit order, without gaps,
exactly once per batch in the consumer's own transaction (ADR 0009), so the index never misses a change and costs
nothing while incidents are quiet. Other sources (runbooks, and those registered above) are polled by change time
from a cursor, re-reading an overlap window so that a row whose transaction committed late is still seen; writes
are upserts, so reading a row twice changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.events.registry import Consumer, Event
from tocsin.knowledge import repository as repo
from tocsin.knowledge.sources import SOURCES, DocumentSource

CONSUMER_NAME = "knowledge"
OVERLAP = timedelta(minutes=2)


def on_events(session: Session, events: Sequence[Event], now: datetime) -> None:
    ids = sorted({e.incident_id for e in events})
    if ids:
        refresh_incidents(session, ids)


def consumer() -> Consumer:
    return Consumer(name=CONSUMER_NAME, handler=on_events)


def refresh_incidents(session: Session, incident_ids: Sequence[int]) -> int:
    """Rewrite every incident-bound document of these incidents."""
    written = 0
    for source in SOURCES.items:
        if source.for_incidents is not None:
            written += repo.upsert(session, source.kind, source.for_incidents(session, incident_ids))
    return written


def poll(session: Session, *, batch: int = 500) -> tuple[int, bool]:
    """One pass over the polled sources, and over the incident-bound ones until their backfill is done (the
    incident events consumer starts after the events already there, so what existed before is read here once):
    (documents written, whether a source has more waiting)."""
    written, more = 0, False
    for source in SOURCES.items:
        bound = source.for_incidents is not None
        if bound and repo.backfilled(session, source.kind):
            continue
        seen = repo.cursor(session, source.kind)
        since = seen if bound else (seen - OVERLAP if seen is not None else None)
        docs = source.load(session, since, batch)
        written += repo.upsert(session, source.kind, docs)
        latest = max((d.changed_at for d in docs), default=None)
        full = len(docs) >= batch
        if full and bound and latest == seen:
            # A whole page changed at the very same time as the cursor: read it all at once to get past it.
            docs = source.load(session, since, batch * 100)
            written += repo.upsert(session, source.kind, docs)
            full = len(docs) >= batch * 100
        repo.set_cursor(session, source.kind, latest, backfilled=bound and not full)
        more = more or full
    return written, more


def reindex(session: Session, kinds: Sequence[str] = (), *, batch: int = 2000) -> dict[str, int]:
    """Rebuild the documents of these kinds (all when empty) from their sources; returns how many per kind."""
    done: dict[str, int] = {}
    for source in SOURCES.items:
        if kinds and source.kind not in kinds:
            continue
        done[source.kind] = _reindex_one(session, source, batch)
    return done


def _reindex_one(session: Session, source: DocumentSource, batch: int) -> int:
    since: datetime | None = None
    limit, total = batch, 0
    while True:
        docs = source.load(session, since, limit)
        total += repo.upsert(session, source.kind, docs)
        if docs:
            repo.set_cursor(session, source.kind, max(d.changed_at for d in docs))
        if len(docs) < limit:
            repo.set_cursor(session, source.kind, None, backfilled=source.for_incidents is not None)
            return total
        latest = max(d.changed_at for d in docs)
        if latest == since:
            # A page made only of rows changed at the very same time: read a bigger page to get past them.
            limit *= 2
            continue
        since = latest
