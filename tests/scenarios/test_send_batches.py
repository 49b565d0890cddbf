"""The send cycle works on claimed batches: one transaction to mark them sending, one check right before the
provider calls, one transaction to record the outcomes. These scenarios pin what batching must not change."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from tests.scenarios.harness import World
from tocsin.core.clock import SystemClock
from tocsin.engine.modules.escalation import EscalationModule
from tocsin.engine.modules.notification import NotificationModule
from tocsin.engine.runner import Runner
from tocsin.notify import repository as notify_repo
from tocsin.notify import service as notify
from tocsin.notify.models import Notification
from tocsin.notify.providers.base import OutboundMessage, ProviderRegistry, SendResult
from tocsin.notify.throttle import Throttle, Window

CTX = notify.SendContext(base_url="http://tocsin.test", throttle=Throttle())


def one_step_policy(world: World, *names: str) -> str:
    people = [world.user(n) for n in names]
    policy = world.policy("p", [([{"kind": "user", "ref": u.id} for u in people], 300)])
    return world.service("api", policy)


def statuses(world: World) -> dict[int, str]:
    with world.db.reader() as s:
        return {n.id: n.status for n in s.execute(select(Notification)).scalars()}


def release(world: World, notification_ids: list[int]) -> None:
    """Drop the leases a test took by hand, so that the world's own worker may send these rows."""
    with world.db.unit_of_work() as s:
        for notification_id in notification_ids:
            row = s.get(Notification, notification_id)
            assert row is not None
            row.lease_owner = None
            row.lease_until = None


def test_a_batch_sends_one_message_per_contact_method_and_the_rest_on_the_next_pass(world: World) -> None:
    one_step_policy(world, "alice", "bob")
    for key in ("k1", "k2", "k3"):
        world.trigger("api", key)
    EscalationModule(world.db, owner="test").run_once(world.now())
    world.notifier.run_once(world.now())
    # Alice's and Bob's first pages only: the other four wait, still due, for the next pass.
    assert sorted(m.address for m in world.email.sent) == ["alice@example.com", "bob@example.com"]
    assert sorted(statuses(world).values()) == ["pending"] * 4 + ["sent"] * 2
    world.run()
    for _ in range(3):
        world.expect_email("alice")
        world.expect_email("bob")


def test_an_acknowledgement_after_the_batch_was_marked_sending_stops_the_page(world: World) -> None:
    one_step_policy(world, "alice")
    incident = world.trigger("api", "k1")
    EscalationModule(world.db, owner="test").run_once(world.now())
    with world.db.unit_of_work() as s:
        claims = notify.claim(s, now=world.now(), owner="test", lease=timedelta(seconds=30), limit=10)
    with world.db.unit_of_work() as s:
        (message,) = notify.begin_send_batch(s, claims, now=world.now(), ctx=CTX)
    world.ack(incident)
    with world.db.reader() as s:
        assert notify.sendable_now(s, [message]) == []
    # Handed back, the next pass cancels it instead of sending it.
    with world.db.unit_of_work() as s:
        assert notify.unsend(s, message.notification_id, message.fence, now=world.now())
    world.run()
    assert list(statuses(world).values()) == ["cancelled"]
    assert world.email.sent == []


def test_a_row_claimed_again_by_another_worker_drops_out_of_the_batch(world: World) -> None:
    one_step_policy(world, "alice", "bob")
    world.trigger("api", "k1")
    EscalationModule(world.db, owner="test").run_once(world.now())
    with world.db.unit_of_work() as s:
        first, second = notify.claim(s, now=world.now(), owner="a", lease=timedelta(seconds=30), limit=10)
    # Worker b takes the second row over (as after a lease ran out): worker a's fence for it is stale.
    with world.db.unit_of_work() as s:
        row = s.get(Notification, second.id)
        assert row is not None
        row.fence += 1
        row.lease_owner = "b"
    with world.db.unit_of_work() as s:
        messages = notify.begin_send_batch(s, [first, second], now=world.now(), ctx=CTX)
    assert [m.notification_id for m in messages] == [first.id]
    assert statuses(world)[second.id] == "pending"
    with world.db.unit_of_work() as s:
        notify.record_batch(s, [(messages[0], SendResult("delivered"))], now=world.now(), retry=world.notifier.retry)
    assert statuses(world) == {first.id: "sent", second.id: "pending"}
    # Clear the hand-made takeover so the world's own worker sends Bob's page when the scenario winds down.
    release(world, [second.id])
    world.run()
    world.expect_email("bob")


