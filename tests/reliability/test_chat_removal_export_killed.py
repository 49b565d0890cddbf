"""Reliability: a `tocsin worker` is killed (SIGKILL) while its ``conversations.kick`` or ``conversations.history``
call to the fake Slack Web API is in flight; another worker (another name, so it waits out the dead one's lease)
takes over.

Pass criteria: the person is removed by one kick (the second worker checks the room's members and finds them gone);
the conversation is exported once and the room archived."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_service
from tests.fakes.fixtures import running
from tests.fakes.slack import FakeSlack
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn
from tocsin.chat import service as chat
from tocsin.chat.models import ChatExport, ChatRoom
from tocsin.core.clock import SystemClock
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor

pytestmark = pytest.mark.slow
ACTOR = Actor(label="drill", source="api")


@pytest.fixture
def slow_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.delays["conversations.kick"] = 1.5
    fake.delays["conversations.history"] = 1.5
    yield from running(fake)
    assert fake.unexpected == []


def _open_room(db: Database, slack: FakeSlack, title: str) -> tuple[int, str]:
    """An incident whose Slack room is open already, with UIC in it."""
    clock = SystemClock()
    with db.unit_of_work() as s:
        service, _ = make_service(s, clock.now(), name=title.split()[0].lower())
        incident = incidents.declare(s, service_id=service.id, title=title, actor=ACTOR, now=clock.now())
        row, _ = chat.request_room(s, incident, "slack", actor=ACTOR, now=clock.now())
        made = slack._rooms("conversations.create", {"name": row.name})
        assert made.status == 200
        channel = next(cid for cid, c in slack.channels.items() if c["name"] == row.name)
        slack.channels[channel]["members"].append("UIC")
        row.room_id, row.status, row.invited = channel, "open", ["UIC"]
        return incident.id, channel


def _env(slack: FakeSlack, **extra: str) -> dict[str, str]:
    return {"TOCSIN_SLACK_BOT_TOKEN": slack.token, "TOCSIN_SLACK_BASE_URL": slack.url, **extra}


def test_a_worker_killed_during_a_kick_never_kicks_twice(db: Database, spawn: Spawn, slow_slack: FakeSlack) -> None:
    incident_id, channel = _open_room(db, slow_slack, "Kick drill")
    with db.unit_of_work() as s:
        chat.request_removal(
            s, incidents.get(s, incident_id), "slack", "UIC", who="Ida", actor=ACTOR, now=SystemClock().now()
        )
    first = spawn("chat-a", lease_seconds=3.0, env=_env(slow_slack))
    first.start()
    # SIGKILL while the kick is in flight: the fake has the call (and will carry it out), its answer has not come back.
    wait_for(lambda: slow_slack.calls_to("conversations.kick"), timeout=60, what="the first kick")
    first.kill()
    second = spawn("chat-b", lease_seconds=3.0, env=_env(slow_slack))
    second.start()

    def done() -> bool:
        with db.reader() as s:
            return chat.rooms_of(s, incident_id)[0].removing == []

    wait_for(done, timeout=90, what="the removal done")
    second.stop()
    assert len(slow_slack.calls_to("conversations.kick")) == 1
    assert len(slow_slack.calls_to("conversations.members")) >= 2, "the second worker looked before kicking"
    assert "UIC" not in slow_slack.channels[channel]["members"]


def test_a_worker_killed_during_the_export_exports_once(db: Database, spawn: Spawn, slow_slack: FakeSlack) -> None:
    incident_id, channel = _open_room(db, slow_slack, "Export drill")
    for i in range(5):
        slow_slack.messages[(channel, f"{1_700_002_000 + i}.000100")] = {"text": f"finding {i}", "user": "UIC"}
    now = SystemClock().now()
    with db.unit_of_work() as s:
        incidents.resolve(s, incident_id, actor=ACTOR, now=now)
        row = s.scalars(select(ChatRoom).where(ChatRoom.incident_id == incident_id)).one()
        row.notice_sent_at, row.archive_at, row.due_at = now, now - timedelta(minutes=1), now
    env = _env(slow_slack, TOCSIN_CHAT_EXPORT_CONVERSATION="true")
    first = spawn("chat-a", lease_seconds=3.0, env=env)
    first.start()
    wait_for(lambda: slow_slack.calls_to("conversations.history"), timeout=60, what="the first history read")
    first.kill()
    second = spawn("chat-b", lease_seconds=3.0, env=env)
    second.start()

    def archived() -> bool:
        with db.reader() as s:
            return chat.rooms_of(s, incident_id)[0].status == "archived"

    wait_for(archived, timeout=90, what="the room archived")
    second.stop()
    with db.reader() as s:
        exports = list(s.scalars(select(ChatExport).where(ChatExport.incident_id == incident_id)))
    assert len(exports) == 1
    assert len(slow_slack.calls_to("conversations.history")) == 2, "read again by the second worker"
    assert [line.split(" ", 2)[2] for line in exports[0].text.split("\n") if "finding" in line] == [
        f"UIC: finding {i}" for i in range(5)
    ]
    assert len(slow_slack.calls_to("conversations.archive")) == 1
