"""A playbook on the incident page in a real browser (ADR 0027): the procedure for the incident's severity is shown
with each step's state, a person ticks a manual step, and the card fits a phone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, Tab
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.workflows import service as workflows

pytestmark = pytest.mark.slow


def test_a_manual_playbook_step_is_ticked_on_the_incident_page(tab: Tab, live_server: LiveServer) -> None:
    book = f"Database outage {uuid.uuid4().hex[:6]}"
    title = f"Primary database down {uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    alice = Actor(label="Alice Admin", source="web", user_id=live_server.ids["alice"])
    with live_server.db.unit_of_work() as s:
        spec = {
            "guidance": "Fail over first, then find the cause.",
            "match": [{"field": "title", "op": "=~", "value": "Primary database down.*"}],
            "steps": [{"title": "Fail over to the replica"}, {"title": "Tell support"}],
        }
        workflows.save_playbook(s, book, spec, now=now)
        incident = incidents.declare(s, service_id=live_server.ids["service"], title=title, actor=alice, now=now)
        # What the workflows' event consumer does when the incident opens, done here so the test need not wait.
        workflows.attach_playbooks(s, incident, now=now)
        number = incident.number

    tab.page.set_viewport_size({"width": 390, "height": 844})
    tab.sign_in()
    tab.page.goto(f"{live_server.url}/incidents/{number}")
    card = tab.page.locator("#playbook")
    expect(card).to_contain_text(book)
    expect(card).to_contain_text("0 of 2 done")
    expect(card).to_contain_text("Fail over first, then find the cause.")
    card.locator("li.task", has_text="Fail over to the replica").get_by_role("button", name="Done").click()
    expect(tab.page.locator("#playbook")).to_contain_text("1 of 2 done")
    expect(tab.page.locator("#playbook li.task.done")).to_contain_text("Fail over to the replica")
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    tab.shot("playbook-card-phone")
    with live_server.db.reader() as s:
        (attached,) = [p for p in workflows.playbooks_of(s, incident.id) if p.name == book]
        assert [x.state for x in attached.steps] == ["done", "open"]
