"""Drills in a real browser: an admin saves a scenario, starts a drill, finds its incident marked DRILL, ends it
and reads the report; the pages have a label for every control and fit a phone."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, Tab

pytestmark = pytest.mark.slow

UNLABELED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map(el => el.outerHTML.slice(0, 80))"""
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def test_a_drill_from_scenario_to_report_on_a_phone(tab: Tab, live_server: LiveServer) -> None:
    name = f"Failover {uuid.uuid4().hex[:6]}"
    tab.sign_in()
    tab.page.set_viewport_size({"width": 360, "height": 740})
    tab.go("/drills")
    assert tab.page.evaluate(UNLABELED) == []
    assert tab.page.evaluate(OVERFLOW) <= 0
    tab.page.get_by_label("Name").fill(name)
    tab.page.get_by_label("Service").select_option(label="checkout-api")
    tab.page.get_by_label("Event (JSON of a generic event)").fill('{"summary": "Primary DB down (drill)"}')
    tab.page.get_by_role("button", name="Save scenario").click()
    expect(tab.page.get_by_role("status")).to_contain_text(f"Scenario {name} saved")
    row = tab.page.locator("tr", has_text=name)
    row.get_by_role("button", name="Start drill").click()
    expect(tab.page.get_by_role("status")).to_contain_text("Drill started")
    assert re.search(r"/drills/\d+", tab.page.url)
    assert tab.page.evaluate(OVERFLOW) <= 0
    drill_url = tab.page.url.split("?")[0]

    incident_link = tab.page.get_by_role("link", name=re.compile(r"^#\d+$"))
    incident_path = incident_link.get_attribute("href")
    tab.go("/incidents")
    listed = tab.page.locator("tr", has_text="Primary DB down (drill)")
    expect(listed.locator(".badge.drill")).to_be_visible()
    assert tab.page.evaluate(OVERFLOW) <= 0
    tab.go(str(incident_path))
    expect(tab.page.locator(".badge.drill").first).to_be_visible()
    expect(tab.page.get_by_role("heading", name=re.compile("Business impact"))).to_be_visible()
    assert tab.page.evaluate(UNLABELED) == []
    assert tab.page.evaluate(OVERFLOW) <= 0, "the incident page of a drill scrolls sideways at 360px"
    tab.shot("drill-incident-phone")
    tab.page.get_by_role("button", name="End drill").click()
    expect(tab.page.get_by_role("status")).to_contain_text("Drill ended")
    assert tab.page.url.startswith(drill_url)
    expect(tab.page.get_by_role("heading", name="Report")).to_be_visible()
    expect(tab.page.get_by_text("Alice Admin resolved by web")).to_be_visible()
    assert tab.page.evaluate(OVERFLOW) <= 0
    tab.shot("drill-report-phone")
