"""Administration forms in a real browser: a service and a schedule with a layer, created through the console."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, Tab
from tocsin.oncall import service as oncall
from tocsin.services import service as services

pytestmark = pytest.mark.slow


def test_an_admin_creates_a_service_and_a_schedule_with_a_layer(tab: Tab, live_server: LiveServer) -> None:
    suffix = uuid.uuid4().hex[:6]
    tab.sign_in()
    page = tab.page

    tab.go("/services")
    page.get_by_role("link", name="New service").click()
    page.get_by_label("Name", exact=True).fill(f"search-{suffix}")
    page.get_by_label("Team").select_option(label="Payments")
    page.get_by_label("Escalation policy").select_option(label="Payments default")
    page.get_by_label("Acknowledgement timeout").fill("soon")
    page.get_by_role("button", name="Create service").click()
    # The server's refusal, beside the field, with what was typed kept.
    expect(page.locator("#ack_timeout-error")).to_contain_text("not a duration")
    expect(page.get_by_label("Name", exact=True)).to_have_value(f"search-{suffix}")
    page.get_by_label("Acknowledgement timeout").fill("30m")
    page.get_by_role("button", name="Create service").click()
    expect(page.get_by_role("heading", name=f"search-{suffix}")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Service created")
    page.get_by_role("link", name="Add integration").click()
    page.get_by_label("Type").select_option("alertmanager")
    page.get_by_label("Name", exact=True).fill("prometheus")
    page.get_by_role("button", name="Add integration").click()
    expect(page.get_by_role("status")).to_have_text("Integration prometheus added")
    with live_server.db.reader() as s:
        service = services.get_service(s, f"search-{suffix}")
        integrations = [(i.name, i.type) for i in services.list_integrations(s, service.id)]
    assert service.ack_timeout_seconds == 1800
    assert service.escalation_policy_id == live_server.ids["policy"]
    assert integrations == [("prometheus", "alertmanager")]

    tab.go("/oncall")
    page.get_by_role("link", name="New schedule").click()
    page.get_by_label("Name", exact=True).fill(f"Search primary {suffix}")
    page.get_by_label("Time zone", exact=True).fill("Europe/Berlin")
    page.get_by_label("Layer name").fill("weekdays")
    page.get_by_label("Rotation", exact=True).select_option("daily")
    page.get_by_label("First handoff").fill("2026-11-30T09:00")
    page.get_by_label("Participants in rotation order").fill("bob@example.com\nalice@example.com")
    page.get_by_label("Window 1 from").fill("09:00")
    page.get_by_label("Window 1 until").fill("17:00")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        page.get_by_label(day, exact=True).check()
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name=f"Search primary {suffix}")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Schedule created")
    expect(page.get_by_role("heading", name="Layer: weekdays")).to_be_visible()
    with live_server.db.reader() as s:
        schedule = oncall.get_schedule(s, f"Search primary {suffix}")
        layers = oncall.layers(s, schedule)
    assert [(x.name, x.rotation, x.user_ids, x.start.astimezone(UTC)) for x in layers] == [
        ("weekdays", "daily", [live_server.ids["bob"], live_server.ids["alice"]], datetime(2026, 11, 30, 8, tzinfo=UTC))
    ]
    assert layers[0].restrictions == [{"start": "09:00", "end": "17:00", "days": [0, 1, 2, 3, 4]}]
    # The refused form answers 422 and there is no favicon; anything else (a CSP violation, a script error) fails.
    assert [e for e in tab.console_errors if not e.startswith("Failed to load resource")] == []
