"""Writes the analytics facts of incidents that have none (analytics.facts): those that existed before the
``analytics`` consumer started, which it is never handed. A batch at a time while any wait, then once an hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.analytics import facts
from tocsin.db.session import Database
from tocsin.engine.modules.catch_up import CatchUpModule


def _backfill(session: Session, batch: int, now: datetime) -> tuple[int, bool]:
    return facts.backfill(session, batch=batch, now=now)


class AnalyticsFactsModule(CatchUpModule):
    name = "analytics_facts"

    def __init__(self, db: Database, *, batch: int = 1000, every: timedelta = timedelta(hours=1)) -> None:
        super().__init__(db, _backfill, batch=batch, every=every)
