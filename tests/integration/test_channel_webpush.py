"""Web Push through the real paging path, against a push service on 127.0.0.1 that checks VAPID and decrypts.

An alert opens an incident through the real ingest; the engine fires the escalation and sends the page to a
browser subscription stored as a contact method. The fake push service (``tests/fakes/push_service.py``) verifies
the VAPID token, decrypts the aes128gcm body with the subscription's private key and answers the status the test
chose; any request the test did not expect fails it. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import ApiHarness
from tests.factories import make_service
from tests.fakes.push_service import FakePushService, Subscription
from tocsin.escalation import service as escalation
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter
from tocsin.notify import contacts, push_keys
from tocsin.notify import service as notify
from tocsin.notify.models import ContactMethod
from tocsin.notify.providers.base import IncidentView, OutboundMessage
from tocsin.notify.providers.webpush import MAX_PAYLOAD, WebPushProvider, fitted, payload
from tocsin.notify.setup import _vapid_loader, vapid_subject
from tocsin.notify.ssrf import UrlGuard
from tocsin.settings import load_settings
from tocsin.users import service as users

LOOPBACK = UrlGuard(["127.0.0.1/32"])
BASE = "http://tocsin.test"


@pytest.fixture
def push(api: ApiHarness) -> Iterator[FakePushService]:
    with api.runtime.db.unit_of_work() as s:
        key = push_keys.vapid_keys(s).public_key
    fake = FakePushService(vapid_key=key).start()
    try:
        yield fake
        assert fake.problems == []
        assert fake.pending() == 0, "an expected push request was never made"
    finally:
        fake.stop()


@dataclass
class Paging:
    api: ApiHarness
    push: FakePushService
    sub: Subscription
    user_id: int
    webpush_id: int
    email_id: int
    routing_key: str

    def trigger(self, summary: str) -> int:
        body = {
            "routing_key": self.routing_key,
            "event_action": "trigger",
            "payload": {"summary": summary, "source": "db1", "severity": "critical"},
        }
        r = self.api.client.post("/v2/enqueue", json=body)
        assert r.status_code == 202, r.text
        self.run()
        with self.api.runtime.db.reader() as s:
            found = [i for i in incidents.list_incidents(s, IncidentFilter(), limit=50)[0] if i.title == summary]
        assert len(found) == 1
        return found[0].id

    def run(self) -> None:
        self.api.runtime.build_engine(owner="push-test").run_until_idle()

    def rows(self, incident_id: int) -> dict[int, Any]:
        """The incident's pages by contact method."""
        with self.api.runtime.db.reader() as s:
            return {n.contact_method_id: n for n in notify.notifications_of(s, incident_id) if n.kind == "page"}

    def timeline(self, incident_id: int) -> list[str]:
        with self.api.runtime.db.reader() as s:
            return [e.message for e in incidents.timeline(s, incident_id)]

    def method(self, cm_id: int) -> ContactMethod:
        with self.api.runtime.db.reader() as s:
            cm = s.get(ContactMethod, cm_id)
            assert cm is not None
            s.expunge(cm)
            return cm


@pytest.fixture
def paging(api: ApiHarness, push: FakePushService) -> Paging:
    """Pat is paged by push at once and by email five minutes later."""
    api.runtime.providers.register(
        WebPushProvider(guard=LOOPBACK, keys=_vapid_loader(api.runtime.db), subject="mailto:ops@example.com")
    )
    sub = push.subscribe("pat-phone")
    now = api.clock.now()
    with api.runtime.db.unit_of_work() as s:
        pat = users.create_user(s, email="pat@example.com", name="Pat", now=now)
        pat_id = pat.id
    created = api.post(
        "/api/v1/users/pat@example.com/contact-methods",
        json={"name": "phone", "type": "webpush", "address": sub.endpoint, "secret": json.dumps(sub.keys())},
    )
    assert created.status_code == 201, created.text
    webpush_id = created.json()["id"]
    mail = api.post(
        "/api/v1/users/pat@example.com/contact-methods",
        json={"name": "mail", "type": "email", "address": "pat@example.com"},
    )
    assert mail.status_code == 201, mail.text
    for cm_id, delay in ((webpush_id, 0), (mail.json()["id"], 300)):
        rule = api.post(
            "/api/v1/users/pat@example.com/notification-rules",
            json={"urgency": "high", "contact_method_id": cm_id, "delay": delay},
        )
        assert rule.status_code == 201, rule.text
    with api.runtime.db.unit_of_work() as s:
        policy = escalation.create_policy(
            s, name="Pat first", now=now, steps=[([{"kind": "user", "ref": str(pat_id)}], 1800)]
        )
        service, integration = make_service(s, now, name="payments")
        service.escalation_policy_id = policy.id
        key = integration.key
    return Paging(api, push, sub, pat_id, webpush_id, mail.json()["id"], key)


