"""Reliability test 9: backlog replay after a stall.

The worker stops; steps of running escalations fall due; meanwhile some incidents are acknowledged, some resolved,
and new incidents open. When the worker comes back: nothing is paged for the acknowledged or resolved incidents,
and the new incidents' first pages go out before the backlog of older incidents' later steps and repeats.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from tests.reliability.chaos import paging
from tests.reliability.chaos.sink import WebhookSink
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn, scale
from tocsin.db.session import Database

pytestmark = pytest.mark.slow


def test_after_a_stall_new_incidents_page_first_and_closed_ones_never(
    db: Database, sink: WebhookSink, spawn: Spawn
) -> None:
    old_count, new_count = scale(21, 150), scale(10, 50)
    drill = paging.fleet(db, sink, incidents=old_count + new_count, delays=[1, 1, 1], repeat=2)
    worker = spawn("engine-1")
    worker.start()
    worker.wait_ready()
    old = drill.open(db, old_count)

    def first_pages_delivered(ids: list[int]) -> bool:
        rows = paging.pages(db)
        got = {rows[n].key[0] for n in sink.by_notification() if n in rows and rows[n].key[1:3] == (0, 0)}
        return set(ids) <= got

    wait_for(lambda: first_pages_delivered(old), timeout=60, what="the old incidents' first pages")
    worker.stop()
    stopped_at = paging.now()

    acked, resolved, still_open = old[0::3], old[1::3], old[2::3]
    for incident in acked:
        paging.acknowledge(db, incident)
    for incident in resolved:
        paging.resolve(db, incident)

    def backlog_due() -> bool:
        armed = paging.armed_for_step(db, 1) | paging.armed_for_step(db, 2)
        return set(armed) == set(still_open) and paging.now() > max(armed.values()) + timedelta(seconds=0.5)

    wait_for(backlog_due, timeout=30, what="every open old incident to have a step overdue")
    new = drill.open(db, new_count)
    worker.start()
    restarted_at = worker.starts[-1]

    def replayed() -> bool:
        rows = paging.pages(db)
        paged_again = {
            rows[n].key[0] for n, ds in sink.by_notification().items() if n in rows and ds[-1].at > restarted_at
        }
        return first_pages_delivered(new) and set(still_open) <= paged_again

    wait_for(replayed, timeout=90, what="new first pages and the backlog after the restart")
    for incident in still_open + new:
        paging.resolve(db, incident)
    wait_for(lambda: paging.settled(db), timeout=30, what="the engine to settle")
    worker.stop()
    assert "Traceback" not in worker.log_text(), "an engine module failed during the drill"

    rows = paging.pages(db)
    arrivals = [(d.at, rows[n].key) for n, ds in sink.by_notification().items() for d in ds]
    assert all(d.signed for ds in sink.by_notification().values() for d in ds)
    closed = set(acked) | set(resolved)
    assert [k for at, k in arrivals if k[0] in closed and at > stopped_at] == [], "paged after ack or resolve"
    after = sorted((at, k) for at, k in arrivals if at > restarted_at)
    new_first = [at for at, k in after if k[0] in set(new) and k[1:3] == (0, 0)]
    backlog = [at for at, k in after if k[0] in set(still_open)]
    assert len(new_first) == len(new)
    assert backlog
    assert max(new_first) < min(backlog), "the backlog went out before a new incident's first page"
    # The backlog is replayed once per escalation, not as a burst of every step missed during the stall: each
    # step still fires at least its delay (1 s) after the one before it.
    for incident in still_open:
        fired = sorted(p.created_at for p in rows.values() if p.key[0] == incident)
        gaps = [(b - a).total_seconds() for a, b in pairwise(fired)]
        assert all(g >= 1.0 for g in gaps), (incident, gaps)
    print(
        f"\n{len(new)} new first pages out {(max(new_first) - restarted_at).total_seconds():.3f} s after the restart,"
        f" the backlog of {len(still_open)} from {(min(backlog) - restarted_at).total_seconds():.3f} s;"
        f" {len(closed)} acknowledged or resolved incidents paged 0 times"
    )
