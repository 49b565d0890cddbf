"""The sync cycle of remote issues, for the engine: claim, prepare (fence checked), call the tracker outside any
transaction, record the outcome only if the fence is still the claimer's.

Never two remote issues for one local object: ``create_sent_at`` is written (and committed) before a create
request leaves. Any later attempt on a row that has it, whatever became of the first (a timeout after sending, a
worker that died mid-call), searches the tracker for the idempotency label first and adopts what it finds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.db.claims import Claim
from tocsin.trackers import hooks
from tocsin.trackers import repository as repo
from tocsin.trackers.clients import Remote, TrackerRefused, client_for
from tocsin.trackers.http import CallFailed, Http
from tocsin.trackers.models import RemoteIssue, TrackerConnection
from tocsin.trackers.service import marker

MAX_ATTEMPTS = 10
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=2)
MIN_RETRY_AFTER = timedelta(seconds=1)
MAX_RETRY_AFTER = timedelta(hours=6)


def retry_delay(attempts: int, retry_after: float | None) -> timedelta | None:
    """The tracker's Retry-After when it gave one (at least 1 s, at most 6 h), else exponential backoff from 30 s
    (doubling, at most 2 h); None once the attempts are spent. The tracker knows best when its limit resets: waiting
    longer only delays the issue, and the attempts stay bounded whatever it says."""
    if attempts >= MAX_ATTEMPTS:
        return None
    if retry_after is not None:
        return min(max(timedelta(seconds=retry_after), MIN_RETRY_AFTER), MAX_RETRY_AFTER)
    delay: timedelta = min(FIRST_DELAY * int(2 ** (attempts - 1)), MAX_DELAY)
    return delay


@dataclass(frozen=True, slots=True)
class Work:
    claim: Claim
    connection: TrackerConnection  # detached copy of the row's fields, read in the prepare transaction
    remote_key: str | None
    searched_first: bool
    title: str
    body: str
    labels: list[str]
    marker: str
    push_state: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    remote: Remote | None = None
    created: bool = False
    error: str | None = None
    status_code: int | None = None
    retry: bool = False
    retry_after: float | None = None


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return repo.claim(session, now=now, owner=owner, lease_until=now + lease, limit=limit)


def _copy(c: TrackerConnection) -> TrackerConnection:
    return TrackerConnection(
        id=c.id,
        name=c.name,
        kind=c.kind,
        base_url=c.base_url,
        project=c.project,
        issue_type=c.issue_type,
        api_version=c.api_version,
        auth_scheme=c.auth_scheme,
        username=c.username,
        token=c.token,
        webhook_secret="",
        done_status=c.done_status,
        reopen_status=c.reopen_status,
        enabled=c.enabled,
    )


def prepare(session: Session, c: Claim, *, now: datetime, lease: timedelta) -> Work | None:
    issue = repo.lock_claimed(session, c)
    if issue is None or issue.status != "pending":
        return None
    issue.lease_until = now + lease
    connection = repo.get_connection(session, issue.connection_id)
    if connection is None or not connection.enabled:
        # Kept pending, a day later: enabling the connection again resumes it without losing the request.
        issue.next_attempt_at = now + timedelta(days=1)
        issue.last_error = "the tracker connection is disabled"
        issue.lease_owner = None
        issue.lease_until = None
        return None
    searched_first = False
    if issue.remote_key is None:
        searched_first = issue.create_sent_at is not None
        if issue.create_sent_at is None:
            issue.create_sent_at = now
    push = issue.wanted_state if issue.wanted_state != issue.pushed_state else None
    return Work(
        c,
        _copy(connection),
        issue.remote_key,
        searched_first,
        issue.title,
        issue.body,
        list(issue.labels or []),
        marker(issue.idempotency_key),
        push,
    )


def perform(work: Work, http: Http) -> Outcome:
    client = client_for(work.connection, http)
    try:
        if work.remote_key is None:
            remote = client.find(work.marker) if work.searched_first else None
            created = remote is None
            if remote is None:
                remote = client.create(title=work.title, body=work.body, labels=work.labels, marker=work.marker)
            return Outcome(remote=remote, created=created)
        if work.push_state is not None:
            return Outcome(remote=client.set_state(work.remote_key, work.push_state))
        return Outcome()
    except TrackerRefused as exc:
        return Outcome(error=exc.message, status_code=exc.status, retry=exc.retry, retry_after=exc.retry_after)
    except CallFailed as exc:
        return Outcome(error=exc.message, retry=True)


def record(session: Session, work: Work, outcome: Outcome, *, now: datetime) -> str:
    """Store the outcome; returns the row's status ('stale' when another worker holds it now)."""
    issue = repo.lock_claimed(session, work.claim)
    if issue is None:
        return "stale"
    issue.lease_owner = None
    issue.lease_until = None
    issue.updated_at = now
    issue.last_status_code = outcome.status_code
    if outcome.error is not None:
        issue.attempts += 1
        issue.last_error = outcome.error
        delay = retry_delay(issue.attempts, outcome.retry_after) if outcome.retry else None
        if delay is None:
            issue.status = "failed"
            issue.next_attempt_at = None
        else:
            issue.next_attempt_at = now + delay
        return issue.status
    issue.last_error = None
    issue.attempts = 0
    issue.last_synced_at = now
    if outcome.remote is not None:
        _apply(session, issue, outcome.remote, source="create" if work.remote_key is None else "push")
        if work.remote_key is not None and work.push_state is not None:
            issue.pushed_state = work.push_state
    if issue.remote_key is not None and issue.wanted_state != issue.pushed_state:
        # Closed locally before the issue existed (or while a push was in flight): one more step to go.
        issue.next_attempt_at = now
        issue.status = "pending"
    else:
        issue.status = "synced"
        issue.next_attempt_at = None
    return issue.status


def _apply(session: Session, issue: RemoteIssue, remote: Remote, *, source: str) -> None:
    previous = issue.remote_state
    previous_status = issue.remote_status
    issue.remote_key = remote.key
    issue.remote_url = remote.url or issue.remote_url
    if remote.status is not None:
        issue.remote_status = remote.status
    issue.remote_state = remote.state
    if previous != remote.state or previous_status != issue.remote_status:
        hooks.fire(
            session,
            hooks.RemoteStatusChange(
                issue.local_ref,
                issue.connection_id,
                remote.key,
                issue.remote_status,
                remote.state,
                previous,
                source,
                issue.updated_at,
            ),
        )


def apply_remote_state(session: Session, issue: RemoteIssue, *, status: str | None, state: str, now: datetime) -> None:
    """What a tracker webhook says the issue's status is now. The remote side wins: the wish to push the other
    state is dropped, so that a reopen in the tracker is not undone by an older local close."""
    issue.last_synced_at = now
    issue.updated_at = now
    issue.wanted_state = state
    issue.pushed_state = state
    if issue.status == "pending" and issue.remote_key is not None:
        issue.status = "synced"
        issue.next_attempt_at = None
    _apply(session, issue, Remote(issue.remote_key or "", issue.remote_url or "", status, state), source="webhook")


def next_due(session: Session) -> datetime | None:
    return repo.next_due(session)


def recover_worker(session: Session, owner: str) -> int:
    return repo.release_claims_of(session, owner)
