"""Action items in the team's tracker (ADR 0029, ADR 0035), against the fake Jira that speaks its wire format: an
item sent once makes one issue whatever the retries; done here closes it there; closed or reopened there moves the
item here and says so on the timeline; an unknown connection is refused (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.api.conftest import make_service, ok, problem
from tests.conftest import ApiHarness
from tests.fakes.fixtures import running
from tests.fakes.jira import FakeJira, issue_updated
from tests.learning.conftest import incident, timeline
from tests.trackers.helpers import SECRET, engine, jira_connection


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    fake = FakeJira()
    yield from running(fake)
    assert fake.unexpected == [], f"unexpected calls to Jira: {fake.unexpected}"


def _webhook(api: ApiHarness, conn: int, body: dict[str, object], delivery: str) -> None:
    headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": delivery}
    answer = api.client.post(f"/hooks/trackers/{conn}/jira?secret={SECRET}", content=json.dumps(body), headers=headers)
    assert answer.status_code == 200, answer.text


def test_an_action_item_follows_its_jira_issue_both_ways(api: ApiHarness, jira: FakeJira) -> None:
    db, clock = api.runtime.db, api.clock
    conn = jira_connection(db, clock, jira.url)
    found = incident(api, make_service(api, "checkout")["id"])
    item = ok(
        api.post(
            f"/api/v1/incidents/{found['id']}/action-items",
            json={"title": "Cap the pool", "success_criterion": "an alert fires at 80%"},
        ),
        201,
    )
    send = f"/api/v1/action-items/{item['id']}/tracker"
    problem(api.post(send, json={"connection": "nowhere"}), 422)
    first = ok(api.post(send, json={"connection": "jira-3"}))
    again = ok(api.post(send, json={"connection": str(conn)}))
    assert first["remote"] == again["remote"]
    assert [(r["remote_key"], r["sync"]) for r in first["remote"]] == [(None, "pending")]

    module = engine(db, clock)
    module.run_once(clock.now())
    assert len(jira.creates) == 1, "one issue, however often it was asked for"
    description = json.dumps(jira.creates[0]["fields"]["description"])
    assert "Done when: an alert fires at 80%" in description
    assert f"/incidents/{found['number']}" in description
    remote = ok(api.get(f"/api/v1/action-items/{item['id']}"))["remote"]
    assert [(r["remote_key"], r["remote_state"], r["sync"]) for r in remote] == [("OPS-1", "open", "synced")]

    # Closed in Jira: the item is done here, and the timeline says why.
    _webhook(api, conn, issue_updated(jira.set_status("OPS-1", "Done", "done")), "d-1")
    moved = ok(api.get(f"/api/v1/action-items/{item['id']}"))
    assert (moved["status"], moved["reason"]) == ("done", "closed in the tracker (OPS-1)")
    assert moved["done_at"] is not None
    texts = timeline(api, found["id"], "postmortem")
    assert "Action item “Cap the pool” sent to jira-3" in texts
    assert "Action item “Cap the pool” is done: closed in the tracker (OPS-1)" in texts

    # Reopened here: the issue is reopened there; our own push is not followed back.
    ok(api.post(f"/api/v1/action-items/{item['id']}/status", json={"status": "open", "reason": "came back"}))
    module.run_once(clock.now())
    assert jira.issues["OPS-1"]["fields"]["status"]["name"] == "To Do"
    back = ok(api.get(f"/api/v1/action-items/{item['id']}"))
    assert (back["status"], back["reason"]) == ("open", "came back")

    # Reopened and closed in Jira again: the item follows each time.
    ok(api.post(f"/api/v1/action-items/{item['id']}/status", json={"status": "done"}))
    module.run_once(clock.now())
    assert jira.issues["OPS-1"]["fields"]["status"]["name"] == "Done"
    _webhook(api, conn, issue_updated(jira.set_status("OPS-1", "To Do", "new")), "d-2")
    reopened = ok(api.get(f"/api/v1/action-items/{item['id']}"))
    assert (reopened["status"], reopened["reason"]) == ("open", "reopened in the tracker (OPS-1)")
    assert len(jira.creates) == 1