def test_a_claim_holds_first_pages_only_while_any_are_due(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    policy = world.policy("p", [([{"kind": "user", "ref": alice.id}], 60), ([{"kind": "user", "ref": bob.id}], 60)])
    world.service("api", policy)
    world.trigger("api", "old")
    world.run()
    world.expect_email("alice")
    world.clock.advance(120)
    world.trigger("api", "new")
    EscalationModule(world.db, owner="test").run_once(world.now())
    with world.db.unit_of_work() as s:
        claims = notify.claim(s, now=world.now(), owner="test", lease=timedelta(seconds=30), limit=10)
    with world.db.reader() as s:
        kinds = {(n.step_index, n.cycle) for n in (s.get(Notification, c.id) for c in claims) if n is not None}
    # Bob's step-2 page for the old incident is due too, but it is not in the batch of the new first page.
    assert kinds == {(0, 0)}
    release(world, [c.id for c in claims])
    world.run()
    world.expect_email("alice")
    world.expect_email("bob")


class GatedProvider:
    """Holds every call until released, so a send can be kept in flight."""

    contact_type = "email"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls: list[int] = []

    def send(self, message: OutboundMessage) -> SendResult:
        self.calls.append(message.notification_id)
        self.entered.set()
        self.release.wait(10)
        return SendResult("delivered")


def test_a_send_in_flight_does_not_hold_up_escalation_timers(world: World) -> None:
    """Sends run in their own lane: while a provider call hangs, due escalation steps still fire."""
    one_step_policy(world, "alice")
    provider = GatedProvider()
    clock = SystemClock()
    runner = Runner(
        [
            EscalationModule(world.db, owner="lanes"),
            NotificationModule(world.db, ProviderRegistry([provider]), CTX, clock, owner="lanes"),
        ],
        clock,
        tick=0.05,
    )
    world.clock.set(clock.now())
    world.trigger("api", "k1")
    runner.start()
    try:
        assert provider.entered.wait(10), "the first page never reached the provider"
        world.clock.set(clock.now())
        second = world.trigger("api", "k2")
        deadline = time.monotonic() + 10
        fired = False
        while time.monotonic() < deadline and not fired:
            with world.db.reader() as s:
                fired = bool(notify_repo.of_incident(s, second.id))
            time.sleep(0.02)
        assert fired, "the second incident's step did not fire while the first page was in flight"
        assert len(provider.calls) == 1
        provider.release.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(provider.calls) < 2:
            time.sleep(0.02)
        assert len(provider.calls) == 2
    finally:
        provider.release.set()
        runner.stop()
    assert runner.failures == {"escalation": 0, "notification": 0}


def test_claims_of_one_batch_are_recorded_together(world: World) -> None:
    one_step_policy(world, "alice", "bob", "carol")
    incident = world.trigger("api", "k1")
    EscalationModule(world.db, owner="test").run_once(world.now())
    with world.db.unit_of_work() as s:
        claims = notify.claim(s, now=world.now(), owner="test", lease=timedelta(seconds=30), limit=10)
    with world.db.unit_of_work() as s:
        messages = notify.begin_send_batch(s, claims, now=world.now(), ctx=CTX)
    assert len(messages) == 3
    outcomes = [
        (messages[0], SendResult("delivered")),
        (messages[1], SendResult("retry", status_code=503, error="HTTP 503")),
        (messages[2], SendResult("failed", status_code=400, error="HTTP 400")),
    ]
    with world.db.unit_of_work() as s:
        got = notify.record_batch(s, outcomes, now=world.now(), retry=world.notifier.retry)
    assert got == ["sent", "pending", "failed"]
    kinds = [kind for kind, _ in world.timeline(incident)]
    assert kinds.count("notified") == 1
    assert kinds.count("notify_retry") == 1
    assert kinds.count("notify_failed") == 1
    # A stale claim (fence moved on) records nothing but its late outcome.
    stale = replace(messages[0], fence=messages[0].fence + 5)
    with world.db.unit_of_work() as s:
        assert notify.record_batch(s, [(stale, SendResult("failed"))], now=world.now(), retry=world.notifier.retry) == [
            "sent"
        ]
    world.run()


class HangingFor:
    """Hangs every call to one address until released; delivers the others at once."""

    contact_type = "email"

    def __init__(self, address: str) -> None:
        self.address = address
        self.release = threading.Event()
        self.delivered: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        if message.address == self.address:
            self.release.wait(10)
        with self._lock:
            self.delivered.append((message.address, message.notification_id))
        return SendResult("delivered")


def test_a_hanging_receiver_does_not_hold_up_the_next_batches(world: World) -> None:
    one_step_policy(world, "alice", "bob")
    provider = HangingFor("alice@example.com")
    notifier = NotificationModule(world.db, ProviderRegistry([provider]), CTX, world.clock, owner="hang", senders=4)
    notifier._calls.patience = 0.1
    try:
        world.trigger("api", "k1")
        world.trigger("api", "k2")
        EscalationModule(world.db, owner="test").run_once(world.now())
        # Pass 1: alice's first page hangs, bob's goes out; the pass ends without waiting for alice's call.
        notifier.run_once(world.now())
        # Pass 2: bob's second page goes out; alice's second page waits, her first call is still running.
        notifier.run_once(world.now())
        assert [a for a, _ in provider.delivered] == ["bob@example.com", "bob@example.com"]
        assert sorted(statuses(world).values()) == ["pending", "sending", "sent", "sent"]
        provider.release.set()
        deadline = time.monotonic() + 10
        # The straggler records its outcome, then frees its contact method: wait for both, or the next pass may
        # still find alice busy and put her second page back.
        while time.monotonic() < deadline and ("sending" in statuses(world).values() or notifier._busy):
            time.sleep(0.02)
        # The straggler's outcome was recorded when it returned; alice's second page then goes out.
        assert sorted(statuses(world).values()) == ["pending", "sent", "sent", "sent"]
        world.clock.advance(2)
        while notifier.run_once(world.now()):
            pass
        assert sorted(statuses(world).values()) == ["sent"] * 4
        assert sorted(a for a, _ in provider.delivered) == ["alice@example.com"] * 2 + ["bob@example.com"] * 2
    finally:
        provider.release.set()
        notifier.close()


def test_a_message_marked_sending_carries_the_rows_fence_lease_and_contact_method(world: World) -> None:
    one_step_policy(world, "alice")
    world.trigger("api", "k1")
    EscalationModule(world.db, owner="test").run_once(world.now())
    with world.db.unit_of_work() as s:
        (claim,) = notify.claim(s, now=world.now(), owner="test", lease=timedelta(seconds=30), limit=10)
    with world.db.unit_of_work() as s:
        (outgoing,) = notify.begin_send_batch(s, [claim], now=world.now(), ctx=CTX, send_lease=timedelta(seconds=7))
    with world.db.reader() as s:
        row = s.get(Notification, claim.id)
        assert row is not None
        assert (outgoing.notification_id, outgoing.fence, outgoing.contact_method_id) == (
            row.id,
            row.fence,
            row.contact_method_id,
        )
    assert outgoing.fence == claim.fence
    assert outgoing.lease_until == world.now() + timedelta(seconds=7)
    assert outgoing.message.address == "alice@example.com"


def test_pages_held_back_by_the_throttle_are_noted_once_and_go_out_bundled_into_one(world: World) -> None:
    world.throttle = Throttle([Window(limit=2, per=timedelta(minutes=15))])
    world.notifier.ctx = notify.SendContext(base_url="http://tocsin.test", throttle=world.throttle)
    one_step_policy(world, "alice")
    opened = [world.trigger("api", f"k{n}") for n in range(5)]
    world.run()
    world.email.expect(2)
    held = [
        i
        for i in opened
        if ("notify_held", "email to Alice held back by the rate limit; it will go out bundled") in world.timeline(i)
    ]
    assert len(held) == 3
    world.advance(15 * 60)
    (carrier,) = world.email.expect(1)
    assert carrier.incident is not None
    others = sorted(i.number for i in held if i.id != carrier.incident.id)
    assert carrier.text == f"2 more incidents: #{others[0]}, #{others[1]}"
    assert sorted(statuses(world).values()) == ["bundled", "bundled", "sent", "sent", "sent"]
    for incident in opened:
        assert [k for k, _ in world.timeline(incident)].count("notify_held") <= 1
    world.nothing_more()
