"""Private incidents in a real browser (ADR 0022): a responder who takes no part neither lists one nor opens it
(its URL is the not-found page), while a participant added by hand lists it and opens it, also on a phone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, LiveServer, Tab
from tocsin.incidents import service as incidents
from tocsin.incidents import visibility
from tocsin.incidents.schemas import Actor
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

pytestmark = pytest.mark.slow


def _private_incident(server: LiveServer) -> tuple[int, str, str]:
    """A private incident declared by Alice, with a new responder added by hand; returns its number, its title and
    the participant's email. Bob (in the service's team) takes no part."""
    title = f"Leaked signing key {uuid.uuid4().hex[:6]}"
    email = f"carl-{uuid.uuid4().hex[:6]}@example.com"
    now = datetime.now(UTC)
    alice = Actor(label="Alice Admin", source="web", user_id=server.ids["alice"])
    with server.db.unit_of_work() as s:
        carl = users.create_user(s, email=email, name="Carl", now=now, password_hash=hash_password(PASSWORD))
        incident = incidents.declare(
            s, service_id=server.ids["service"], title=title, private=True, actor=alice, now=now
        )
        visibility.add_participant(s, incident.id, carl.id, actor=alice, now=now)
        number = incident.number
    return number, title, email


def test_a_private_incident_is_hidden_from_a_non_participant_and_shown_to_a_participant(
    tab: Tab, live_server: LiveServer
) -> None:
    number, title, carl = _private_incident(live_server)
    live_server.event(f"Public disk alert {uuid.uuid4().hex[:6]}")

    tab.sign_in("bob@example.com")
    expect(tab.page.locator("#incident-rows")).to_contain_text("Public disk alert")
    expect(tab.page.locator("#incident-rows")).not_to_contain_text(title)
    response = tab.page.goto(f"{live_server.url}/incidents/{number}")
    assert response is not None
    assert response.status == 404
    expect(tab.page.locator("body")).not_to_contain_text(title)
    expect(tab.page.locator("body")).to_contain_text("not found")

    tab.page.context.clear_cookies()
    tab.page.set_viewport_size({"width": 390, "height": 844})
    tab.sign_in(carl)
    expect(tab.page.locator("#incident-rows")).to_contain_text(title)
    expect(tab.page.locator("#incident-rows .badge.private").first).to_be_visible()
    tab.page.get_by_role("link", name=title).click()
    expect(tab.page.get_by_role("heading", name="Who sees this")).to_be_visible()
    expect(tab.page.locator("#private-card")).to_contain_text("Carl")
    # Fits a phone: nothing wider than the screen.
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    tab.shot("private-incident-phone")
