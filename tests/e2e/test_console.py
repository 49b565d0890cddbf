"""The responder's console in a real browser: live list, acknowledge, notes, resolve, overrides, tokens, XSS."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, Tab
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter

pytestmark = pytest.mark.slow


def _unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


def _number_of(server: LiveServer, summary: str) -> int:
    with server.db.reader() as s:
        rows, _ = incidents.list_incidents(s, IncidentFilter(text=summary), limit=5)
    assert len(rows) == 1
    return rows[0].number


def test_sign_in_shows_the_incident_list(tab: Tab, live_server: LiveServer) -> None:
    tab.go("/incidents")
    expect(tab.page).to_have_url(re.compile(r"/login\?next="))
    tab.shot("login")
    tab.sign_in()
    expect(tab.page.get_by_role("heading", name="Incidents", exact=True)).to_be_visible()


def test_a_new_event_appears_on_the_open_list_within_2s_without_reload(tab: Tab, live_server: LiveServer) -> None:
    live_server.event(_unique("Existing alert"))
    tab.sign_in()
    expect(tab.page.locator("body")).to_have_attribute("data-live-connected", "yes")
    tab.page.evaluate("window.__notReloaded = true")
    summary = _unique("Disk 95% full on db1")
    live_server.event(summary)
    expect(tab.page.locator("#incident-rows")).to_contain_text(summary, timeout=2000)
    assert tab.page.evaluate("window.__notReloaded === true")
    tab.shot("incidents")


def test_acknowledge_note_and_resolve_from_the_incident_page(tab: Tab, live_server: LiveServer) -> None:
    summary = _unique("Checkout latency p99 above 2s")
    live_server.event(summary)
    number = _number_of(live_server, summary)
    tab.sign_in()
    tab.go(f"/incidents/{number}")
    expect(tab.page.locator("body")).to_have_attribute("data-live-connected", "yes")
    tab.page.keyboard.press("a")  # the keyboard shortcut for Acknowledge
    expect(tab.page.locator("#timeline")).to_contain_text("acknowledged")
    expect(tab.page.locator("#incident-header .status-acknowledged")).to_be_visible()
    tab.page.get_by_label("Add a note (Markdown)").fill("Rolled back **build 42**; watching")
    tab.page.get_by_role("button", name="Add note").click()
    expect(tab.page.locator("#timeline .note strong")).to_have_text("build 42")
    tab.shot("incident")
    tab.page.get_by_role("button", name=re.compile("^Resolve")).click()
    expect(tab.page.locator("#incident-header .status-resolved")).to_be_visible()
    with live_server.db.reader() as s:
        incident = incidents.get(s, f"#{number}")
        kinds = [(e.kind, e.source) for e in incidents.timeline(s, incident.id)]
    assert ("acknowledged", "web") in kinds
    assert ("note", "web") in kinds
    assert ("resolved", "web") in kinds


def test_the_timeline_updates_live_when_someone_else_acts(tab: Tab, live_server: LiveServer) -> None:
    summary = _unique("Queue depth growing")
    dedup = live_server.event(summary)
    number = _number_of(live_server, summary)
    tab.sign_in("bob@example.com")
    tab.go(f"/incidents/{number}")
    expect(tab.page.locator("body")).to_have_attribute("data-live-connected", "yes")
    tab.page.evaluate("window.__notReloaded = true")
    r = httpx.post(
        f"{live_server.url}/v2/enqueue",
        json={"routing_key": live_server.keys["events"], "event_action": "acknowledge", "dedup_key": dedup},
    )
    assert r.status_code == 202
    expect(tab.page.locator("#timeline")).to_contain_text("acknowledged", timeout=3000)
    expect(tab.page.locator("form[data-action=acknowledge] button")).to_be_disabled()
    assert tab.page.evaluate("window.__notReloaded === true")


def test_create_an_override_and_see_it_on_the_schedule(tab: Tab, live_server: LiveServer) -> None:
    tab.sign_in()
    tab.go("/oncall")
    tab.shot("oncall")
    tab.page.get_by_role("link", name="Payments primary").first.click()
    tab.page.get_by_label("Who covers").select_option(label="Bob Responder")
    tab.page.get_by_label(re.compile("^From")).fill("2030-01-05T09:00")
    tab.page.get_by_label(re.compile("^Until")).fill("2030-01-05T18:00")
    tab.page.get_by_role("button", name="Create override").click()
    expect(tab.page.get_by_role("status")).to_contain_text("Override created")
    expect(tab.page.get_by_text(re.compile(r"Bob Responder: Sat 05 Jan 09:00"))).to_be_visible()
    # An override inside the next 14 days shows on the drawn timeline too.
    tab.page.get_by_label("Who covers").select_option(label="Alice Admin")
    tomorrow = tab.page.evaluate(
        "(() => { const d = new Date(Date.now() + 86400000); return d.toISOString().slice(0, 10); })()"
    )
    tab.page.get_by_label(re.compile("^From")).fill(f"{tomorrow}T10:00")
    tab.page.get_by_label(re.compile("^Until")).fill(f"{tomorrow}T12:00")
    tab.page.get_by_role("button", name="Create override").click()
    expect(tab.page.locator("svg.tl rect.tl-override").first).to_be_attached()
    tab.shot("schedule")


def test_create_and_revoke_an_api_token(tab: Tab, live_server: LiveServer) -> None:
    tab.sign_in()
    tab.go("/me")
    tab.page.get_by_label("Token name").fill("deploy script")
    tab.page.get_by_role("button", name="Create token").click()
    token = tab.page.get_by_label("New API token").input_value()
    assert token.startswith("tocsin_")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live_server.url}/api/v1/incidents", headers=headers).status_code == 200
    tab.shot("profile")
    tab.page.reload()
    expect(tab.page.get_by_label("New API token")).to_have_count(0)  # shown once
    row = tab.page.locator("li[data-token]", has_text="deploy script")
    row.get_by_role("button", name="Revoke").click()
    expect(tab.page.get_by_role("status")).to_contain_text("Token revoked")
    assert httpx.get(f"{live_server.url}/api/v1/incidents", headers=headers).status_code == 401


def test_hostile_alert_payloads_fire_no_dialog_and_no_navigation(tab: Tab, live_server: LiveServer) -> None:
    marker = uuid.uuid4().hex[:6]
    live_server.event(
        "replaced by the payload below",
        links=[
            {"href": "javascript:alert(document.cookie)", "text": "runbook"},
            {"href": "data:text/html,<script>alert(2)</script>", "text": "dashboard"},
        ],
        payload={
            "summary": f'<script>alert("s")</script><img src=x onerror="alert(1)"><svg onload=alert(3)> {marker}',
            "source": '"><script>alert(4)</script>',
            "severity": "critical",
            "custom_details": {"note": "<iframe src=javascript:alert(5)>"},
        },
    )
    number = _number_of(live_server, marker)
    tab.sign_in()
    tab.page.wait_for_timeout(300)
    tab.go(f"/incidents/{number}")
    url = tab.page.url
    for text in ("javascript:alert(document.cookie)", "data:text/html"):
        tab.page.get_by_text(text, exact=False).first.click()
    tab.page.wait_for_timeout(500)
    assert tab.page.url == url
    assert tab.dialogs == []
    assert tab.page.locator("a[href^='javascript:'], a[href^='data:'], iframe, svg[onload]").count() == 0


def test_every_control_has_a_label_and_pages_fit_a_phone(tab: Tab, live_server: LiveServer) -> None:
    summary = _unique("Phone-width check")
    live_server.event(summary)
    number = _number_of(live_server, summary)
    tab.sign_in()
    unlabeled_js = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map(el => el.outerHTML.slice(0, 80))"""
    pages = [
        "/incidents",
        f"/incidents/{number}",
        "/services",
        f"/services/{live_server.ids['service']}",
        "/oncall",
        f"/schedules/{live_server.ids['schedule']}",
        "/escalation-policies",
        f"/escalation-policies/{live_server.ids['policy']}",
        "/people",
        "/me",
        "/workflows",
    ]
    for path in pages:
        tab.go(path)
        assert tab.page.evaluate(unlabeled_js) == [], path
    # Our own pages need nothing the Content-Security-Policy forbids (no inline script or style).
    assert [e for e in tab.console_errors if "Content Security Policy" in e] == []
    tab.go(f"/services/{live_server.ids['service']}")
    tab.shot("service")
    tab.go(f"/escalation-policies/{live_server.ids['policy']}")
    tab.shot("escalation-policy")
    tab.go("/people")
    tab.shot("people")
    tab.page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/incidents", f"/incidents/{number}", "/workflows"):
        tab.go(path)
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"
    tab.shot("incident-phone")
