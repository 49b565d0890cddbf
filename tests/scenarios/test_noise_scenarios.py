"""Noise reduction end to end: what pages and what stays quiet, with the real engine and recording providers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.scenarios.harness import World
from tocsin.alerts.schemas import NormalizedEvent


def alert(key: str, summary: str = "Something broke", **labels: str) -> NormalizedEvent:
    return NormalizedEvent("trigger", key, summary=summary, labels=labels)


def resolved(key: str) -> NormalizedEvent:
    return NormalizedEvent("resolve", key)


def on_call(world: World, *services: str) -> None:
    alice = world.user("alice")
    policy = world.policy("default", [([{"kind": "user", "ref": alice.id}], 300)])
    for name in services or ("api",):
        world.service(name, policy)


def test_a_silenced_alert_pages_nobody_until_the_silence_ends(world: World) -> None:
    on_call(world)
    world.silence([{"field": "labels.host", "value": "db1"}], minutes=30)
    assert world.send("api", alert("k1", host="db1")) == ["silenced"]
    world.advance(600)
    world.nothing_more()
    world.advance(1200)  # the silence has ended
    assert world.send("api", alert("k2", host="db1")) == ["created"]
    world.run()
    world.expect_email("alice")


def test_grouped_alerts_page_once(world: World) -> None:
    on_call(world)
    world.grouping("api", ["cluster"])
    outcomes = world.send("api", alert("a", cluster="eu1"), alert("b", cluster="eu1"))
    world.advance(60)
    outcomes += world.send("api", alert("c", cluster="eu1"))
    assert outcomes == ["created", "grouped", "grouped"]
    world.run()
    msg = world.expect_email("alice")
    assert msg.incident is not None
    assert world.incident_by_key("c").number == msg.incident.number


def test_an_inhibited_alert_stays_quiet_while_its_source_fires(world: World) -> None:
    on_call(world)
    world.inhibit(
        "cluster-down",
        source=[{"field": "labels.alertname", "value": "ClusterDown"}],
        target=[{"field": "labels.alertname", "value": "PodCrash"}],
        equal=["cluster"],
    )
    assert world.send("api", alert("src", "cluster down", alertname="ClusterDown", cluster="eu1")) == ["created"]
    world.run()
    world.expect_email("alice")
    assert world.send("api", alert("t", "pod crash", alertname="PodCrash", cluster="eu1")) == ["inhibited"]
    world.advance(900)
    world.nothing_more()


def test_rules_drop_suppress_and_route_to_another_team(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    world.service("api", world.policy("api", [([{"kind": "user", "ref": alice.id}], 300)]))
    world.service("payments", world.policy("payments", [([{"kind": "user", "ref": bob.id}], 300)]))
    rules: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
        ("drop-test", [{"field": "labels.env", "value": "test"}], {"drop": True}),
        ("mute-dev", [{"field": "labels.env", "value": "dev"}], {"suppress": True}),
        ("pay", [{"field": "labels.team", "value": "pay"}], {"service": "payments"}),
    ]
    for name, matchers, actions in rules:
        world.event_rule(name, matchers, actions)
    outcomes = world.send("api", alert("a", env="test"), alert("b", env="dev"), alert("c", team="pay"))
    assert outcomes == ["dropped", "suppressed", "created"]
    world.run()
    world.expect_email("bob")


def test_a_flapping_alert_stops_paging_until_it_is_stable(world: World) -> None:
    on_call(world)
    world.flapping(max_changes=2, window_seconds=600)
    assert world.send("api", alert("flap")) == ["created"]
    world.run()
    world.expect_email("alice")
    world.advance(30)
    world.send("api", resolved("flap"))
    world.advance(30)
    assert world.send("api", alert("flap")) == ["flapping"]
    world.advance(900)
    kinds = [k for k, _ in world.timeline(world.incident_by_key("flap"))]
    assert "flapping" in kinds
    world.nothing_more()


def test_the_author_is_reminded_before_a_silence_ends(world: World) -> None:
    world.user("alice")
    world.run_silence_module()
    world.silence([{"field": "labels.host", "value": "db1"}], minutes=60, author="alice")
    world.advance(30 * 60)
    world.nothing_more()
    world.advance(20 * 60)  # 10 minutes left
    msg = world.expect_status("alice")
    assert "ends in" in msg.text
    world.advance(timedelta(hours=2).total_seconds())


def test_resolving_under_a_silence_still_tells_whoever_was_paged(world: World) -> None:
    on_call(world)
    assert world.send("api", alert("k1", host="db1")) == ["created"]
    world.run()
    world.expect_email("alice")
    world.silence([{"field": "labels.host", "value": "db1"}], minutes=60)
    assert world.send("api", resolved("k1")) == ["resolved"]
    world.run()
    msg = world.expect_status("alice")
    assert "resolved (while silenced)" in msg.text
    kinds = [k for k, _ in world.timeline(world.incident_by_key("k1"))]
    assert kinds[-3:] == ["resolved", "resolved_notice", "notified"]


def test_a_flapping_alert_that_stays_down_pages_once_it_is_stable(world: World) -> None:
    on_call(world)
    world.run_silence_module()
    world.flapping(max_changes=2, window_seconds=600)
    world.send("api", alert("flap"))
    world.run()
    world.expect_email("alice")
    world.advance(30)
    world.send("api", resolved("flap"))
    world.advance(30)
    assert world.send("api", alert("flap")) == ["flapping"]
    world.advance(590)
    world.nothing_more()  # still within the window: paging stays paused
    world.advance(40)
    msg = world.expect_email("alice")
    assert msg.incident is not None
    assert msg.incident.number == world.incident_by_key("flap").number
    kinds = [k for k, _ in world.timeline(world.incident_by_key("flap"))]
    assert "flapping_stable" in kinds
