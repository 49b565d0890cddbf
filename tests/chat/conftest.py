"""A real app on a real database (SQLite and PostgreSQL) with the fake Slack Web API, and a hand-driven engine:
incident events, then the chat module, until nothing is left to do."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import ApiHarness
from tests.fakes.fixtures import running
from tests.fakes.slack import SIGNING_SECRET, FakeSlack, slack_signature
from tocsin.chat import service as chat
from tocsin.chat.pacing import Pacer
from tocsin.chat.platforms.slack import SlackRooms
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.chat import ChatModule
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.users import service as users


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield from running(fake)
    assert fake.unexpected == [], f"calls to the fake Slack that nothing expected: {fake.unexpected}"


@dataclass
class Rooms:
    api: ApiHarness
    slack: FakeSlack
    events: EventDeliveryModule
    module: ChatModule

    @property
    def clock(self) -> FakeClock:
        return self.api.clock

    @property
    def db(self) -> Database:
        return self.api.runtime.db

    def pump(self, passes: int = 20) -> None:
        """Incident events, then the chat module, until both have nothing due."""
        for _ in range(passes):
            now = self.clock.now()
            if self.events.run_once(now) + self.module.run_once(now) == 0:
                return
        raise AssertionError("the chat module never settled")

    def person(self, email: str, name: str, *, role: str = "responder", slack_id: str | None = None) -> int:
        with self.db.unit_of_work() as s:
            user = users.create_user(s, email=email, name=name, role=role, now=self.clock.now())
            uid = user.id
        if slack_id is not None:
            self.slack.users_by_email[email] = slack_id
            self.slack.profiles[slack_id] = email
        return uid

    def room(self, incident_id: int) -> Any:
        with self.db.reader() as s:
            rows = chat.rooms_of(s, incident_id)
            return rows[0] if rows else None

    def signed(self, path: str, body: bytes, *, secret: str = SIGNING_SECRET, age: int = 0) -> httpx.Response:
        ts = str(int(self.clock.now().timestamp()) - age)
        headers = {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": slack_signature(secret, ts, body),
            "Content-Type": "application/x-www-form-urlencoded" if path.endswith("commands") else "application/json",
        }
        return self.api.client.post(path, content=body, headers=headers)

    def command(self, user_id: str, channel: str, text: str, **kw: Any) -> httpx.Response:
        form = {"command": "/tocsin", "text": text, "user_id": user_id, "channel_id": channel, "team_id": "T1"}
        # A nonce in the body makes two identical commands two different requests (their signatures differ).
        form["trigger_id"] = str(time.monotonic_ns())
        return self.signed("/webhooks/slack/commands", urlencode(form).encode(), **kw)

    def event(self, payload: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.signed("/webhooks/slack/events", json.dumps(payload).encode(), **kw)


@pytest.fixture
def rooms(db: Database, clock: FakeClock, fake_slack: FakeSlack) -> Iterator[Rooms]:
    from fastapi.testclient import TestClient

    from tocsin.app import create_app
    from tocsin.settings import load_settings

    settings = load_settings(
        database_url=db.url,
        run_worker=False,
        public_url="http://tocsin.test",
        slack_bot_token=fake_slack.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_base_url=fake_slack.url,
    )
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, secret = users.create_token(s, admin, name="test", now=clock.now())
    fake_slack.users_by_email["admin@example.com"] = "UADMIN"
    fake_slack.profiles["UADMIN"] = "admin@example.com"
    runtime = app.state.runtime
    events = EventDeliveryModule(db, runtime.consumers, owner="chat-test", lease=timedelta(seconds=30))
    events.gap = timedelta(0)
    module = ChatModule(
        db,
        {"slack": SlackRooms(fake_slack.token, base_url=fake_slack.url)},
        clock,
        owner="chat-test",
        base_url="http://tocsin.test",
        archive_after=timedelta(days=7),
        notice_before=timedelta(hours=24),
        pacer=Pacer({}),
        threads=2,
    )
    with TestClient(app) as client:
        api = ApiHarness(client=client, runtime=runtime, clock=clock, token=secret, admin_id=admin.id)
        yield Rooms(api=api, slack=fake_slack, events=events, module=module)
    module.close()
