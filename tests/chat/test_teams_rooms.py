"""Microsoft Teams war rooms against the fake Microsoft Graph: a channel per incident (private for a private
incident), the commander added as a member, the description as the topic, the summary message edited in place;
a taken name is looked up, not duplicated; Graph's throttling (429, Retry-After) backs off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.api.conftest import declare, make_service
from tests.chat.conftest import Rooms
from tests.fakes.fixtures import running
from tests.fakes.graph import TEAM, FakeGraph
from tocsin.chat import service as chat
from tocsin.chat.pacing import Pacer
from tocsin.chat.platforms.graph import GraphRooms
from tocsin.engine.modules.chat import ChatModule
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.response import roles

ADMIN = Actor(label="Admin", source="api", user_id=1)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    yield from running(FakeGraph())


def test_a_teams_channel_per_incident_through_graph(rooms: Rooms, graph: FakeGraph) -> None:
    r = rooms
    client = GraphRooms(
        base_url=graph.url, token_url=graph.token_url, client_id="app", client_secret="secret", team_id=TEAM
    )
    module = ChatModule(
        r.db, {"teams": client}, r.clock, owner="teams", base_url="http://tocsin.test", pacer=Pacer({}), threads=1
    )
    ida = r.person("ida@example.com", "Ida")
    graph.users["ida@example.com"] = "aad-ida"
    inc = declare(r.api, make_service(r.api)["id"], "Payments failing", private=True)
    with r.db.unit_of_work() as s:
        chat.request_room(s, incidents.get(s, inc["id"]), "teams", actor=ADMIN, now=r.clock.now())
        roles.seed_defaults(s, now=r.clock.now())
        roles.assign(s, inc["id"], "Incident Commander", ida, actor=ADMIN, now=r.clock.now())
    graph.throttle_next = 1
    module.run_once(r.clock.now())
    row = r.room(inc["id"])
    assert row.attempts == 1
    assert row.due_at == r.clock.now() + timedelta(seconds=7)
    r.clock.advance(timedelta(seconds=8))
    for _ in range(5):
        r.events.run_once(r.clock.now())
        module.run_once(r.clock.now())
    row = r.room(inc["id"])
    assert row.status == "open"
    channel = graph.channels[row.room_id]
    assert channel["displayName"] == f"inc-{inc['number']}-payments-failing"
    assert channel["membershipType"] == "private"
    assert channel["members"] == ["aad-ida"]
    assert channel["description"].startswith("TRIGGERED · SEV3 · Commander: Ida")
    with r.db.unit_of_work() as s:
        incidents.acknowledge(s, inc["id"], actor=ADMIN, now=r.clock.now())
    for _ in range(3):
        r.events.run_once(r.clock.now())
        module.run_once(r.clock.now())
    assert len(channel["messages"]) == 1
    assert "Status: acknowledged" in next(iter(channel["messages"].values()))["content"]
    # A second incident whose name is taken (made by hand in Teams, or by a create whose answer was lost).
    other = declare(r.api, make_service(r.api, "billing")["id"], "Payments failing")
    name = f"inc-{other['number']}-payments-failing"
    client.create_room(name, private=False)
    with r.db.unit_of_work() as s:
        chat.request_room(s, incidents.get(s, other["id"]), "teams", actor=ADMIN, now=r.clock.now())
    module.run_once(r.clock.now())
    assert [c["displayName"] for c in graph.channels.values()].count(name) == 1
    assert r.room(other["id"]).status == "open"
    assert graph.unexpected == []
    module.close()
