"""Tasks and checklists on an incident: added, assigned, closed, in the timeline; overdue ones remind their
assignee once, through the real engine."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tests.api.conftest import declare, make_service, ok, problem
from tests.conftest import ApiHarness
from tocsin.notify.models import Notification


def put(api: ApiHarness, url: str, **kw: Any) -> httpx.Response:
    return api.client.put(url, headers=api.headers(), **kw)


def notices(api: ApiHarness) -> list[Notification]:
    with api.runtime.db.reader() as s:
        return list(s.scalars(select(Notification).where(Notification.kind == "notice")))


def test_tasks_are_added_assigned_closed_and_kept_in_the_timeline(api: ApiHarness) -> None:
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    base = f"/api/v1/incidents/{incident['id']}/tasks"
    gina = ok(api.post("/api/v1/users", json={"email": "gina@example.com", "name": "Gina"}), 201)

    first = ok(api.post(base, json={"title": "Page the DBA", "assignee": "gina@example.com"}), 201)
    assert (first["assignee"], first["status"], first["overdue"]) == ("Gina", "open", False)
    second = ok(api.post(base, json={"title": "Freeze deploys"}), 201)
    done = ok(api.patch(f"{base}/{first['id']}", json={"status": "done"}))
    assert done["closed_by_user_id"] == api.admin_id
    assert done["closed_at"] is not None
    skipped = ok(api.patch(f"{base}/{second['id']}", json={"status": "skipped", "assignee": str(gina["id"])}))
    assert (skipped["status"], skipped["assignee"]) == ("skipped", "Gina")
    page = ok(api.get(base))
    assert (page["done"], page["skipped"], page["total"]) == (1, 1, 2)
    assert [t["title"] for t in page["items"]] == ["Page the DBA", "Freeze deploys"]

    kinds = [e["kind"] for e in ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))]
    assert kinds.count("task_added") == 2
    assert kinds.count("task_closed") == 2
    assert "task_changed" in kinds

    again = ok(api.patch(f"{base}/{first['id']}", json={"status": "done"}))
    assert again["closed_at"] == done["closed_at"], "asking for the state it is in changes nothing"
    assert len(ok(api.get(f"/api/v1/incidents/{incident['id']}/timeline"))) == len(kinds)
    problem(api.post(base, json={"title": "x", "assignee": "nobody@example.com"}), 422)
    problem(api.post(base, json={"title": "   "}), 422)
    problem(api.patch(f"{base}/424242", json={"status": "done"}), 404)
    other = declare(api, service["id"], "Other")
    problem(api.patch(f"/api/v1/incidents/{other['id']}/tasks/{first['id']}", json={"status": "open"}), 404)


def test_a_checklist_template_becomes_tasks_in_one_action(api: ApiHarness) -> None:
    items = [{"title": "Open a bridge"}, {"title": "Post a status update", "due_minutes": 15}]
    ok(put(api, "/api/v1/checklist-templates/major", json={"description": "Big bang", "items": items}))
    # The Forensics checklist ships with the Security type.
    assert [t["name"] for t in ok(api.get("/api/v1/checklist-templates"))] == ["Forensics", "major"]
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    page = ok(api.post(f"/api/v1/incidents/{incident['id']}/checklists", json={"template": "major"}), 201)
    assert [(t["title"], t["checklist"]) for t in page["items"]] == [
        ("Open a bridge", "major"),
        ("Post a status update", "major"),
    ]
    assert page["items"][0]["due_at"] is None
    assert page["items"][1]["due_at"].startswith((api.clock.now() + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M"))
    problem(api.post(f"/api/v1/incidents/{incident['id']}/checklists", json={"template": "nope"}), 404)
    problem(put(api, "/api/v1/checklist-templates/empty", json={"items": []}), 422)
    responder = api.token_for("rita@example.com", role="responder")
    problem(api.client.put("/api/v1/checklist-templates/x", json={"items": items}, headers=api.headers(responder)), 403)


def test_an_overdue_task_reminds_its_assignee_once(api: ApiHarness) -> None:
    ok(api.post("/api/v1/users", json={"email": "gina@example.com", "name": "Gina"}), 201)
    ok(
        api.post(
            "/api/v1/users/gina@example.com/contact-methods",
            json={"name": "mail", "type": "email", "address": "gina@example.com"},
        ),
        201,
    )
    service = make_service(api, "checkout")
    incident = declare(api, service["id"])
    due = (api.clock.now() + timedelta(minutes=30)).isoformat()
    base = f"/api/v1/incidents/{incident['id']}/tasks"
    task = ok(api.post(base, json={"title": "Rotate the key", "assignee": "gina@example.com", "due_at": due}), 201)
    ok(api.post(base, json={"title": "Nobody's", "due_at": due}), 201)
    engine = api.runtime.build_engine(owner="tasks")

    engine.run_pass()
    assert notices(api) == []
    api.clock.advance(timedelta(minutes=31))
    assert ok(api.get(base))["items"][0]["overdue"] is True
    engine.run_pass()
    engine.run_pass()
    (notice,) = notices(api)
    assert "Rotate the key" in notice.payload["text"]
    assert f"#{incident['number']}" in notice.payload["text"]

    later = (api.clock.now() + timedelta(minutes=10)).isoformat()
    ok(api.patch(f"{base}/{task['id']}", json={"due_at": later}))
    api.clock.advance(timedelta(minutes=11))
    engine.run_pass()
    assert len(notices(api)) == 2, "a new due time that passes reminds again"
    ok(api.patch(f"{base}/{task['id']}", json={"status": "done"}))
    api.clock.advance(timedelta(hours=1))
    engine.run_pass()
    assert len(notices(api)) == 2
