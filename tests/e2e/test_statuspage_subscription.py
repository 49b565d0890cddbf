"""Subscribing to a status page by email in Chromium (JavaScript off, as a reader's mail client would open the
links), through a real SMTP server (aiosmtpd): the form, the confirmation link from the mail, an update received
once, the unsubscribe link from the update, and nothing after it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller

from tests.e2e.conftest import CHROMIUM
from tests.servers import free_port
from tocsin.db import migrate
from tocsin.incidents.schemas import Actor
from tocsin.runtime import Runtime
from tocsin.statuspages import service as statuspages

READER = "reader@example.com"


class Inbox:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 Message accepted"


def _body(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def mailing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime, Inbox]]:
    from tocsin.app import create_app
    from tocsin.settings import load_settings

    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-mail') / 'tocsin.db'}"
    migrate.upgrade(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(
        database_url=url,
        run_worker=False,
        public_url=base,
        host="127.0.0.1",
        port=port,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="status@tocsin.test",
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield base, app.state.runtime, inbox
    finally:
        server.should_exit = True
        thread.join(10)
        controller.stop()


def _deliver(runtime: Runtime, inbox: Inbox, expected: int) -> None:
    """The engine's passes, as the worker would run them, until ``expected`` mails have arrived (or a few passes)."""
    engine = runtime.build_engine(owner="e2e-mail")
    for _ in range(5):
        engine.run_pass()
        if len(inbox.mails) >= expected:
            return


def test_subscribe_confirm_receive_and_unsubscribe_in_the_browser(
    browser: Any, mailing_server: tuple[str, Runtime, Inbox]
) -> None:
    assert CHROMIUM
    base, runtime, inbox = mailing_server
    actor = Actor(label="Carol", source="web")
    with runtime.db.unit_of_work() as s:
        page = statuspages.create_page(s, slug="e2e-mail", name="Mail Cloud", now=datetime.now(UTC))
        statuspages.add_component(s, page, name="Inbox API", now=datetime.now(UTC))
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    try:
        tab.goto(f"{base}/status/e2e-mail")
        tab.get_by_label("Email address").fill(READER)
        tab.get_by_role("button", name="Subscribe").click()
        assert tab.get_by_role("heading", name="Check your mail").is_visible()

        _deliver(runtime, inbox, 1)
        (confirmation,) = inbox.mails
        assert confirmation["To"] == READER
        confirm = re.search(r"(http://\S+/status/e2e-mail/confirm/\S+)", _body(confirmation))
        assert confirm, _body(confirmation)
        tab.goto(confirm.group(1))
        assert tab.get_by_role("heading", name="Subscribed").is_visible()

        with runtime.db.unit_of_work() as s:
            found = statuspages.get_page(s, "e2e-mail")
            statuspages.create_incident(
                s,
                found,
                name="Mail delayed",
                body="Incoming mail is delayed by ten minutes.",
                actor=actor,
                now=datetime.now(UTC),
            )
        _deliver(runtime, inbox, 2)
        assert len(inbox.mails) == 2, [m["Subject"] for m in inbox.mails]
        update = inbox.mails[1]
        assert "Mail delayed" in update["Subject"]
        assert "Incoming mail is delayed by ten minutes." in _body(update)
        unsubscribe = update["List-Unsubscribe"].strip("<>")
        assert unsubscribe.startswith(f"{base}/status/e2e-mail/unsubscribe/")
        tab.goto(unsubscribe)
        tab.get_by_role("button", name="Unsubscribe").click()
        assert tab.get_by_role("heading", name="Unsubscribed").is_visible()

        with runtime.db.unit_of_work() as s:
            found = statuspages.get_page(s, "e2e-mail")
            statuspages.create_incident(
                s,
                found,
                name="Mail delayed again",
                body="Not for the reader any more.",
                actor=actor,
                now=datetime.now(UTC),
            )
        _deliver(runtime, inbox, 3)
        assert len(inbox.mails) == 2, "nothing after unsubscribing"
    finally:
        context.close()
