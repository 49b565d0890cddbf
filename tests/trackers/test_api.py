"""The tracker routes: connections are admins' (the token never shown), the remote issue list, and the trackers'
webhooks: the round trip create → closed in the tracker → webhook → local status callback, and refusals (401 for
a bad signature or secret, 409 for a replayed delivery) that change nothing."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.conftest import ApiHarness
from tests.fakes import github as gh
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira, issue_updated
from tests.trackers.helpers import SECRET, ask, engine, github_connection, jira_connection
from tocsin.trackers import hooks
from tocsin.trackers import service as trackers


def _state(api: ApiHarness, ref: str = "action_item:42") -> tuple[str | None, str | None]:
    with api.runtime.db.reader() as s:
        issue = trackers.status_of(s, ref)
        assert issue is not None
        return issue.remote_status, issue.remote_state


def test_jira_round_trip_ends_in_the_local_callback(
    api: ApiHarness, jira: FakeJira, changes: list[hooks.RemoteStatusChange]
) -> None:
    db, clock = api.runtime.db, api.clock
    conn = jira_connection(db, clock, jira.url)
    ask(db, clock, conn)
    engine(db, clock).run_once(clock.now())
    assert _state(api) == (None, "open")

    body = json.dumps(issue_updated(jira.set_status("OPS-1", "Done", "done"))).encode()
    headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": "jira-delivery-1"}
    wrong = api.client.post(f"/hooks/trackers/{conn}/jira?secret=not-the-secret", content=body, headers=headers)
    assert wrong.status_code == 401
    assert _state(api) == (None, "open")
    ok = api.client.post(f"/hooks/trackers/{conn}/jira?secret={SECRET}", content=body, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"result": "updated"}
    assert _state(api) == ("Done", "closed")
    assert [(c.local_ref, c.state, c.previous_state, c.source) for c in changes][-1] == (
        "action_item:42",
        "closed",
        "open",
        "webhook",
    )
    again = api.client.post(f"/hooks/trackers/{conn}/jira?secret={SECRET}", content=body, headers=headers)
    assert again.status_code == 409

    # A signed admin webhook (X-Hub-Signature) needs no secret in the URL.
    body = json.dumps(issue_updated(jira.set_status("OPS-1", "In Progress", "indeterminate"))).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    signed = {**headers, "X-Atlassian-Webhook-Identifier": "jira-delivery-2", "X-Hub-Signature": signature}
    assert api.client.post(f"/hooks/trackers/{conn}/jira", content=body, headers=signed).status_code == 200
    assert _state(api) == ("In Progress", "open")


def test_github_round_trip_and_refused_deliveries(
    api: ApiHarness, github: FakeGitHub, changes: list[hooks.RemoteStatusChange]
) -> None:
    db, clock = api.runtime.db, api.clock
    conn = github_connection(db, clock, github.url)
    ask(db, clock, conn)
    engine(db, clock).run_once(clock.now())
    github.issues[1]["state"] = "closed"
    body = json.dumps(gh.issue_event("closed", github.issues[1])).encode()
    url = f"/hooks/trackers/{conn}/github"

    bad = gh.signed("another-secret-000000", body, delivery="d-1")
    assert api.client.post(url, content=body, headers=bad).status_code == 401
    unsigned = {k: v for k, v in gh.signed(SECRET, body).items() if k != "X-Hub-Signature-256"}
    assert api.client.post(url, content=body, headers=unsigned).status_code == 401
    tampered = gh.signed(SECRET, body, delivery="d-1")
    assert api.client.post(url, content=body.replace(b"closed", b"reopened"), headers=tampered).status_code == 401
    assert _state(api) == ("open", "open")

    good = gh.signed(SECRET, body, delivery="d-1")
    answer = api.client.post(url, content=body, headers=good)
    assert answer.status_code == 200, answer.text
    assert _state(api) == ("closed", "closed")
    assert changes[-1].state == "closed"
    assert changes[-1].source == "webhook"
    replay = api.client.post(url, content=body, headers=good)
    assert replay.status_code == 409
    assert replay.headers["content-type"].startswith("application/problem+json")
    assert len(changes) == 2

    ping = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    assert api.client.post(url, content=ping, headers=gh.signed(SECRET, ping, event="ping")).json() == {
        "result": "pong"
    }
    assert api.client.post(f"/hooks/trackers/{conn}/jira?secret={SECRET}", content=body).status_code == 404


def test_connections_are_for_admins_and_never_show_the_token(api: ApiHarness) -> None:
    made = api.post(
        "/api/v1/trackers/connections",
        json={
            "name": "jira",
            "kind": "jira",
            "base_url": "https://acme.atlassian.net",
            "project": "OPS",
            "token": "secret-api-token",
            "auth_scheme": "basic",
            "username": "bot@example.org",
        },
    )
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["token_set"] is True
    assert "secret-api-token" not in made.text
    assert out["webhook_path"] == f"/hooks/trackers/{out['id']}/jira"
    assert len(out["webhook_secret"]) >= 16
    assert api.get("/api/v1/trackers/connections").json()[0]["name"] == "jira"

    bad = api.post(
        "/api/v1/trackers/connections",
        json={"name": "x", "kind": "jira", "base_url": "https://a.example", "project": "ops", "token": "t"},
    )
    assert bad.status_code == 422
    assert "project key" in bad.json()["detail"]
    assert api.post("/api/v1/trackers/connections", json={**out, "token": "t"}).status_code == 422
    basic = api.patch(f"/api/v1/trackers/connections/{out['id']}", json={"username": None})
    assert basic.status_code == 422

    patched = api.patch(f"/api/v1/trackers/connections/{out['id']}", json={"project": "SRE", "enabled": False})
    assert patched.status_code == 200
    assert patched.json()["project"] == "SRE"

    responder = api.token_for("r@example.org")
    assert api.get("/api/v1/trackers/connections", token=responder).status_code == 403
    assert api.get("/api/v1/trackers/issues", token=responder).status_code == 403
    assert api.get("/api/v1/trackers/issues").json() == []
    assert api.delete(f"/api/v1/trackers/connections/{out['id']}").status_code == 204
    assert api.get(f"/api/v1/trackers/connections/{out['id']}").status_code == 404


def test_the_issue_list_shows_the_last_error(api: ApiHarness, jira: FakeJira) -> None:
    db, clock = api.runtime.db, api.clock
    conn = jira_connection(db, clock, jira.url, token="wrong-token-0000")
    ask(db, clock, conn)
    engine(db, clock).run_once(clock.now())
    rows = api.get("/api/v1/trackers/issues", params={"local_ref": "action_item:42"}).json()
    assert [(r["status"], r["last_status_code"]) for r in rows] == [("failed", 401)]
    assert api.get("/api/v1/trackers/issues", params={"status": "failed"}).json()[0]["id"] == rows[0]["id"]
    retried = api.post(f"/api/v1/trackers/issues/{rows[0]['id']}/retry")
    assert retried.status_code == 202
    assert retried.json()["status"] == "pending"
