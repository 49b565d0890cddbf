"""Paging people about incidents: the notification rows for many (incident, step, users) pages at once.

An engine pass fires a batch of escalation steps together; planning their pages together reads each paged
user's rules and name once for the whole batch and writes every notification row of the batch in one statement.
The rows are the same as paging each step on its own would write: same idempotency keys (so a retried batch
cannot send twice), same due times, same timeline entries for users whose rules do not cover the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.orm import Session

from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.notify import repository as repo
from tocsin.notify.rules import NotificationPlan, Rule, Urgency, idempotency_key, plan_notifications
from tocsin.notify.service import ENGINE
from tocsin.users import repository as user_repo

FALLBACK_TEXT = {
    "no_rules": "has no notification rules; not notified",
    "no_low_rules": "has no low-urgency rules; not notified",
    "high_used_low_rules": "has no high-urgency rules; using their low-urgency rules",
}


@dataclass(frozen=True, slots=True)
class Page:
    """Page these users about an incident for one escalation step; ``run`` > 0 is a restarted escalation,
    whose pages are new messages."""

    incident_id: int
    urgency: str
    user_ids: tuple[int, ...]
    step_index: int
    cycle: int
    run: int = 0


def page_all(
    session: Session, pages: Sequence[Page], *, now: datetime, names: Mapping[int, str] | None = None
) -> list[list[dict[str, Any]]]:
    """Write the notification rows of all these pages; returns, per page in order, the timeline rows to write
    (users whose rules do not cover the page). ``names``, when the caller has loaded them already: the names of
    all the paged users that exist."""
    everyone = {u for p in pages for u in p.user_ids}
    if not everyone:
        return [[] for _ in pages]
    rules = repo.rule_rows_of(session, everyone)
    if names is None:
        names = user_repo.names(session, list(everyone))
    # A user's plan depends only on their rules, the urgency and the instant, all fixed within the batch.
    plans: dict[tuple[int, str], NotificationPlan] = {}
    rows: list[dict[str, Any]] = []
    timelines: list[list[dict[str, Any]]] = []
    for page in pages:
        timeline: list[dict[str, Any]] = []
        for user_id in page.user_ids:
            plan = plans.get((user_id, page.urgency))
            if plan is None:
                plan = plan_notifications(
                    [Rule(cast(Urgency, u), cm, timedelta(seconds=d)) for u, cm, d in rules.get(user_id, [])],
                    cast(Urgency, page.urgency),
                    now,
                )
                plans[(user_id, page.urgency)] = plan
            if plan.fallback is not None:
                timeline.append(
                    timeline_row(
                        page.incident_id,
                        TimelineKind.NOTIFY_FALLBACK,
                        ENGINE,
                        now,
                        f"{names.get(user_id, user_id)} {FALLBACK_TEXT[plan.fallback]}",
                        user=user_id,
                    )
                )
            for send in plan.sends:
                key = idempotency_key(
                    page.incident_id, page.step_index, page.cycle, user_id, send.contact_method_id, send.rule_index
                )
                rows.append(
                    {
                        "idempotency_key": key if page.run == 0 else f"{key}:r{page.run}",
                        "kind": "page",
                        "incident_id": page.incident_id,
                        "user_id": user_id,
                        "contact_method_id": send.contact_method_id,
                        "step_index": page.step_index,
                        "cycle": page.cycle,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": send.due_at,
                        "fence": 0,
                        "payload": {},
                        "created_at": now,
                    }
                )
        timelines.append(timeline)
    repo.add_notifications(session, rows)
    return timelines


RESPONDER_KIND = "responder"


def page_responder(
    session: Session, *, incident_id: int, user_id: int, request_id: int, text: str, now: datetime
) -> int:
    """Page one person asked to join an incident, through their own high-urgency notification rules (their
    first contact method when they have none); the number of messages queued. The rows are ``responder``
    messages: an acknowledgement of the incident does not cancel them, and they carry accept / decline."""
    rules = repo.rule_rows_of(session, [user_id]).get(user_id, [])
    plan = plan_notifications([Rule(cast(Urgency, u), cm, timedelta(seconds=d)) for u, cm, d in rules], "high", now)
    sends = [(s.contact_method_id, s.rule_index, s.due_at) for s in plan.sends]
    if not sends:
        methods = [m for m in repo.contact_methods_of(session, [user_id])[user_id] if not m.disabled]
        sends = [(methods[0].id, 0, now)] if methods else []
    rows = [
        {
            "idempotency_key": f"responder:{request_id}:{cm_id}:{index}",
            "kind": RESPONDER_KIND,
            "incident_id": incident_id,
            "user_id": user_id,
            "contact_method_id": cm_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": due,
            "fence": 0,
            "payload": {"text": text, "request": request_id},
            "created_at": now,
        }
        for cm_id, index, due in sends
    ]
    return repo.add_notifications(session, rows)


def cancel_responder_pages(session: Session, request_id: int) -> None:
    """The messages of a request not sent yet (later rules) once it is answered or withdrawn."""
    repo.cancel_pending_by_key_prefix(session, f"responder:{request_id}:")
