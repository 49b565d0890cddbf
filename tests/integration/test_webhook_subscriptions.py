"""Webhook subscriptions end to end on a real database and a real HTTP receiver on loopback: incident events
fanned out to subscriptions, signed per Standard Webhooks, retried with the same webhook-id while the receiver
fails, in order per incident, disabled with a notice once the retries are spent; tests and redeliveries through
the API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.conftest import ApiHarness
from tests.factories import make_service, make_user
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.engine.modules.webhooks import WebhookModule
from tocsin.events.registry import ConsumerRegistry
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.notify import contacts
from tocsin.notify.models import Notification
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.notify.ssrf import UrlGuard
from tocsin.webhooks import fanout
from tocsin.webhooks import service as webhooks
from tocsin.webhooks.models import WebhookDelivery, WebhookSubscription
from tocsin.webhooks.rules import RETRY_SCHEDULE

SECRET = "whsec_" + base64.b64encode(b"a key of thirty-two bytes, exact").decode()


@dataclass
class Sink:
    """A receiver that answers each request with the next status of ``answers`` (200 once they run out)."""

    server: ThreadingHTTPServer
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def ids(self) -> list[str]:
        return [h["webhook-id"] for h, _ in self.received]

    def types(self) -> list[str]:
        return [json.loads(body)["type"] for _, body in self.received]


@pytest.fixture
def sink() -> Iterator[Sink]:
    state: dict[str, Sink] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            s = state["sink"]
            with s.lock:
                s.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = s.answers.pop(0) if s.answers else 200
            reply = b'{"ok":true}' if code < 300 else b"receiver is down for maintenance"
            self.send_response(code)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["sink"] = Sink(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["sink"]
    server.shutdown()
    server.server_close()


def standard_webhooks_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks check written out from the specification (not Tocsin's own verifier)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        sig.split(",", 1)[1] == expected for sig in headers["webhook-signature"].split() if sig.startswith("v1,")
    )


@dataclass
class World:
    db: Database
    clock: FakeClock
    events: EventDeliveryModule
    sender: WebhookModule
    integration_key: str
    service_id: int
    owner_id: int

    def run(self) -> None:
        """Events into deliveries, deliveries out, until nothing more is due now."""
        for _ in range(50):
            if self.events.run_once(self.clock.now()) + self.sender.run_once(self.clock.now()) == 0:
                return
        raise AssertionError("still busy")


@pytest.fixture
def world(db: Database, clock: FakeClock) -> Iterator[World]:
    with db.unit_of_work() as s:
        service, integration = make_service(s, clock.now())
        owner = make_user(s, clock.now(), "owner@example.com")
        contacts.add_contact_method(
            s, user_id=owner.id, name="mail", type="email", address="owner@example.com", now=clock.now()
        )
        ids = (integration.key, service.id, owner.id)
    registry = ConsumerRegistry([fanout.consumer()])
    provider = WebhookProvider(guard=UrlGuard(["127.0.0.1"]), clock=clock, timeout=5)
    events_module = EventDeliveryModule(db, registry, owner="w1")
    events_module.run_once(clock.now())
    yield World(db, clock, events_module, WebhookModule(db, provider, clock, owner="w1"), *ids)
    provider.close()


def _subscribe(world: World, url: str, **kw: object) -> int:
    with world.db.unit_of_work() as s:
        sub = webhooks.create(
            s, name="sink", url=url, secret=SECRET, now=world.clock.now(), owner_user_id=world.owner_id, **kw
        )  # type: ignore[arg-type]
        return sub.id


def _trigger(world: World, key: str) -> None:
    event = NormalizedEvent(action="trigger", dedup_key=key, summary=f"{key} down", severity="critical")
    with world.db.unit_of_work() as s:
        ingest_batch(s, [Submission(integration_key=world.integration_key, events=[event])], now=world.clock.now())


def _deliveries(world: World) -> list[WebhookDelivery]:
    with world.db.reader() as s:
        return list(s.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars())


def test_a_receiver_that_fails_then_recovers_gets_the_event_with_one_webhook_id_and_valid_signatures(
    world: World, sink: Sink
) -> None:
    sub_id = _subscribe(world, sink.url)
    sink.answers = [503, 500]
    _trigger(world, "db")
    world.run()
    assert len(sink.received) == 1
    world.clock.advance(RETRY_SCHEDULE[0].total_seconds())
    world.run()
    assert len(sink.received) == 2
    world.clock.advance(RETRY_SCHEDULE[1].total_seconds())
    world.run()
    assert len(sink.received) == 3

    (delivery,) = _deliveries(world)
    assert delivery.status == "delivered"
    assert len(set(sink.ids())) == 1
    assert sink.ids()[0] == delivery.message_id
    assert delivery.message_id == f"webhooks.{delivery.event_id}.{sub_id}"
    for headers, body in sink.received:
        assert standard_webhooks_valid(SECRET, headers, body)
        assert not standard_webhooks_valid(SECRET, headers, body + b" ")
    payload = json.loads(sink.received[0][1])
    assert payload["type"] == "incident.triggered"
    assert payload["data"]["incident"]["title"] == "db down"
    assert payload["data"]["event"]["id"] == delivery.event_id

    with world.db.reader() as s:
        (logged,) = webhooks.deliveries(s, sub_id)
    assert [(a.attempt, a.outcome, a.status_code) for a in logged.attempts] == [
        (1, "retry", 503),
        (2, "retry", 500),
        (3, "delivered", 200),
    ]
    assert "maintenance" in logged.attempts[0].response_excerpt
    assert logged.attempts[2].response_excerpt == '{"ok":true}'
    assert '"incident.triggered"' in logged.attempts[0].request_excerpt


def test_an_incidents_events_reach_a_receiver_in_order_even_across_retries(world: World, sink: Sink) -> None:
    _subscribe(world, sink.url)
    sink.answers = [503]
    _trigger(world, "db")
    world.run()
    with world.db.reader() as s:
        (incident_id,) = [d.incident_id for d in s.execute(select(WebhookDelivery)).scalars()]
    assert incident_id is not None
    with world.db.unit_of_work() as s:
        incidents.acknowledge(s, incident_id, actor=Actor(label="x", source="api"), now=world.clock.now())
    world.run()
    # The acknowledgement waits behind the triggered event's retry.
    assert sink.types() == ["incident.triggered"]
    world.clock.advance(RETRY_SCHEDULE[0].total_seconds())
    world.run()
    assert sink.types() == ["incident.triggered", "incident.triggered", "incident.acknowledged"]


def test_subscriptions_receive_only_their_scope_and_event_types(world: World, sink: Sink) -> None:
    with world.db.unit_of_work() as s:
        other, _ = make_service(s, world.clock.now(), name="other")
        other_id = other.id
    _subscribe(world, sink.url + "?all")
    _subscribe(world, sink.url + "?resolved", event_types=["incident.resolved"])
    _subscribe(world, sink.url + "?other", service_id=other_id)
    _trigger(world, "db")
    world.run()
    with world.db.reader() as s:
        by_sub = {(d.subscription_id, d.event_type) for d in s.execute(select(WebhookDelivery)).scalars()}
    assert {t for _, t in by_sub} == {"incident.triggered"}
    assert len(by_sub) == 1


def test_spent_retries_disable_the_subscription_and_tell_its_owner(world: World, sink: Sink) -> None:
    sub_id = _subscribe(world, sink.url)
    sink.answers = [500] * (len(RETRY_SCHEDULE) + 1)
    _trigger(world, "db")
    world.run()
    for delay in RETRY_SCHEDULE:
        world.clock.advance(delay.total_seconds())
        world.run()
    assert len(sink.received) == len(RETRY_SCHEDULE) + 1
    assert sum(RETRY_SCHEDULE, timedelta()) >= timedelta(hours=23)
    with world.db.reader() as s:
        sub = s.get(WebhookSubscription, sub_id)
        assert sub is not None
        assert not sub.enabled
        assert sub.disabled_reason is not None
        assert "11 failed attempts" in sub.disabled_reason
        (notice,) = s.execute(select(Notification).where(Notification.kind == "notice")).scalars()
        assert notice.user_id == world.owner_id
        assert "sink" in notice.payload["text"]
    (delivery,) = _deliveries(world)
    assert delivery.status == "failed"
    # Disabled: later events are not fanned out to it.
    _trigger(world, "cache")
    world.run()
    assert len(_deliveries(world)) == 1


def test_a_redelivery_and_a_test_through_the_api(api: ApiHarness, sink: Sink) -> None:
    api.runtime.providers.register(WebhookProvider(guard=UrlGuard(["127.0.0.1"]), clock=api.clock, timeout=5))
    engine = api.runtime.build_engine(owner="api-test")
    for module in engine.modules:
        if isinstance(module, EventDeliveryModule):
            module.gap = timedelta(0)  # passes as fast as the test asks (a live engine spaces them out)
    with api.runtime.db.unit_of_work() as s:
        _, integration = make_service(s, api.clock.now())
        key = integration.key

    created = api.post(
        "/api/v1/webhook-subscriptions",
        json={"name": "sink", "url": sink.url, "event_types": ["incident.triggered"]},
    )
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["secret"].startswith("whsec_")
    assert sub["owner_user_id"] == api.admin_id
    engine.run_until_idle()

    event = NormalizedEvent(action="trigger", dedup_key="k", summary="down", severity="critical")
    with api.runtime.db.unit_of_work() as s:
        ingest_batch(s, [Submission(integration_key=key, events=[event])], now=api.clock.now())
    engine.run_until_idle()
    assert sink.types() == ["incident.triggered"]

    log = api.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries").json()
    (first,) = log
    assert first["status"] == "delivered"
    assert first["log"][0]["status_code"] == 200
    again = api.post(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries/{first['id']}/redeliver")
    assert again.status_code == 202, again.text
    engine.run_until_idle()
    assert sink.ids() == [first["webhook_id"], first["webhook_id"]]
    assert all(standard_webhooks_valid(sub["secret"], h, b) for h, b in sink.received)

    tested = api.post(f"/api/v1/webhook-subscriptions/{sub['id']}/test")
    assert tested.status_code == 202
    engine.run_until_idle()
    assert sink.types()[-1] == "webhook.test"

    # Bad input is named.
    bad = api.post("/api/v1/webhook-subscriptions", json={"name": "x", "url": "ftp://nope"})
    assert bad.status_code == 422
    assert "url" in bad.json()["detail"]
    bad = api.post("/api/v1/webhook-subscriptions", json={"name": "x", "url": sink.url, "event_types": ["resolved"]})
    assert bad.status_code == 422
    assert "resolved" in bad.json()["detail"]
    missing = api.post(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries/999999/redeliver")
    assert missing.status_code == 404
    pending = api.patch(f"/api/v1/webhook-subscriptions/{sub['id']}", json={"enabled": False})
    assert pending.json()["enabled"] is False
    refused = api.post(f"/api/v1/webhook-subscriptions/{sub['id']}/test")
    assert refused.status_code == 409
    assert "disabled" in refused.json()["detail"]
    responder = api.token_for("r@example.com")
    assert api.post(f"/api/v1/webhook-subscriptions/{sub['id']}/test", token=responder).status_code == 403
    listed = api.get("/api/v1/webhook-subscriptions", token=responder).json()
    assert listed[0]["secret"] is None
    assert api.delete(f"/api/v1/webhook-subscriptions/{sub['id']}").status_code == 204
    assert api.get(f"/api/v1/webhook-subscriptions/{sub['id']}").status_code == 404
