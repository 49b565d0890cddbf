"""Two engines indexing the same object at once: the one that finds the document missing after the other wrote it
updates it rather than failing on the unique key (which held the event consumer back and retried forever)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from tocsin.db.session import Database
from tocsin.knowledge import repository as repo
from tocsin.knowledge.models import KnowledgeDocument
from tocsin.knowledge.sources import Document

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _doc(title: str) -> Document:
    return Document(ref_id=7, title=title, body="disk full on db1", url="/alerts/7", changed_at=NOW)


def test_a_document_written_meanwhile_by_another_engine_is_updated(db: Database) -> None:
    first_wrote = threading.Event()
    release_first = threading.Event()
    failures: list[BaseException] = []

    def first_engine() -> None:
        try:
            with db.unit_of_work() as s:
                repo.upsert(s, "alert", [_doc("Disk full (first)")])
                s.flush()
                first_wrote.set()
                release_first.wait(10)
        except BaseException as exc:
            failures.append(exc)
            first_wrote.set()

    first = threading.Thread(target=first_engine)
    first.start()
    assert first_wrote.wait(10)
    if db.engine.dialect.name == "sqlite":
        # One writer at a time on SQLite: the second engine only starts once the first has committed.
        release_first.set()
        first.join(10)
        with db.unit_of_work() as s:
            repo.upsert(s, "alert", [_doc("Disk full (second)")])
    else:
        # The second engine looked before the first committed, so it inserts; PostgreSQL makes it wait on the
        # unique key until the first commits, and then its insert must become an update.
        second = threading.Thread(target=lambda: _second(db, failures))
        second.start()
        second.join(0.5)
        release_first.set()
        first.join(10)
        second.join(10)
    assert failures == []

    with db.reader() as s:
        titles = s.execute(select(KnowledgeDocument.title).where(KnowledgeDocument.ref_id == 7)).scalars().all()
    assert titles == ["Disk full (second)"]


def _second(db: Database, failures: list[BaseException]) -> None:
    try:
        with db.unit_of_work() as s:
            repo.upsert(s, "alert", [_doc("Disk full (second)")])
    except BaseException as exc:
        failures.append(exc)
