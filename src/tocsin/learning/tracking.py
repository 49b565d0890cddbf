"""Action items in the team's own tracker (Jira, GitHub Issues), kept in step both ways (ADR 0029, ADR 0035).

An item sent to a tracker gets a remote issue through ``tocsin.trackers`` (durable, never created twice). Moving the
item to done or won't do closes the remote issue, reopening it reopens the issue; the tracker closing or reopening
the issue moves the item the same way and says so on the incident's timeline. Changes that our own pushes caused
are not followed back, so the two sides never chase each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput, NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.learning import repository as repo
from tocsin.learning.models import ActionItem
from tocsin.trackers import service as trackers
from tocsin.trackers.hooks import RemoteStatusChange
from tocsin.trackers.models import RemoteIssue

LOCAL_KIND = "action_item"
CLOSED_STATUSES = ("done", "wont_do")


def local_ref(item_id: int) -> str:
    return f"{LOCAL_KIND}:{item_id}"


def _item_id(ref: str) -> int | None:
    kind, _, number = ref.partition(":")
    return int(number) if kind == LOCAL_KIND and is_ascii_digits(number) else None


def _body(item: ActionItem, link: str) -> str:
    lines = [item.body.strip()] if item.body.strip() else []
    if item.success_criterion.strip():
        lines.append(f"Done when: {item.success_criterion.strip()}")
    if item.due_at is not None:
        lines.append(f"Due: {item.due_at:%Y-%m-%d}")
    lines.append(f"Kind: {item.kind} · priority: {item.priority}")
    lines.append(f"Action item of {link}")
    return "\n\n".join(lines)


def send(
    session: Session, item: ActionItem, *, connection: str | int, link: str, actor: Actor, now: datetime
) -> RemoteIssue:
    """Queue the item's issue in ``connection`` (a name or id); asking again returns the issue there is."""
    try:
        conn = trackers.find_connection(session, connection)
    except NotFound:
        raise InvalidInput(f"connection: no tracker connection {connection!r}") from None
    issue = trackers.request_issue(
        session,
        local_ref=local_ref(item.id),
        connection=conn,
        title=item.title,
        body=_body(item, link),
        labels=["action-item", item.kind],
        now=now,
    )
    if item.status in CLOSED_STATUSES:
        trackers.update_remote(session, local_ref(item.id), state="closed", now=now)
    incidents.record(
        session,
        item.incident_id,
        TimelineKind.POSTMORTEM,
        f"Action item “{item.title}” sent to {conn.name}",
        actor=actor,
        now=now,
        action_item_id=item.id,
    )
    return issue


def follow_local(session: Session, item: ActionItem, *, now: datetime) -> None:
    """Push the item's new status to its remote issues, if it has any."""
    if not trackers.issues_of(session, local_ref(item.id)):
        return
    state = "closed" if item.status in CLOSED_STATUSES else "open"
    trackers.update_remote(session, local_ref(item.id), state=state, now=now)


def remote_of(session: Session, items: Sequence[ActionItem]) -> dict[int, list[RemoteIssue]]:
    return {item.id: trackers.issues_of(session, local_ref(item.id)) for item in items}


def on_remote_status(session: Session, change: RemoteStatusChange) -> None:
    """The tracker closed or reopened an item's issue: the item follows, and the incident's timeline says so."""
    item_id = _item_id(change.local_ref)
    if item_id is None or change.source != "webhook":
        return
    item = repo.action_item(session, item_id)
    if item is None:
        return
    now = change.at
    if change.state == "closed" and item.status not in CLOSED_STATUSES:
        item.status, item.reason, item.done_at = "done", f"closed in the tracker ({change.remote_key})", now
    elif change.state == "open" and item.status in CLOSED_STATUSES:
        item.status, item.reason, item.done_at = "open", f"reopened in the tracker ({change.remote_key})", None
    else:
        return
    item.updated_at = now
    incidents.record(
        session,
        item.incident_id,
        TimelineKind.POSTMORTEM,
        f"Action item “{item.title}” is {item.status.replace('_', ' ')}: {item.reason}",
        actor=Actor(label="tracker", source="integration"),
        now=now,
        action_item_id=item.id,
    )
