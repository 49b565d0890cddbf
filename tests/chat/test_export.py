"""The whole conversation of a war room kept on the incident when the room is archived (ADR 0033), against the fake
Slack Web API (``conversations.history`` paged by cursor) and the fake Microsoft Graph (``@odata.nextLink``), on
SQLite and PostgreSQL: off unless asked for; exported once per room, oldest first with authors and times; a pass
that fails half-way exports nothing and the next one does it all; over the size limit the newest part is kept and
the export says what was cut."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.conftest import declare, make_service, ok, problem
from tests.chat.conftest import Rooms
from tests.fakes._server import Reply
from tests.fakes.fixtures import running
from tests.fakes.graph import TEAM, FakeGraph
from tocsin.chat import service as chat
from tocsin.chat.models import ChatExport
from tocsin.chat.pacing import Pacer
from tocsin.chat.platforms.graph import GraphRooms
from tocsin.chat.platforms.slack import SlackRooms
from tocsin.cli import app
from tocsin.engine.modules.chat import ChatModule
from tocsin.incidents import service as incidents
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.schemas import Actor

ADMIN = Actor(label="Admin", source="api", user_id=1)


def _exporting(r: Rooms, limit: int = 1_000_000) -> ChatModule:
    return ChatModule(
        r.db,
        {"slack": SlackRooms(r.slack.token, base_url=r.slack.url)},
        r.clock,
        owner="export-test",
        base_url="http://tocsin.test",
        pacer=Pacer({}),
        threads=1,
        export_conversation=True,
        export_limit=limit,
    )


def _pump(r: Rooms, module: ChatModule) -> None:
    for _ in range(20):
        now = r.clock.now()
        if r.events.run_once(now) + module.run_once(now) == 0:
            return
    raise AssertionError("never settled")


def _resolved_room(r: Rooms, module: ChatModule, title: str) -> tuple[int, str]:
    inc = declare(r.api, make_service(r.api)["id"], title)
    ok(r.api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={"platform": "slack"}), 201)
    _pump(r, module)
    channel = str(r.room(int(inc["id"])).room_id)
    return int(inc["id"]), channel


def _say(r: Rooms, channel: str, count: int, *, start: int = 1_700_001_000) -> None:
    for i in range(count):
        who = ("USAM", "UIC")[i % 2]
        r.slack.messages[(channel, f"{start + i}.000100")] = {"text": f"message {i:03d} from {who}", "user": who}


def _close(r: Rooms, module: ChatModule, incident_id: int) -> None:
    with r.db.unit_of_work() as s:
        incidents.resolve(s, incident_id, actor=ADMIN, now=r.clock.now())
    _pump(r, module)
    r.clock.advance(timedelta(days=7, minutes=1))


def _exports(r: Rooms, incident_id: int) -> list[ChatExport]:
    with r.db.reader() as s:
        return list(s.scalars(select(ChatExport).where(ChatExport.incident_id == incident_id)))


def test_the_conversation_is_exported_once_when_the_room_is_archived(rooms: Rooms) -> None:
    r = rooms
    module = _exporting(r)
    r.person("sam@example.com", "Sam", slack_id="USAM")
    r.person("ic@example.com", "Ida", slack_id="UIC")
    with r.db.unit_of_work() as s:
        for email, account in (("sam@example.com", "USAM"), ("ic@example.com", "UIC")):
            uid = chat.user_id_by_email(s, email)
            assert uid is not None
            chat.link(s, uid, "slack", account, now=r.clock.now())
    incident_id, channel = _resolved_room(r, module, "Checkout down")
    _say(r, channel, 250)
    _close(r, module, incident_id)
    assert r.slack.calls_to("conversations.history") == []
    # The second page fails: nothing is kept, the room is not archived, and the next pass reads it all again.
    _fail_second_page(r, channel)
    module.run_once(r.clock.now())
    assert _exports(r, incident_id) == []
    assert r.room(incident_id).status == "open"
    assert r.room(incident_id).attempts == 1
    assert len(r.slack.calls_to("conversations.history")) == 2
    r.clock.advance(timedelta(minutes=1))
    _pump(r, module)
    assert r.room(incident_id).status == "archived"
    exported = _exports(r, incident_id)
    assert len(exported) == 1
    text = exported[0].text
    lines = text.split("\n")
    assert lines[0].startswith(f"Conversation of {r.room(incident_id).name} on slack, ")
    assert "cut" not in lines[0]
    people = [line for line in lines if " from U" in line]
    assert len(people) == 250
    assert people[0] == "2023-11-14 22:30:00 Sam: message 000 from USAM"
    assert people[1].endswith("Ida: message 001 from UIC")
    assert people[-1].endswith("Ida: message 249 from UIC")
    assert exported[0].cut is False
    # Paged by cursor: the second call carries the first page's cursor.
    history = r.slack.calls_to("conversations.history")
    assert "cursor" not in history[-2].args or not history[-2].args.get("cursor")
    assert history[-1].args.get("cursor")
    note = [e for e in _timeline(r, incident_id) if "exported for the postmortem" in e.message]
    assert len(note) == 1
    assert f"{exported[0].messages} message(s)" in note[0].message
    body = r.api.get(f"/api/v1/incidents/{incident_id}/chat-rooms/slack/export")
    assert body.status_code == 200
    assert body.headers["content-type"].startswith("text/plain")
    assert body.text == text
    problem(r.api.get(f"/api/v1/incidents/{incident_id}/chat-rooms/matrix/export"), 404)
    listed = ok(r.api.get(f"/api/v1/incidents/{incident_id}/chat-rooms"))
    assert [x["exported_at"] is not None for x in listed] == [True]
    env = {"TOCSIN_DATABASE_URL": r.db.url, "COLUMNS": "200"}
    printed = CliRunner().invoke(app, ["chat", "export", str(incident_id), "slack"], env=env)
    assert printed.exit_code == 0, printed.output
    assert printed.output == text + "\n"
    assert CliRunner().invoke(app, ["chat", "export", str(incident_id), "teams"], env=env).exit_code != 0
    # Archived: never read or exported again.
    calls = len(r.slack.calls_to("conversations.history"))
    r.clock.advance(timedelta(days=1))
    _pump(r, module)
    assert len(r.slack.calls_to("conversations.history")) == calls
    assert len(_exports(r, incident_id)) == 1


def _fail_second_page(r: Rooms, channel: str) -> None:
    """The first history page as the fake answers it, then a server error for the second."""
    first = r.slack._history(channel, {"channel": channel, "limit": "200"})
    r.slack.script_for("conversations.history", first, Reply.json(500, {"ok": False, "error": "internal_error"}))


def _timeline(r: Rooms, incident_id: int) -> list[TimelineEntry]:
    with r.db.reader() as s:
        return list(s.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)))


def test_over_the_limit_the_newest_part_is_kept(rooms: Rooms) -> None:
    r = rooms
    module = _exporting(r, limit=10_000)
    incident_id, channel = _resolved_room(r, module, "Search slow")
    _say(r, channel, 400)
    _close(r, module, incident_id)
    _pump(r, module)
    exported = _exports(r, incident_id)
    assert len(exported) == 1
    assert exported[0].cut is True
    text = exported[0].text
    assert len(text.encode()) <= 10_000 + 200
    assert "Older messages were cut" in text.split("\n")[0]
    assert "message 399 from" in text
    assert "message 000 from" not in text
    kept = [line for line in text.split("\n") if " from U" in line]
    assert kept == sorted(kept)
    assert exported[0].messages == len([line for line in text.split("\n")[1:] if line])
    assert any("were cut" in e.message for e in _timeline(r, incident_id))


def test_thread_replies_are_exported_in_their_place(rooms: Rooms) -> None:
    """Slack leaves a thread's replies out of the channel history: they are read from the parent's thread, paged,
    and take their place by time among the channel's messages."""
    r = rooms
    module = _exporting(r)
    incident_id, channel = _resolved_room(r, module, "Payments failing")
    start = 1_700_002_000
    r.slack.messages[(channel, f"{start}.000100")] = {"text": "Rolling back the deploy?", "user": "USAM"}
    r.slack.messages[(channel, f"{start + 100}.000100")] = {"text": "Rollback done", "user": "USAM"}
    for i in range(205):  # over one page of replies
        reply = {"text": f"reply {i:03d}", "user": "UIC", "thread_ts": f"{start}.000100"}
        r.slack.messages[(channel, f"{start + 1}.{i:06d}")] = reply
    _close(r, module, incident_id)
    _pump(r, module)
    text = _exports(r, incident_id)[0].text
    lines = [line for line in text.split("\n")[1:] if "deploy" in line or "reply" in line or "Rollback" in line]
    assert len(lines) == 207
    assert lines[0].endswith("USAM: Rolling back the deploy?")
    assert lines[1].endswith("UIC: reply 000")
    assert lines[205].endswith("UIC: reply 204")
    assert lines[206].endswith("USAM: Rollback done")
    threads = r.slack.calls_to("conversations.replies")
    assert [c.args["ts"] for c in threads] == [f"{start}.000100", f"{start}.000100"]
    assert threads[1].args.get("cursor")


