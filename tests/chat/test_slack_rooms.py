"""Slack war rooms (ADR 0033) against the fake Slack Web API, on SQLite and PostgreSQL: a SEV1 opens its room
(once), invites the commander and responders, keeps the topic and the pinned summary current; ``/tocsin`` commands
change the incident under the console's rules; a reaction lands on the timeline; the room is archived after a
notice; a create or an invite of unknown outcome is looked up rather than repeated; rate limits back off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok, problem
from tests.chat.conftest import Rooms
from tests.fakes._server import Reply
from tocsin.chat import service as chat
from tocsin.chat.models import ChatRoom
from tocsin.incidents import service as incidents
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.schemas import Actor
from tocsin.response import roles

ADMIN = Actor(label="Admin", source="api", user_id=1)


def _auto_sev1(r: Rooms) -> None:
    with r.db.unit_of_work() as s:
        chat.set_auto_rule(s, "slack", severities=["SEV1"], types=[], now=r.clock.now())


def _timeline(r: Rooms, incident_id: int) -> list[TimelineEntry]:
    with r.db.reader() as s:
        return list(s.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)))


def test_a_sev1_opens_its_room_once_and_the_room_follows_the_incident(rooms: Rooms) -> None:
    r = rooms
    _auto_sev1(r)
    commander = r.person("ic@example.com", "Ida Commander", slack_id="UIC")
    service = make_service(r.api)
    low = declare(r.api, service["id"], "Slow page", severity="SEV3")
    sev1 = declare(r.api, service["id"], "Database is down!", severity="SEV1")
    r.pump()
    assert r.room(low["id"]) is None
    names = [c.args["name"] for c in r.slack.calls_to("conversations.create")]
    assert names == [f"inc-{sev1['number']}-database-is-down"]
    channel = r.slack.channel_named(names[0])
    assert channel is not None
    assert channel["is_private"] is False
    assert channel["topic"].startswith("TRIGGERED · SEV1 · Commander: none · http://tocsin.test/incidents/")
    assert len(channel["pins"]) == 1
    pinned = r.slack.messages[(r.room(sev1["id"]).room_id, channel["pins"][0])]
    assert pinned["text"].startswith(f"Incident summary — #{sev1['number']} Database is down!")

    with r.db.unit_of_work() as s:
        roles.seed_defaults(s, now=r.clock.now())
        roles.assign(s, sev1["id"], "Incident Commander", commander, actor=ADMIN, now=r.clock.now())
    r.pump()
    assert "UIC" in channel["members"]
    assert "Commander: Ida Commander" in channel["topic"]
    with r.db.unit_of_work() as s:
        incidents.acknowledge(s, sev1["id"], actor=ADMIN, now=r.clock.now())
    r.pump()
    assert channel["topic"].startswith("ACKNOWLEDGED")
    updates = r.slack.calls_to("chat.update")
    assert updates
    assert "Status: acknowledged" in updates[-1].args["text"]
    assert "Incident Commander: Ida Commander" in updates[-1].args["text"]
    # Asking again, by hand or by rule, never makes a second room.
    again = ok(r.api.post(f"/api/v1/incidents/{sev1['id']}/chat-room", json={"platform": "slack"}), 200)
    assert again["status"] == "open"
    r.pump()
    assert len(r.slack.calls_to("conversations.create")) == 1
    # The commander, then whoever acknowledged (they own the incident now): each invited once.
    assert [c.args["users"] for c in r.slack.calls_to("conversations.invite")] == ["UIC", "UADMIN"]


def test_opened_by_hand_private_for_a_private_incident_and_bad_platforms_refused(rooms: Rooms) -> None:
    r = rooms
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Leaked keys", private=True)
    problem(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={"platform": "irc"}), 422)
    problem(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={"platform": "matrix"}), 409)
    problem(r.api.post("/api/v1/incidents/999999/chat-room", json={}), 404)
    made = ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={}), 201)
    assert made["platform"] == "slack"
    assert made["status"] == "requested"
    assert made["private"] is True
    r.pump()
    channel = r.slack.channel_named(made["name"])
    assert channel is not None
    assert channel["is_private"] is True
    listed = ok(r.api.get(f"/api/v1/incidents/{inc['id']}/chat-rooms"))
    assert [x["status"] for x in listed] == ["open"]


def test_commands_from_the_room_act_under_the_consoles_rules(rooms: Rooms) -> None:
    r = rooms
    r.person("sam@example.com", "Sam", slack_id="USAM")
    r.person("obs@example.com", "Otto", role="observer", slack_id="UOBS")
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Checkout down", severity="SEV1")
    ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={"platform": "slack"}), 201)
    r.pump()
    channel = r.room(inc["id"]).room_id

    stranger = ok(r.command("UNOBODY", channel, "ack"))
    assert "not linked" in stranger["text"]
    assert stranger["response_type"] == "ephemeral"
    observer = ok(r.command("UOBS", channel, "ack"))
    assert observer["text"].startswith("Not done")
    assert ok(r.api.get(f"/api/v1/incidents/{inc['id']}"))["status"] == "triggered"

    acked = ok(r.command("USAM", channel, "ack"))
    assert acked["response_type"] == "in_channel"
    assert "acknowledged" in acked["text"]
    assert ok(r.api.get(f"/api/v1/incidents/{inc['id']}"))["status"] == "acknowledged"
    ok(r.command("USAM", channel, "severity sev2"))
    ok(r.command("USAM", channel, "task add Roll back the deploy"))
    ok(r.command("USAM", channel, "status identified"))
    summary = ok(r.command("USAM", channel, "summary"))
    assert "Roll back the deploy" in summary["text"]
    assert "SEV2" in summary["text"]
    listed = ok(r.command("USAM", channel, "list"))
    assert f"#{inc['number']}" in listed["text"]
    resolved = ok(r.command("USAM", channel, "resolve"))
    assert "resolved" in resolved["text"]
    body = ok(r.api.get(f"/api/v1/incidents/{inc['id']}"))
    assert body["status"] == "resolved"
    assert body["severity"] == "SEV2"
    sources = {(e.source, e.actor) for e in _timeline(r, inc["id"]) if e.kind in ("acknowledged", "resolved")}
    assert sources == {("slack", "Sam")}
    # Another incident by number; one the person may not see is not found.
    other = declare(r.api, service["id"], "Search slow")
    ok(r.command("USAM", channel, f"ack #{other['number']}"))
    assert ok(r.api.get(f"/api/v1/incidents/{other['id']}"))["status"] == "acknowledged"
    assert "no incident #99999" in ok(r.command("USAM", channel, "ack #99999"))["text"]


def test_forged_stale_and_replayed_commands_change_nothing(rooms: Rooms) -> None:
    r = rooms
    r.person("sam@example.com", "Sam", slack_id="USAM")
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Checkout down")
    ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={}), 201)
    r.pump()
    channel = r.room(inc["id"]).room_id
    assert r.command("USAM", channel, "ack", secret="wrong-secret").status_code == 401
    assert r.command("USAM", channel, "ack", age=600).status_code == 401
    body = b"command=%2Ftocsin&text=ack&user_id=USAM&channel_id=" + channel.encode()
    assert r.signed("/webhooks/slack/commands", body).status_code == 200
    assert r.signed("/webhooks/slack/commands", body).status_code == 401
    assert ok(r.api.get(f"/api/v1/incidents/{inc['id']}"))["status"] == "acknowledged"


def test_a_reaction_puts_the_message_on_the_timeline(rooms: Rooms) -> None:
    r = rooms
    r.person("sam@example.com", "Sam", slack_id="USAM")
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Checkout down")
    ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={}), 201)
    r.pump()
    channel = r.room(inc["id"]).room_id
    ts = "1700000999.000100"
    r.slack.messages[(channel, ts)] = {"text": "Found it: the pool is exhausted", "user": "USAM"}
    ok(r.command("USAM", channel, "help"))  # links USAM to Sam by email
    challenge = ok(r.event({"type": "url_verification", "challenge": "abc123"}))
    assert challenge == {"challenge": "abc123"}
    reaction: dict[str, Any] = {
        "type": "event_callback",
        "event_id": "Ev1",
        "event": {
            "type": "reaction_added",
            "user": "USAM",
            "reaction": "memo",
            "item": {"type": "message", "channel": channel, "ts": ts},
        },
    }
    assert r.event(reaction).status_code == 200
    assert r.event(dict(reaction, event={**reaction["event"], "reaction": "tada"}, event_id="Ev2")).status_code == 200
    assert r.event(reaction).status_code == 200  # Slack retries: the same event id is captured once
    notes = [e for e in _timeline(r, inc["id"]) if "pool is exhausted" in e.message]
    assert len(notes) == 1
    assert notes[0].source == "slack"
    assert notes[0].actor == "Sam"
    assert "2023-11-14" in notes[0].message
    assert r.event(reaction, secret="nope").status_code == 401


def test_the_room_is_archived_days_after_close_after_a_notice(rooms: Rooms) -> None:
    r = rooms
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Checkout down")
    ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={}), 201)
    r.pump()
    with r.db.unit_of_work() as s:
        incidents.resolve(s, inc["id"], actor=ADMIN, now=r.clock.now())
    r.pump()
    row = r.room(inc["id"])
    assert row.archive_at == r.clock.now() + timedelta(days=7)
    channel = r.slack.channels[row.room_id]
    r.clock.advance(timedelta(days=6, hours=1))
    r.pump()
    notices = [m for (c, _), m in r.slack.messages.items() if c == row.room_id and "will be archived" in m["text"]]
    assert len(notices) == 1
    assert channel["archived"] is False
    r.clock.advance(timedelta(hours=23))
    r.pump()
    assert channel["archived"] is True
    assert r.room(inc["id"]).status == "archived"
    r.clock.advance(timedelta(days=1))
    r.pump()
    assert len(r.slack.calls_to("conversations.archive")) == 1


def test_a_create_of_unknown_outcome_is_looked_up_not_repeated(rooms: Rooms) -> None:
    r = rooms
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Checkout down")
    made = ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={}), 201)
    # A worker created the channel and died before recording it.
    r.slack.script_for("conversations.create")  # nothing scripted: the real behaviour
    created = r.slack._rooms("conversations.create", {"name": made["name"]})
    assert created.status == 200
    with r.db.unit_of_work() as s:
        s.get(ChatRoom, made["id"]).status = "creating"  # type: ignore[union-attr]
    r.pump()
    assert r.slack.calls_to("conversations.create") == []
    assert len(r.slack.channels) == 1
    assert r.room(inc["id"]).room_id == next(iter(r.slack.channels))


def test_name_taken_is_looked_up_and_rate_limits_back_off(rooms: Rooms) -> None:
    r = rooms
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Checkout down")
    made = ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={}), 201)
    r.slack.script_for(
        "conversations.create", Reply.json(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "30"})
    )
    r.module.run_once(r.clock.now())
    row = r.room(inc["id"])
    assert row.status == "creating"
    assert row.attempts == 1
    assert "ratelimited" in (row.last_error or "")
    assert row.due_at == r.clock.now() + timedelta(seconds=30)
    assert r.module.run_once(r.clock.now()) == 0  # not before Retry-After
    # Meanwhile someone made a channel of that name (or our lost create did): it is taken over, not duplicated.
    r.slack._rooms("conversations.create", {"name": made["name"]})
    r.clock.advance(timedelta(seconds=31))
    r.pump()
    row = r.room(inc["id"])
    assert row.status == "open"
    assert row.attempts == 0
    assert row.last_error is None
    assert len(r.slack.channels) == 1


def test_invites_of_unknown_outcome_are_checked_against_the_members(rooms: Rooms) -> None:
    r = rooms
    commander = r.person("ic@example.com", "Ida", slack_id="UIC")
    tech = r.person("tl@example.com", "Tom", slack_id="UTL")
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Checkout down")
    ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={}), 201)
    r.pump()
    row = r.room(inc["id"])
    channel = r.slack.channels[row.room_id]
    # A worker invited Ida and died before recording it; Tom's invite never left.
    channel["members"].append("UIC")
    with r.db.unit_of_work() as s:
        found = s.get(ChatRoom, row.id)
        assert found is not None
        found.inviting = ["UIC", "UTL"]
        found.due_at = r.clock.now()
        roles.seed_defaults(s, now=r.clock.now())
        roles.assign(s, inc["id"], "Incident Commander", commander, actor=ADMIN, now=r.clock.now())
        roles.assign(s, inc["id"], "Technical Lead", tech, actor=ADMIN, now=r.clock.now())
    r.pump()
    invites = [c.args["users"] for c in r.slack.calls_to("conversations.invite")]
    assert invites == ["UTL"]
    assert set(r.room(inc["id"]).invited) == {"UIC", "UTL"}


def test_a_mattermost_slash_command_through_the_signing_proxy(rooms: Rooms) -> None:
    """Mattermost sends Slack's slash-command form (plus its own fields); behind the documented proxy that checks
    Mattermost's token and signs with the Slack signing secret, it runs like a Slack command. Unsigned, refused."""
    r = rooms
    sam = r.person("sam@example.com", "Sam")
    with r.db.unit_of_work() as s:
        chat.link(s, sam, "slack", "mm-user-4f8e", now=r.clock.now())
    service = make_service(r.api)
    inc = declare(r.api, service["id"], "Checkout down")
    form = {
        "channel_id": "mm-channel-1",
        "channel_name": "town-square",
        "command": "/tocsin",
        "team_domain": "ops",
        "team_id": "mm-team",
        "text": f"ack #{inc['number']}",
        "token": "mattermost-command-token",
        "user_id": "mm-user-4f8e",
        "user_name": "sam",
    }
    body = "&".join(f"{k}={v.replace(' ', '+').replace('#', '%23')}" for k, v in form.items()).encode()
    unsigned = r.api.client.post(
        "/webhooks/slack/commands", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code == 401
    answer = ok(r.signed("/webhooks/slack/commands", body))
    assert "acknowledged" in answer["text"]
    assert ok(r.api.get(f"/api/v1/incidents/{inc['id']}"))["status"] == "acknowledged"
