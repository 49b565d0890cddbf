"""Escalations claimed together fire in one transaction; a bad one does not hold back the rest of its batch."""

from __future__ import annotations

from sqlalchemy import update

from tests.scenarios.harness import World
from tocsin.escalation.models import Escalation


def test_a_batch_of_incidents_pages_each_once(world: World) -> None:
    alice = world.user("alice")
    world.service("api", world.policy("default", [([{"kind": "user", "ref": alice.id}], 300)]))
    opened = [world.trigger("api", f"k{i}") for i in range(5)]
    world.run()
    for incident in opened:
        world.expect_email("alice", number=incident.number)
        kinds = [k for k, _ in world.timeline(incident)]
        assert kinds.count("escalated") == 1


def test_an_escalation_that_cannot_fire_leaves_its_batch_to_fire(world: World) -> None:
    alice = world.user("alice")
    world.service("api", world.policy("default", [([{"kind": "user", "ref": alice.id}], 300)]))
    good, bad, other = (world.trigger("api", f"k{i}") for i in range(3))
    with world.db.unit_of_work() as s:
        # A snapshot this version cannot read: firing it raises.
        s.execute(update(Escalation).where(Escalation.incident_id == bad.id).values(snapshot={"version": 99}))
    world.run()
    world.expect_email("alice", number=good.number)
    world.expect_email("alice", number=other.number)
    assert "escalated" not in [k for k, _ in world.timeline(bad)]
    assert world.runner.failures["escalation"] >= 1
