"""The incident page's response card: move the response, reopen, correct a milestone, see the phases."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.web.conftest import Console
from tocsin.response import service as response


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
    assert "<li><strong>Triage</strong> 20m</li>" in page

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


def test_tasks_and_checklists_from_the_incident_page(console: Console) -> None:
    with console.db.unit_of_work() as s:
        response.save_template(
            s, "major", ["Open a bridge", {"title": "Status update", "due_minutes": 15}], now=console.clock.now()
        )
    console.login()
    console.trigger("Checkout latency")
    page = post(console, 1, action="checklist", template="major")
    assert "2 tasks added" in page
    assert "(0 of 2 done)" in page
    page = post(console, 1, action="task_add", title="Call the vendor", assignee="", due_at="2000-01-01T00:00")
    assert "Call the vendor" in page
    assert "<strong>overdue</strong>" in page
    task_ids = re.findall(r'name="task" value="(\d+)"', page)
    assert len(task_ids) == 3
    page = post(console, 1, action="task_status", task=task_ids[0], status="done")
    assert "(1 of 3 done)" in page
    page = post(console, 1, action="task_add", title="  ", assignee="", due_at="")
    assert "a task needs a title" in page
