"""A running regulatory clock in a real browser (ADR 0032): an incident classified under GDPR Art. 33 from its
card counts down each second; the compliance view lists it; a submission with a file upload stops it."""

from __future__ import annotations

import re

from tests.e2e.conftest import LiveServer, Tab
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import IncidentFilter

LEFT = re.compile(r"^(\d+d )?(\d+)h (\d\d)m (\d\d)s left$")


def test_a_running_clock_counts_down_on_the_incident_page(tab: Tab, live_server: LiveServer) -> None:
    live_server.event("Customer records exposed")
    with live_server.db.reader() as s:
        rows, _ = incidents.list_incidents(s, IncidentFilter(text="Customer records exposed"), limit=5)
    number = rows[0].number
    tab.sign_in()
    tab.go(f"/incidents/{number}")
    card = tab.page.locator("#clocks")
    card.locator("summary", has_text="Classify under a regime").click()
    card.get_by_label("Regime").select_option("gdpr-33")
    card.get_by_role("button", name="Classify").click()
    tab.page.wait_for_url(re.compile(r".*/incidents/\d+\?notice=.*"))

    countdown = tab.page.locator("#clocks [data-clock='gdpr-33:notification'] [data-countdown]")
    first = countdown.inner_text()
    found = LEFT.match(first)
    assert found, first
    assert found.group(1) == "2d "
    assert int(found.group(2)) == 23
    tab.page.wait_for_function(
        "([el, before]) => el.textContent !== before", arg=[countdown.element_handle(), first], timeout=5000
    )
    assert LEFT.match(countdown.inner_text())

    tab.go("/compliance")
    listed = tab.page.locator("table").inner_text()
    assert f"#{number}" in listed
    assert "Notification to the supervisory authority" in listed

    tab.go(f"/incidents/{number}")
    card = tab.page.locator("#clocks")
    card.locator("summary", has_text="Record a submission").click()
    card.get_by_label("What was sent").fill("Notified the authority through its portal")
    card.get_by_label("Attachment").set_input_files(
        files=[{"name": "notification.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 notice"}]
    )
    card.get_by_role("button", name="Record submission").click()
    tab.page.wait_for_url(re.compile(r".*/incidents/\d+\?notice=Submission.*"))
    row = tab.page.locator("#clocks [data-clock='gdpr-33:notification']")
    assert row.get_attribute("data-status") == "met"
    assert "notification.pdf (15 bytes)" in tab.page.locator("#clocks").inner_text()
