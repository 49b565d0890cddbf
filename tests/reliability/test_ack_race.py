"""Reliability test 5: an acknowledgement racing a due step, between due - 100 ms and due + 100 ms, many times.

Step 0 pages nobody (its responder has no rule), so the worker is idle until step 1 falls due and fires it on
time: the acknowledgement really races the fire and the send. Pass criterion: no send starts after the ack
commits. A send starts in a transaction that holds the incident row, as does the acknowledgement; the pages whose
send had started are read inside the acknowledging transaction, and every delivery must be one of them.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tests.reliability.chaos import paging
from tests.reliability.chaos.sink import WebhookSink
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn, scale
from tocsin.db.session import Database

pytestmark = pytest.mark.slow

WINDOW = 0.1  # the ack lands uniformly in [due - 100 ms, due + 100 ms]


@dataclass(frozen=True, slots=True)
class Ack:
    incident: int
    due: datetime
    began: datetime
    committed: datetime
    started: set[int]


def test_acknowledge_racing_a_due_step_never_lets_a_send_start_after_it(
    db: Database, sink: WebhookSink, spawn: Spawn, rng: random.Random
) -> None:
    count = scale(100, 500)
    drill = paging.fleet(db, sink, incidents=count, delays=[2, 0], silent=(0,))
    worker = spawn("engine-1")
    worker.start()
    worker.wait_ready()

    acks: list[Ack] = []
    pending: list[Future[None]] = []
    scheduled: set[int] = set()
    queue: list[tuple[datetime, int, datetime]] = []
    opening_done = threading.Event()
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=4)

    def ack(incident: int, due: datetime) -> None:
        began = paging.now()
        committed, started = paging.acknowledge(db, incident)
        with lock:
            acks.append(Ack(incident, due, began, committed, started))

    def dispatcher() -> None:
        # Finds each incident's step-1 due time as soon as step 0 has fired, and acknowledges at due +- 100 ms.
        while not (opening_done.is_set() and len(scheduled) == len(drill.incidents) and not queue):
            for incident, due in paging.armed_for_step(db, 1).items():
                if incident not in scheduled:
                    scheduled.add(incident)
                    at = due + timedelta(seconds=rng.uniform(-WINDOW, WINDOW))
                    heapq.heappush(queue, (at, incident, due))
            while queue and queue[0][0] <= paging.now() + timedelta(milliseconds=2):
                _, incident, due = heapq.heappop(queue)
                pending.append(pool.submit(ack, incident, due))
            wait = (queue[0][0] - paging.now()).total_seconds() if queue else 0.02
            time.sleep(min(0.02, max(0.0, wait)))  # scheduling granularity, not a correctness wait

    runner = threading.Thread(target=dispatcher)
    runner.start()
    for _ in range(count // 5):
        drill.open(db, 5)
        time.sleep(rng.uniform(0.05, 0.15))  # spreads the due times
    opening_done.set()
    runner.join(timeout=scale(120, 600))
    assert not runner.is_alive(), "not every incident reached its step 1"
    for f in pending:
        f.result(timeout=60)
    pool.shutdown()
    wait_for(lambda: paging.settled(db), timeout=60, what="the engine to settle")
    worker.stop()
    assert "Traceback" not in worker.log_text(), "an engine module failed during the drill"

    rows = paging.pages(db)
    deliveries = sink.by_notification()
    by_incident = {a.incident: a for a in acks}
    assert len(by_incident) == count
    assert set(deliveries) <= set(rows)
    violations = []
    after_commit = 0
    for n, ds in deliveries.items():
        page = rows[n]
        a = by_incident[page.key[0]]
        if n not in a.started:
            violations.append((page.key, a.committed, [d.at for d in ds]))
        after_commit += sum(d.at > a.committed for d in ds)
    assert violations == [], "a send started after the acknowledgement committed"
    assert all(len(ds) == 1 for ds in deliveries.values())

    offsets = [(a.committed - a.due).total_seconds() for a in acks]
    fire_lag = [(p.created_at - by_incident[p.key[0]].due).total_seconds() for p in rows.values()]
    sent = sum(1 for a in acks if a.started)
    written = {p.key[0] for p in rows.values()}
    print(
        f"\n{count} acks; commit - due: min {min(offsets):+.3f} s, p50 {paging.percentile(offsets, 0.5):+.3f} s,"
        f" max {max(offsets):+.3f} s; step 1 started before the ack {sent}, written but cancelled"
        f" {len(written) - sent}, never written {count - len(written)}; {after_commit} deliveries arrived after"
        " their ack committed (sends already in flight); step 1 fired (when not beaten by the ack)"
        f" p50 {paging.percentile(fire_lag, 0.5):.3f} s, max {max(fire_lag, default=0):.3f} s after due"
    )
    # The drill raced: acknowledgements set off before the due time and others committed after it.
    assert any(a.began < a.due for a in acks)
    assert max(offsets) > 0