def test_a_page_arrives_encrypted_and_signed_with_its_actions(paging: Paging) -> None:
    paging.push.expect(paging.sub, 201)
    incident_id = paging.trigger("Disk 95% full on db1")

    (delivered,) = paging.push.deliveries
    assert delivered.claims["sub"] == "mailto:ops@example.com"
    assert delivered.headers["urgency"] == "high"
    data = delivered.payload
    with paging.api.runtime.db.reader() as s:
        number = incidents.get(s, incident_id).number
    assert data["title"] == f"#{number} Disk 95% full on db1"
    assert data["url"] == f"{BASE}/incidents/{number}"
    assert data["tag"] == f"tocsin-incident-{number}"
    assert [a["action"] for a in data["actions"]] == ["acknowledge", "resolve"]
    assert all(a["url"].startswith(f"{BASE}/a/") for a in data["actions"])

    rows = paging.rows(incident_id)
    assert rows[paging.webpush_id].status == "sent"
    assert rows[paging.webpush_id].provider_ref.startswith(paging.push.url + "/messages/")
    # The email page still waits for its delay: the push was delivered.
    assert rows[paging.email_id].status == "pending"
    assert "Notified webpush to Pat" in paging.timeline(incident_id)


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_disabled_and_the_next_method_takes_over(paging: Paging, status: int) -> None:
    paging.push.expect(paging.sub, status)
    incident_id = paging.trigger(f"Queue stuck {status}")

    assert len(paging.push.deliveries) == 1
    rows = paging.rows(incident_id)
    assert rows[paging.webpush_id].status == "failed"
    assert f"HTTP {status}" in (rows[paging.webpush_id].last_error or "")
    # Brought forward from its five minutes and sent in the same run.
    assert rows[paging.email_id].status == "sent"
    assert paging.method(paging.webpush_id).disabled is True
    assert paging.method(paging.email_id).disabled is False
    [failed] = [m for m in paging.timeline(incident_id) if m.startswith("webpush to Pat failed")]
    assert "giving up; falling back to email" in failed
    assert failed.endswith("the subscription no longer exists: this contact method was disabled and its rules removed")

    # Its rules went with it: the next incident plans no page to the dead subscription (and the fake fails the
    # test on any request it did not expect), only the mail, after its own delay.
    with paging.api.runtime.db.reader() as s:
        assert [r.contact_method_id for r in contacts.rules(s, paging.user_id)] == [paging.email_id]
    second = paging.trigger(f"Queue stuck again {status}")
    rows = paging.rows(second)
    assert set(rows) == {paging.email_id}
    assert rows[paging.email_id].status == "pending"
    assert len(paging.push.deliveries) == 1


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (429, {"Retry_After": "120"}, timedelta(seconds=120)),
        (503, {"Retry_After": "45"}, timedelta(seconds=45)),
        (500, {}, None),
    ],
)
def test_busy_push_services_are_retried_honouring_retry_after(
    paging: Paging, status: int, headers: dict[str, str], wait: timedelta | None
) -> None:
    paging.push.expect(paging.sub, status, **headers)
    incident_id = paging.trigger(f"Latency high {status}")
    row = paging.rows(incident_id)[paging.webpush_id]
    assert row.status == "pending"
    assert row.attempts == 1
    sent_at = paging.api.clock.now()
    if wait is not None:
        assert row.next_attempt_at.replace(tzinfo=sent_at.tzinfo) == sent_at + wait
    else:
        assert row.next_attempt_at.replace(tzinfo=sent_at.tzinfo) > sent_at
    assert any(m.startswith(f"webpush to Pat failed (HTTP {status}") for m in paging.timeline(incident_id))
    assert paging.method(paging.webpush_id).disabled is False

    # Nothing goes out before it is due (the fake fails the test on a request it was not told to expect).
    paging.run()
    assert len(paging.push.deliveries) == 1
    paging.api.clock.advance(row.next_attempt_at.replace(tzinfo=sent_at.tzinfo) - sent_at)
    paging.push.expect(paging.sub, 201)
    paging.run()
    assert len(paging.push.deliveries) == 2
    assert paging.rows(incident_id)[paging.webpush_id].status == "sent"


