"""Subscribers through a real SMTP server (aiosmtpd): double opt-in with the signed link, one update received
once with List-Unsubscribe and List-Unsubscribe-Post, one-click unsubscribe; floods refused with 429; another
page's updates never sent. Maintenance starts and completes by itself through the real engine, silencing its
services meanwhile; automation proposes an update for a major incident on a linked service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tests.servers import free_port
from tests.statuspages.conftest import make_component, make_page, publish
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.statuspages import service as statuspages


class Sink:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.refuse = {"bounce@example.com": "550 5.1.1 unknown user"}

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if m["To"] == address]


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def mailing_api(db: Database, clock: FakeClock, smtp: tuple[Sink, int]) -> Iterator[ApiHarness]:
    from tocsin.app import create_app
    from tocsin.settings import load_settings
    from tocsin.users import service as users

    settings = load_settings(
        database_url=db.url,
        run_worker=False,
        public_url="http://tocsin.test",
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        smtp_from="status@tocsin.test",
    )
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, secret = users.create_token(s, admin, name="test", now=clock.now())
    with TestClient(app) as client:
        yield ApiHarness(client=client, runtime=app.state.runtime, clock=clock, token=secret, admin_id=admin.id)


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(mail: EmailMessage, action: str) -> str:
    found = re.search(rf"http://tocsin\.test(/status/[a-z0-9-]+/{action}/\S+)", body_of(mail))
    assert found, body_of(mail)
    return found.group(1)


def test_email_subscription_confirm_update_unsubscribe(mailing_api: ApiHarness, smtp: tuple[Sink, int]) -> None:
    api, sink = mailing_api, smtp[0]
    engine = api.runtime.build_engine(owner="statuspages")
    make_page(api)
    make_page(api, "other", name="Other")
    c = make_component(api, "acme", "API")

    response = api.client.post("/status/acme/subscribe", data={"email": "carol@example.com"})
    assert response.status_code == 200, response.text
    engine.run_pass()
    (confirmation,) = sink.to("carol@example.com")
    assert "List-Unsubscribe" not in confirmation
    publish(api, "acme", "Before confirming", "Nobody gets this one")
    api.clock.advance(timedelta(seconds=5))
    engine.run_pass()
    assert len(sink.to("carol@example.com")) == 1, "nothing is sent before the address is confirmed"

    bad = api.client.get(link_in(confirmation, "confirm")[:-3] + "xyz")
    assert bad.status_code == 404
    assert api.client.get(link_in(confirmation, "confirm")).status_code == 200
    incident = publish(api, "acme", "Errors on the API", "We are *on it*.", components={str(c["id"]): "major_outage"})
    publish(api, "other", "Another page's news", "Not for Carol")
    api.clock.advance(timedelta(seconds=5))
    engine.run_pass()
    engine.run_pass()
    mails = sink.to("carol@example.com")
    assert len(mails) == 2, [m["Subject"] for m in mails]
    update = mails[1]
    assert "Errors on the API" in update["Subject"]
    assert "We are *on it*." in body_of(update)
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = update["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://tocsin.test/status/acme/unsubscribe/")

    one_click = api.client.post(unsubscribe.removeprefix("http://tocsin.test"), data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    ok(
        api.post(
            f"/api/v1/status-pages/acme/incidents/{incident['id']}/updates",
            json={"status": "resolved", "body": "Fixed."},
        ),
        201,
    )
    api.clock.advance(timedelta(seconds=5))
    engine.run_pass()
    assert len(sink.to("carol@example.com")) == 2, "nothing after unsubscribing"


def test_bounces_are_recorded_and_floods_refused(mailing_api: ApiHarness, smtp: tuple[Sink, int]) -> None:
    api = mailing_api
    engine = api.runtime.build_engine(owner="statuspages")
    make_page(api)
    assert api.client.post("/status/acme/subscribe", data={"email": "bounce@example.com"}).status_code == 200
    engine.run_pass()
    with api.runtime.db.reader() as s:
        (row,) = statuspages.list_subscribers(s, statuspages.get_page(s, "acme"))
        (delivery,) = statuspages.deliveries_of(s, row.id)
    assert (str(delivery.status), row.failures) == ("failed", 1)
    assert "550" in (delivery.error or "")
    assert "550" in (row.last_error or "")

    codes = [
        api.client.post("/status/acme/subscribe", data={"email": "flood@example.com"}).status_code for _ in range(5)
    ]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    by_ip = [
        api.client.post("/status/acme/subscribe", data={"email": f"p{i}@example.com"}).status_code for i in range(10)
    ]
    assert 429 in by_ip, "one client address is limited too"
    problem(api.client.post("/status/acme/subscribe", data={"email": "not an address"}), 429)


def test_bad_subscription_input(api: ApiHarness) -> None:
    make_page(api)
    problem(api.client.post("/status/acme/subscribe", data={"email": "not an address"}), 422)
    problem(api.client.post("/status/acme/subscribe", data={"email": "a@example.com", "components": "99999"}), 422)
    problem(api.client.post("/status/nope/subscribe", data={"email": "a@example.com"}), 404)


def test_maintenance_starts_and_completes_by_itself_and_silences_its_services(api: ApiHarness) -> None:
    service = make_service(api, "payments")
    make_page(api)
    c = make_component(api, "acme", "Payments", services=["payments"])
    now = api.clock.now()
    m = ok(
        api.post(
            "/api/v1/status-pages/acme/maintenances",
            json={
                "name": "Card processor upgrade",
                "scheduled_for": (now + timedelta(minutes=10)).isoformat(),
                "scheduled_until": (now + timedelta(minutes=70)).isoformat(),
                "component_ids": [c["id"]],
            },
        ),
        201,
    )
    engine = api.runtime.build_engine(owner="statuspages")
    engine.run_pass()
    assert ok(api.get("/api/v1/status-pages/acme/maintenances"))[0]["status"] == "scheduled"
    api.clock.advance(timedelta(minutes=11))
    engine.run_pass()
    started = ok(api.get("/api/v1/status-pages/acme/maintenances"))[0]
    assert started["status"] == "in_progress"
    assert len(started["silence_ids"]) == 1
    assert ok(api.get("/api/v1/status-pages/acme/components"))[0]["status"] == "under_maintenance"
    silences = ok(api.get("/api/v1/silences"))
    (silence,) = [s for s in silences if s["id"] == started["silence_ids"][0]]
    assert silence.get("service") in ("payments", service["id"], None) or silence.get("service_id") == service["id"]
    active = api.client.get("/status/acme/api/v2/scheduled-maintenances/active.json").json()
    assert [x["id"] for x in active["scheduled_maintenances"]] == [f"m{m['id']}"]
    engine.run_pass()  # idempotent: nothing moves twice
    assert len(ok(api.get("/api/v1/silences"))) == len(silences)

    api.clock.advance(timedelta(minutes=60))
    engine.run_pass()
    done = ok(api.get("/api/v1/status-pages/acme/maintenances"))[0]
    assert done["status"] == "completed"
    assert ok(api.get("/api/v1/status-pages/acme/components"))[0]["status"] == "operational"
    with api.runtime.db.reader() as s:
        from tocsin.alerts import silence_service

        row = silence_service.get_silence(s, started["silence_ids"][0])
        assert row.ends_at is not None
        assert row.ends_at <= api.clock.now()


def test_a_major_incident_proposes_an_update_a_person_publishes(api: ApiHarness) -> None:
    service = make_service(api, "search")
    make_page(api, automation="propose")
    c = make_component(api, "acme", "Search", services=["search"])
    incident = declare(api, service["id"], "Search is down")
    with api.runtime.db.unit_of_work() as s:
        from tocsin.incidents.models import Incident

        row = s.get(Incident, incident["id"])
        assert row is not None
        row.major = True  # as the major incident criteria mark it at ingest
    engine = api.runtime.build_engine(owner="statuspages")
    engine.run_pass()
    engine.run_pass()
    (proposal,) = ok(api.get("/api/v1/status-pages/acme/proposals"))
    assert proposal["incident_id"] == incident["id"]
    assert proposal["component_statuses"] == {str(c["id"]): "major_outage"}
    assert api.client.get("/status/acme/api/v2/incidents.json").json()["incidents"] == [], "nothing published yet"
    published = ok(
        api.post(f"/api/v1/status-pages/acme/proposals/{proposal['id']}/publish", json={"body": "Search is down."}),
    )
    assert published["incident_ids"] == [incident["id"]]
    assert ok(api.get("/api/v1/status-pages/acme/components"))[0]["status"] == "major_outage"
    problem(api.post(f"/api/v1/status-pages/acme/proposals/{proposal['id']}/discard"), 409)


def test_an_update_reaches_many_subscribers_once_each(mailing_api: ApiHarness, smtp: tuple[Sink, int]) -> None:
    from tocsin.statuspages.models import Subscriber

    api, sink = mailing_api, smtp[0]
    page = make_page(api)
    with api.runtime.db.unit_of_work() as s:
        s.add_all(
            Subscriber(
                page_id=page["id"],
                kind="email",
                address=f"reader{n}@example.com",
                component_ids=[],
                confirmed_at=api.clock.now(),
                created_at=api.clock.now(),
            )
            for n in range(500)
        )
    publish(api, "acme", "Fan-out", "To everyone, once.")
    engine = api.runtime.build_engine(owner="statuspages")
    # How fast is the fan-out benchmark's business (bench/statuspage_fanout.py); here only that all arrive once.
    for _ in range(10):
        engine.run_pass()
        if len(sink.mails) >= 500:
            break
    assert sorted(m["To"] for m in sink.mails) == sorted(f"reader{n}@example.com" for n in range(500))
    engine.run_pass()
    assert len(sink.mails) == 500, "nobody gets it twice"
