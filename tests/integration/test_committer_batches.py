"""The group-commit writer caps a transaction in events, not only in requests."""

from __future__ import annotations

import threading
import time

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


def test_concurrent_senders_are_gathered_into_fewer_commits_and_a_lone_sender_is_not_held(
    db: Database, clock: FakeClock
) -> None:
    """With a gather of 0.2 s: a sender that waits for each answer gets it at once; a stream of events arriving
    faster than commits (batches of several) is committed at most every 0.2 s."""
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    committer = IngestCommitter(db, clock, gather=0.2)
    commits: list[tuple[float, int]] = []
    committer.on_commit(lambda results: commits.append((time.monotonic(), len(results))))
    committer.start()
    try:
        started = time.monotonic()
        for i in range(10):
            assert committer.submit_sync(_submission(integ.key, f"one-by-one-{i}", 1)).outcomes == ["created"]
        # Ten commits of one, none held for the gather (that alone would take two seconds).
        assert time.monotonic() - started < 1.0
        assert [n for _, n in commits] == [1] * 10
        futures = []
        for burst in range(40):  # five senders at once, every 10 ms
            futures += [committer.submit_nowait(_submission(integ.key, f"stream-{burst}-{i}", 1)) for i in range(5)]
            time.sleep(0.01)
        results = [f.result(30) for f in futures]
    finally:
        committer.stop()
    assert all(r.outcomes == ["created"] for r in results)
    stream = commits[10:]
    assert sum(n for _, n in stream) == 200
    # 200 events over about half a second: a handful of commits once the batches grow, not forty or more.
    assert len(stream) <= 12
    with db.reader() as s:
        assert s.execute(select(func.count()).select_from(AlertEvent)).scalar_one() == 210


def test_senders_on_fixed_connections_are_not_held_to_one_commit_per_gather(db: Database, clock: FakeClock) -> None:
    """32 senders that each send again as soon as they are answered fill a batch at once: with a gather of a whole
    second they would otherwise get ten answers in ten seconds."""
    with db.unit_of_work() as s:
        _, integ = make_service(s, clock.now())
    committer = IngestCommitter(db, clock, gather=1.0)
    committer.start()
    outcomes: list[list[str]] = []

    def sender(n: int) -> None:
        for i in range(10):
            outcomes.append(committer.submit_sync(_submission(integ.key, f"conn-{n}-{i}", 1)).outcomes)

    try:
        started = time.monotonic()
        threads = [threading.Thread(target=sender, args=(n,)) for n in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - started
    finally:
        committer.stop()
    assert outcomes == [["created"]] * 320
    # One commit per gather would take ten seconds (ten rounds of a second); a whole suite running beside it on two
    # cores has stretched the real figure (1.3 s on SQLite and 2.2 s on PostgreSQL alone) past 5 s.
    assert elapsed < 8.0
