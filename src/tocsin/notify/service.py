"""The notification outbox cycle: hand due messages to providers, record every outcome.

Sending works on a claimed batch so that nothing is sent twice blindly and nothing goes out after an
acknowledgement:
1. ``claim``: due rows get a lease and a new fencing token (committed).
2. ``begin_send_batch``: one transaction locks the batch's incidents and the rows whose fence is still ours (an
   acknowledgement either committed before, and the page is cancelled, or waits for this to commit), runs each row
   through the send pipeline (``notify.pipeline``: one rule per function, in a fixed order), and marks what must
   go out ``sending``; the messages are built by ``notify.outgoing``.
3. ``sendable_now``: right before the provider calls, one read re-checks fence, status and incident status.
4. ``record_batch``: the outcomes (``notify.outcomes``) — delivered, retry later (with backoff, honouring
   Retry-After) or failed, which brings the user's next page forward (``fall_back``).
A row found in ``sending`` with an expired lease was in flight when its worker died: ``mark_ambiguous`` records it
as ambiguous; it is resent once where the receiver can recognise the copy, and never elsewhere.
The pages themselves are planned by ``notify.paging`` when escalation steps fire; contact methods and rules live in
``notify.contacts``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.db.claims import Claim
from tocsin.db.encrypted import is_sealed, keyring_of
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.notify import pipeline, send_limits
from tocsin.notify import repository as repo
from tocsin.notify.models import CHANNEL_WIDE_TYPES, Notification, NotificationStatus
from tocsin.notify.outcomes import UPDATABLE_TYPES, record_outcome
from tocsin.notify.outgoing import Outgoing, incident_view, message_for, redacted
from tocsin.notify.page_links import links_for
from tocsin.notify.providers.base import IncidentView, OutboundMessage, SendResult
from tocsin.notify.retry import RetryPolicy
from tocsin.notify.send_limits import SendLimits
from tocsin.notify.throttle import Throttle
from tocsin.services import repository as service_repo
from tocsin.users import repository as user_repo

ENGINE = Actor(label="notifier", source="engine")
# Locks the incidents of a batch of notifications (parameter ``ids``).
_LOCK_INCIDENTS = incident_repo.locking(repo.INCIDENT_IDS)
SEND_LEASE = timedelta(seconds=60)
# Channels whose message id is stable across attempts (webhook-id, Message-ID), so a receiver can drop a copy:
# a send interrupted mid-flight on them is sent once more, because a page that may never have left is worse
# than a duplicate the receiver can recognise. Other channels keep at-most-once for interrupted sends.
RESEND_INTERRUPTED = frozenset({"webhook", "email"})

# Builds a signed one-click link: (incident id, user id, action) -> URL.
LinkMaker = Callable[[int, int, str], str]


def cancel_pending_pages(session: Session, incident_id: int) -> None:
    repo.cancel_pending_pages(session, incident_id)


def _update_if_settled(session: Session, page: repo.OutboxRow, now: datetime) -> None:
    """A chat page that arrived after the incident was acknowledged or resolved is edited to say so at once."""
    incident = incident_repo.get(session, page.incident_id) if page.incident_id is not None else None
    if incident is not None and incident.status != "triggered":
        session.flush()
        queue_status_updates(
            session, incident, actor=ENGINE, now=now, text=f"{incident.status.capitalize()} before this message arrived"
        )


def queue_status_updates(
    session: Session, incident: Incident, *, actor: Actor, now: datetime, text: str | None = None
) -> int:
    """Queue an edit of every chat message already sent about this incident, in the caller's transaction.

    Written beside the status change itself, so the edit is as durable as the change and is delivered by the
    outbox like any message; the provider renders the incident as it is when the edit goes out.
    """
    rows = [
        {
            "idempotency_key": f"status:{page.id}:{incident.status}:{now.timestamp():.6f}",
            "kind": "status",
            "incident_id": incident.id,
            "user_id": page.user_id,
            "contact_method_id": page.contact_method_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "fence": 0,
            "payload": {
                "update_of": page.id,
                "ref": page.provider_ref,
                "text": text or f"{incident.status.capitalize()} by {actor.label} via {actor.source}",
            },
            "created_at": now,
        }
        for page in repo.delivered_pages_on(session, incident.id, UPDATABLE_TYPES)
    ]
    return repo.add_notifications(session, rows)


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return repo.claim(session, now=now, owner=owner, lease=lease, limit=limit)


def next_due(session: Session) -> datetime | None:
    return repo.next_attempt(session)


@dataclass(frozen=True, slots=True)
class SendContext:
    base_url: str
    throttle: Throttle
    links: LinkMaker | None = None
    # The organisation's budget of text messages and calls: reaching it tells the admins (pages still go out).
    limits: SendLimits | None = None


def view_of(session: Session, incident: Incident, base_url: str) -> IncidentView:
    """How a channel shows an incident: its facts and the console link (which is by number, like the pages)."""
    service = service_repo.get(session, incident.service_id)
    return incident_view(incident, service.name if service else "", base_url)


def begin_send_batch(
    session: Session,
    claims: Sequence[Claim],
    *,
    now: datetime,
    ctx: SendContext,
    send_lease: timedelta = SEND_LEASE,
    avoid: Collection[int] = (),
) -> list[Outgoing]:
    """Re-check a claimed batch and mark what must go out ``sending``, in one transaction; returns the messages.

    Each row goes through the send pipeline (``notify.pipeline``, its rules in a fixed order): it is left alone,
    deferred, cancelled, failed or held back, or it goes out. Each message comes with the row's fence and
    ``lease_until`` (``Outgoing``): past that instant the row may have been declared ambiguous and handed to
    another worker, so the sender must not start the call any more.

    At most one message per contact method leaves per batch: the throttle counts what a contact method was sent
    only once its outcome is recorded, and a message marked ``sending`` should be in flight at once (an
    interrupted send on a channel that is never repeated would otherwise be lost without having left). Further
    messages to the same contact method are put back behind the rest of what is due, as are further resends of
    interrupted messages (claimed ahead of everything else, they go out one at a time).
    """
    # Incidents first, then notifications: the order an acknowledgement takes them (it locks the incident, then
    # cancels its pending pages). The opposite order deadlocks with it on PostgreSQL.
    incidents = incident_repo.lock_many(session, _LOCK_INCIDENTS, {"ids": [c.id for c in claims]})
    rows = repo.lock_claimed_rows(session, claims)
    people = repo.recipients(session, {n.contact_method_id for n in rows.values()})
    history = repo.sent_times_many(session, people.keys(), now - ctx.throttle.horizon)
    services = service_repo.names(session, {i.service_id for i in incidents.values()})
    timeline: list[dict[str, Any]] = []
    messages: list[Outgoing] = []
    busy: set[int] = set(avoid)
    for c in claims:
        n = rows.get(c.id)
        if n is None:
            continue  # Our claim went stale: another worker owns this row now.
        incident = incidents.get(n.incident_id) if n.incident_id is not None else None
        recipient = people.get(n.contact_method_id)
        verdict = pipeline.decide(
            n,
            incident=incident,
            recipient=recipient,
            sent_times=history.get(n.contact_method_id, ()),
            busy=busy,
            avoid=avoid,
            batch_started=bool(messages),
            throttle=ctx.throttle,
            now=now,
        )
        if verdict is not None:
            pipeline.apply(n, verdict)
            if incident is not None:
                _note(session, n, rows, verdict, incident.id, timeline, now)
            continue
        assert recipient is not None  # contact_method_usable let it through
        message = _start(session, n, rows, incident, recipient, services, now, ctx)
        busy.add(n.contact_method_id)
        n.lease_until = now + send_lease
        messages.append(Outgoing(message, n.contact_method_id, n.fence, n.lease_until))
    repo.save_rows(session, rows.values())
    incident_repo.add_timeline(session, timeline)
    if ctx.limits is not None and any(m.message.contact_type in repo.PAID_TYPES for m in messages):
        send_limits.note_paid_sends(session, now=now, limits=ctx.limits)
    return messages


def _note(
    session: Session,
    n: repo.OutboxRow,
    rows: Mapping[int, repo.OutboxRow],
    verdict: pipeline.Verdict,
    incident_id: int,
    timeline: list[dict[str, Any]],
    now: datetime,
) -> None:
    """A verdict's entry on the incident's timeline, if it has one."""
    if isinstance(verdict, pipeline.Fail) and verdict.note is not None:
        text = verdict.note + _fall_back_after(session, n, rows, now)
        timeline.append(timeline_row(incident_id, TimelineKind.NOTIFY_FAILED, ENGINE, now, text, notification=n.id))
    elif isinstance(verdict, pipeline.Hold) and verdict.note is not None:
        timeline.append(
            timeline_row(incident_id, TimelineKind.NOTIFY_HELD, ENGINE, now, verdict.note, notification=n.id)
        )


def _start(
    session: Session,
    n: repo.OutboxRow,
    rows: dict[int, repo.OutboxRow],
    incident: incident_repo.LockedIncident | None,
    recipient: repo.Recipient,
    services: dict[int, str],
    now: datetime,
    ctx: SendContext,
) -> OutboundMessage:
    """Mark a row the pipeline let through ``sending``, with what was held back beside it, and build its message."""
    bundled: list[repo.OutboxRow] = []
    if pipeline.gathers_held(n):
        for other in repo.held_back(session, recipient.id, n.id):
            # The batch's own copy where it holds the row: it may have changed since it was read.
            mine = rows.setdefault(other.id, other)
            if mine.status == "pending" and mine.held_since is not None:
                bundled.append(mine)
    pipeline.start_sending(n, bundled)
    numbers = None
    if bundled:
        numbers = [
            inc.number
            for other in bundled
            if other.incident_id is not None and (inc := incident_repo.get(session, other.incident_id)) is not None
        ]
    text = pipeline.message_text(n, recipient, numbers)
    if is_sealed(text):
        # A verification code, kept encrypted in the outbox until this moment.
        text = keyring_of(session).open(text)
    view = (
        incident_view(incident, services.get(incident.service_id, ""), ctx.base_url) if incident is not None else None
    )
    if view is not None and incident is not None and n.kind == "page":
        view = replace(view, links=links_for(session, incident.id, incident.number, ctx.base_url))
    if view is not None and incident is not None and incident.private and recipient.type in CHANNEL_WIDE_TYPES:
        view, text = redacted(view, text, incident.title)
    ack_url = resolve_url = accept_url = decline_url = None
    if ctx.links is not None and incident is not None and n.kind == "responder":
        accept_url = ctx.links(incident.id, recipient.user_id, "accept")
        decline_url = ctx.links(incident.id, recipient.user_id, "decline")
    elif ctx.links is not None and incident is not None:
        ack_url = ctx.links(incident.id, recipient.user_id, "acknowledge")
        resolve_url = ctx.links(incident.id, recipient.user_id, "resolve")
    return message_for(
        n,
        recipient,
        incident=view,
        text=text,
        ack_url=ack_url,
        resolve_url=resolve_url,
        accept_url=accept_url,
        decline_url=decline_url,
    )


def sendable_now(session: Session, messages: Sequence[Outgoing]) -> list[Outgoing]:
    """The last check before the provider calls, one statement for the batch: each row still ours and still
    ``sending``, and a page's incident still triggered (an acknowledgement may have committed since
    ``begin_send_batch``; such a page is not sent, and ``unsend`` hands it back to be cancelled)."""
    states = repo.sending_states(session, [m.notification_id for m in messages])
    ready = []
    for m in messages:
        state = states.get(m.notification_id)
        if state is None:
            continue
        fence, status, kind, incident_status = state
        if fence != m.fence or status != "sending":
            continue
        if kind == "page" and incident_status != "triggered":
            continue
        ready.append(m)
    return ready


def unsend(session: Session, notification_id: int, fence: int, *, now: datetime) -> bool:
    """Put a row marked 'sending' but certainly never sent back to due, if it is still ours."""
    n = repo.lock_claimed(session, Claim(id=notification_id, fence=fence))
    if n is None or n.status != "sending":
        return False
    n.status = NotificationStatus.AMBIGUOUS if n.payload.get("ambiguous") else NotificationStatus.PENDING
    n.attempts -= 1
    n.next_attempt_at = now
    n.lease_owner = None
    n.lease_until = None
    return True


def record_batch(
    session: Session,
    outcomes: Sequence[tuple[Outgoing, SendResult]],
    *,
    now: datetime,
    retry: RetryPolicy,
    rand: Callable[[], float] = random.random,
) -> list[str]:
    """Store the outcomes of a batch of provider calls and write them on the incidents' timelines, in one
    transaction; returns each row's new status, in the order given."""
    rows = repo.rows_of(session, [m.notification_id for m, _ in outcomes])
    people = repo.recipients(session, {n.contact_method_id for n in rows.values()})
    timeline: list[dict[str, Any]] = []
    statuses = []
    settled: list[repo.OutboxRow] = []
    for message, result in outcomes:
        n = rows.get(message.notification_id)
        if n is None:
            statuses.append("gone")
            continue
        cm = people.get(n.contact_method_id)
        recorded = record_outcome(n, result, cm, fence=message.fence, now=now, retry=retry, rand=rand)
        statuses.append(n.status)
        if recorded is None:
            continue
        text = recorded.text + (_fall_back_after(session, n, rows, now) if recorded.falls_back else "")
        if result.gone and repo.disable_contact_method(session, n.contact_method_id):
            # A push subscription the browser or its push service dropped: never paged again.
            text += "; the subscription no longer exists: this contact method was disabled and its rules removed"
        if recorded.edits:
            settled.append(n)
        if n.incident_id is not None:
            contact_type = cm.type if cm else None
            timeline.append(
                timeline_row(
                    n.incident_id,
                    recorded.kind,
                    ENGINE,
                    now,
                    text,
                    notification=n.id,
                    attempt=n.attempts,
                    contact_type=contact_type,
                )
            )
    repo.save_rows(session, rows.values())
    # After the rows are written: the edits look for the pages that were delivered.
    for page in settled:
        _update_if_settled(session, page, now)
    incident_repo.add_timeline(session, timeline)
    return statuses


