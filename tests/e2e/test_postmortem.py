"""Writing a postmortem in a real browser (ADR 0029): the incident page's card starts it, a section is written and
saved on the postmortem page, and a save over a version someone else saved meanwhile shows their text beside ours
(nothing typed is lost); the page fits a phone's width."""

from __future__ import annotations

import re

from tests.e2e.conftest import LiveServer, Tab
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor, IncidentFilter
from tocsin.learning import service as postmortems


def test_writing_a_postmortem_section(tab: Tab, live_server: LiveServer) -> None:
    live_server.event("Ledger replication lag")
    with live_server.db.reader() as s:
        rows, _ = incidents.list_incidents(s, IncidentFilter(text="Ledger replication lag"), limit=5)
    number, incident_id = rows[0].number, rows[0].id
    tab.sign_in()
    tab.go(f"/incidents/{number}")
    card = tab.page.locator("#postmortem")
    card.get_by_role("button", name="Start the postmortem").click()
    tab.page.wait_for_url(re.compile(rf".*/incidents/{number}/postmortem$"))
    summary = tab.page.locator("#section-summary")
    assert "Ledger replication lag" in summary.get_by_label("Summary").input_value(), "the draft is filled"

    summary.get_by_label("Summary").fill("Replication fell 20 minutes behind after a schema change.")
    summary.get_by_role("button", name="Save summary").click()
    tab.page.wait_for_url(re.compile(r".*notice=Section\+saved.*"))
    assert "v2" in tab.page.locator("#section-summary h2").inner_text()

    # Someone else saves the lessons while this page is open on version 1.
    with live_server.db.unit_of_work() as s:
        row = postmortems.get(s, incident_id)
        postmortems.save_section(
            s,
            row,
            "lessons",
            body="Schema changes need a lag alert.",
            version=1,
            actor=Actor("Ann", "web"),
            now=row.created_at,
        )
    lessons = tab.page.locator("#section-lessons")
    lessons.get_by_label("Lessons learned").fill("Rehearse failovers.")
    lessons.get_by_role("button", name="Save lessons learned").click()
    stale = tab.page.locator("[data-stale]")
    stale.wait_for()
    assert "Schema changes need a lag alert." in stale.inner_text()
    assert tab.page.locator("#section-lessons").get_by_label("Lessons learned").input_value() == "Rehearse failovers."

    tab.page.set_viewport_size({"width": 360, "height": 740})
    tab.go(f"/incidents/{number}/postmortem")
    overflow = tab.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the postmortem page scrolls sideways by {overflow}px at 360px"
