"""The console's playbook card on the incident page, the run log page, and the workflows editor and simulator."""

from __future__ import annotations

import json
import re

from tests.web.conftest import Console
from tocsin.incidents import service as incidents
from tocsin.workflows import service as workflows


def post(console: Console, path: str, page: str, **fields: str) -> str:
    csrf = console.csrf(page)
    r = console.client.post(path, data={"csrf": csrf, **fields}, follow_redirects=True)
    assert r.status_code == 200, r.text
    return r.text


def test_playbook_steps_are_ticked_and_workflows_run_from_the_incident_page(console: Console) -> None:
    console.login()
    playbook = {"guidance": "All hands.", "steps": [{"title": "Open a bridge"}, {"title": "Tell support"}]}
    flow = {
        "trigger": {"event": "manual"},
        "steps": [{"kind": "stakeholder_update", "message": "On it: {{incident.title}}"}],
    }
    page = post(console, "/workflows", "/workflows", kind="playbook", name="Major", definition=json.dumps(playbook))
    assert "Saved playbook Major" in page
    page = post(console, "/workflows", "/workflows", kind="workflow", name="Update", definition=json.dumps(flow))
    assert "Saved workflow Update" in page
    bad = {"trigger": {"event": "manual"}, "steps": [{"kind": "notify", "user": "nobody@example.com", "message": "x"}]}
    page = post(console, "/workflows", "/workflows", kind="workflow", name="Bad", definition=json.dumps(bad))
    assert "steps.0.user: no user" in page

    console.trigger("Checkout latency")
    with console.db.unit_of_work() as s:
        workflows.attach_playbooks(s, incidents.get(s, "#1"), now=console.clock.now())
    page = console.client.get("/incidents/1").text
    assert "Major" in page
    assert "0 of 2 done" in page
    page = post(console, "/incidents/1/playbook", "/incidents/1", action="tick", playbook="Major", step="0", done="1")
    assert "Step done" in page
    assert "1 of 2 done" in page
    csrf = console.csrf("/incidents/1")
    fields = {"csrf": csrf, "action": "tick", "playbook": "Major", "step": "9", "done": "1"}
    assert console.client.post("/incidents/1/playbook", data=fields).status_code == 404

    page = post(console, "/incidents/1/playbook", "/incidents/1", action="run_workflow", workflow="Update")
    assert "Workflow Update started" in page
    run_id = int(re.findall(r'href="/workflows/runs/(\d+)"', page)[0])
    runs = console.client.get(f"/workflows/runs/{run_id}").text
    assert "stakeholder_update" in runs
    assert "pending" in runs

    sim = console.client.get("/workflows?simulate=1").text
    assert "Workflow <strong>Update</strong>" in sim


def test_observers_see_the_card_but_get_no_forms_and_cannot_post(console: Console) -> None:
    console.trigger("Checkout latency")
    console.login("olga@example.com")
    page = console.client.get("/incidents/1").text
    assert "Playbooks and workflows" in page
    assert 'action="/incidents/1/playbook"' not in page
    csrf = console.csrf("/incidents/1")
    r = console.client.post("/incidents/1/playbook", data={"csrf": csrf, "action": "run_workflow", "workflow": "x"})
    assert r.status_code == 403
    r = console.client.post("/workflows", data={"csrf": csrf, "kind": "workflow", "name": "x", "definition": "{}"})
    assert r.status_code == 403
    assert console.client.get("/workflows/runs/999").status_code == 404
