"""Matrix war rooms (ADR 0033) on a REAL Synapse homeserver (started once per test session), with a real Matrix
client library (matrix-nio) playing the people: a SEV1 opens its room, invites the linked commander, sets the topic
and pins the summary, which follows the status; ``!tocsin ack`` and ``!tocsin resolve`` from the room change the
incident; a 📝 reaction lands on the timeline; after close the room gets its notice and the bot leaves. ``!tocsin
remove`` kicks a person who then stays out, and the conversation is exported when the room is archived."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok
from tests.chat.synapse import Synapse
from tests.conftest import ApiHarness
from tocsin.chat import service as chat
from tocsin.chat.pacing import Pacer
from tocsin.chat.platforms.matrix import MatrixRooms
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.chat import ChatModule
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.engine.modules.matrix_sync import MatrixSyncModule
from tocsin.incidents import service as incidents
from tocsin.incidents.models import TimelineEntry
from tocsin.response import roles
from tocsin.users import service as users

pytestmark = [pytest.mark.compat, pytest.mark.slow]


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(Path(tmp_path_factory.mktemp("synapse"))).start()
    try:
        yield server
    finally:
        server.stop()


class Person:
    """A person in Element, played by matrix-nio over the client-server API.

    The client runs on an event loop of its own in a thread of its own: the test's thread may already carry a running
    loop (Playwright's sync API leaves one set while a browser is open in the same process)."""

    def __init__(self, synapse: Synapse, localpart: str) -> None:
        self.user_id = synapse.user_id(localpart)
        token = synapse.register(localpart)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"matrix-{localpart}", daemon=True)
        self.thread.start()
        self.client = self.run(self._connect(synapse.url, token))

    async def _connect(self, url: str, token: str) -> Any:
        from nio import AsyncClient

        client = AsyncClient(url, self.user_id)
        client.access_token = token
        client.user_id = self.user_id
        return client

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def join(self, room_id: str) -> None:
        from nio import JoinResponse

        assert isinstance(self.run(self.client.join(room_id)), JoinResponse)

    def say(self, room_id: str, text: str) -> str:
        sent = self.run(self.client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text}))
        return str(sent.event_id)

    def react(self, room_id: str, event_id: str, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        self.run(self.client.room_send(room_id, "m.reaction", content))

    def close(self) -> None:
        try:
            self.run(self.client.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


def _state(synapse: Synapse, token: str, room: str, kind: str) -> Any:
    url = f"{synapse.url}/_matrix/client/v3/rooms/{room}/state/{kind}"
    return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()


@pytest.fixture
def matrix_api(db: Database, clock: FakeClock, synapse: Synapse) -> Iterator[tuple[ApiHarness, MatrixRooms, str]]:
    from fastapi.testclient import TestClient

    from tocsin.app import create_app
    from tocsin.settings import load_settings

    token = synapse.register("tocsin", admin=True)
    settings = load_settings(
        database_url=db.url,
        run_worker=False,
        public_url="http://tocsin.test",
        matrix_homeserver_url=synapse.url,
        matrix_access_token=token,
    )
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, secret = users.create_token(s, admin, name="test", now=clock.now())
    with TestClient(app) as client:
        api = ApiHarness(client=client, runtime=app.state.runtime, clock=clock, token=secret, admin_id=admin.id)
        bot = MatrixRooms(synapse.url, token)
        yield api, bot, token
        bot.close()


def test_a_matrix_war_room_from_opening_to_archive(
    matrix_api: tuple[ApiHarness, MatrixRooms, str], synapse: Synapse
) -> None:
    api, bot, token = matrix_api
    db, clock = api.runtime.db, api.clock
    suffix = str(abs(hash(db.url)) % 100_000)
    ida = Person(synapse, f"ida{suffix}")
    try:
        with db.unit_of_work() as s:
            user = users.create_user(s, email=f"ida{suffix}@example.com", name="Ida", role="responder", now=clock.now())
            chat.link(s, user.id, "matrix", ida.user_id, now=clock.now())
            chat.set_auto_rule(s, "matrix", severities=["SEV1"], types=[], now=clock.now())
            roles.seed_defaults(s, now=clock.now())
            ida_id = user.id
        events = EventDeliveryModule(db, api.runtime.consumers, owner="mx", lease=timedelta(seconds=30))
        module = ChatModule(
            db, {"matrix": bot}, clock, owner="mx", base_url="http://tocsin.test", pacer=Pacer({}), threads=2
        )
        sync_client = MatrixRooms(synapse.url, token)
        sync = MatrixSyncModule(
            db, sync_client, clock, base_url="http://tocsin.test", see_all=True,
            every=timedelta(0), timeout_ms=200,
        )  # fmt: skip

        def pump() -> None:
            for _ in range(20):
                now = clock.now()
                if events.run_once(now) + module.run_once(now) == 0:
                    return
            raise AssertionError("never settled")

        sync.run_once(clock.now())  # starts from now
        service = make_service(api, f"db{suffix}")
        # The homeserver outlives each database's run: a title of its own keeps this run from adopting the room
        # (same incident number, same name) that the other database's run opened and archived.
        inc = declare(api, service["id"], f"Primary database {suffix} down", severity="SEV1")
        with db.unit_of_work() as s:
            roles.assign(s, inc["id"], "Incident Commander", ida_id, actor=chat_actor(), now=clock.now())
        pump()
        row = _room(db, inc["id"])
        assert row.status == "open"
        assert row.room_id.startswith("!")
        assert bot.find_room(row.name) == row.room_id
        topic = _state(synapse, token, row.room_id, "m.room.topic")["topic"]
        assert topic.startswith("TRIGGERED · SEV1 · Commander: Ida")
        pinned = _state(synapse, token, row.room_id, "m.room.pinned_events")["pinned"]
        assert pinned == [row.summary_ref]
        assert ida.user_id in bot.members(row.room_id)
        ida.join(row.room_id)

        ida.say(row.room_id, "!tocsin ack")
        _sync_until(sync, clock, lambda: _status(api, inc["id"]) == "acknowledged")
        pump()
        assert _state(synapse, token, row.room_id, "m.room.topic")["topic"].startswith("ACKNOWLEDGED")
        assert "Status: acknowledged" in _room(db, inc["id"]).summary_text

        found = ida.say(row.room_id, "The replica lag is 40 minutes")
        ida.react(row.room_id, found, "📝")
        _sync_until(sync, clock, lambda: any("replica lag" in e.message for e in _timeline(db, inc["id"])))
        note = next(e for e in _timeline(db, inc["id"]) if "replica lag" in e.message)
        assert note.source == "matrix"
        assert note.actor == "Ida"

        ida.say(row.room_id, "!tocsin resolve")
        _sync_until(sync, clock, lambda: _status(api, inc["id"]) == "resolved")
        acted = [e for e in _timeline(db, inc["id"]) if e.kind in ("acknowledged", "resolved")]
        assert {(e.source, e.actor) for e in acted} == {("matrix", "Ida")}
        pump()
        clock.advance(timedelta(days=7, minutes=1))
        pump()
        assert _room(db, inc["id"]).status == "archived"
        assert Synapse.user_id("tocsin") not in bot.members(row.room_id)
    finally:
        ida.close()
        if "sync_client" in locals():
            sync_client.close()


def chat_actor() -> Any:
    from tocsin.incidents.schemas import Actor

    return Actor(label="Admin", source="api", user_id=1)


def _room(db: Database, incident_id: int) -> Any:
    with db.reader() as s:
        return chat.rooms_of(s, incident_id)[0]


def _status(api: ApiHarness, incident_id: int) -> str:
    return str(ok(api.get(f"/api/v1/incidents/{incident_id}"))["status"])


def _timeline(db: Database, incident_id: int) -> list[TimelineEntry]:
    with db.reader() as s:
        return list(s.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)))