def _fall_back_after(
    session: Session, failed: repo.OutboxRow, rows: Mapping[int, repo.OutboxRow], now: datetime
) -> str:
    """``fall_back`` from within a batch: the batch's changes are written first, so that its query sees them."""
    repo.save_rows(session, rows.values())
    return fall_back(session, failed, now)


def fall_back(session: Session, failed: Notification | repo.OutboxRow, now: datetime) -> str:
    """A page that failed for good brings the user's next planned page for this incident forward to now, so a
    dead channel costs its retries, not also the delay of the next rule; returns the timeline's wording."""
    for nxt in repo.pending_pages_of(session, failed.incident_id or 0, failed.user_id, excluding=failed.id):
        cm = repo.contact_method(session, nxt.contact_method_id)
        # Neither the channel that just failed nor one that cannot be used is a fallback.
        if cm is None or cm.id == failed.contact_method_id or cm.disabled or not cm.verified:
            continue
        if nxt.next_attempt_at is not None and nxt.next_attempt_at > now:
            nxt.next_attempt_at = now
        return f"; falling back to {cm.type}"
    return ""


def mark_ambiguous(session: Session, *, now: datetime) -> int:
    """Sends whose worker vanished mid-call: their outcome is unknown, so they are recorded as ambiguous.

    On channels in RESEND_INTERRUPTED the message is sent once more, with the same message id; elsewhere it is
    never repeated.
    """
    stuck = repo.stuck_sending(session, now)
    _declare_ambiguous(session, stuck, now=now)
    return len(stuck)


