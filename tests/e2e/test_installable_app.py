"""The console as an app on a phone, in Debian's Chromium: a valid manifest, the service worker registered at the
root, a push message shown as a notification with its buttons, and the responder's pages without sideways
scrolling at 360 px.

Chromium cannot reach a real push service here (offline, no push service of its own in headless mode), so a
subscription cannot be made; the push message is handed to the service worker through the DevTools protocol
instead, and the wire format is covered by the fake push service of ``tests/integration/test_channel_webpush.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, LiveServer
from tests.e2e.test_browser_notifications import PagingServer, paging_server  # noqa: F401
from tocsin.auth import links
from tocsin.auth.secrets import instance_secret
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    context.grant_permissions(["notifications"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert [e for e in errors if "Content Security Policy" in e] == []


def sign_in(page: Any, base: str, email: str = "bob@example.com") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/incidents")


def test_the_manifest_is_valid_and_the_service_worker_registers(phone: Any, live_server: LiveServer) -> None:
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}/me")
    scope = phone.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{live_server.url}/"
    script = phone.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
    assert script == f"{live_server.url}/sw.js"

    cdp = phone.context.new_cdp_session(phone)
    found = cdp.send("Page.getAppManifest")
    assert found["url"] == f"{live_server.url}/manifest.webmanifest"
    assert found["errors"] == []
    manifest = json.loads(found["data"])
    assert manifest["display"] == "standalone"
    # Nothing in the manifest, the icons or the service worker stands in the way of installing; a browser context
    # of Playwright's own is like an incognito window, which is never installable, so that reason is left out.
    reasons = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [r["errorId"] for r in reasons if r["errorId"] != "in-incognito"] == []

    # The button that subscribes this device is there for a browser that can take pushes.
    button = phone.locator("#push-enable")
    assert button.is_visible()
    assert len(button.get_attribute("data-key")) == 87


def test_a_push_message_shows_a_notification_with_its_buttons(phone: Any, live_server: LiveServer) -> None:
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}/me")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    cdp = phone.context.new_cdp_session(phone)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 30  # a loaded machine can take seconds to wake the service worker
    while not [r for r in registrations if r["scopeURL"] == f"{live_server.url}/" and not r["isDeleted"]]:
        assert time.monotonic() < deadline, "the service worker's registration was not reported"
        phone.wait_for_timeout(50)
    (registration,) = {r["registrationId"] for r in registrations if r["scopeURL"] == f"{live_server.url}/"}
    data = {
        "kind": "page",
        "title": "#9 Disk full on db1",
        "body": "checkout-api: triggered, high urgency",
        "tag": "tocsin-incident-9",
        "incident": 9,
        "urgency": "high",
        "url": f"{live_server.url}/incidents/9",
        "actions": [
            {"action": "acknowledge", "title": "Acknowledge", "url": f"{live_server.url}/a/ACK"},
            {"action": "resolve", "title": "Resolve", "url": f"{live_server.url}/a/RES"},
        ],
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration, "data": json.dumps(data)},
    )
    read = """async () => {
      const r = await navigator.serviceWorker.ready;
      const notes = await r.getNotifications({ tag: "tocsin-incident-9" });
      if (!notes.length) return null;
      const n = notes[0];
      return { title: n.title, body: n.body, actions: n.actions.map(a => a.action), url: n.data.url };
    }"""
    deadline = time.monotonic() + 30  # a loaded machine can take seconds to wake the service worker
    while (shown := phone.evaluate(read)) is None:
        assert time.monotonic() < deadline, "the push message was not shown"
        phone.wait_for_timeout(50)
    assert shown == {
        "title": "#9 Disk full on db1",
        "body": "checkout-api: triggered, high urgency",
        "actions": ["acknowledge", "resolve"],
        "url": f"{live_server.url}/incidents/9",
    }


def _signed_link(server: LiveServer, incident_id: int, action: links.Action) -> str:
    """A one-click link as the server makes them (its signing key is an instance secret: no TOCSIN_SECRET_KEY)."""
    with server.db.unit_of_work() as s:
        key = instance_secret(s, "link_signing")
    secret = hmac.new(key.encode(), b"tocsin/action-links/v1", hashlib.sha256).digest()
    token = links.make_token(
        secret,
        incident_id=incident_id,
        user_id=server.ids["bob"],
        action=action,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        nonce=links.new_nonce(),
    )
    return f"{server.url}/a/{token}"


def test_the_lock_screen_button_acknowledges_from_the_service_worker(phone: Any, live_server: LiveServer) -> None:
    summary = f"Lock screen {time.monotonic_ns()}"
    live_server.event(summary)
    deadline = time.monotonic() + 30  # a loaded machine can take seconds to wake the service worker
    while True:
        with live_server.db.reader() as s:
            found = [i for i in incidents.list_incidents(s, IncidentFilter(), limit=50)[0] if i.title == summary]
        if found:
            break
        assert time.monotonic() < deadline, "the incident was not opened"
        time.sleep(0.05)
    (incident,) = found
    data = {
        "kind": "page",
        "title": f"#{incident.number} {summary}",
        "tag": f"tocsin-incident-{incident.number}",
        "incident": incident.number,
        "url": f"{live_server.url}/incidents/{incident.number}",
        "actions": [
            {
                "action": "acknowledge",
                "title": "Acknowledge",
                "url": _signed_link(live_server, incident.id, "acknowledge"),
            }
        ],
    }
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}/me")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    (worker,) = [w for w in phone.context.service_workers if w.url == f"{live_server.url}/sw.js"]
    # What notificationclick does for the Acknowledge button: the worker POSTs the link itself, without cookies.
    press = """async (data) => {
      await self.tocsin.act(data.actions[0], data);
      const notes = await self.registration.getNotifications({ tag: data.tag });
      return notes.map((n) => [n.title, n.body]);
    }"""
    assert worker.evaluate(press, data) == [[f"Acknowledged: #{incident.number}", ""]]
    with live_server.db.reader() as s:
        assert incidents.get(s, incident.id).status == "acknowledged"
        acks = [e for e in incidents.timeline(s, incident.id) if e.kind == "acknowledged"]
    assert [(e.actor, e.source) for e in acks] == [("Bob Responder", "link")]
    # The same button again: the link is spent, and the notification says so.
    [[title, body]] = worker.evaluate(press, data)
    assert title == f"Not done: #{incident.number}"
    assert body in ("Someone got there first.", "This button was already used, or the incident moved on.")
    with live_server.db.reader() as s:
        assert len([e for e in incidents.timeline(s, incident.id) if e.kind == "acknowledged"]) == 1


ESSENTIAL = ["/me", "/incidents", "/incidents/{number}", "/oncall", "/schedules/{schedule}"]


def test_the_responders_pages_fit_a_phone(phone: Any, live_server: LiveServer) -> None:
    live_server.event(f"Replication lag on a very-long-hostname-without-spaces-{'x' * 40} in eu-west-1")
    sign_in(phone, live_server.url)
    phone.wait_for_selector("#incident-rows a")
    number = phone.locator("#incident-rows a").first.get_attribute("href").rsplit("/", 1)[-1]
    wide = {}
    for template in ESSENTIAL:
        path = template.format(number=number, schedule=live_server.ids["schedule"])
        phone.goto(f"{live_server.url}{path}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
    assert wide == {}
    # The incident page keeps its actions on the phone.
    phone.goto(f"{live_server.url}/incidents/{number}")
    for action in ("acknowledge", "resolve", "escalate"):
        assert phone.locator(f"form[data-action={action}] button").count() == 1


def test_a_page_notifies_the_open_console_on_a_phone(
    browser: Any,
    paging_server: PagingServer,  # noqa: F811
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = paging_server.dana_notified(context)
        page.goto(f"{paging_server.url}/me")
        page.wait_for_selector("body[data-live-connected=yes]")
        paging_server.trigger("Phone console page")
        page.wait_for_function(
            "() => window.__notifications.some(n => n.title.endsWith('Phone console page'))", timeout=15_000
        )
        [shown] = [n for n in page.evaluate("window.__notifications") if n["title"].endswith("Phone console page")]
        assert shown["body"].startswith("You are paged (high urgency")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
