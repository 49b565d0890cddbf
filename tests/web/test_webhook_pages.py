"""Webhook subscriptions managed from the console, with a real receiver on 127.0.0.1 for tests and redeliveries."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from markupsafe import escape

from tests.web.conftest import Console
from tocsin.engine.modules.webhooks import WebhookModule
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.notify.ssrf import UrlGuard
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.webhooks import service as webhooks

# What the receiver answers: markup that must reach the page as text, never as a tag.
HOSTILE_REPLY = b'<script src="/evil.js"></script><img src=x onerror=alert(1)>'


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(200)
            self.send_header("content-length", str(len(HOSTILE_REPLY)))
            self.end_headers()
            self.wfile.write(HOSTILE_REPLY)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host!s}:{port}/hook", received
    server.shutdown()
    server.server_close()


def _send_due(console: Console) -> None:
    provider = WebhookProvider(guard=UrlGuard(["127.0.0.1"]), clock=console.clock, timeout=5)
    try:
        WebhookModule(console.db, provider, console.clock, owner="w1").run_once(console.clock.now())
    finally:
        provider.close()


def _create(console: Console, url: str, **extra: str) -> tuple[int, str]:
    r = console.client.post(
        "/webhooks/new", data={"csrf": console.csrf("/webhooks/new"), "name": "sink", "url": url, **extra}
    )
    assert r.status_code == 201, r.text
    secret = re.search(r'id="signing-secret">([^<]+)<', r.text)
    assert secret
    with console.db.reader() as s:
        (sub,) = webhooks.list_all(s)
    return sub.id, secret.group(1)


def test_admin_creates_a_subscription_and_sees_its_secret_once(
    console: Console, receiver: tuple[str, list[bytes]]
) -> None:
    console.login()
    with console.db.reader() as s:
        service_id = services.get_service(s, "checkout-api").id
    sub_id, secret = _create(
        console, receiver[0], service_id=str(service_id), event_types="incident.triggered, incident.resolved"
    )
    with console.db.reader() as s:
        sub = webhooks.get(s, sub_id)
    assert (sub.name, sub.url, sub.service_id, sub.team_id) == ("sink", receiver[0], service_id, None)
    assert sub.event_types == ["incident.triggered", "incident.resolved"]
    assert secret == sub.secret
    assert secret.startswith("whsec_")
    assert secret not in console.client.get(f"/webhooks/{sub_id}").text
    assert secret not in console.client.get("/webhooks").text
    assert secret not in console.client.get(f"/webhooks/{sub_id}/edit").text


def test_admin_edits_scope_types_and_enabled_then_deletes(console: Console, receiver: tuple[str, list[bytes]]) -> None:
    console.login()
    with console.db.unit_of_work() as s:
        team_id = teams.create_team(s, name="Payments", now=console.clock.now()).id
    sub_id, _ = _create(console, receiver[0], event_types="incident.resolved")
    edit = f"/webhooks/{sub_id}/edit"
    page = console.client.get(edit).text
    assert 'value="incident.resolved"' in page
    assert re.search(r'id="enabled"[^>]* checked', page)
    r = console.client.post(
        edit,
        data={"csrf": console.csrf(edit), "name": "renamed", "url": "https://hooks.example.com/x", "team_id": team_id},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with console.db.reader() as s:
        sub = webhooks.get(s, sub_id)
        assert (sub.name, sub.url, sub.team_id, sub.event_types) == (
            "renamed",
            "https://hooks.example.com/x",
            team_id,
            [],
        )
        assert (sub.enabled, sub.disabled_reason) == (False, "disabled by hand")
    r = console.client.post(f"/webhooks/{sub_id}/test", data={"csrf": console.csrf(edit)})
    assert r.status_code == 409
    assert f"webhook subscription {sub_id} is disabled; enable it first" in r.text
    r = console.client.post(f"/webhooks/{sub_id}/delete", data={"csrf": console.csrf(edit)})
    assert "Subscription renamed deleted" in r.text
    with console.db.reader() as s:
        assert webhooks.list_all(s) == []
    assert console.client.get(edit).status_code == 404


def test_a_test_delivery_reaches_the_receiver_and_its_log_is_inert(
    console: Console, receiver: tuple[str, list[bytes]]
) -> None:
    url, received = receiver
    console.login()
    sub_id, _ = _create(console, url)
    page = f"/webhooks/{sub_id}"
    csrf = console.csrf(page)
    r = console.client.post(f"{page}/test", data={"csrf": csrf})
    assert "Test delivery queued" in r.text
    _send_due(console)
    assert len(received) == 1
    assert b'"webhook.test"' in received[0]
    log = console.client.get(page).text
    assert "webhook.test — delivered" in log
    assert "Attempt 1" in log
    assert "(HTTP 200)" in log
    assert "&#34;webhook.test&#34;" in log  # the request excerpt, as text
    assert str(escape(HOSTILE_REPLY.decode())) in log
    assert '<script src="/evil.js">' not in log
    assert "<img src=x" not in log

    with console.db.reader() as s:
        (logged,) = webhooks.deliveries(s, sub_id)
    r = console.client.post(f"{page}/deliveries/{logged.delivery.id}/redeliver", data={"csrf": csrf})
    assert f"Delivery {logged.delivery.id} queued again" in r.text
    _send_due(console)
    assert len(received) == 2
    assert received[1] == received[0]
    assert "Attempt 1" in console.client.get(page).text
    r = console.client.post(f"{page}/deliveries/999999/redeliver", data={"csrf": csrf})
    assert r.status_code == 404


def test_bad_subscription_input_is_named_beside_its_field(console: Console) -> None:
    console.login()
    csrf = console.csrf("/webhooks/new")
    r = console.client.post(
        "/webhooks/new", data={"csrf": csrf, "name": "", "url": "https://x.example", "team_id": "t"}
    )
    assert r.status_code == 422
    with console.db.unit_of_work() as s:
        _, token = users.create_token(s, users.get_user(s, "alice@example.com"), name="t", now=console.clock.now())
    api = console.client.post(
        "/api/v1/webhook-subscriptions",
        json={"name": "", "url": "https://x.example", "team_id": "t"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422
    assert str(escape(api.json()["detail"])) in r.text
    assert re.search(r'id="name-error">String should have at least 1 character<', r.text)
    assert re.search(r'id="team_id-error">Input should be a valid integer', r.text)
    assert 'value="https://x.example"' in r.text

    r = console.client.post(
        "/webhooks/new", data={"csrf": csrf, "name": "n", "url": "ftp://nope", "secret": "whsec_c2VjcmV0c2VjcmV0"}
    )
    assert r.status_code == 422
    assert re.search(r'id="url-error">url must be an absolute http\(s\) URL', r.text)
    assert "whsec_c2VjcmV0c2VjcmV0" not in r.text
    r = console.client.post(
        "/webhooks/new", data={"csrf": csrf, "name": "n", "url": "https://x.example", "event_types": "resolved"}
    )
    assert r.status_code == 422
    assert re.search(r'id="event_types-error">event type &#39;resolved&#39; is not of the form', r.text)
    with console.db.reader() as s:
        assert webhooks.list_all(s) == []


def test_non_admins_get_403_and_csrf_is_checked(console: Console, receiver: tuple[str, list[bytes]]) -> None:
    with console.db.unit_of_work() as s:
        users.create_user(s, email="rita@example.com", name="Rita", role="responder", now=console.clock.now())
        users.get_user(s, "rita@example.com").password_hash = users.get_user(s, "alice@example.com").password_hash
        sub = webhooks.create(s, name="kept", url=receiver[0], now=console.clock.now())
        sub_id = sub.id
        delivery_id = webhooks.send_test(s, sub_id, now=console.clock.now()).id
    posts = [
        ("/webhooks/new", {"name": "sneaky", "url": receiver[0]}),
        (f"/webhooks/{sub_id}/edit", {"name": "sneaky", "url": receiver[0]}),
        (f"/webhooks/{sub_id}/delete", {}),
        (f"/webhooks/{sub_id}/test", {}),
        (f"/webhooks/{sub_id}/deliveries/{delivery_id}/redeliver", {}),
    ]
    for email in ("olga@example.com", "rita@example.com"):
        console.client.cookies.clear()
        console.login(email)
        csrf = console.csrf()
        page = console.client.get(f"/webhooks/{sub_id}").text
        assert "kept" in page
        assert "Send test" not in page
        assert sub.secret not in page
        assert console.client.get("/webhooks/new").status_code == 403
        for path, data in posts:
            r = console.client.post(path, data={"csrf": csrf, **data})
            assert r.status_code == 403, (email, path)
            assert "Only admins can change webhook subscriptions" in r.text
    console.client.cookies.clear()
    console.login()
    for path, data in posts:
        r = console.client.post(path, data=data)
        assert r.status_code == 403, path
        assert "expired or came from another site" in r.text
    with console.db.reader() as s:
        (kept,) = webhooks.list_all(s)
        assert (kept.name, kept.enabled) == ("kept", True)
        assert len(webhooks.deliveries(s, sub_id)) == 1


def test_the_delivery_log_pages_back_to_older_deliveries(console: Console) -> None:
    with console.db.unit_of_work() as s:
        sub_id = webhooks.create(s, name="busy", url="https://hooks.example.com/x", now=console.clock.now()).id
        ids = [webhooks.send_test(s, sub_id, now=console.clock.now()).id for _ in range(51)]
    console.login()
    page = console.client.get(f"/webhooks/{sub_id}").text
    assert f'id="delivery-{ids[-1]}"' in page
    assert f'id="delivery-{ids[0]}"' not in page
    older = re.search(r'href="(/webhooks/\d+\?before=\d+)">Older deliveries<', page)
    assert older
    page = console.client.get(older.group(1)).text
    assert f'id="delivery-{ids[0]}"' in page
    assert f'id="delivery-{ids[1]}"' not in page
    assert "Older deliveries" not in page
