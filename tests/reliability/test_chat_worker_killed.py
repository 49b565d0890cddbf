"""Reliability: `tocsin worker` processes bring up Slack war rooms against the fake Slack Web API, whose
``conversations.create`` is slow enough that SIGKILL lands while the call is in flight; another worker (another
name, so it must wait out the dead one's lease) takes over.

Pass criteria: every incident's room is open, and each incident has exactly one channel: a create whose outcome
was lost is looked up by name, never repeated blindly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import make_service
from tests.fakes.fixtures import running
from tests.fakes.slack import FakeSlack
from tests.reliability.chaos.waiting import wait_for
from tests.reliability.conftest import Spawn
from tocsin.chat import service as chat
from tocsin.core.clock import SystemClock
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor

pytestmark = pytest.mark.slow
ROOMS = 3


@pytest.fixture
def slow_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.delays["conversations.create"] = 1.5
    yield from running(fake)


def test_a_worker_killed_during_room_creation_never_makes_two_rooms(
    db: Database, spawn: Spawn, slow_slack: FakeSlack
) -> None:
    clock = SystemClock()
    actor = Actor(label="drill", source="api")
    with db.unit_of_work() as s:
        service, _ = make_service(s, clock.now(), name="rooms")
        made = [
            incidents.declare(s, service_id=service.id, title=f"Outage {n}", actor=actor, now=clock.now())
            for n in range(ROOMS)
        ]
        ids = [i.id for i in made]
        for incident in made:
            chat.request_room(s, incident, "slack", actor=actor, now=clock.now())
    env = {"TOCSIN_SLACK_BOT_TOKEN": slow_slack.token, "TOCSIN_SLACK_BASE_URL": slow_slack.url}
    first = spawn("chat-a", lease_seconds=3.0, env=env)
    first.start()
    # SIGKILL while the first create is in flight (the fake has the request; its answer has not come back).
    slow_slack.server.wait_for(lambda r: r.path.endswith("conversations.create"), timeout=60)
    first.kill()
    second = spawn("chat-b", lease_seconds=3.0, env=env)
    second.start()

    def all_open() -> bool:
        with db.reader() as s:
            return (
                all(r.status == "open" for i in ids for r in chat.rooms_of(s, i))
                and len([r for i in ids for r in chat.rooms_of(s, i)]) == ROOMS
            )

    wait_for(all_open, timeout=90, what="every room open")
    second.stop()
    names = sorted(c["name"] for c in slow_slack.channels.values())
    assert len(names) == ROOMS
    assert len(set(names)) == ROOMS
    with db.reader() as s:
        rooms = [r for i in ids for r in chat.rooms_of(s, i)]
        assert {r.room_id for r in rooms} == set(slow_slack.channels)
