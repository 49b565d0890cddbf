"""Removing people from a war room on request (ADR 0033), against the fake Slack Web API and the fake Microsoft
Graph, on SQLite and PostgreSQL: from the room (``/tocsin remove <@U…>``), the API and the CLI, under the console's
rules, on the timeline with who asked and how; the removal is checked against the room's members before it is
made (never twice), and it sticks until the person is added to the incident anew."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.conftest import declare, make_service, ok, problem
from tests.chat.conftest import Rooms
from tests.fakes._server import Reply
from tests.fakes.fixtures import running
from tests.fakes.graph import TEAM, FakeGraph
from tocsin.chat import service as chat
from tocsin.chat.models import ChatRoom
from tocsin.chat.pacing import Pacer
from tocsin.chat.platforms.graph import GraphRooms
from tocsin.cli import app
from tocsin.engine.modules.chat import ChatModule
from tocsin.incidents import service as incidents
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.schemas import Actor
from tocsin.response import roles

ADMIN = Actor(label="Admin", source="api", user_id=1)


def _timeline(r: Rooms, incident_id: int) -> list[TimelineEntry]:
    with r.db.reader() as s:
        return list(s.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)))


def _kicked(r: Rooms) -> list[str]:
    return [c.args["user"] for c in r.slack.calls_to("conversations.kick")]


def _invited(r: Rooms) -> list[str]:
    return [c.args["users"] for c in r.slack.calls_to("conversations.invite")]


def _room_with_commander(r: Rooms) -> tuple[dict[str, object], str, int]:
    ida = r.person("ic@example.com", "Ida Commander", slack_id="UIC")
    inc = declare(r.api, make_service(r.api)["id"], "Checkout down", severity="SEV1")
    ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={"platform": "slack"}), 201)
    with r.db.unit_of_work() as s:
        roles.seed_defaults(s, now=r.clock.now())
        roles.assign(s, int(inc["id"]), "Incident Commander", ida, actor=ADMIN, now=r.clock.now())
    r.pump()
    channel = r.room(int(inc["id"])).room_id
    assert "UIC" in r.slack.channels[channel]["members"]
    return inc, channel, ida


def test_remove_from_the_room_sticks_until_the_person_is_added_anew(rooms: Rooms) -> None:
    r = rooms
    r.person("sam@example.com", "Sam", slack_id="USAM")
    r.person("obs@example.com", "Otto", role="observer", slack_id="UOBS")
    inc, channel, ida = _room_with_commander(r)
    incident_id = int(str(inc["id"]))
    members = r.slack.channels[channel]["members"]

    assert "not linked" in ok(r.command("UNOBODY", channel, "remove <@UIC|ida>"))["text"]
    assert ok(r.command("UOBS", channel, "remove <@UIC|ida>"))["text"].startswith("Not done")
    assert "Usage" in ok(r.command("USAM", channel, "remove"))["text"]
    r.pump()
    assert _kicked(r) == []

    answer = ok(r.command("USAM", channel, "remove <@UIC|ida>"))
    assert answer["response_type"] == "in_channel"
    assert "Ida Commander will be removed" in answer["text"]
    # Someone else joins in the same pass: their invite must not write Ida back as invited.
    scribe = r.person("scribe@example.com", "Sid", slack_id="USID")
    with r.db.unit_of_work() as s:
        roles.assign(s, incident_id, "Scribe", scribe, actor=ADMIN, now=r.clock.now())
    r.pump()
    assert _kicked(r) == ["UIC"]
    assert _invited(r)[-1] == "USID"
    assert "UIC" not in members
    row = r.room(incident_id)
    assert row.removing == []
    assert "UIC" not in row.invited
    asked = [e for e in _timeline(r, incident_id) if "removed from war room" in e.message]
    assert len(asked) == 1
    assert (asked[0].actor, asked[0].source) == ("Sam", "slack")
    assert "Ida Commander is to be removed from war room" in asked[0].message
    assert "via slack" in asked[0].message

    # Still the commander, and the incident moves on: she is not invited back by the reconciliation.
    invites = len(_invited(r))
    with r.db.unit_of_work() as s:
        incidents.acknowledge(s, incident_id, actor=ADMIN, now=r.clock.now())
    r.pump()
    assert len(_invited(r)) == invites + 1, "whoever acknowledged is invited; Ida is not"
    assert "UIC" not in _invited(r)[invites:]
    assert "UIC" not in members

    # A removal whose answer was lost is checked against the members, not sent again.
    with r.db.unit_of_work() as s:
        found = s.get(ChatRoom, row.id)
        assert found is not None
        found.removing = ["UIC"]
        found.due_at = r.clock.now()
    r.pump()
    assert _kicked(r) == ["UIC"]
    assert r.room(incident_id).removing == []

    # Given a role after the removal: added anew, so invited again.
    r.clock.advance(timedelta(minutes=5))
    with r.db.unit_of_work() as s:
        roles.assign(s, incident_id, "Technical Lead", ida, actor=ADMIN, now=r.clock.now())
    r.pump()
    assert _invited(r)[-1] == "UIC"
    assert "UIC" in members


def test_remove_through_the_api_and_the_cli(rooms: Rooms) -> None:
    r = rooms
    inc, _, _ = _room_with_commander(r)
    incident_id = int(str(inc["id"]))
    tom = r.person("tl@example.com", "Tom", slack_id="UTL")
    with r.db.unit_of_work() as s:
        roles.assign(s, incident_id, "Technical Lead", tom, actor=ADMIN, now=r.clock.now())
    r.pump()
    base = f"/api/v1/incidents/{incident_id}/chat-rooms"
    problem(r.api.delete(f"{base}/slack/members/nobody@example.com"), 404)
    problem(r.api.delete(f"{base}/irc/members/ic@example.com"), 422)
    problem(r.api.delete(f"{base}/matrix/members/ic@example.com"), 404)
    made = ok(r.api.delete(f"{base}/slack/members/ic@example.com"), 202)
    assert made["status"] == "open"
    assert made["removing"] == ["UIC"]
    r.pump()
    assert _kicked(r) == ["UIC"]
    entry = next(e for e in _timeline(r, incident_id) if "removed from war room" in e.message)
    assert (entry.actor, entry.source) == ("Admin", "api")

    # The chat account itself, when it was invited, is accepted too; from the command line the source is "cli".
    env = {"TOCSIN_DATABASE_URL": r.db.url, "TOCSIN_CLI_USER": "admin@example.com", "COLUMNS": "200"}
    result: Result = CliRunner().invoke(app, ["chat", "remove", str(inc["number"]), "slack", "UTL"], env=env)
    assert result.exit_code == 0, result.output
    assert "Tom will be removed" in result.output
    r.pump()
    assert _kicked(r) == ["UIC", "UTL"]
    cli_entry = [e for e in _timeline(r, incident_id) if "Tom is to be removed from war room" in e.message]
    assert [(e.actor, e.source) for e in cli_entry] == [("Admin", "cli")]
    failed = CliRunner().invoke(app, ["chat", "remove", str(inc["number"]), "slack", "UNOBODY"], env=env)
    assert failed.exit_code != 0

    # Archived: nothing left to remove anyone from.
    with r.db.unit_of_work() as s:
        found = s.get(ChatRoom, r.room(incident_id).id)
        assert found is not None
        found.status = "archived"
    problem(r.api.delete(f"{base}/slack/members/tl@example.com"), 409)


def test_slack_errors_on_a_kick(rooms: Rooms) -> None:
    r = rooms
    r.person("sam@example.com", "Sam", slack_id="USAM")
    inc, channel, _ = _room_with_commander(r)
    incident_id = int(str(inc["id"]))
    # Gone between the members check and the kick: done, not an error.
    r.slack.script_for("conversations.kick", Reply.json(200, {"ok": False, "error": "not_in_channel"}))
    ok(r.command("USAM", channel, "remove <@UIC>"))
    r.pump()
    row = r.room(incident_id)
    assert row.removing == []
    assert row.last_error is None
    # The bot itself: Slack refuses, the timeline says so, and it is not tried again.
    ok(r.command("USAM", channel, "remove <@UBOT>"))
    r.pump()
    r.pump()
    assert _kicked(r) == ["UIC", "UBOT"]
    assert r.room(incident_id).removing == []
    assert any("UBOT could not be removed" in e.message for e in _timeline(r, incident_id))
    assert "UBOT" in r.slack.channels[channel]["members"]
    # Rate limited: tried again after Retry-After. Refused for good: said on the timeline, the room carries on.
    r.person("tl@example.com", "Tom", slack_id="UTL")
    r.slack.channels[channel]["members"].append("UTL")
    r.slack.script_for(
        "conversations.kick",
        Reply.json(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "20"}),
        Reply.json(200, {"ok": False, "error": "restricted_action"}),
    )
    ok(r.command("USAM", channel, "remove <@UTL>"))
    r.pump()
    row = r.room(incident_id)
    assert row.removing == ["UTL"]
    assert row.attempts == 1
    assert row.due_at == r.clock.now() + timedelta(seconds=20)
    r.clock.advance(timedelta(seconds=21))
    r.pump()
    row = r.room(incident_id)
    assert row.removing == []
    assert row.status == "open"
    assert row.attempts == 0
    refused = [e.message for e in _timeline(r, incident_id) if "UTL could not be removed" in e.message]
    assert len(refused) == 1
    assert "restricted_action" in refused[0]
    assert _kicked(r) == ["UIC", "UBOT", "UTL", "UTL"]


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    yield from running(fake)
    assert fake.unexpected == []


def test_a_removal_on_teams_deletes_the_membership(rooms: Rooms, graph: FakeGraph) -> None:
    r = rooms
    client = GraphRooms(
        base_url=graph.url, token_url=graph.token_url, client_id="app", client_secret="secret", team_id=TEAM
    )
    module = ChatModule(
        r.db, {"teams": client}, r.clock, owner="teams", base_url="http://tocsin.test", pacer=Pacer({}), threads=1
    )
    ida = r.person("ida@example.com", "Ida")
    tom = r.person("tom@example.com", "Tom")
    graph.users.update({"ida@example.com": "aad-ida", "tom@example.com": "aad-tom"})
    inc = declare(r.api, make_service(r.api)["id"], "Payments failing", private=True)
    incident_id = int(inc["id"])
    with r.db.unit_of_work() as s:
        chat.request_room(s, incidents.get(s, incident_id), "teams", actor=ADMIN, now=r.clock.now())
        roles.seed_defaults(s, now=r.clock.now())
        roles.assign(s, incident_id, "Incident Commander", ida, actor=ADMIN, now=r.clock.now())
        roles.assign(s, incident_id, "Technical Lead", tom, actor=ADMIN, now=r.clock.now())

    def pump() -> None:
        for _ in range(5):
            r.events.run_once(r.clock.now())
            module.run_once(r.clock.now())

    pump()
    channel = graph.channels[r.room(incident_id).room_id]
    assert channel["members"] == ["aad-ida", "aad-tom"]
    ok(r.api.delete(f"/api/v1/incidents/{incident_id}/chat-rooms/teams/members/tom@example.com"), 202)
    pump()
    assert channel["members"] == ["aad-ida"]
    deletes = [q for q in graph.server.requests if q.method == "DELETE"]
    assert len(deletes) == 1
    assert "/members/" in deletes[0].path
    module.close()
