"""Tracker connections and the remote issues of local objects (ADR 0035).

Generic on purpose: a caller names its object by a ``local_ref`` string ("action_item:42") and hears back through
``tocsin.trackers.hooks``. Nothing here calls a tracker: ``request_issue``, ``close_remote`` and ``update_remote``
leave durable work that the engine's tracker module carries out (``tocsin.trackers.sync``), with retries."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.trackers import repository as repo
from tocsin.trackers.models import RemoteIssue, TrackerConnection

KINDS = ("jira", "github")
STATES = ("open", "closed")
_JIRA_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
_LOCAL_REF = re.compile(r"^[a-z_]{1,50}:[A-Za-z0-9_.-]{1,100}$")
MAX_TITLE = 255
MAX_BODY = 30_000
MAX_LABELS = 20


def idempotency_key(connection_id: int, local_ref: str) -> str:
    return hashlib.sha256(f"{connection_id}:{local_ref}".encode()).hexdigest()


def marker(key: str) -> str:
    """The label that carries an issue's idempotency key in the tracker (searched for before any re-create)."""
    return "tocsin-" + key[:20]


@dataclass(frozen=True, slots=True)
class ConnectionSpec:
    name: str
    kind: str
    base_url: str
    project: str
    token: str
    issue_type: str = "Task"
    api_version: str = "3"
    auth_scheme: str = "bearer"
    username: str | None = None
    webhook_secret: str | None = None
    done_status: str = "Done"
    reopen_status: str = "To Do"
    enabled: bool = True


