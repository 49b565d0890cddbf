"""The group-commit writer caps a transaction in events, not only in requests."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.factories import make_service
from tocsin.alerts.committer import IngestCommitter
from tocsin.alerts.models import AlertEvent
from tocsin.alerts.schemas import NormalizedEvent, Submission, SubmissionResult
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database


def _submission(key: str, name: str, events: int) -> Submission:
    return Submission(
        integration_key=key,
        events=[NormalizedEvent(action="trigger", dedup_key=f"{name}-{i}", summary="disk") for i in range(events)],
    )


def test_a_backlog_is_committed_in_batches_of_at_most_max_events(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    committer = IngestCommitter(db, clock, max_batch=100, max_events=5)
    held = threading.Event()
    release = threading.Event()
    sizes: list[list[int]] = []

    def hold_first_commit(results: list[SubmissionResult]) -> None:
        sizes.append([len(r.outcomes) for r in results])
        if len(sizes) == 1:
            held.set()
            release.wait(30)

    committer.on_commit(hold_first_commit)
    committer.start()
    try:
        first = committer.submit_nowait(_submission(integ.key, "first", 2))
        assert held.wait(30), "the first commit never happened"
        # While the writer is busy, a backlog builds up: six requests of two events, then one of seven.
        backlog = [committer.submit_nowait(_submission(integ.key, f"b{i}", 2)) for i in range(6)]
        backlog.append(committer.submit_nowait(_submission(integ.key, "big", 7)))
        release.set()
        results = [f.result(30) for f in [first, *backlog]]
    finally:
        release.set()
        committer.stop()
    assert all(r.outcomes == ["created"] * len(r.outcomes) for r in results)
    # Two requests of two events fit under five; a third would not. A request larger than the cap goes alone.
    assert sizes == [[2], [2, 2], [2, 2], [2, 2], [7]]
    with db.reader() as s:
        assert s.execute(select(func.count()).select_from(AlertEvent)).scalar_one() == 21
