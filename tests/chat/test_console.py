"""The incident page's War room card: the Open button (with CSRF) asks for the room once and the card shows where
it stands; an observer sees the card without the button."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok
from tests.chat.conftest import Rooms
from tests.web.conftest import PASSWORD, password_hash  # noqa: F401  (hashed once per run)
from tocsin.chat import service as chat
from tocsin.chat.models import ChatExport
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.schemas import Actor
from tocsin.response import roles
from tocsin.users import service as users

ADMIN = Actor(label="Admin", source="api", user_id=1)


def test_the_war_room_card_opens_a_room(rooms: Rooms, password_hash: str) -> None:  # noqa: F811
    r = rooms
    with r.db.unit_of_work() as s:
        for email, role in (("alice@example.com", "admin"), ("olga@example.com", "observer")):
            users.create_user(
                s,
                email=email,
                name=email.split("@")[0].title(),
                role=role,
                now=r.clock.now(),
                password_hash=password_hash,
            )
    inc = declare(r.api, make_service(r.api)["id"], "Checkout is down")
    web = r.api.client
    assert (
        web.post(
            "/login", data={"email": "alice@example.com", "password": PASSWORD}, follow_redirects=False
        ).status_code
        == 303
    )
    page = web.get(f"/incidents/{inc['number']}").text
    assert 'id="chat"' in page
    assert "No war room yet." in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    assert web.post(f"/incidents/{inc['number']}/chat-room", data={"csrf": "forged"}).status_code == 403
    opened = web.post(f"/incidents/{inc['number']}/chat-room", data={"csrf": csrf.group(1), "platform": "slack"})
    assert f"War room inc-{inc['number']}-checkout-is-down asked for on slack" in opened.text
    r.pump()
    page = web.get(f"/incidents/{inc['number']}").text
    assert f"inc-{inc['number']}-checkout-is-down" in page
    assert "· open" in page
    assert 'action="/incidents/' + str(inc["number"]) + '/chat-room"' not in page, "one room per platform"
    web.cookies.clear()
    assert (
        web.post("/login", data={"email": "olga@example.com", "password": PASSWORD}, follow_redirects=False).status_code
        == 303
    )
    assert 'id="chat"' in web.get(f"/incidents/{inc['number']}").text


def _signed_in(r: Rooms, email: str) -> None:
    web = r.api.client
    web.cookies.clear()
    assert web.post("/login", data={"email": email, "password": PASSWORD}, follow_redirects=False).status_code == 303


def test_remove_a_person_from_the_room_and_download_the_conversation(rooms: Rooms, password_hash: str) -> None:  # noqa: F811
    """Each person in the room has a Remove button (responders only, with CSRF) that asks the engine to kick them,
    as ``remove`` from the room does; once archived with the export on, the card links to the conversation."""
    r = rooms
    with r.db.unit_of_work() as s:
        for email, role in (("alice@example.com", "responder"), ("olga@example.com", "observer")):
            users.create_user(
                s, email=email, name=email.split("@")[0].title(), role=role, now=r.clock.now(),
                password_hash=password_hash,
            )  # fmt: skip
    ida = r.person("ic@example.com", "Ida Commander", slack_id="UIC")
    inc = declare(r.api, make_service(r.api)["id"], "Checkout is down", severity="SEV1")
    incident_id, number = int(inc["id"]), inc["number"]
    ok(r.api.post(f"/api/v1/incidents/{incident_id}/chat-room", json={"platform": "slack"}), 201)
    with r.db.unit_of_work() as s:
        roles.seed_defaults(s, now=r.clock.now())
        roles.assign(s, incident_id, "Incident Commander", ida, actor=ADMIN, now=r.clock.now())
    r.pump()
    channel = str(r.room(incident_id).room_id)
    assert "UIC" in r.slack.channels[channel]["members"]
    web = r.api.client

    _signed_in(r, "olga@example.com")
    page = web.get(f"/incidents/{number}").text
    assert 'data-chat-member="UIC"' in page
    assert "Remove Ida Commander from the room" not in page, "an observer gets no button"
    _signed_in(r, "alice@example.com")
    page = web.get(f"/incidents/{number}").text
    assert 'data-chat-member="UIC"' in page
    assert "Remove Ida Commander from the room" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    remove = f"/incidents/{number}/chat-room/slack/remove"
    assert web.post(remove, data={"csrf": "forged", "account": "UIC"}).status_code == 403
    refused = web.post(remove, data={"csrf": csrf.group(1), "account": "UNOBODY"})
    assert "no person &#39;UNOBODY&#39; in the slack war room" in refused.text
    no_room = web.post(f"/incidents/{number}/chat-room/matrix/remove", data={"csrf": csrf.group(1), "account": "UIC"})
    assert f"incident #{number} has no matrix war room" in no_room.text
    r.pump()
    assert [c.args["user"] for c in r.slack.calls_to("conversations.kick")] == []

    done = web.post(remove, data={"csrf": csrf.group(1), "account": "UIC"})
    assert "Ida Commander will be removed from war room" in done.text
    assert 'data-chat-member="UIC"' not in done.text, "no longer listed once asked for"
    r.pump()
    assert [c.args["user"] for c in r.slack.calls_to("conversations.kick")] == ["UIC"]
    assert "UIC" not in r.slack.channels[channel]["members"]
    with r.db.reader() as s:
        asked = [e for e in s.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident_id))]
    line = next(e for e in asked if "is to be removed from war room" in e.message)
    assert (line.actor, line.source) == ("Alice", "web")

    conversation = f"/incidents/{number}/chat-room/slack/conversation"
    assert web.get(conversation).status_code == 404
    with r.db.unit_of_work() as s:
        row = chat.room_of(s, incident_id, "slack")
        assert row is not None
        s.add(
            ChatExport(
                room_id=row.id, incident_id=incident_id, platform="slack", name=row.name, messages=1, cut=False,
                text="Conversation of the room\n2026-01-01 00:00:00 Ida: on it", created_at=r.clock.now(),
            )
        )  # fmt: skip
    page = web.get(f"/incidents/{number}").text
    assert f'href="{conversation}"' in page
    got = web.get(conversation)
    assert got.status_code == 200
    assert got.headers["content-disposition"] == f'attachment; filename="incident-{number}-slack-conversation.txt"'
    assert got.text.endswith("Ida: on it")