def test_the_lock_screen_button_acknowledges_once(paging: Paging) -> None:
    paging.push.expect(paging.sub, 201)
    incident_id = paging.trigger("Payments failing")
    actions = {a["action"]: a["url"] for a in paging.push.deliveries[0].payload["actions"]}
    ack = actions["acknowledge"].removeprefix(BASE)

    # What the service worker does: a POST without cookies, reading the outcome from X-Tocsin-Result.
    client = paging.api.client
    client.cookies.clear()
    first = client.post(ack, headers={"Accept": "text/html"})
    assert first.status_code == 200
    assert first.headers["x-tocsin-result"] == "ok"
    with paging.api.runtime.db.reader() as s:
        incident = incidents.get(s, incident_id)
        assert incident.status == "acknowledged"
        acks = [e for e in incidents.timeline(s, incident_id) if e.kind == "acknowledged"]
    assert [(e.actor, e.source) for e in acks] == [("Pat", "link")]

    replay = client.post(ack, headers={"Accept": "text/html"})
    assert replay.status_code in (200, 409)
    assert replay.headers["x-tocsin-result"] in ("warn", "err")
    assert replay.headers["x-tocsin-result"] != "ok"
    with paging.api.runtime.db.reader() as s:
        assert len([e for e in incidents.timeline(s, incident_id) if e.kind == "acknowledged"]) == 1

    # Resolve still works from the same notification, once.
    resolve = actions["resolve"].removeprefix(BASE)
    assert client.post(resolve).headers["x-tocsin-result"] == "ok"
    again = client.post(resolve)
    assert again.headers["x-tocsin-result"] != "ok"
    with paging.api.runtime.db.reader() as s:
        assert incidents.get(s, incident_id).status == "resolved"


def test_an_expired_or_altered_link_is_refused(paging: Paging) -> None:
    paging.push.expect(paging.sub, 201)
    incident_id = paging.trigger("Certificates expiring")
    ack = paging.push.deliveries[0].payload["actions"][0]["url"].removeprefix(BASE)
    client = paging.api.client
    altered = client.post(ack[:-2] + ("AA" if not ack.endswith("AA") else "BB"))
    assert (altered.status_code, altered.headers["x-tocsin-result"]) == (401, "err")
    paging.api.clock.advance(timedelta(hours=25))
    expired = client.post(ack)
    assert (expired.status_code, expired.headers["x-tocsin-result"]) == (401, "err")
    assert "expired" in expired.text
    with paging.api.runtime.db.reader() as s:
        assert incidents.get(s, incident_id).status == "triggered"


INCIDENT = IncidentView(
    id=1,
    number=42,
    title="Ünïcödé ✓ " * 600,
    status="triggered",
    urgency="high",
    severity="SEV1",
    priority="P1",
    service="payments",
    created_at="2026-11-02T08:00:00+00:00",
    url=f"{BASE}/incidents/42",
)


def _message(address: str, secret: str, **kw: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "notification_id": 1,
        "message_id": "msg_1",
        "kind": "page",
        "contact_type": "webpush",
        "address": address,
        "user_name": "Pat",
        "incident": INCIDENT,
        "ack_url": f"{BASE}/a/ACK",
        "resolve_url": f"{BASE}/a/RES",
        "text": 'Quoted "text" \\ with escapes\n' * 400,
        "secret": secret,
    }
    fields.update(kw)
    return OutboundMessage(**fields)


