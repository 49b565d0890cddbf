"""What follows an incident's status change through the incident hooks, end to end: paging, alerts, services."""

from __future__ import annotations

import pytest

from tests.scenarios.harness import WEB, World
from tests.scenarios.test_escalation_scenarios import two_step_policy
from tocsin.alerts import service as alerts
from tocsin.core.errors import Conflict, InvalidTransition
from tocsin.escalation import service as escalation
from tocsin.incidents import service as incidents
from tocsin.services import service as services


def test_escalating_an_acknowledged_incident_goes_through_the_status_table_and_pages_on(world: World) -> None:
    two_step_policy(world, delay=3600)
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.ack(incident)
    world.escalate(incident)
    assert world.status_of(incident) == "triggered"
    entries = world.timeline(incident)
    retriggered = entries.index(("retriggered", "Escalated by hand"))
    assert entries[retriggered + 1] == ("escalate_now", "Escalated by hand")
    with world.db.reader() as s:
        (entry,) = [e for e in incidents.timeline(s, incident.id) if e.kind == "retriggered"]
        assert entry.data == {"previous": "acknowledged"}
        esc = escalation.escalation_of(s, incident.id)
        assert esc is not None
        assert esc.run == 0  # handed on, not started over (a restart begins a new run)
    world.run()
    world.expect_email("bob")  # the next step, and alice is not paged again (the fixture checks nothing more)


def test_a_resolved_incident_cannot_be_escalated(world: World) -> None:
    two_step_policy(world)
    incident = world.trigger("api", "k1")
    world.resolve(incident)
    with pytest.raises(InvalidTransition, match="resolved incident cannot be escalated"):
        world.escalate(incident)


def test_a_re_triggered_incident_pages_from_the_first_step_again(world: World) -> None:
    two_step_policy(world, delay=3600)
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.ack(incident)
    with world.db.unit_of_work() as s:
        incidents.retrigger(s, incident.id, actor=WEB, now=world.now())
    world.run()
    world.expect_email("alice")
    with world.db.reader() as s:
        esc = escalation.escalation_of(s, incident.id)
        assert esc is not None
        assert esc.run == 1  # a new run: its pages are new messages


def test_resolving_by_hand_resolves_the_open_alerts(world: World) -> None:
    two_step_policy(world)
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    world.resolve(incident)
    with world.db.reader() as s:
        assert [a.status for a in alerts.alerts_of_incident(s, incident.id)] == ["resolved"]
        esc = escalation.escalation_of(s, incident.id)
        assert esc is not None
        assert esc.status == "stopped"


def test_a_service_is_archived_once_its_incidents_are_resolved_and_never_deleted_with_them(world: World) -> None:
    two_step_policy(world)
    incident = world.trigger("api", "k1")
    world.run()
    world.expect_email("alice")
    with pytest.raises(Conflict, match=r"open incidents \(#1\)"), world.db.unit_of_work() as s:
        services.archive_service(s, services.get_service(s, "api"), now=world.clock.now())
    world.resolve(incident)
    with pytest.raises(Conflict, match="1 incident"), world.db.unit_of_work() as s:
        services.delete_service(s, services.get_service(s, "api"))
    with world.db.unit_of_work() as s:
        services.archive_service(s, services.get_service(s, "api"), now=world.clock.now())
    with world.db.reader() as s:
        assert services.get_service(s, "api").archived_at is not None
