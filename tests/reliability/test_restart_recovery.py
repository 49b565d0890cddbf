"""A worker restarting under its own name takes back at once what its previous life left behind.

In-process, on a FakeClock, against SQLite and PostgreSQL: a dead worker ``w1`` leaves a claimed escalation timer
and a page in the middle of its send. Without recovery, both would wait for their leases (30 s, 60 s) to run out;
with it, the timer fires at once and the interrupted page is sent once more, never a third time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.scenarios.harness import World
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.notify import service as notify
from tocsin.notify.models import Notification
from tocsin.notify.providers.base import ProviderRegistry
from tocsin.runtime import Runtime
from tocsin.settings import load_settings

LEASE = timedelta(seconds=30)


@pytest.fixture
def world(db: Database, clock: FakeClock) -> Iterator[World]:
    w = World(db=db, clock=clock)
    alice = w.user("alice")
    w.service("api", w.policy("p", [([{"kind": "user", "ref": alice.id}], 300)]))
    yield w
    w.nothing_more()


def recover(w: World, owner: str) -> None:
    with w.db.unit_of_work() as s:
        escalation.recover_worker(s, owner)
        notify.recover_worker(s, owner, now=w.now())


def fire_steps(w: World) -> None:
    """Only the escalation module runs: the page row exists, nobody has sent it yet."""
    next(m for m in w.runner.modules if m.name == "escalation").run_once(w.now())


def die_mid_send(w: World, owner: str) -> int:
    """``owner`` claims the due page and marks it sending, then dies before the provider is called."""
    with w.db.unit_of_work() as s:
        (claim,) = notify.claim(s, now=w.now(), owner=owner, lease=LEASE, limit=10)
    ctx = notify.SendContext(base_url="http://tocsin.test", throttle=w.throttle)
    with w.db.unit_of_work() as s:
        (message,) = notify.begin_send_batch(s, [claim], now=w.now(), ctx=ctx)
    return message.notification_id


def test_a_claimed_timer_fires_as_soon_as_its_worker_restarts(world: World) -> None:
    world.trigger("api", "k1")
    with world.db.unit_of_work() as s:
        assert escalation.claim(s, now=world.now(), owner="w1", lease=LEASE, limit=10)
    world.run()  # another worker: the timer is leased to w1, which is dead
    world.nothing_more()
    recover(world, "w1")
    world.run()
    world.expect_email("alice")


def test_an_interrupted_send_is_sent_once_more_and_never_a_third_time(world: World) -> None:
    incident = world.trigger("api", "k1")
    fire_steps(world)
    page = die_mid_send(world, "w1")
    world.run()
    world.nothing_more()  # still 'sending' under a live-looking lease: nobody may touch it
    recover(world, "w1")
    with world.db.reader() as s:
        row = s.get(Notification, page)
        assert row is not None
        assert (row.status, row.payload.get("ambiguous")) == ("ambiguous", 1)
    # The resend is interrupted too: now it stays ambiguous, recorded, and is not sent again.
    assert die_mid_send(world, "w1") == page
    recover(world, "w1")
    world.advance(3600)
    world.nothing_more()
    with world.db.reader() as s:
        row = s.get(Notification, page)
        assert row is not None
        assert (row.status, row.payload.get("ambiguous"), row.next_attempt_at) == ("ambiguous", 2, None)
    kinds = [k for k, _ in world.timeline(incident)]
    assert kinds.count("notify_ambiguous") == 2


def test_the_resend_of_an_interrupted_send_goes_out_once(world: World) -> None:
    world.trigger("api", "k1")
    fire_steps(world)
    page = die_mid_send(world, "w1")
    recover(world, "w1")
    world.run()
    (msg,) = world.email.expect(1)
    assert msg.notification_id == page
    assert msg.message_id == f"msg_{page}"  # the same message id as the interrupted attempt
    with world.db.reader() as s:
        row = s.get(Notification, page)
        assert row is not None
        assert (row.status, row.payload.get("ambiguous")) == ("sent", 1)


def test_a_server_restarting_under_its_worker_name_takes_its_work_back(world: World, db_url: str) -> None:
    """``tocsin serve`` with TOCSIN_WORKER_ID runs the same recovery as a named ``tocsin worker`` before its
    engine starts (the engine then finds nothing of its own to wait for)."""
    world.trigger("api", "k1")
    fire_steps(world)
    page = die_mid_send(world, "node-a")
    settings = load_settings(database_url=db_url, secret_key="x" * 32, worker_id="node-a")
    runtime = Runtime.build(settings, providers=ProviderRegistry([]))
    runtime.engine = runtime.build_engine()
    runtime.engine.modules = []  # recovery only: nothing of this engine's may run against the fake clock's world
    runtime.clock = world.clock
    try:
        runtime.start()
    finally:
        runtime.stop()
        runtime.db.dispose()
    with world.db.reader() as s:
        row = s.get(Notification, page)
        assert row is not None
        assert (row.status, row.payload.get("ambiguous"), row.lease_owner) == ("ambiguous", 1, None)
    world.run()
    (msg,) = world.email.expect(1)
    assert msg.notification_id == page
