"""Escalation behaviour end to end on a real database with a fake clock and recording providers."""

from __future__ import annotations

from datetime import timedelta

from tests.scenarios.harness import WEB as WEB_ACTOR
from tests.scenarios.harness import World
from tocsin.notify.providers.base import SendResult


def two_step_policy(w: World, delay: int = 300, repeat: int = 0) -> None:
    alice, bob = w.user("alice"), w.user("bob")
    policy = w.policy(
        "default",
        [([{"kind": "user", "ref": alice.id}], delay), ([{"kind": "user", "ref": bob.id}], delay)],
        repeat=repeat,
    )
    w.service("api", policy)


def test_step_one_at_once_step_two_after_its_delay(world: World) -> None:
    two_step_policy(world)
    incident = world.trigger("api", "k1")
    world.run()
    msg = world.expect_email("alice")
    assert msg.incident is not None
    assert msg.incident.number == incident.number
    world.advance(299)
    world.nothing_more()  # bob's step is not due yet: nothing fires early
    world.advance(1)
    world.expect_email("bob")
    kinds = [k for k, _ in world.timeline(incident)]
    assert kinds.count("escalated") == 2
    assert kinds.count("notified") == 2
    assert "escalation_done" in kinds


def test_acknowledge_stops_the_escalation(world: World) -> None:
    two_step_policy(world)
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.advance(60)
    world.ack(incident)
    world.advance(3600)  # bob would have been paged at 300 s


def test_resolve_ends_it_and_dedup_key_starts_a_new_incident(world: World) -> None:
    two_step_policy(world)
    first = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice", number=first.number)
    world.resolve(first)
    world.advance(600)
    second = world.trigger("api", "k1")
    assert second.number == first.number + 1
    world.run()
    world.expect_email("alice", number=second.number)
    world.resolve(second)


def test_repeat_runs_the_policy_again(world: World) -> None:
    two_step_policy(world, delay=60, repeat=1)
    world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.advance(60)
    world.expect_email("bob")
    world.advance(60)
    world.expect_email("alice")
    world.advance(60)
    world.expect_email("bob")
    world.advance(600)


def test_rules_with_delays_and_ack_before_the_second_rule(world: World) -> None:
    carol = world.user("carol", webhook_after=120)
    world.service("api", world.policy("p", [([{"kind": "user", "ref": carol.id}], 600)]))
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("carol")
    world.advance(119)
    world.nothing_more()
    world.ack(incident)
    world.advance(120)  # the webhook rule was due at 120 s but the incident is acknowledged: nothing more


def test_second_rule_fires_when_nobody_acks(world: World) -> None:
    carol = world.user("carol", webhook_after=120)
    world.service("api", world.policy("p", [([{"kind": "user", "ref": carol.id}], 600)]))
    world.trigger("api", "k1")
    world.run()
    world.expect_email("carol")
    world.advance(120)
    hook = world.expect_webhook("carol")
    assert hook.message_id.startswith("msg_")


def test_escalate_now_skips_the_wait(world: World) -> None:
    two_step_policy(world, delay=3600)
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.advance(10)
    world.escalate(incident)
    world.run()
    world.expect_email("bob")
    assert ("escalate_now", "Escalated by hand") in world.timeline(incident)


def test_escalate_now_on_an_acknowledged_incident_hands_it_on(world: World) -> None:
    two_step_policy(world, delay=3600)
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.ack(incident)
    world.escalate(incident)
    world.run()
    world.expect_email("bob")


def test_ack_timeout_pages_again_from_the_start(world: World) -> None:
    alice = world.user("alice")
    world.service("api", world.policy("p", [([{"kind": "user", "ref": alice.id}], 600)]), ack_timeout_seconds=900)
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.ack(incident)
    world.advance(899)
    world.nothing_more()
    world.advance(1)
    world.expect_email("alice")
    assert any(k == "retriggered" for k, _ in world.timeline(incident))