def recover_worker(session: Session, owner: str, *, now: datetime) -> int:
    """A worker restarting under the same name takes back what its previous life left: unsent claims are
    released at once, and sends it had in flight are declared ambiguous without waiting for their lease."""
    released = repo.release_claims_of(session, owner)
    interrupted = repo.sending_of(session, owner)
    _declare_ambiguous(session, interrupted, now=now)
    return released + len(interrupted)


def _declare_ambiguous(session: Session, rows: Sequence[Notification], *, now: datetime) -> None:
    timeline = []
    for n in rows:
        times = int(n.payload.get("ambiguous", 0)) + 1
        cm = repo.contact_method(session, n.contact_method_id)
        resend = times == 1 and cm is not None and cm.type in RESEND_INTERRUPTED
        n.payload = {**n.payload, "ambiguous": times}
        n.status = NotificationStatus.AMBIGUOUS
        n.fence += 1
        n.lease_owner = None
        n.lease_until = None
        n.next_attempt_at = now if resend else None
        n.last_error = "interrupted mid-send" + ("; sending once more" if resend else "; not repeated")
        if n.incident_id is not None:
            timeline.append(
                timeline_row(
                    n.incident_id,
                    TimelineKind.NOTIFY_AMBIGUOUS,
                    ENGINE,
                    now,
                    "A send was interrupted; it may or may not have arrived and "
                    + ("is sent once more with the same message id" if resend else "is not repeated"),
                    notification=n.id,
                )
            )
    incident_repo.add_timeline(session, timeline)


