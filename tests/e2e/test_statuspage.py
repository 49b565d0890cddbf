"""The public status page in Chromium, with JavaScript off: the banner, an active incident with its updates, the
90-day uptime bars built from the status history, upcoming maintenance; an update posted later appears on a
reload; the subscription form works; the page fits a phone and keeps to its Content-Security-Policy. In the
console: a page and a component edited through their forms; an incident published and updated from the incident
page appears on the public page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, LiveServer, Tab
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor, IncidentFilter
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.models import ComponentStatusChange

ADMIN = Actor(label="Alice", source="web")


@pytest.fixture
def page_without_js(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert [e for e in errors if "Content Security Policy" in e] == []


def _seed(live_server: LiveServer) -> int:
    now = datetime.now(UTC)
    with live_server.db.unit_of_work() as s:
        page = statuspages.create_page(s, slug="e2e-acme", name="Acme Cloud", now=now - timedelta(days=40))
        api = statuspages.add_component(s, page, name="Public API", now=now - timedelta(days=40))
        statuspages.add_component(s, page, name="Dashboard", now=now - timedelta(days=40))
        # A past outage, ten days ago, for two hours.
        s.add(
            ComponentStatusChange(component_id=api.id, status="major_outage", at=now - timedelta(days=10), source="t")
        )
        s.add(
            ComponentStatusChange(
                component_id=api.id, status="operational", at=now - timedelta(days=10) + timedelta(hours=2), source="t"
            )
        )
        incident, _ = statuspages.create_incident(
            s,
            page,
            name="Elevated API error rates",
            body="We are **investigating** elevated errors.",
            impact="major",
            components={str(api.id): "partial_outage"},
            actor=ADMIN,
            now=now,
        )
        statuspages.schedule_maintenance(
            s,
            page,
            name="Database failover drill",
            body="Short read-only periods are expected.",
            scheduled_for=now + timedelta(days=2),
            scheduled_until=now + timedelta(days=2, hours=1),
            now=now,
        )
        return incident.id


def test_the_public_page_works_without_javascript_and_fits_a_phone(
    page_without_js: Any, live_server: LiveServer
) -> None:
    assert CHROMIUM
    incident_id = _seed(live_server)
    page = page_without_js
    page.goto(f"{live_server.url}/status/e2e-acme")
    assert page.locator(".sp-banner h1").inner_text() == "Partial System Outage"
    assert page.get_by_role("heading", name="Elevated API error rates").is_visible()
    assert page.locator(".sp-update .sp-body strong").inner_text() == "investigating"
    assert page.locator(".sp-component").count() == 2
    assert page.locator(".sp-component").first.locator(".sp-bar").count() == 90
    assert page.locator(".sp-bar.m").count() == 1, "the outage ten days ago is one red day"
    assert page.locator(".sp-bar.p").count() == 1, "today's bar shows the partial outage"
    assert "% uptime" in page.locator(".sp-component").first.inner_text()
    assert page.get_by_text("Partial and major outages count as down time").is_visible()
    assert page.get_by_role("heading", name="Database failover drill").is_visible()

    with live_server.db.unit_of_work() as s:
        acme = statuspages.get_page(s, "e2e-acme")
        row = statuspages.get_incident(s, acme, incident_id)
        statuspages.add_update(
            s, acme, row, status="monitoring", body="A fix is rolling out.", actor=ADMIN, now=datetime.now(UTC)
        )
    page.reload()
    assert page.get_by_text("A fix is rolling out.").is_visible()
    assert page.locator(".sp-update").first.locator(".sp-update-status").inner_text() == "Monitoring"

    page.get_by_label("Email address").fill("reader@example.com")
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_role("heading", name="Check your mail").is_visible()

    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server.url}/status/e2e-acme")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the status page scrolls sideways by {overflow}px at 360px"
    assert page.locator(".sp-bar.p").is_visible(), "today's bar shows on a phone"


def test_the_console_page_of_a_status_page_has_labels_and_fits_a_phone(tab: Tab, live_server: LiveServer) -> None:
    with live_server.db.reader() as s:
        page_id = statuspages.get_page(s, "e2e-acme").id if statuspages.page_by_slug(s, "e2e-acme") else None
    if page_id is None:
        _seed(live_server)
        with live_server.db.reader() as s:
            page_id = statuspages.get_page(s, "e2e-acme").id
    tab.page.set_default_timeout(30_000)
    tab.sign_in()
    unlabeled_js = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map(el => el.outerHTML.slice(0, 80))"""
    for path in ("/status-pages", f"/status-pages/{page_id}"):
        tab.go(path)
        assert tab.page.evaluate(unlabeled_js) == [], path
    tab.page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/status-pages", f"/status-pages/{page_id}"):
        tab.go(path)
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"