def test_no_export_unless_the_setting_asks(rooms: Rooms) -> None:
    r = rooms
    incident_id, channel = _resolved_room(r, r.module, "Queue stuck")
    _say(r, channel, 3)
    _close(r, r.module, incident_id)
    r.pump()
    assert r.room(incident_id).status == "archived"
    assert r.slack.calls_to("conversations.history") == []
    assert _exports(r, incident_id) == []
    problem(r.api.get(f"/api/v1/incidents/{incident_id}/chat-rooms/slack/export"), 404)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    yield from running(fake)
    assert fake.unexpected == []


def test_a_teams_channel_is_exported_page_by_page(rooms: Rooms, graph: FakeGraph) -> None:
    r = rooms
    client = GraphRooms(
        base_url=graph.url, token_url=graph.token_url, client_id="app", client_secret="secret", team_id=TEAM
    )
    module = ChatModule(
        r.db,
        {"teams": client},
        r.clock,
        owner="teams",
        base_url="http://tocsin.test",
        pacer=Pacer({}),
        threads=1,
        export_conversation=True,
    )
    inc = declare(r.api, make_service(r.api)["id"], "Payments failing")
    incident_id = int(inc["id"])
    with r.db.unit_of_work() as s:
        chat.request_room(s, incidents.get(s, incident_id), "teams", actor=ADMIN, now=r.clock.now())
    _pump(r, module)
    room = str(r.room(incident_id).room_id)
    graph.names["aad-ida"] = "Ida Lopez"
    for i in range(120):
        graph.say(room, "aad-ida", f"teams message {i:03d}", f"2026-01-02T03:{i // 60:02d}:{i % 60:02d}Z")
    _close(r, module, incident_id)
    _pump(r, module)
    assert r.room(incident_id).status == "archived"
    exported = _exports(r, incident_id)
    assert len(exported) == 1
    lines = [line for line in exported[0].text.split("\n") if "teams message" in line]
    assert len(lines) == 120
    assert lines[0] == "2026-01-02 03:00:00 Ida Lopez: teams message 000"
    assert lines[-1] == "2026-01-02 03:01:59 Ida Lopez: teams message 119"
    pages = [q for q in graph.server.requests if q.method == "GET" and "skiptoken" in q.path]
    assert len(pages) >= 2
    module.close()


