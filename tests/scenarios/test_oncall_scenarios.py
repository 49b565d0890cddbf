"""On-call schedules driving escalation, end to end: a real database, a fake clock, the real engine modules and
recording providers. Every scenario ends with ``nothing_more()`` (the ``world`` fixture checks it again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.scenarios.harness import World

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)  # the world's clock starts at 08:00 on this day
HOUR = 3600


def daily(*users: str, start: datetime, **extra: Any) -> dict[str, Any]:
    return {"rotation": "daily", "start": start, "users": list(users), **extra}


def schedule_policy(w: World, schedule_id: int, *, delay: int = 1800, repeat: int = 0) -> None:
    w.service("api", w.policy("on call", [([{"kind": "schedule", "ref": schedule_id}], delay)], repeat=repeat))


def test_schedule_target_pages_whoever_is_on_call_at_that_moment(world: World) -> None:
    for name in ("alice", "bob", "carol"):
        world.user(name)
    sched = world.schedule("primary", [daily("alice", "bob", start=MONDAY - timedelta(hours=15))])
    schedule_policy(world, sched)
    first = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice", number=first.number)
    world.resolve(first)
    world.advance(2 * HOUR)  # 10:00: bob's shift began at 09:00
    second = world.trigger("api", "k2")
    world.run()
    world.expect_email("bob", number=second.number)
    world.resolve(second)
    world.override(sched, "carol", world.now(), world.now() + timedelta(hours=1))
    third = world.trigger("api", "k3")
    world.run()
    world.expect_email("carol", number=third.number)
    world.resolve(third)
    world.nothing_more()


def test_handoff_mid_incident_next_repeat_pages_the_new_person(world: World) -> None:
    world.user("alice")
    world.user("bob")
    sched = world.schedule("primary", [daily("alice", "bob", start=MONDAY - timedelta(hours=15))])
    schedule_policy(world, sched, delay=1800, repeat=2)
    world.advance(40 * 60)  # 08:40
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.advance(1800)  # 09:10: the handoff to bob was at 09:00
    world.expect_email("bob")
    world.advance(1800)
    world.expect_email("bob")
    world.advance(6 * HOUR)
    world.nothing_more()
    escalated = [m for k, m in world.timeline(incident) if k == "escalated"]
    assert escalated == [
        "Step 1: notifying Alice",
        "Step 1 (repeat 1): notifying Bob",
        "Step 1 (repeat 2): notifying Bob",
    ]


def test_a_gap_falls_through_to_the_next_step_at_once_and_the_timeline_says_so(world: World) -> None:
    world.user("alice")
    world.user("carol")
    office = daily("alice", start=MONDAY, restrictions=[{"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4]}])
    sched = world.schedule("office", [office])
    policy = world.policy(
        "office first",
        [([{"kind": "schedule", "ref": sched}], 1800), ([{"kind": "user", "ref": world.users["carol"].id}], 1800)],
    )
    world.service("api", policy)
    incident = world.trigger("api", "k1")  # 08:00: nobody is on call in the office schedule
    world.run()
    world.expect_email("carol")  # without waiting out the empty step's delay
    timeline = world.timeline(incident)
    empty = [m for k, m in timeline if k == "escalation_empty"]
    assert len(empty) == 1
    assert empty[0].startswith("Step 1: no one to notify")
    assert "schedule" in empty[0]
    assert "moving on" in empty[0]
    assert ("escalated", "Step 2: notifying Carol") in timeline
    world.advance(4 * HOUR)
    world.nothing_more()


def test_a_step_due_across_the_spring_change_fires_after_the_real_delay(world: World) -> None:
    # Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST at 01:00 UTC. The schedule hands off at 03:00 local.
    world.clock.set(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 01:30 CET
    world.user("alice")
    world.user("bob")
    start = datetime(2026, 3, 27, 2, 0, tzinfo=UTC)  # 03:00 CET
    sched = world.schedule("berlin", [daily("bob", "alice", start=start)], timezone="Europe/Berlin")
    schedule_policy(world, sched, delay=2 * HOUR, repeat=1)
    world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    # The handoff to bob happens at 03:00 CEST = 01:00 UTC, only 30 minutes later by the real clock.
    world.advance(2 * HOUR - 1)
    world.nothing_more()
    world.advance(1)  # 02:30 UTC = 04:30 CEST: two real hours, though the wall clock moved three
    assert world.now() == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    world.expect_email("bob")
    world.advance(6 * HOUR)
    world.nothing_more()


def test_a_step_due_across_the_fall_change_fires_after_the_real_delay(world: World) -> None:
    # New York, 1 November 2026: 02:00 EDT becomes 01:00 EST at 06:00 UTC.
    world.clock.set(datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    world.user("alice")
    world.user("bob")
    start = datetime(2026, 10, 30, 5, 45, tzinfo=UTC)  # 01:45 EDT: the handoff is at the first 01:45
    sched = world.schedule("nyc", [daily("bob", "alice", start=start)], timezone="America/New_York")
    schedule_policy(world, sched, delay=HOUR, repeat=1)
    world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.advance(HOUR - 1)
    world.nothing_more()
    world.advance(1)  # 06:30 UTC = 01:30 EST, the second 01:30 on the wall clock
    world.expect_email("bob")
    world.advance(6 * HOUR)
    world.nothing_more()


def test_low_urgency_follows_low_urgency_rules(world: World) -> None:
    world.user("alice", low=True)
    world.user("bob")  # only a high-urgency rule
    step = [{"kind": "user", "ref": world.users["alice"].id}, {"kind": "user", "ref": world.users["bob"].id}]
    world.service("quiet", world.policy("quiet", [(step, 3600)]), urgency="low")
    incident = world.trigger("quiet", "k1")
    assert incident.urgency == "low"
    world.run()
    world.expect_email("alice")
    world.advance(2 * HOUR)
    world.nothing_more()  # bob's high-urgency rule is not used for a low-urgency incident
    assert ("notify_fallback", "Bob has no low-urgency rules; not notified") in world.timeline(incident)


def test_team_and_schedule_targets_page_each_person_once(world: World) -> None:
    from tocsin.teams import service as teams

    for name in ("alice", "bob", "carol"):
        world.user(name)
    with world.db.unit_of_work() as s:
        team = teams.create_team(s, name="Payments", now=world.now())
        teams.set_member(s, team, world.users["alice"])
        teams.set_member(s, team, world.users["bob"])
        team_id = team.id
    sched = world.schedule("primary", [daily("alice", "carol", start=MONDAY)])
    targets = [{"kind": "team", "ref": team_id}, {"kind": "schedule", "ref": sched}]
    world.service("api", world.policy("p", [(targets, 3600)]))
    world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")  # on call and a team member: once
    world.expect_email("bob")
    world.advance(2 * HOUR)
    world.nothing_more()


def test_handoff_message_once_for_who_opted_in_and_none_for_who_did_not(world: World) -> None:
    world.user("alice")
    world.user("bob")
    world.wants_handoff_messages("alice")
    world.run_handoffs()
    world.schedule("primary", [daily("alice", "bob", start=MONDAY + timedelta(hours=9))])
    world.run()
    world.advance(HOUR - 1)  # 08:59:59
    world.nothing_more()
    world.advance(1)  # 09:00: alice goes on call
    msg = world.expect_handoff("alice")
    assert msg.incident is None
    assert "primary" in msg.text
    world.advance(15 * 60)  # later passes look back over the handoff: still one message
    world.nothing_more()
    world.advance(24 * HOUR)  # Tuesday 09:00: bob goes on call, and asked for nothing
    world.nothing_more()
    world.advance(24 * HOUR)  # Wednesday 09:00: alice again, one message for this shift
    world.expect_handoff("alice")
    world.advance(HOUR)
    world.nothing_more()