def test_an_oversized_page_is_shortened_to_fit_never_refused(api: ApiHarness, push: FakePushService) -> None:
    full = payload(_message("http://x", "{}"))
    assert len(json.dumps(full, ensure_ascii=False).encode()) > 4096
    sub = push.subscribe("big")
    provider = WebPushProvider(guard=LOOPBACK, keys=_vapid_loader(api.runtime.db), subject="mailto:ops@example.com")
    push.expect(sub, 201)
    result = provider.send(_message(sub.endpoint, json.dumps(sub.keys())))
    assert result.outcome == "delivered"
    (delivered,) = push.deliveries
    assert delivered.body_size <= 4096
    data = delivered.payload
    assert len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()) <= MAX_PAYLOAD
    assert data["title"].startswith("#42 Ünïcödé ✓")
    assert data["body"].endswith("…")
    assert len(data["body"]) < len(full["body"])
    # What a responder needs survives the cut: the links.
    assert data["url"] == f"{BASE}/incidents/42"
    assert [a["url"] for a in data["actions"]] == [f"{BASE}/a/ACK", f"{BASE}/a/RES"]


def test_fitting_shortens_the_title_when_the_body_is_not_enough() -> None:
    long_title = {"kind": "page", "title": "T" * 5000, "body": "short", "url": "u", "actions": []}
    fitted_title = json.loads(fitted(long_title))
    assert fitted_title["body"] == ""
    assert fitted_title["title"].startswith("TTT")
    assert fitted_title["title"].endswith("…")
    assert len(fitted(long_title)) <= MAX_PAYLOAD
    small = {"kind": "page", "title": "t", "body": "b"}
    assert json.loads(fitted(small)) == small


def test_the_fake_refuses_a_token_signed_with_another_key(api: ApiHarness, push: FakePushService) -> None:
    sub = push.subscribe("impostor")
    other = push_keys.keys_from_secret("not the installation's secret")
    provider = WebPushProvider(guard=LOOPBACK, keys=lambda: other, subject="mailto:ops@example.com")
    push.expect(sub, 201)
    result = provider.send(_message(sub.endpoint, json.dumps(sub.keys()), text="short"))
    assert (result.outcome, result.status_code) == ("failed", 400)
    assert push.problems == ["/push/impostor: k is not the installation's VAPID public key"]
    push.problems.clear()
    assert push.deliveries == []


def test_the_ssrf_guard_stays_in_front(api: ApiHarness, push: FakePushService) -> None:
    sub = push.subscribe("guarded")
    provider = WebPushProvider(guard=UrlGuard(), keys=_vapid_loader(api.runtime.db), subject="mailto:ops@example.com")
    result = provider.send(_message(sub.endpoint, json.dumps(sub.keys()), text="short"))
    assert result.outcome == "failed"
    assert "refusing to contact" in (result.error or "")
    assert push.deliveries == []


def test_subscriptions_need_valid_keys(api: ApiHarness, push: FakePushService) -> None:
    sub = push.subscribe("keys")
    for secret in (None, "{}", json.dumps({"p256dh": "AAAA", "auth": "AAAA"}), json.dumps({"p256dh": sub.p256dh})):
        r = api.post(
            f"/api/v1/users/{api.admin_id}/contact-methods",
            json={"name": "phone", "type": "webpush", "address": sub.endpoint, "secret": secret},
        )
        assert r.status_code == 422, (secret, r.text)
    r = api.post(
        f"/api/v1/users/{api.admin_id}/contact-methods",
        json={"name": "phone", "type": "webpush", "address": "not a url", "secret": json.dumps(sub.keys())},
    )
    assert r.status_code == 422
    key = api.get("/api/v1/push/public-key")
    assert key.status_code == 200
    with api.runtime.db.unit_of_work() as s:
        assert key.json() == {"public_key": push_keys.vapid_keys(s).public_key}
    assert len(push_keys.b64url_decode(key.json()["public_key"])) == 65


@pytest.mark.parametrize(
    ("smtp_from", "public_url", "subject"),
    [
        ("Tocsin <oncall@example.com>", "https://tocsin.example.com", "mailto:oncall@example.com"),
        ("tocsin@localhost", "https://tocsin.example.com", "https://tocsin.example.com"),
        ("tocsin@localhost", "http://127.0.0.1:8080", "mailto:tocsin@localhost"),
    ],
)
def test_the_vapid_subject_is_a_way_to_reach_the_operator(smtp_from: str, public_url: str, subject: str) -> None:
    settings = load_settings(database_url="sqlite:///unused.db", smtp_from=smtp_from, public_url=public_url)
    assert vapid_subject(settings) == subject