def test_editing_a_page_and_a_component_in_the_console(tab: Tab, live_server: LiveServer) -> None:
    now = datetime.now(UTC)
    with live_server.db.unit_of_work() as s:
        made = statuspages.create_page(s, slug="e2e-edit", name="Before", now=now)
        statuspages.add_component(s, made, name="Old name", now=now)
        page_id = made.id
    tab.page.set_default_timeout(30_000)  # a form post renders the whole console page; slow on a busy machine
    tab.sign_in()
    tab.go(f"/status-pages/{page_id}")
    settings = tab.page.locator("#settings")
    settings.locator("summary").click()
    settings.get_by_label("Name", exact=True).fill("After")
    settings.get_by_label("Time zone").fill("Europe/Berlin")
    settings.get_by_label("Footer links, one a line: label | URL").fill("Home | https://example.com")
    settings.get_by_role("button", name="Save settings").click()
    assert tab.page.get_by_role("status").inner_text() == "Settings saved"
    assert tab.page.get_by_role("heading", level=1).inner_text() == "After"

    tab.page.get_by_text("Edit Old name").click()
    tab.page.locator("details", has_text="Edit Old name").get_by_label("Name").fill("New name")
    tab.page.get_by_role("button", name="Save component").click()
    assert tab.page.get_by_role("status").inner_text() == "Component saved"
    with live_server.db.reader() as s:
        page = statuspages.get_page(s, page_id)
        (component,) = statuspages.components(s, page)
    assert (page.name, page.time_zone, component.name) == ("After", "Europe/Berlin", "New name")
    assert page.footer_links == [{"label": "Home", "url": "https://example.com"}]


def test_an_update_posted_on_the_incident_appears_on_the_public_page(tab: Tab, live_server: LiveServer) -> None:
    live_server.event("Payments are failing for some cards")
    with live_server.db.reader() as s:
        rows, _ = incidents.list_incidents(s, IncidentFilter(text="Payments are failing for some cards"), limit=5)
    number = rows[0].number
    with live_server.db.unit_of_work() as s:
        made = statuspages.create_page(s, slug="e2e-pay", name="Pay status", now=datetime.now(UTC))
        statuspages.add_component(s, made, name="Card payments", now=datetime.now(UTC))
    tab.page.set_default_timeout(30_000)
    tab.sign_in()
    tab.go(f"/incidents/{number}")
    card = tab.page.locator("#statuspages")
    card.get_by_label("Title on Pay status").fill("Card payments failing")
    card.get_by_label("Card payments (operational)").select_option("partial_outage")
    card.get_by_role("button", name="Publish on Pay status").click()
    tab.page.wait_for_url(re.compile(r".*/incidents/\d+\?notice=.*"))
    card = tab.page.locator("#statuspages")
    card.get_by_label("Status").first.select_option("monitoring")
    card.get_by_label("Update for Pay status").fill("A fix is deployed; we are watching the payments recover.")
    card.get_by_role("button", name="Post update").click()
    tab.page.wait_for_url(re.compile(r".*/incidents/\d+\?notice=.*"))

    tab.go("/status/e2e-pay")
    assert tab.page.get_by_role("heading", name="Card payments failing").is_visible()
    assert tab.page.get_by_text("A fix is deployed; we are watching the payments recover.").is_visible()
    assert tab.page.get_by_text("We are investigating an issue: Payments are failing for some cards.").is_visible()
