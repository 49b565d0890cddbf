"""``python -m bench.ingest_cpu``: process CPU per ingested event, in process, on a fresh SQLite file.

The transaction the ingest writer runs (the storable check, ``ingest_batch`` and the commit) for batches of 8
PagerDuty-like events, a third of them resolving an earlier one. It prints microseconds of CPU per event. Run it
alternately on two checkouts to compare them: this machine's speed drifts too much for single figures.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta

import tocsin.registry  # noqa: F401  (models and the domains' hooks)
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.services import service as services

BATCHES = 300
PER_BATCH = 8
WARM_UP = 20


def main() -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/ingest-cpu.db"
    migrate.upgrade(url)
    db = Database(url)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with db.unit_of_work() as s:
        service = services.create_service(s, name="api", now=start)
        key = services.add_integration(s, service, name="pd", type="pagerduty_v2", now=start).key
    try:
        from tocsin.alerts.storable import check_submission
    except ImportError:  # a checkout from before the check
        check_submission = None
    sent = 0

    def batch() -> list[Submission]:
        nonlocal sent
        subs = []
        for _ in range(PER_BATCH):
            sent += 1
            event = NormalizedEvent(
                action="trigger" if sent % 3 else "resolve",
                dedup_key=f"k{sent // 3}",
                summary=f"disk {sent} full",
                source="db1",
                severity="critical",
                details={"host": "db1", "mount": "/", "pct": 95, "tags": ["a", "b"]},
            )
            subs.append(Submission(integration_key=key, events=[event]))
        return subs

    def run(n: int, offset: int) -> None:
        for i in range(n):
            subs = batch()
            if check_submission is not None:
                for sub in subs:
                    check_submission(sub)
            with db.unit_of_work() as s:
                ingest_batch(s, subs, now=start + timedelta(seconds=offset + i))

    run(WARM_UP, 0)
    began = time.process_time()
    run(BATCHES, WARM_UP)
    spent = time.process_time() - began
    print(f"{spent / (BATCHES * PER_BATCH) * 1e6:.0f} µs of CPU per event")
    db.dispose()


if __name__ == "__main__":
    main()