def notifications_of(session: Session, incident_id: int) -> list[Notification]:
    return repo.of_incident(session, incident_id)


def status_counts(session: Session) -> dict[str, int]:
    return repo.count_by_status(session)


def notify_handoff(
    session: Session, *, user_id: int, schedule_name: str, schedule_id: int, at: datetime, now: datetime
) -> bool:
    """Tell a user their shift begins; one message per (schedule, user, shift start), whoever computes it."""
    user = user_repo.get(session, user_id)
    if user is None or not user.handoff_notifications or user.deactivated_at is not None:
        return False
    rules_ = sorted(repo.rules_of(session, [user_id])[user_id], key=lambda r: (r.urgency != "high", r.delay_seconds))
    methods = repo.contact_methods_of(session, [user_id])[user_id]
    cm_id = rules_[0].contact_method_id if rules_ else (methods[0].id if methods else None)
    if cm_id is None:
        return False
    row = {
        "idempotency_key": f"handoff:{schedule_id}:{user_id}:{int(at.timestamp())}",
        "kind": "handoff",
        "incident_id": None,
        "user_id": user_id,
        "contact_method_id": cm_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "fence": 0,
        "payload": {"text": f"You are now on call for {schedule_name}.", "schedule_id": schedule_id},
        "created_at": now,
    }
    return repo.add_notifications(session, [row]) == 1
