"""The Slack message shortcut *Add to incident timeline* (ADR 0033), on the signature-checked interactivity
endpoint, on SQLite and PostgreSQL: the message goes on the timeline of the room's incident as a note with its
author, its time and who added it, once per use; a person Tocsin does not know is told how to link (through the
payload's ``response_url``) and nothing is recorded; outside a war room nothing is recorded either."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok
from tests.chat.conftest import Rooms
from tests.fakes.slack import slack_signature
from tocsin.incidents.models import TimelineEntry
from tocsin.replies.slack_chat import CAPTURE_CALLBACK

SECRET = "fake-slack-signing-secret-0123"


def _shortcut(r: Rooms, payload: dict[str, Any], *, secret: str = SECRET) -> httpx.Response:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    ts = str(int(r.clock.now().timestamp()))
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(secret, ts, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return r.api.client.post("/webhooks/slack/interactivity", content=body, headers=headers)


def _payload(r: Rooms, channel: str, who: str, trigger: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "message_action",
        "callback_id": CAPTURE_CALLBACK,
        "trigger_id": trigger,
        "action_ts": trigger.split(".")[0] + ".5",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": who, "username": who.lower(), "team_id": "T1"},
        "channel": {"id": channel, "name": "inc"},
        "message": {
            "type": "message",
            "user": "UIC",
            "ts": "1700000999.000100",
            "text": "Rolled back to 2.3.1; errors are dropping",
        },
        "response_url": f"{r.slack.server.url}/actions/T1/{trigger}/hook",
    }
    data.update(over)
    return data


def _notes(r: Rooms, incident_id: int) -> list[TimelineEntry]:
    with r.db.reader() as s:
        rows = s.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident_id))
        return [e for e in rows if "Rolled back" in e.message]


def test_the_message_shortcut_puts_the_message_on_the_timeline(rooms: Rooms) -> None:
    r = rooms
    r.person("sam@example.com", "Sam", slack_id="USAM")
    r.person("ic@example.com", "Ida", slack_id="UIC")
    inc = declare(r.api, make_service(r.api)["id"], "Checkout down")
    incident_id = int(inc["id"])
    ok(r.api.post(f"/api/v1/incidents/{incident_id}/chat-room", json={"platform": "slack"}), 201)
    r.pump()
    channel = str(r.room(incident_id).room_id)
    ok(r.command("UIC", channel, "help"))  # links Ida's account by her email

    assert _shortcut(r, _payload(r, channel, "USAM", "111.222")).status_code == 200
    notes = _notes(r, incident_id)
    assert len(notes) == 1
    assert notes[0].source == "slack"
    assert notes[0].actor == "Ida"
    assert "2023-11-14 22:29:59" in notes[0].message
    assert "added by Sam" in notes[0].message
    hook = r.slack.server.wait_for(lambda q: q.path == "/actions/T1/111.222/hook")
    assert json.loads(hook[0].body)["text"] == "Added to the incident's timeline."
    # The same use delivered again (another request, the same trigger): recorded once.
    again = _payload(r, channel, "USAM", "111.222", action_ts="111.9")
    assert _shortcut(r, again).status_code == 200
    assert len(_notes(r, incident_id)) == 1
    # A forged request changes nothing.
    assert _shortcut(r, _payload(r, channel, "USAM", "333.444"), secret="wrong").status_code == 401
    assert len(_notes(r, incident_id)) == 1


def test_the_shortcut_is_refused_to_strangers_and_outside_war_rooms(rooms: Rooms) -> None:
    r = rooms
    r.person("sam@example.com", "Sam", slack_id="USAM")
    inc = declare(r.api, make_service(r.api)["id"], "Checkout down")
    incident_id = int(inc["id"])
    ok(r.api.post(f"/api/v1/incidents/{incident_id}/chat-room", json={"platform": "slack"}), 201)
    r.pump()
    channel = str(r.room(incident_id).room_id)

    assert _shortcut(r, _payload(r, channel, "UNOBODY", "555.666")).status_code == 200
    hook = r.slack.server.wait_for(lambda q: q.path == "/actions/T1/555.666/hook")
    answer = json.loads(hook[0].body)
    assert answer["response_type"] == "ephemeral"
    assert "not linked" in answer["text"]

    assert _shortcut(r, _payload(r, "CGENERAL", "USAM", "777.888")).status_code == 200
    hook = r.slack.server.wait_for(lambda q: q.path == "/actions/T1/777.888/hook")
    assert "war room" in json.loads(hook[0].body)["text"]

    other = _payload(r, channel, "USAM", "999.000", callback_id="someone_elses_shortcut")
    assert _shortcut(r, other).status_code == 200
    assert _notes(r, incident_id) == []
