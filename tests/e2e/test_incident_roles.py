"""The incident page's Roles and Responders cards in a real browser: assign and hand over a role (its history
shows both holders), ask someone to join, and move the response on the same page."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, Tab
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter
from tocsin.response import responders, roles

pytestmark = pytest.mark.slow


def test_assign_hand_over_a_role_ask_a_responder_and_move_the_response(tab: Tab, live_server: LiveServer) -> None:
    summary = f"Payments failing {uuid.uuid4().hex[:6]}"
    live_server.event(summary)
    with live_server.db.reader() as s:
        rows, _ = incidents.list_incidents(s, IncidentFilter(text=summary), limit=5)
    number = rows[0].number
    tab.sign_in()
    tab.go(f"/incidents/{number}")
    commander = tab.page.locator("#roles li[data-role='Incident Commander']")

    commander.get_by_label("Assign to").select_option(label="Alice Admin")
    commander.get_by_role("button", name="Assign").click()
    expect(commander.locator(".holder")).to_have_text("Alice Admin")
    commander.get_by_label("Hand over to").select_option(label="Bob Responder")
    commander.get_by_role("button", name="Hand over").click()
    expect(commander.locator(".holder")).to_have_text("Bob Responder")
    history = tab.page.locator("#roles .role-history")
    history.locator("summary").click()
    expect(history).to_contain_text("Incident Commander: Alice Admin")
    expect(history).to_contain_text("Incident Commander: Bob Responder")
    expect(history.locator("li").filter(has_text="Alice Admin")).not_to_contain_text("now")
    expect(history.locator("li").filter(has_text="Bob Responder")).to_contain_text("now")

    card = tab.page.locator("#responders")
    card.get_by_label("Ask").select_option(label="Bob Responder")
    card.get_by_label("Message").fill("Can you check the payment gateway?")
    card.get_by_role("button", name="Add responders").click()
    expect(tab.page.locator("#responders .responder-requests")).to_contain_text("Bob Responder")
    expect(tab.page.locator("#responders .responder-requests")).to_contain_text("requested")
    expect(tab.page.locator("#responders .engaged")).to_contain_text("Bob Responder (Incident Commander)")

    tab.page.locator("[data-action='response'] select[name='status']").select_option("identified")
    tab.page.locator("[data-action='response'] button[type='submit']").click()
    expect(tab.page.locator("#incident-header")).to_contain_text("identified")
    tab.shot("incident-roles")

    with live_server.db.reader() as s:
        incident = incidents.get(s, f"#{number}")
        held = roles.history(s, incident.id)
        asked = responders.requests_on(s, incident.id)
        kinds = [e.kind for e in incidents.timeline(s, incident.id)]
    assert [(h.ended_at is None) for h in held] == [False, True]
    assert [r.status for r in asked] == ["requested"]
    assert {"role_assigned", "responder_requested", "response_changed"} <= set(kinds)
    assert re.search(r"identified", incident.response_status)


def test_skills_on_the_own_page_and_find_an_expert_fit_a_phone(tab: Tab, live_server: LiveServer) -> None:
    tab.sign_in()
    tab.page.set_viewport_size({"width": 360, "height": 740})
    tab.go("/me")
    tab.page.get_by_role("textbox", name="Skills").fill("postgres  networking")
    tab.page.get_by_role("button", name="Save skills").click()
    expect(tab.page.locator("#skills")).to_contain_text("networking")
    tab.page.get_by_role("link", name="Find an expert").click()
    tab.page.get_by_label("Skill", exact=True).fill("postgres")
    tab.page.get_by_role("button", name="Find").click()
    expect(tab.page.locator("table.experts")).to_contain_text("Alice Admin")
    for path in ("/me", "/experts?skill=postgres", "/incidents"):
        tab.go(path)
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"
    tab.shot("experts-phone")
