"""Heartbeat monitors with a fake clock: a missed beat pages exactly at period + grace, the next ping resolves."""

from __future__ import annotations

from tests.scenarios.harness import World


def setup(world: World) -> None:
    alice = world.user("alice")
    policy = world.policy("on-call", [([{"kind": "user", "ref": alice.id}], 300)])
    world.heartbeat_monitor("backup", policy, period=300, grace=60)


def test_a_new_monitor_is_not_watched_until_its_first_ping(world: World) -> None:
    setup(world)

    world.advance(3600)

    assert world.heartbeat_status("backup") == ("new", None)
    world.nothing_more()


def test_missed_beat_pages_at_period_plus_grace_and_the_next_ping_resolves(world: World) -> None:
    setup(world)
    assert world.ping("backup") == "up"
    world.advance(200)
    world.ping("backup")  # the deadline moves to 200 + 360 s from the start

    world.advance(359)
    world.nothing_more()
    assert world.heartbeat_status("backup")[0] == "up"
    world.advance(1)

    message = world.expect_email("alice")
    assert message.incident is not None
    assert message.incident.title.startswith("No heartbeat from backup-heartbeat since ")
    assert world.heartbeat_status("backup") == ("down", None)
    world.advance(3600)  # still down: the alert is open and not opened again
    incident = world.incident_by_key("heartbeat")
    assert incident.status == "triggered"

    assert world.ping("backup") == "resolved"
    assert world.incident_by_key("heartbeat").status == "resolved"
    assert world.heartbeat_status("backup")[0] == "up"
    world.advance(359)
    world.nothing_more()


def test_a_failure_ping_pages_at_once_and_success_resolves(world: World) -> None:
    setup(world)
    world.ping("backup")
    world.ping("backup", "start")

    assert world.ping("backup", "fail") == "created"
    world.run()
    world.expect_email("alice")
    assert world.incident_by_key("heartbeat").title == "backup-heartbeat reported a failure"
    assert world.ping("backup", "fail") == "deduplicated"

    assert world.ping("backup") == "resolved"
    world.advance(361)  # watched again from the successful ping: a new silence is a new incident
    world.expect_email("alice")
    assert world.incident_by_key("heartbeat").status == "triggered"


def test_engine_sleeps_until_the_earliest_deadline(world: World) -> None:
    setup(world)
    world.heartbeat_monitor("reports", None, period=600, grace=0)
    world.ping("backup")
    world.advance(10)
    world.ping("reports")
    start = world.now()

    [module] = [m for m in world.runner.modules if m.name == "heartbeat"]
    assert (module.next_due() - start).total_seconds() == 350  # type: ignore[operator]

    world.advance(350)
    world.expect_email("alice")
    assert (module.next_due() - start).total_seconds() == 600  # type: ignore[operator]
