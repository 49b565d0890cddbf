"""A page shows up as a browser notification in the signed-in person's open console, and the mail in the outbox.

A server of its own with the engine running (the shared one runs none), Debian's Chromium with the notifications
permission granted, and ``window.Notification`` wrapped by an init script so that the test sees each one created
(a headless browser shows nothing on screen).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, _free_port
from tocsin.app import create_app
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.incidents import service as incidents
from tocsin.mailbox import service as mailbox
from tocsin.notify import contacts
from tocsin.services import service as services
from tocsin.settings import load_settings
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

pytestmark = pytest.mark.slow

# Kept in sessionStorage: the incident list reloads itself when its first incident arrives.
RECORD_NOTIFICATIONS = """
window.__notifications = JSON.parse(sessionStorage.getItem("notifications") || "[]");
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) {
    window.__notifications.push({ title: title, body: (options || {}).body, tag: (options || {}).tag });
    sessionStorage.setItem("notifications", JSON.stringify(window.__notifications));
    super(title, options);
  }
};
"""


class PagingServer:
    def __init__(self, url: str, db: Database, key: str) -> None:
        self.url = url
        self.db = db
        self.key = key

    def dana_notified(self, context: Any) -> Any:
        """A page of ``context`` signed in as Dana, with notifications allowed and each one recorded in
        ``window.__notifications``."""
        context.grant_permissions(["notifications"], origin=self.url)
        context.add_init_script(RECORD_NOTIFICATIONS)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{self.url}/login")
        page.get_by_label("Email").fill("dana@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/incidents")
        return page

    def trigger(self, summary: str) -> None:
        body = {
            "routing_key": self.key,
            "event_action": "trigger",
            "payload": {"summary": summary, "source": "db1", "severity": "critical"},
        }
        r = httpx.post(f"{self.url}/v2/enqueue", json=body, timeout=10)
        assert r.status_code == 202, r.text


@pytest.fixture(scope="module")
def paging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PagingServer]:
    path: Path = tmp_path_factory.mktemp("paging") / "tocsin.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        dana = users.create_user(
            s, email="dana@example.com", name="Dana", role="admin", now=now, password_hash=hash_password(PASSWORD)
        )
        cm = contacts.add_contact_method(s, user_id=dana.id, name="mail", type="email", address=dana.email, now=now)
        contacts.add_rule(s, user_id=dana.id, urgency="high", contact_method_id=cm.id, delay_seconds=0)
        policy = escalation.create_policy(
            s, name="Dana first", now=now, steps=[([{"kind": "user", "ref": str(dana.id)}], 600)]
        )
        service = services.create_service(s, name="api", now=now)
        service.escalation_policy_id = policy.id
        key = services.add_integration(s, service, name="events", type="pagerduty_v2", now=now).key
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # The engine runs (pages go out); no SMTP server is configured, so email goes to the local outbox.
    settings = load_settings(database_url=url, public_url=base, host="127.0.0.1", port=port, engine_tick_seconds=0.2)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield PagingServer(base, db, key)
    server.should_exit = True
    thread.join(10)
    db.dispose()


def _mail_to_dana(server: PagingServer) -> list[Any]:
    with server.db.reader() as s:
        return mailbox.newest(s, addresses=["dana@example.com"])


def test_a_page_appears_as_a_browser_notification_and_its_mail_in_the_outbox(
    browser: Any, paging_server: PagingServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = paging_server.dana_notified(context)
        expect(page.locator("#notify-state")).to_have_text("Browser notifications on")
        expect(page.locator("#notify-enable")).to_be_hidden()
        expect(page.locator("body")).to_have_attribute("data-live-connected", "yes")

        summary = f"Disk 95% full on db1 {uuid.uuid4().hex[:6]}"
        paging_server.trigger(summary)
        page.wait_for_function(
            "s => window.__notifications.some(n => n.title.includes(s))", arg=summary, timeout=15_000
        )
        # The list reloads itself for its first incident; read the record once it shows the incident.
        expect(page.locator("#incident-rows")).to_contain_text(summary)
        [shown] = [n for n in page.evaluate("window.__notifications") if summary in n["title"]]
        assert shown["title"] == f"#1 {summary}"
        assert shown["body"].startswith("You are paged (high urgency, by email)")
        assert shown["tag"] == "tocsin-incident-1"

        # On any console page, not only the live ones; and nothing is announced twice.
        page.goto(f"{paging_server.url}/outbox")
        expect(page.locator("body")).to_have_attribute("data-live-connected", "yes")
        paging_server.trigger(f"Second {summary}")
        page.wait_for_function("() => window.__notifications.length >= 2", timeout=15_000)
        titles = [n["title"] for n in page.evaluate("window.__notifications")]
        assert titles.count(f"#1 {summary}") == 1

        # A page delivered while the tab was between two console pages is announced by the next one.
        page.goto(f"{paging_server.url}/static/app.css")
        paging_server.trigger(f"Third {summary}")
        deadline = time.monotonic() + 15
        while not any(m.subject.startswith("[Tocsin] #3 ") for m in _mail_to_dana(paging_server)):
            assert time.monotonic() < deadline, "the third page was not delivered"
            time.sleep(0.2)
        page.goto(f"{paging_server.url}/oncall")
        page.wait_for_function("() => window.__notifications.some(n => n.title.startsWith('#3 '))", timeout=10_000)
        titles = [n["title"] for n in page.evaluate("window.__notifications")]
        assert len(titles) == len(set(titles)) == 3

        # The same page, as mail in the outbox, with the acknowledge link that works from it.
        assert any(summary in m.subject for m in _mail_to_dana(paging_server))
        page.get_by_role("link", name="Outbox").click()
        page.locator("#outbox-rows a", has_text=re.compile(rf"#1 .*: {re.escape(summary)} —")).click()
        ack = page.locator("#mail-text a", has_text="/a/").first
        expect(ack).to_be_visible()
        ack.click()
        page.get_by_role("button", name="Acknowledge #1").click()
        expect(page.get_by_role("heading", name="Incident #1 acknowledged")).to_be_visible()
        with paging_server.db.reader() as s:
            assert incidents.get(s, "#1").status == "acknowledged"
    finally:
        context.close()
