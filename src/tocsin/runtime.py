"""The objects one Tocsin process shares: settings, database, clock, ingest writer, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from tocsin.alerts.committer import IngestCommitter
from tocsin.core.clock import Clock, SystemClock
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.ops.metrics import Metrics
from tocsin.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    committer: IngestCommitter
    metrics: Metrics = field(repr=False)

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None, db: Database | None = None) -> Runtime:
        clock = clock or SystemClock()
        db = db or Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)

        def open_counts() -> dict[str, int]:
            with db.reader() as session:
                return incidents.open_counts(session)

        metrics = Metrics(open_counts)
        committer = IngestCommitter(db, clock, max_batch=settings.ingest_batch_max)

        def count(results: list[object]) -> None:
            metrics.batch_size.observe(len(results))

        committer.on_commit(count)  # type: ignore[arg-type]
        return cls(settings=settings, db=db, clock=clock, committer=committer, metrics=metrics)

    def start(self) -> None:
        self.committer.start()

    def stop(self) -> None:
        self.committer.stop()
