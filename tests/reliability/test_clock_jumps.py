"""Reliability test 10 (clock part): a worker whose clock jumps forward or backward fires no step twice.

In-process engine on a FakeClock (the scenario harness) against real SQLite and PostgreSQL. The clock jumps
between passes and in the middle of a send; every (incident, step, pass, user) must be paged exactly once, never
before it is due, and a forward jump pages only the pending step rather than every step it skipped over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.scenarios.harness import World
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.auditor import AuditorModule
from tocsin.notify import service as notify

HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture
def world(db: Database, clock: FakeClock) -> Iterator[World]:
    w = World(db=db, clock=clock)
    yield w
    w.nothing_more()


def three_steps(w: World, *, repeat: int = 0) -> None:
    people = [w.user(n) for n in ("alice", "bob", "carol")]
    w.service("api", w.policy("p", [([{"kind": "user", "ref": u.id}], 300) for u in people], repeat=repeat))


def jump(w: World, to_seconds: float, t0: object) -> None:
    assert isinstance(t0, type(w.now()))
    w.clock.set(t0 + timedelta(seconds=to_seconds))
    w.run()


def assert_each_page_once(w: World, incident_id: int) -> None:
    with w.db.reader() as s:
        rows = notify.notifications_of(s, incident_id)
    keys = Counter((n.step_index, n.cycle, n.user_id) for n in rows)
    assert all(c == 1 for c in keys.values()), keys
    sent = Counter(m.notification_id for m in w.email.sent)
    assert all(c == 1 for c in sent.values()), sent


def test_jumps_between_passes_fire_each_step_once(world: World) -> None:
    three_steps(world, repeat=1)
    t0 = world.now()
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")

    jump(world, -HOUR, t0)  # backwards: the step already fired stays fired
    world.nothing_more()
    jump(world, 299, t0)  # not due yet on the clock as it reads now
    world.nothing_more()
    jump(world, 300, t0)
    world.expect_email("bob")
    jump(world, 2 * DAY, t0)  # forwards over many due times: only the pending step fires, once
    world.expect_email("carol")
    world.nothing_more()
    jump(world, 10 * 60, t0)  # back again, before all of it
    world.nothing_more()
    jump(world, 2 * DAY + 299, t0)  # the next step is timed from when carol was really paged
    world.nothing_more()
    jump(world, 2 * DAY + 300, t0)
    world.expect_email("alice")
    jump(world, 3 * DAY, t0)
    world.expect_email("bob")
    jump(world, 4 * DAY, t0)
    world.expect_email("carol")
    jump(world, 9 * DAY, t0)  # the policy is done: nothing more, however far the clock goes
    world.nothing_more()
    assert_each_page_once(world, incident.id)


@pytest.mark.parametrize("offset", [2 * HOUR, -2 * HOUR], ids=["forward", "backward"])
def test_jump_in_the_middle_of_a_send_does_not_send_twice(world: World, offset: int) -> None:
    """The clock jumps after the last ownership check, and another worker's auditor runs on the jumped clock.

    Forward past the send lease, the auditor declares the send ambiguous; the jumping worker must then see its
    lease gone and not send, so that the one resend is the only copy.
    """
    three_steps(world)
    auditor = AuditorModule(world.db, every=timedelta(0))
    jumped: list[int] = []

    def jump_mid_send(notification_id: int) -> None:
        if not jumped:
            jumped.append(notification_id)
            world.clock.advance(offset)
            auditor.run_once(world.clock.now())

    world.notifier.before_send = jump_mid_send
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    # The rest of the policy runs on from wherever the clock now reads.
    world.advance(5 * HOUR)
    world.expect_email("bob")
    world.expect_email("carol")
    assert_each_page_once(world, incident.id)
    with world.db.reader() as s:
        (first, *_) = notify.notifications_of(s, incident.id)
    assert first.id == jumped[0]
    assert first.status == "sent"
    # Only a jump past the lease makes the send look interrupted to the other worker.
    assert (first.payload.get("ambiguous") == 1) is (offset > 0)