def _sync_until(sync: MatrixSyncModule, clock: FakeClock, done: Any, tries: int = 40) -> None:
    for _ in range(tries):
        sync.run_once(clock.now())
        if done():
            return
    raise AssertionError("the bot's sync never brought the change")


def test_matrix_removal_on_request_and_the_conversation_exported_on_archive(
    matrix_api: tuple[ApiHarness, MatrixRooms, str], synapse: Synapse
) -> None:
    """``!tocsin remove @bob:…`` kicks Bob (checked against the members first) and he stays out; when the room is
    archived its conversation, as the people typed it, is kept on the incident with their names."""
    api, bot, token = matrix_api
    db, clock = api.runtime.db, api.clock
    suffix = str(abs(hash(db.url)) % 100_000)
    ivy, bob = Person(synapse, f"ivy{suffix}"), Person(synapse, f"bob{suffix}")
    sync_client = MatrixRooms(synapse.url, token)
    try:
        with db.unit_of_work() as s:
            roles.seed_defaults(s, now=clock.now())
            ids = {}
            for person, name in ((ivy, "Ivy"), (bob, "Bob")):
                user = users.create_user(
                    s, email=f"{name.lower()}{suffix}@example.com", name=name, role="responder", now=clock.now()
                )
                chat.link(s, user.id, "matrix", person.user_id, now=clock.now())
                ids[name] = user.id
        events = EventDeliveryModule(db, api.runtime.consumers, owner="mx2", lease=timedelta(seconds=30))
        module = ChatModule(
            db, {"matrix": bot}, clock, owner="mx2", base_url="http://tocsin.test", pacer=Pacer({}), threads=2,
            export_conversation=True,
        )  # fmt: skip
        sync = MatrixSyncModule(
            db, sync_client, clock, base_url="http://tocsin.test", see_all=True, every=timedelta(0), timeout_ms=200
        )

        def pump() -> None:
            for _ in range(20):
                now = clock.now()
                if events.run_once(now) + module.run_once(now) == 0:
                    return
            raise AssertionError("never settled")

        sync.run_once(clock.now())
        service = make_service(api, f"cache{suffix}")
        inc = declare(api, service["id"], f"Cache {suffix} cold after deploy", severity="SEV2")
        ok(api.post(f"/api/v1/incidents/{inc['id']}/chat-room", json={"platform": "matrix"}), 201)
        with db.unit_of_work() as s:
            roles.assign(s, inc["id"], "Incident Commander", ids["Ivy"], actor=chat_actor(), now=clock.now())
            roles.assign(s, inc["id"], "Technical Lead", ids["Bob"], actor=chat_actor(), now=clock.now())
        pump()
        room = _room(db, inc["id"]).room_id
        assert {ivy.user_id, bob.user_id} <= bot.members(room)
        ivy.join(room)
        bob.join(room)
        ivy.say(room, "The cache is cold since the 14:02 deploy")
        bob.say(room, "Warming it from the replica now")

        ivy.say(room, f"!tocsin remove {bob.user_id}")
        _sync_until(sync, clock, lambda: bool(_room(db, inc["id"]).removing))
        pump()
        assert bob.user_id not in bot.members(room)
        assert _room(db, inc["id"]).removing == []
        asked = [e for e in _timeline(db, inc["id"]) if "removed from war room" in e.message]
        assert [(e.actor, e.source) for e in asked] == [("Ivy", "matrix")]
        ivy.say(room, "Bob is off to bed; I will watch the hit rate")

        with db.unit_of_work() as s:
            incidents.resolve(s, inc["id"], actor=chat_actor(), now=clock.now())
        pump()
        assert bob.user_id not in bot.members(room), "not invited back by the reconciliation"
        clock.advance(timedelta(days=7, minutes=1))
        pump()
        assert _room(db, inc["id"]).status == "archived"
        body = api.get(f"/api/v1/incidents/{inc['id']}/chat-rooms/matrix/export")
        assert body.status_code == 200
        said = [line.split(" ", 2)[2] for line in body.text.split("\n")[1:] if ": " in line]
        people = [line for line in said if line.startswith(("Ivy:", "Bob:"))]
        assert people == [
            "Ivy: The cache is cold since the 14:02 deploy",
            "Bob: Warming it from the replica now",
            f"Ivy: !tocsin remove {bob.user_id}",
            "Ivy: Bob is off to bed; I will watch the hit rate",
        ]
    finally:
        ivy.close()
        bob.close()
        sync_client.close()