def test_user_without_rules_is_noted_on_the_timeline(world: World) -> None:
    dave = world.user("dave", email=False)
    world.service("api", world.policy("p", [([{"kind": "user", "ref": dave.id}], 60)]))
    incident = world.trigger("api", "k1")
    world.run()
    assert any(k == "notify_fallback" and "no notification rules" in m for k, m in world.timeline(incident))


def test_team_target_pages_every_member_once(world: World) -> None:
    from tocsin.teams import service as teams

    alice, bob = world.user("alice"), world.user("bob")
    with world.db.unit_of_work() as s:
        team = teams.create_team(s, name="Payments", now=world.now())
        teams.set_member(s, team, alice)
        teams.set_member(s, team, bob)
        team_id = team.id
    world.service(
        "api",
        world.policy("p", [([{"kind": "team", "ref": team_id}, {"kind": "user", "ref": alice.id}], 600)]),
    )
    world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.expect_email("bob")


def test_provider_500_is_retried_with_backoff_then_delivered(world: World) -> None:
    two_step_policy(world, delay=3600)
    world.email.script(SendResult("retry", status_code=500, error="HTTP 500"))
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")  # the failed attempt
    world.advance(9)
    world.nothing_more()  # backoff: not before 10 s
    world.advance(1)
    world.expect_email("alice")
    kinds = [k for k, _ in world.timeline(incident)]
    assert kinds.count("notify_retry") == 1
    assert kinds.count("notified") == 1


def test_429_honours_retry_after(world: World) -> None:
    two_step_policy(world, delay=3600)
    world.email.script(SendResult("retry", status_code=429, retry_after="120"))
    world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.advance(119)
    world.nothing_more()
    world.advance(1)
    world.expect_email("alice")


def test_retries_are_bounded_and_escalation_moves_on(world: World) -> None:
    two_step_policy(world, delay=60)
    world.email.script(*[SendResult("retry", error="timeout") for _ in range(3)])
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")  # attempt 1 times out
    world.advance(10)
    world.expect_email("alice")  # attempt 2 after 10 s
    world.advance(20)
    world.expect_email("alice")  # attempt 3 after 20 more; the policy allows 3, so alice's page has failed
    world.advance(30)
    world.expect_email("bob")  # the escalation went on regardless
    world.advance(3600)
    kinds = [k for k, _ in world.timeline(incident)]
    assert kinds.count("notify_retry") == 2
    assert kinds.count("notify_failed") == 1
    assert kinds.count("notified") == 1


def test_throttle_holds_back_then_bundles(world: World) -> None:
    from tocsin.notify.throttle import Throttle, Window

    world.throttle = Throttle([Window(limit=2, per=timedelta(minutes=15))])
    world.notifier.ctx = type(world.notifier.ctx)(base_url="http://tocsin.test", throttle=world.throttle)
    alice = world.user("alice")
    world.service("api", world.policy("p", [([{"kind": "user", "ref": alice.id}], 3600)]))
    for n in range(5):
        world.trigger("api", f"k{n}")
    world.run()
    world.email.expect(2)
    world.advance(15 * 60)
    (bundle,) = world.email.expect(1)
    assert "more incident" in bundle.text
    world.advance(3600)


def test_reassign_to_a_user_pages_that_user_and_stops_the_policy(world: World) -> None:
    two_step_policy(world, delay=300)
    carol = world.user("carol")
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.ack(incident)
    with world.db.unit_of_work() as s:
        from tocsin.incidents import service as incidents

        incidents.reassign(s, incident.id, user_id=carol.id, actor=WEB_ACTOR, now=world.now())
    world.run()
    world.expect_email("carol")
    world.advance(3600)  # bob (the policy's second step) is not paged any more


def test_reassign_to_another_policy_runs_that_policy(world: World) -> None:
    two_step_policy(world, delay=300)
    carol = world.user("carol")
    other = world.policy("night", [([{"kind": "user", "ref": carol.id}], 600)])
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    with world.db.unit_of_work() as s:
        from tocsin.incidents import service as incidents

        incidents.reassign(s, incident.id, policy_id=other, actor=WEB_ACTOR, now=world.now())
    world.run()
    world.expect_email("carol")
    world.advance(3600)
