"""A real Tocsin served by uvicorn on 127.0.0.1 and Debian's Chromium driven by Playwright.

With CI=true a missing Chromium fails the browser tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tocsin.app import create_app
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.escalation import service as escalation
from tocsin.notify import contacts
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.settings import load_settings
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
# Tests never write tracked files: screenshots go to build/ unless `make screenshots` points them at the docs.
SCREENSHOTS = Path(
    os.environ.get("TOCSIN_SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / "build" / "screenshots"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    db: Database
    keys: dict[str, str]
    ids: dict[str, int] = field(default_factory=dict)

    def event(self, summary: str, *, key: str = "events", **extra: Any) -> str:
        body = {
            "routing_key": self.keys[key],
            "event_action": "trigger",
            "payload": {"summary": summary, "source": "db1", "severity": "critical"},
            **extra,
        }
        r = httpx.post(f"{self.url}/v2/enqueue", json=body, timeout=10)
        assert r.status_code == 202, r.text
        return str(r.json()["dedup_key"])


def _seed(db: Database) -> tuple[dict[str, str], dict[str, int]]:
    now = datetime.now(UTC)
    secret = hash_password(PASSWORD)
    with db.unit_of_work() as s:
        alice = users.create_user(
            s, email="alice@example.com", name="Alice Admin", role="admin", now=now, password_hash=secret
        )
        bob = users.create_user(s, email="bob@example.com", name="Bob Responder", now=now, password_hash=secret)
        team = teams.create_team(s, name="Payments", now=now)
        teams.set_member(s, team, alice)
        teams.set_member(s, team, bob)
        schedule = oncall.create_schedule(s, name="Payments primary", timezone="Europe/Berlin", now=now)
        start = (now - timedelta(days=3)).replace(hour=8, minute=0, second=0, microsecond=0)
        oncall.set_layers(
            s,
            schedule,
            [
                {"name": "weekly", "rotation": "weekly", "start": start, "users": [alice.id, bob.id]},
                {
                    "name": "business hours",
                    "rotation": "daily",
                    "start": start,
                    "users": [bob.id],
                    "restrictions": [{"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4]}],
                },
            ],
        )
        policy = escalation.create_policy(
            s,
            name="Payments default",
            now=now,
            repeat=2,
            steps=[
                ([{"kind": "schedule", "ref": str(schedule.id)}], 600),
                ([{"kind": "user", "ref": str(alice.id)}], 900),
            ],
        )
        service = services.create_service(s, name="checkout-api", now=now, team_id=team.id)
        service.escalation_policy_id = policy.id
        events = services.add_integration(s, service, name="events", type="pagerduty_v2", now=now)
        prom = services.add_integration(s, service, name="prometheus", type="alertmanager", now=now)
        services.create_service(s, name="ledger", now=now, team_id=team.id)
        cm = contacts.add_contact_method(
            s, user_id=alice.id, name="mail", type="email", address="alice@example.com", now=now
        )
        contacts.add_rule(s, user_id=alice.id, urgency="high", contact_method_id=cm.id, delay_seconds=0)
        return {"events": events.key, "prometheus": prom.key}, {
            "schedule": schedule.id,
            "policy": policy.id,
            "service": service.id,
            "alice": alice.id,
            "bob": bob.id,
        }


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'tocsin.db'}"
    migrate.upgrade(url)
    db = Database(url)
    keys, ids = _seed(db)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = load_settings(database_url=url, run_worker=False, public_url=base, host="127.0.0.1", port=port)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield LiveServer(url=base, db=db, keys=keys, ids=ids)
    server.should_exit = True
    thread.join(10)
    db.dispose()


# One browser per test file, not per session: while Playwright's sync API is open it leaves its event loop set as the
# running loop of the main thread, and a later file in the same worker that runs asyncio there would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and shutil.which("chromium")):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Tab:
    """One browser tab; ``dialogs`` records every alert/confirm/prompt the page tried to open."""

    page: Any
    base: str
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def sign_in(self, email: str = "alice@example.com") -> None:
        self.go("/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url("**/incidents")

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def tab(browser: Any, live_server: LiveServer) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    opened = Tab(page=page, base=live_server.url)

    def on_dialog(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: opened.console_errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    # Every page a browser test visits keeps to its Content-Security-Policy.
    assert [e for e in opened.console_errors if "Content Security Policy" in e] == []
