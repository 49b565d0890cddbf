"""Reliability test 2: several workers on PostgreSQL; one is frozen with SIGSTOP past its lease, then thawed.

The frozen worker stops itself at the worst moment: after its last ownership check, right before the provider
call. Pass criteria: the others take its work over once its leases run out; when it is thawed it sends nothing
(its fence is stale); every (incident, step, user, contact method) is delivered exactly once, each time by a
worker that held the row at that instant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.chaos import paging
from tests.reliability.chaos.sink import WebhookSink
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn, scale
from tocsin.db.session import Database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_SECONDS = 2.0
FROZEN = "engine-frozen"


@pytest.fixture
def db_url(postgres_url: str) -> str:
    return postgres_url


def test_worker_paused_past_its_lease_sends_nothing_stale(
    db: Database, sink: WebhookSink, spawn: Spawn, tmp_path: Path
) -> None:
    count = scale(60, 400)
    drill = paging.fleet(db, sink, incidents=count, delays=[1, 1, 0])
    sink.observe = lambda notification_id: paging.row_state(db, notification_id)
    pause, paused, passes = tmp_path / "pause", tmp_path / "paused", tmp_path / "passes"
    frozen = spawn(
        FROZEN,
        module="tests.reliability.chaos.pausing_worker",
        lease_seconds=LEASE_SECONDS,
        env={
            "TOCSIN_DRILL_PAUSE_FILE": str(pause),
            "TOCSIN_DRILL_PAUSED_FILE": str(paused),
            "TOCSIN_DRILL_PASSES_FILE": str(passes),
            "TOCSIN_NOTIFY_SENDERS": "1",
        },
    )
    others = [spawn(f"engine-{n}", lease_seconds=LEASE_SECONDS) for n in (1, 2)]
    pause.touch()
    frozen.start()
    frozen.wait_ready()
    # The others start now and run beside it; the frozen one, up first, is sure to claim work before they are.
    for worker in others:
        worker.start()
    ids = drill.open(db, count)
    expected = paging.expected_from_snapshots(db, ids)
    assert expected == drill.expected_pages(ids)

    wait_for(
        lambda: paused.exists() and frozen.state() == "T",
        timeout=60,
        what="the frozen worker to stop itself before a send",
        describe=frozen.log_text,
    )
    in_hand = int(paused.read_text())
    # Read at once: within the send lease (twice the claim lease) the row is still the frozen worker's.
    state = paging.row_state(db, in_hand)
    held = paging.held_by(db, FROZEN)
    assert state["status"] == "sending", state
    assert in_hand in held
    for worker in others:
        worker.wait_ready()

    def delivered_by_others() -> bool:
        rows = paging.pages(db)
        got = {rows[n].key for n in sink.by_notification() if n in rows}
        return expected <= got and paging.settled(db)

    wait_for(
        delivered_by_others,
        timeout=scale(120, 600),
        every=0.25,
        what="the other workers to deliver everything, the frozen worker's share included",
        describe=lambda: paging.describe(db, expected, sink),
    )
    assert frozen.state() == "T", "the frozen worker must still be stopped: the others did all of this"
    thawed_at = paging.now()
    passes_before = len(passes.read_text().splitlines()) if passes.exists() else 0
    frozen.resume()
    wait_for(
        lambda: passes.exists() and len(passes.read_text().splitlines()) >= passes_before + 2,
        timeout=60,
        what="the thawed worker to run two more engine passes",
        describe=frozen.log_text,
    )
    wait_for(lambda: paging.settled(db), timeout=30, what="the engine to settle")
    for worker in (frozen, *others):
        worker.stop()
        assert "Traceback" not in worker.log_text(), f"an engine module of {worker.owner} failed during the drill"

    rows = paging.pages(db)
    deliveries = sink.by_notification()
    assert {p.key for p in rows.values()} == expected
    assert len(rows) == len(expected)
    late = [d for ds in deliveries.values() for d in ds if d.at >= thawed_at]
    assert late == [], "the thawed worker sent with a stale fence"
    twice = {rows[n].key: len(ds) for n, ds in deliveries.items() if len(ds) != 1}
    assert twice == {}, "every page must be delivered exactly once"
    assert set(deliveries) == set(rows)
    for ds in deliveries.values():
        for d in ds:
            assert d.signed
            # The sender held the row (status 'sending') when the request arrived: no send on a lost claim.
            assert d.observed["status"] == "sending", d.observed
    (handover,) = deliveries[in_hand]
    assert handover.observed["owner"] != FROZEN
    assert rows[in_hand].ambiguous == 1, "the send frozen in hand is recorded as ambiguous and sent once more"
    assert "ran out before sending; not sending" in frozen.log_text()
    print(f"\nfrozen worker held {len(held)} pages; all {len(expected)} pages delivered once by the others")