def test_teams_replies_are_exported_with_their_thread(rooms: Rooms, graph: FakeGraph) -> None:
    """Graph lists a channel's messages without their replies unless expanded, and an expansion stops at a limit
    (1,000 in Graph) with a link to the rest: every reply is read, in its place by time."""
    r = rooms
    graph.expand_limit = 3
    client = GraphRooms(
        base_url=graph.url, token_url=graph.token_url, client_id="app", client_secret="secret", team_id=TEAM
    )
    module = ChatModule(
        r.db, {"teams": client}, r.clock, owner="teams", base_url="http://tocsin.test", pacer=Pacer({}), threads=1,
        export_conversation=True,
    )  # fmt: skip
    inc = declare(r.api, make_service(r.api)["id"], "Login failing")
    incident_id = int(inc["id"])
    with r.db.unit_of_work() as s:
        chat.request_room(s, incidents.get(s, incident_id), "teams", actor=ADMIN, now=r.clock.now())
    _pump(r, module)
    room = str(r.room(incident_id).room_id)
    graph.names["aad-ida"] = "Ida Lopez"
    graph.say(room, "aad-ida", "Is it the identity provider?", "2026-01-02T03:00:00Z")
    parent = max(graph.channels[room]["messages"], key=int)
    for i in range(60):
        graph.reply(room, parent, "aad-ida", f"thread reply {i:02d}", f"2026-01-02T03:01:{i:02d}Z")
    graph.say(room, "aad-ida", "Fixed by rotating the key", "2026-01-02T03:05:00Z")
    _close(r, module, incident_id)
    _pump(r, module)
    text = _exports(r, incident_id)[0].text
    lines = [line for line in text.split("\n") if "Ida Lopez" in line]
    assert lines[0] == "2026-01-02 03:00:00 Ida Lopez: Is it the identity provider?"
    assert [line.rsplit(" ", 1)[-1] for line in lines[1:61]] == [f"{i:02d}" for i in range(60)]
    assert lines[61] == "2026-01-02 03:05:00 Ida Lopez: Fixed by rotating the key"
    assert len(lines) == 62
    listed = [q.path for q in graph.server.requests if q.method == "GET" and "/messages" in q.path]
    assert any("expand=replies" in path for path in listed)
    assert sum(1 for path in listed if f"/messages/{parent}/replies" in path) == 2, "57 more replies, pages of 50"
    module.close()
