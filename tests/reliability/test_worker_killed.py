"""Reliability test 1: the worker is SIGKILLed at random moments mid-escalation and restarted each time.

Pages go through the real webhook provider to a real HTTP sink. Pass criteria: every (incident, step, user,
contact method) the policy implies is delivered; none is missed; a page is delivered twice only if its send was in
flight at a kill, and then it is recorded as ambiguous and delivered at most twice; nothing fires before it is due;
steps fire promptly while the worker is up and soon after each restart.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta

import pytest

from tests.reliability.chaos import paging
from tests.reliability.chaos.sink import WebhookSink
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn, scale
from tocsin.db.session import Database
from tocsin.settings import Settings

pytestmark = pytest.mark.slow

SENDERS = int(Settings.model_fields["notify_senders"].default)

# Step 0 at once, step 1 one second later, step 2 two seconds after that.
DELAYS = [1, 2, 0]
# Generous bounds for a loaded, shared 2-core machine, where a webhook send can take 80 ms of CPU-starved time and
# a backlog of hundreds of sends is worked through one after another. The measured figures are printed; the
# 1 s targets belong to benchmark runs on a quiet machine.
LIVE_LATENESS_BOUND = 60.0
AFTER_RESTART_BOUND = 90.0


def test_worker_killed_at_random_moments_misses_nothing(
    db: Database, sink: WebhookSink, spawn: Spawn, rng: random.Random
) -> None:
    count, kills = scale(150, 1000), scale(4, 10)
    drill = paging.fleet(db, sink, incidents=count, delays=DELAYS)
    worker = spawn("engine-1")
    worker.start()
    worker.wait_ready()
    # (killed, restarted, running again): a step due between kill and running again was due during the outage.
    outages: list[tuple[datetime, datetime, datetime]] = []

    def chaos() -> None:
        for _ in range(kills):
            time.sleep(rng.uniform(0.3, 2.0))  # when to strike: chaos timing, not a correctness wait
            worker.kill()
            down = worker.kills[-1]
            time.sleep(rng.uniform(0.2, 2.5))  # how long to stay down, so that steps fall due meanwhile
            worker.start()
            up = worker.wait_ready()
            outages.append((down, worker.starts[-1], up))

    striker = threading.Thread(target=chaos)
    striker.start()
    ids: list[int] = []
    batches = 6
    for b in range(batches):
        ids += drill.open(db, count // batches + (1 if b < count % batches else 0))
        time.sleep(rng.uniform(0.1, 0.8))
    striker.join()

    # What must be paged, asked of the database (frozen snapshots and rules) and cross-checked with the policy.
    expected = paging.expected_from_snapshots(db, ids)
    assert expected == drill.expected_pages(ids)
    assert len(expected) == count * len(DELAYS)

    def all_delivered() -> bool:
        rows = paging.pages(db)
        got = {rows[n].key for n in sink.by_notification() if n in rows}
        return expected <= got and paging.settled(db)

    wait_for(
        all_delivered,
        timeout=scale(120, 900),
        every=0.25,
        what="every expected page to be delivered",
        describe=lambda: paging.describe(db, expected, sink) + "\n" + worker.log_text()[-3000:],
    )
    worker.stop()
    assert "Traceback" not in worker.log_text(), "an engine module failed during the drill"

    rows = paging.pages(db)
    deliveries = sink.by_notification()
    by_key = {p.key: p for p in rows.values()}
    # The database's idea of what must be paged is exactly what the policy implies: nothing lost, nothing extra.
    assert set(by_key) == expected
    assert len(rows) == len(expected), "a page was written twice"
    assert all(d.signed for ds in deliveries.values() for d in ds), "a delivery failed signature verification"
    assert set(deliveries) <= set(rows), "the sink received something that is not one of the drill's pages"
    missed = [p.key for p in rows.values() if p.id not in deliveries]
    assert missed == []
    # A send interrupted a second time is not repeated (notify.service: resent once only): it stays ambiguous,
    # and was delivered (checked above).
    unsent = {p.key: (p.status, p.ambiguous) for p in rows.values() if p.status != "sent"}
    assert all(status == "ambiguous" and times >= 2 for status, times in unsent.values()), unsent

    duplicated = {n: len(ds) for n, ds in deliveries.items() if len(ds) > 1}
    for n, times in duplicated.items():
        assert rows[n].ambiguous >= 1, f"page {rows[n].key} delivered {times} times without being marked ambiguous"
        assert times <= 2, f"page {rows[n].key} delivered {times} times"
    interrupted = [p for p in rows.values() if p.ambiguous]
    # A kill interrupts at most the batch in flight: one send per contact method, at most the sender pool's size.
    assert len(interrupted) <= len(worker.kills) * SENDERS

    opened = paging.incident_times(db, ids)
    live: list[float] = []
    after_restart: list[float] = []
    after_running: list[float] = []
    delivery_lag: list[float] = []
    for incident in ids:
        fired = {k[1]: by_key[k].created_at for k in by_key if k[0] == incident}
        for step in range(len(DELAYS)):
            due = opened[incident] if step == 0 else fired[step - 1] + timedelta(seconds=DELAYS[step - 1])
            page = by_key[(incident, step, 0, *responder(drill.incidents[incident], step))]
            first_arrival = min(d.at for d in deliveries[page.id])
            assert fired[step] >= due, f"incident {incident} step {step} fired {due - fired[step]} early"
            assert first_arrival >= due, f"incident {incident} step {step} arrived before it was due"
            delivery_lag.append(paging.seconds(first_arrival - due))
            # A step due during an outage, or due before a kill that came before it fired, waited for a restart.
            hit = [o for o in outages if o[0] <= fired[step] and due <= o[2]]
            if not hit:
                live.append(paging.seconds(fired[step] - due))
            else:
                _, started, running = hit[-1]
                after_restart.append(paging.seconds(fired[step] - started))
                after_running.append(paging.seconds(fired[step] - running))

    print(
        f"\n{count} incidents, {len(worker.kills)} kills, {len(interrupted)} interrupted sends,"
        f" {len(duplicated)} delivered twice; fire lateness while up p50 {paging.percentile(live, 0.5):.3f} s"
        f" p99 {paging.percentile(live, 0.99):.3f} s max {max(live, default=0):.3f} s;"
        f" steps delayed by an outage (n={len(after_restart)}) fired p50 {paging.percentile(after_restart, 0.5):.3f}"
        f" / max {max(after_restart, default=0):.3f} s after the process was restarted, p50"
        f" {paging.percentile(after_running, 0.5):.3f} / max {max(after_running, default=0):.3f} s after its engine"
        " was running;"
        f" due-to-delivery p99 {paging.percentile(delivery_lag, 0.99):.3f} s"
    )
    assert max(live, default=0) <= LIVE_LATENESS_BOUND
    assert max(after_restart, default=0) <= AFTER_RESTART_BOUND


def responder(setup: paging.PagingSetup, step: int) -> tuple[int, int]:
    r = setup.responders[step]
    return r.user_id, r.contact_method_id
