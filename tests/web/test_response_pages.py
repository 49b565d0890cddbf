"""The incident page's response card: move the response, reopen, correct a milestone, see the phases."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.web.conftest import Console


def post(console: Console, number: int, **fields: str) -> str:
    csrf = console.csrf(f"/incidents/{number}")
    r = console.client.post(f"/incidents/{number}", data={"csrf": csrf, **fields}, follow_redirects=True)
    assert r.status_code == 200, r.text
    return r.text


def test_the_response_is_worked_from_the_incident_page(console: Console) -> None:
    console.login()
    console.trigger("Checkout latency")
    page = console.client.get("/incidents/1").text
    assert re.search(r'<span class="badge response"[^>]*>triage</span>', page)
    assert "<dt>Phase</dt><dd>Triage</dd>" in page
    options = re.findall(r'<option value="([a-z]+)">', page.split('data-action="response"')[1].split("</form>")[0])
    assert options == [
        "investigating",
        "identified",
        "mitigated",
        "monitoring",
        "resolved",
        "declined",
        "merged",
        "canceled",
    ]

    console.clock.advance(timedelta(minutes=20))
    page = post(console, 1, action="response", status="mitigated", message="failed over")
    assert "Response mitigated" in page
    assert console.status_of(1) == "acknowledged", "leaving triage by hand counts as acknowledging"
    assert re.search(r"<th scope=\"row\">Triage</th><td>20m</td>", page)

    page = post(console, 1, action="milestone", milestone="mitigated", at="2001-01-01T00:00", reason="typo")
    assert "milestones out of order" in page
    page = post(console, 1, action="response", status="resolved")
    assert console.status_of(1) == "resolved"
    page = post(console, 1, action="reopen", message="regressed")
    assert "Reopened" in page
    assert console.status_of(1) == "triggered"


def test_observers_see_the_response_but_get_no_forms(console: Console) -> None:
    console.trigger("Checkout latency")
    console.login("olga@example.com")
    page = console.client.get("/incidents/1").text
    assert "Time in each phase" in page
    assert 'data-action="response"' not in page
    assert 'name="action" value="milestone"' not in page
    csrf = console.csrf("/incidents/1")
    r = console.client.post("/incidents/1", data={"csrf": csrf, "action": "response", "status": "declined"})
    assert r.status_code == 403
    assert console.status_of(1) == "triggered"
