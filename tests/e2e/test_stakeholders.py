"""Stakeholder updates in a real browser (ADR 0028): an admin makes a group on /admin/stakeholder-groups, sends
an update from an incident's card, sees it listed with its group; both pages fit a phone's width."""

from __future__ import annotations

import re

from tests.e2e.conftest import LiveServer, Tab
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter


def test_a_group_and_an_update_from_the_browser(tab: Tab, live_server: LiveServer) -> None:
    live_server.event("Stakeholders want to know")
    with live_server.db.reader() as s:
        rows, _ = incidents.list_incidents(s, IncidentFilter(text="Stakeholders want to know"), limit=5)
    number = rows[0].number
    tab.sign_in()
    tab.go("/admin/stakeholder-groups")
    tab.page.get_by_label("Name", exact=True).fill("Browser execs")
    tab.page.get_by_label("Other addresses").fill("ceo@example.com")
    tab.page.get_by_role("button", name="Create group").click()
    tab.page.wait_for_url(re.compile(r".*/admin/stakeholder-groups\?notice=.*"))
    assert "ceo@example.com" in tab.page.locator("table").inner_text()

    tab.go(f"/incidents/{number}")
    card = tab.page.locator("#stakeholders")
    card.get_by_label("Update").fill("{{incident.title}}: we are on it")
    card.get_by_label("a template").check()
    card.get_by_role("button", name="Send update").click()
    tab.page.wait_for_url(re.compile(r".*/incidents/\d+\?notice=.*"))
    listed = tab.page.locator("#stakeholders ul.stakeholder-updates").inner_text()
    assert "Stakeholders want to know: we are on it" in listed
    assert "Browser execs" in listed

    tab.page.set_viewport_size({"width": 360, "height": 740})
    for path in (f"/incidents/{number}", "/admin/stakeholder-groups"):
        tab.go(path)
        overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"
    tab.shot("stakeholders-phone")
