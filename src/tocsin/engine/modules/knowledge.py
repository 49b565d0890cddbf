"""The search index's polled sources (ADR 0030): runbooks and whatever the domains above register without an
incident-bound loader. Incident-bound documents are kept by the incident events consumer instead."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.db.session import Database
from tocsin.engine.modules.catch_up import CatchUpModule
from tocsin.knowledge import indexer


def _poll(session: Session, batch: int, now: datetime) -> tuple[int, bool]:
    return indexer.poll(session, batch=batch)


class KnowledgeIndexModule(CatchUpModule):
    name = "knowledge"

    def __init__(self, db: Database, *, batch: int = 500, every: timedelta = timedelta(seconds=10)) -> None:
        super().__init__(db, _poll, batch=batch, every=every)
