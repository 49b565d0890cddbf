"""Several provider calls are in flight at once, but never two to the same contact method."""

from __future__ import annotations

import threading
from collections import Counter

from tests.scenarios.harness import World
from tocsin.engine.modules.escalation import EscalationModule
from tocsin.engine.modules.notification import NotificationModule
from tocsin.notify import service as notify
from tocsin.notify.providers.base import OutboundMessage, ProviderRegistry, SendResult
from tocsin.notify.throttle import Throttle


class OverlapProvider:
    """Delivers a message only once another one is in flight beside it; notes overlaps per address."""

    contact_type = "email"

    def __init__(self) -> None:
        self.together = threading.Barrier(2, timeout=10)
        self.in_flight: Counter[str] = Counter()
        self.most_at_once_per_address = 0
        self.delivered: list[str] = []
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            self.in_flight[message.address] += 1
            self.most_at_once_per_address = max(self.most_at_once_per_address, self.in_flight[message.address])
        try:
            self.together.wait()
        except threading.BrokenBarrierError:
            return SendResult(outcome="failed", error="no other send was in flight")
        finally:
            with self._lock:
                self.in_flight[message.address] -= 1
        with self._lock:
            self.delivered.append(message.address)
        return SendResult(outcome="delivered")


def test_sends_overlap_across_contact_methods_and_not_within_one(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    policy = world.policy("both", [([{"kind": "user", "ref": alice.id}, {"kind": "user", "ref": bob.id}], 300)])
    world.service("api", policy)
    world.trigger("api", "k1")
    world.trigger("api", "k2")
    assert EscalationModule(world.db, owner="test").run_once(world.clock.now()) == 2
    provider = OverlapProvider()
    senders = NotificationModule(
        world.db,
        ProviderRegistry([provider]),
        notify.SendContext(base_url="http://tocsin.test", throttle=Throttle()),
        world.clock,
        owner="senders",
        senders=4,
    )
    # One message per contact method per batch: alice's and bob's first pages, then their second ones.
    assert senders.run_once(world.clock.now()) == 4
    assert sorted(provider.delivered) == ["alice@example.com", "bob@example.com"]
    assert senders.run_once(world.clock.now()) == 2
    # Each send waited for another one beside it, so they overlapped; alice's two pages went one after the other.
    assert sorted(provider.delivered) == ["alice@example.com"] * 2 + ["bob@example.com"] * 2
    assert provider.most_at_once_per_address == 1