def _check(c: TrackerConnection) -> None:
    if c.kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if not c.name.strip():
        raise InvalidInput("a connection needs a name")
    # The scheme and shape only: whether the address may be contacted is decided on every call (SSRF guard).
    try:
        url = httpx.URL(c.base_url)
    except (httpx.InvalidURL, ValueError):
        raise InvalidInput("base_url is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host or url.query or url.userinfo:
        raise InvalidInput("base_url must be an http(s) URL without credentials or query, e.g. https://x.atlassian.net")
    if c.kind == "jira":
        if not _JIRA_KEY.match(c.project):
            raise InvalidInput("project must be a Jira project key (capital letters, digits, _), e.g. OPS")
        if c.api_version not in ("2", "3"):
            raise InvalidInput("api_version must be 2 or 3")
        if c.auth_scheme not in ("basic", "bearer"):
            raise InvalidInput("auth_scheme must be basic (email + API token) or bearer (personal access token)")
        if c.auth_scheme == "basic" and not (c.username or "").strip():
            raise InvalidInput("basic auth needs the account's email as username")
    else:
        if not _REPO.match(c.project):
            raise InvalidInput("project must be owner/repo")
        if c.auth_scheme != "bearer":
            raise InvalidInput("GitHub takes a bearer token")
    if not c.token.strip():
        raise InvalidInput("a connection needs a token")
    if len(c.webhook_secret) < 16:
        raise InvalidInput("the webhook secret must be at least 16 characters")


def create_connection(session: Session, spec: ConnectionSpec, *, now: datetime) -> TrackerConnection:
    if repo.connection_named(session, spec.name) is not None:
        raise Conflict(f"a tracker connection named {spec.name!r} exists")
    connection = TrackerConnection(
        name=spec.name.strip(),
        kind=spec.kind,
        base_url=spec.base_url.strip(),
        project=spec.project.strip(),
        issue_type=spec.issue_type,
        api_version=spec.api_version,
        auth_scheme="bearer" if spec.kind == "github" else spec.auth_scheme,
        username=spec.username,
        token=spec.token,
        webhook_secret=spec.webhook_secret or secrets.token_urlsafe(32),
        done_status=spec.done_status,
        reopen_status=spec.reopen_status,
        enabled=spec.enabled,
        created_at=now,
        updated_at=now,
    )
    _check(connection)
    repo.add(session, connection)
    return connection


EDITABLE = (
    "name",
    "base_url",
    "project",
    "issue_type",
    "api_version",
    "auth_scheme",
    "username",
    "token",
    "webhook_secret",
    "done_status",
    "reopen_status",
    "enabled",
)


def update_connection(session: Session, connection_id: int, *, now: datetime, **changes: Any) -> TrackerConnection:
    connection = get_connection(session, connection_id)
    for name, value in changes.items():
        if name not in EDITABLE:
            raise InvalidInput(f"{name} cannot be changed")
        if value is not None or name == "username":
            setattr(connection, name, value)
    other = repo.connection_named(session, connection.name)
    if other is not None and other.id != connection.id:
        raise Conflict(f"a tracker connection named {connection.name!r} exists")
    _check(connection)
    connection.updated_at = now
    return connection


def get_connection(session: Session, connection_id: int) -> TrackerConnection:
    connection = repo.get_connection(session, connection_id)
    if connection is None:
        raise NotFound(f"no tracker connection {connection_id}")
    return connection


def find_connection(session: Session, ref: str | int) -> TrackerConnection:
    if isinstance(ref, int) or str(ref).isdigit():
        return get_connection(session, int(ref))
    found = repo.connection_named(session, str(ref))
    if found is None:
        raise NotFound(f"no tracker connection named {ref!r}")
    return found


def list_connections(session: Session) -> list[TrackerConnection]:
    return repo.list_connections(session)


def delete_connection(session: Session, connection_id: int) -> None:
    repo.delete(session, get_connection(session, connection_id))


# --- remote issues -------------------------------------------------------------------------------------------------


def request_issue(
    session: Session,
    *,
    local_ref: str,
    connection: TrackerConnection | int,
    title: str,
    body: str,
    labels: list[str] | tuple[str, ...] = (),
    now: datetime,
) -> RemoteIssue:
    """Queue the creation of ``local_ref``'s issue in ``connection``. Asking again for the same pair returns the
    row there is: one local object has at most one issue per tracker."""
    conn = connection if isinstance(connection, TrackerConnection) else get_connection(session, connection)
    if not _LOCAL_REF.match(local_ref):
        raise InvalidInput("local_ref must look like 'kind:id', e.g. action_item:42")
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(f"a title of 1 to {MAX_TITLE} characters is needed")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"the body is longer than {MAX_BODY} characters")
    if len(labels) > MAX_LABELS or any(not label.strip() or len(label) > 50 for label in labels):
        raise InvalidInput(f"at most {MAX_LABELS} labels of 1 to 50 characters")
    if not conn.enabled:
        raise Conflict(f"tracker connection {conn.name!r} is disabled")
    key = idempotency_key(conn.id, local_ref)
    existing = repo.issue_by_key(session, key)
    if existing is not None:
        return existing
    issue = RemoteIssue(
        local_ref=local_ref,
        connection_id=conn.id,
        idempotency_key=key,
        title=title,
        body=body,
        labels=list(labels),
        status="pending",
        attempts=0,
        fence=0,
        wanted_state="open",
        pushed_state="open",
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            repo.add(session, issue)
    except IntegrityError:
        # Asked twice at once: the other request's row stands.
        found = repo.issue_by_key(session, key)
        if found is None:
            raise
        return found
    return issue


def status_of(session: Session, local_ref: str) -> RemoteIssue | None:
    """The newest remote issue of ``local_ref`` (its remote_status/remote_state, remote_url, last_error)."""
    found = repo.issues_of(session, local_ref)
    return found[0] if found else None


def issues_of(session: Session, local_ref: str) -> list[RemoteIssue]:
    return repo.issues_of(session, local_ref)


def update_remote(session: Session, local_ref: str, *, state: str, now: datetime) -> list[RemoteIssue]:
    """Push a local status change: every issue of ``local_ref`` is moved to ``state`` (Jira: a transition to the
    connection's done or reopen status; GitHub: the issue's state). An issue not created yet gets there once it is."""
    if state not in STATES:
        raise InvalidInput("state must be open or closed")
    issues = repo.issues_of(session, local_ref)
    if not issues:
        raise NotFound(f"{local_ref} has no remote issue")
    for issue in issues:
        issue.wanted_state = state
        issue.updated_at = now
        if issue.remote_key is not None and issue.remote_state == state and issue.pushed_state == state:
            continue
        if issue.status != "pending":
            issue.status = "pending"
            issue.attempts = 0
            issue.next_attempt_at = now
    return issues


def close_remote(session: Session, local_ref: str, *, now: datetime) -> list[RemoteIssue]:
    return update_remote(session, local_ref, state="closed", now=now)


def retry(session: Session, issue_id: int, *, now: datetime) -> RemoteIssue:
    """Try a failed issue again (after its connection was fixed)."""
    issue = session.get(RemoteIssue, issue_id)
    if issue is None:
        raise NotFound(f"no remote issue {issue_id}")
    if issue.status == "failed":
        issue.status = "pending"
        issue.attempts = 0
        issue.next_attempt_at = now
        issue.updated_at = now
    return issue


def list_issues(
    session: Session,
    *,
    connection_id: int | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[RemoteIssue]:
    return repo.list_issues(session, connection_id=connection_id, status=status, before_id=before_id, limit=limit)
