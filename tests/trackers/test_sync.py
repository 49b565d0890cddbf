"""Remote issues against fakes of Jira and GitHub that speak their wire formats: created once, pushed closed and
open, errors recorded, retried with backoff and Retry-After, and never created twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.fakes._server import Reply
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tests.trackers.helpers import ask, engine, github_connection, jira_connection
from tocsin.core.clock import FakeClock
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.trackers import hooks, sync
from tocsin.trackers import service as trackers
from tocsin.trackers.models import RemoteIssue


def _issue(db: Database, ref: str = "action_item:42") -> RemoteIssue:
    with db.reader() as s:
        found = trackers.status_of(s, ref)
        assert found is not None
        s.expunge(found)
        return found


@pytest.mark.parametrize("version", ["3", "2"])
def test_a_jira_issue_is_created_once_with_its_idempotency_label(
    db: Database, clock: FakeClock, jira: FakeJira, version: str, changes: list[hooks.RemoteStatusChange]
) -> None:
    conn = jira_connection(db, clock, jira.url, version=version)
    ask(db, clock, conn)
    ask(db, clock, conn)  # asked twice: one row
    module = engine(db, clock)
    assert module.run_once(clock.now()) == 1
    assert module.run_once(clock.now()) == 0

    assert len(jira.creates) == 1
    fields = jira.creates[0]["fields"]
    assert fields["summary"] == "Add a circuit breaker to checkout"
    assert fields["issuetype"] == {"name": "Task"}
    key = trackers.idempotency_key(conn, "action_item:42")
    assert fields["labels"] == ["postmortem", trackers.marker(key)]
    if version == "3":
        assert fields["description"]["type"] == "doc"
        assert [p["content"][0]["text"] for p in fields["description"]["content"]] == [
            "Found in the review.",
            "Second paragraph.",
        ]
    else:
        assert fields["description"] == "Found in the review.\n\nSecond paragraph."
    issue = _issue(db)
    assert (issue.status, issue.remote_key, issue.remote_state) == ("synced", "OPS-1", "open")
    assert issue.remote_url == f"{jira.url}/browse/OPS-1"
    assert [(c.local_ref, c.state, c.source) for c in changes] == [("action_item:42", "open", "create")]


def test_closing_locally_transitions_the_jira_issue_and_reopening_moves_it_back(
    db: Database, clock: FakeClock, jira: FakeJira, changes: list[hooks.RemoteStatusChange]
) -> None:
    conn = jira_connection(db, clock, jira.url)
    ask(db, clock, conn)
    # Closed before the issue even exists: created, then transitioned.
    with db.unit_of_work() as s:
        trackers.close_remote(s, "action_item:42", now=clock.now())
    module = engine(db, clock)
    module.run_once(clock.now())
    module.run_once(clock.now())
    assert jira.issues["OPS-1"]["fields"]["status"]["name"] == "Done"
    issue = _issue(db)
    assert (issue.status, issue.remote_status, issue.remote_state) == ("synced", "Done", "closed")
    transitions = [r for r in jira.server.requests if r.path.endswith("/transitions") and r.method == "POST"]
    assert [json.loads(r.body) for r in transitions] == [{"transition": {"id": "31"}}]

    with db.unit_of_work() as s:
        trackers.update_remote(s, "action_item:42", state="open", now=clock.now())
    module.run_once(clock.now())
    assert jira.issues["OPS-1"]["fields"]["status"]["name"] == "To Do"
    assert [c.state for c in changes] == ["open", "closed", "open"]


def test_a_github_issue_is_created_closed_and_reopened(
    db: Database, clock: FakeClock, github: FakeGitHub, changes: list[hooks.RemoteStatusChange]
) -> None:
    conn = github_connection(db, clock, github.url)
    ask(db, clock, conn)
    module = engine(db, clock)
    module.run_once(clock.now())
    created = github.creates[0]
    marker = trackers.marker(trackers.idempotency_key(conn, "action_item:42"))
    assert [label["name"] for label in created["labels"]] == ["postmortem", marker]
    assert created["body"].endswith(f"<!-- {marker} -->")
    issue = _issue(db)
    assert (issue.remote_key, issue.remote_url) == ("1", created["html_url"])

    with db.unit_of_work() as s:
        trackers.close_remote(s, "action_item:42", now=clock.now())
    module.run_once(clock.now())
    assert (github.issues[1]["state"], github.issues[1]["state_reason"]) == ("closed", "completed")
    assert _issue(db).remote_state == "closed"
    patch = [r for r in github.server.requests if r.method == "PATCH"]
    assert patch[0].path == "/repos/acme/ops/issues/1"
    assert patch[0].headers["x-github-api-version"] == "2022-11-28"


@pytest.mark.parametrize("tracker", ["jira", "github"])
def test_a_timeout_after_the_request_was_sent_creates_no_second_issue(
    db: Database, clock: FakeClock, jira: FakeJira, github: FakeGitHub, tracker: str
) -> None:
    fake = jira if tracker == "jira" else github
    conn = jira_connection(db, clock, jira.url) if tracker == "jira" else github_connection(db, clock, github.url)
    ask(db, clock, conn)
    fake.stall_after_create = 1.0
    module = engine(db, clock, timeout=0.3)
    module.run_once(clock.now())
    issue = _issue(db)
    assert (issue.status, issue.attempts, issue.remote_key) == ("pending", 1, None)
    assert issue.last_error is not None
    assert "timed out" in issue.last_error
    assert issue.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert len(fake.creates) == 1  # the tracker made it although the answer never came

    fake.stall_after_create = 0.0
    clock.advance(31)
    module.run_once(clock.now())
    issue = _issue(db)
    assert issue.status == "synced"
    assert issue.remote_key is not None
    assert len(fake.creates) == 1, "the retry searched and adopted the issue instead of creating another"
    searches = [r for r in fake.server.requests if "search" in r.path]
    assert len(searches) == 1


def test_a_refused_token_is_recorded_and_not_retried(db: Database, clock: FakeClock, jira: FakeJira) -> None:
    conn = jira_connection(db, clock, jira.url, token="wrong-token-0000")
    ask(db, clock, conn)
    engine(db, clock).run_once(clock.now())
    issue = _issue(db)
    assert (issue.status, issue.last_status_code, issue.next_attempt_at) == ("failed", 401, None)
    assert issue.last_error is not None
    assert "You are not authenticated" in issue.last_error
    assert jira.creates == []
    # Fixed and retried by hand.
    with db.unit_of_work() as s:
        trackers.update_connection(s, conn, now=clock.now(), token="jira-api-token-0123456789")
        trackers.retry(s, issue.id, now=clock.now())
    engine(db, clock).run_once(clock.now())
    assert _issue(db).status == "synced"


def test_a_429_is_retried_after_its_retry_after(db: Database, clock: FakeClock, github: FakeGitHub) -> None:
    conn = github_connection(db, clock, github.url)
    ask(db, clock, conn)
    github.script(Reply.json(429, {"message": "API rate limit exceeded"}, headers={"Retry-After": "120"}))
    module = engine(db, clock)
    module.run_once(clock.now())
    issue = _issue(db)
    assert (issue.status, issue.last_status_code) == ("pending", 429)
    assert issue.next_attempt_at == clock.now() + timedelta(seconds=120)
    seen = len(github.server.requests)
    clock.advance(60)
    assert module.run_once(clock.now()) == 0
    assert len(github.server.requests) == seen
    clock.advance(61)
    module.run_once(clock.now())
    assert _issue(db).status == "synced"
    assert len(github.creates) == 1


def test_server_errors_back_off_exponentially_then_fail(db: Database, clock: FakeClock, jira: FakeJira) -> None:
    conn = jira_connection(db, clock, jira.url)
    ask(db, clock, conn)
    module = engine(db, clock)
    delays = []
    for _ in range(sync.MAX_ATTEMPTS):
        jira.script(Reply.json(503, {"errorMessages": ["Service Unavailable"], "errors": {}}))
        before = clock.now()
        module.run_once(before)
        issue = _issue(db)
        if issue.next_attempt_at is None:
            break
        delays.append(int((issue.next_attempt_at - before).total_seconds()))
        clock.advance(issue.next_attempt_at - before)
    assert delays[:4] == [30, 60, 120, 240]
    issue = _issue(db)
    assert (issue.status, issue.attempts, issue.last_status_code) == ("failed", sync.MAX_ATTEMPTS, 503)
    assert "Service Unavailable" in (issue.last_error or "")


def test_request_issue_refuses_bad_input(db: Database, clock: FakeClock, jira: FakeJira) -> None:
    conn = jira_connection(db, clock, jira.url)
    with db.unit_of_work() as s, pytest.raises(InvalidInput):
        trackers.request_issue(s, local_ref="nope", connection=conn, title="x", body="", now=clock.now())
    with db.unit_of_work() as s, pytest.raises(InvalidInput):
        trackers.request_issue(s, local_ref="action_item:1", connection=conn, title=" ", body="", now=clock.now())
    with db.unit_of_work() as s, pytest.raises(InvalidInput):
        trackers.create_connection(
            s,
            trackers.ConnectionSpec(name="x", kind="jira", base_url="ftp://x", project="OPS", token="t"),
            now=clock.now(),
        )


def test_retry_delay_follows_retry_after_else_backs_off() -> None:
    assert sync.retry_delay(1, None) == timedelta(seconds=30)
    assert sync.retry_delay(3, 5.0) == timedelta(seconds=5)
    assert sync.retry_delay(3, 0.0) == timedelta(seconds=1)
    assert sync.retry_delay(3, 10**9) == sync.MAX_RETRY_AFTER
    assert sync.retry_delay(1, 600.0) == timedelta(seconds=600)
    assert sync.retry_delay(7, None) == timedelta(seconds=1920)
    assert sync.retry_delay(9, None) == sync.MAX_DELAY
    assert sync.retry_delay(sync.MAX_ATTEMPTS, None) is None
