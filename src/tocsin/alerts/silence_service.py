"""Silences and maintenance windows: create, list, expire, and remind their authors before they end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.access import policy as access_policy
from tocsin.access import service as access
from tocsin.access.policy import Viewer
from tocsin.alerts import noise_repository as repo
from tocsin.alerts import routing_service as routing
from tocsin.alerts.noise_models import SilenceRow
from tocsin.alerts.rules.matchers import RuleError, compile_matchers
from tocsin.alerts.rules.silences import make_silence
from tocsin.core.errors import InvalidInput, NotFound
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.notify import notices
from tocsin.notify import repository as notify_repo
from tocsin.services import repository as service_repo
from tocsin.services.models import Service

REMIND_BEFORE = timedelta(minutes=15)


def _check(
    *,
    matchers: Sequence[Mapping[str, Any]],
    starts_at: datetime,
    ends_at: datetime | None,
    service_id: int | None,
    recurrence: str | None,
    duration_seconds: int | None,
    what: str,
) -> None:
    try:
        make_silence(
            id=0,
            matchers=compile_matchers(matchers),
            starts_at=starts_at,
            ends_at=ends_at,
            service_id=service_id,
            recurrence=recurrence,
            duration=timedelta(seconds=duration_seconds) if duration_seconds else None,
        )
    except RuleError as exc:
        raise InvalidInput(f"{what}: {exc}", errors=[str(exc)]) from None


def create_silence(
    session: Session,
    *,
    matchers: Sequence[Mapping[str, Any]],
    starts_at: datetime,
    ends_at: datetime | None,
    author: str,
    comment: str,
    now: datetime,
    name: str | None = None,
    service: str | None = None,
    recurrence: str | None = None,
    duration_seconds: int | None = None,
    created_by_user_id: int | None = None,
    existing: SilenceRow | None = None,
    by: Viewer | None = None,
    max_length: timedelta | None = None,
) -> SilenceRow:
    """A new silence, or (``existing``, or one of this ``name``) the same silence rewritten in place.

    ``by`` is who sets it from the console or the API, held to the guardrails of ADR 0016 (the CLI, run by the
    host's admin, passes nobody); ``max_length`` is the longest silence they may set."""
    service_id = None
    found = None
    if service is not None:
        found = service_repo.by_name(session, service)
        if found is None:
            raise InvalidInput(f"silence: unknown service {service!r}")
        service_id = found.id
    row = existing if existing is not None else repo.silence_by_name(session, name) if name else None
    if by is not None:
        if row is not None:
            require_act_on(session, by, row)
        _guard(session, by, found, starts_at=starts_at, ends_at=ends_at, max_length=max_length, now=now)
    if not comment.strip():
        raise InvalidInput("a silence needs a comment saying why")
    if recurrence is None and ends_at is not None and ends_at <= now and name is None:
        raise InvalidInput(f"the silence would end at {ends_at.isoformat()}, which has passed")
    what = f"silence {name!r}" if name else "silence"
    _check(
        matchers=matchers,
        starts_at=starts_at,
        ends_at=ends_at,
        service_id=service_id,
        recurrence=recurrence,
        duration_seconds=duration_seconds,
        what=what,
    )
    fresh = row is None
    if row is None:
        row = SilenceRow(name=name, created_at=now)
    row.matchers = [dict(m) for m in matchers]
    row.service_id = service_id
    row.starts_at = starts_at
    row.ends_at = ends_at
    row.recurrence = recurrence
    row.duration_seconds = duration_seconds
    row.author = author
    row.comment = comment.strip()
    row.created_by_user_id = created_by_user_id
    row.reminded_at = None
    if fresh:
        repo.add_row(session, row)
    session.flush()
    if by is not None and found is not None:
        _announce(session, by, found, row, now=now)
    routing.bump(session, now)
    return row


def _guard(
    session: Session,
    by: Viewer,
    service: Service | None,
    *,
    starts_at: datetime,
    ends_at: datetime | None,
    max_length: timedelta | None,
    now: datetime,
) -> None:
    """A silence someone who is not an admin sets is about one service of their team, and ends within the limit."""
    if by.is_admin:
        return
    if service is None:
        raise InvalidInput(
            "a silence must name its service (only admins may set silences across services)",
            errors=["service: required"],
        )
    access.require_act(session, by, [service.team_id], f"silences of service {service.name!r}")
    if max_length is not None:
        if ends_at is None:
            raise InvalidInput("a silence needs an end", errors=["ends_at: required"])
        access_policy.check_duration(by, starts_at, ends_at, limit=max_length, what="a silence", now=now)


def _announce(session: Session, by: Viewer, service: Service, row: SilenceRow, *, now: datetime) -> None:
    """The team owning the service learns of a silence set by someone who does not manage it."""
    if service.team_id is None or not access_policy.needs_notice(by, service.team_id):
        return
    until = row.ends_at.isoformat() if row.ends_at is not None else "further notice"
    notices.notify_team(
        session,
        team_id=service.team_id,
        key=f"silence:{row.id}:{int(now.timestamp())}",
        text=f"{row.author} silenced service {service.name!r} until {until}: {row.comment}",
        now=now,
        skip_user_id=by.user_id,
    )


def require_act_on(session: Session, by: Viewer, row: SilenceRow) -> None:
    """Changing or ending a silence takes the same standing as setting one on its service."""
    if by.is_admin:
        return
    service = service_repo.get(session, row.service_id) if row.service_id is not None else None
    if service is None:
        access_policy.require_admin(by, f"silence #{row.id}, which spans services")
        return
    access.require_act(session, by, [service.team_id], f"silences of service {service.name!r}")


def get_silence(session: Session, silence_id: int) -> SilenceRow:
    row = repo.silence(session, silence_id)
    if row is None:
        raise NotFound(f"silence {silence_id} not found")
    return row


def list_silences(session: Session, *, now: datetime, include_expired: bool = False) -> list[SilenceRow]:
    return repo.all_silences(session, include_expired=include_expired, now=now)


def active_now(session: Session, *, now: datetime) -> list[tuple[SilenceRow, datetime | None]]:
    """The silences muting alerts right now, each with when its current window ends.

    Read from the compiled rules, which cost one lookup of the rules' version while they are unchanged; rows are
    fetched by id only when something is active."""
    ends: dict[int, datetime | None] = {}
    for silence in routing.ruleset(session, now).silences:
        window = silence.window_at(now)
        if window is not None:
            ends[silence.id] = window[1]
    rows = repo.silences_by_ids(session, ends.keys())
    return [(rows[sid], end) for sid, end in ends.items() if sid in rows]


def state_of(row: SilenceRow, now: datetime) -> str:
    """``active``, ``upcoming`` (not yet started, or a maintenance window between occurrences) or ``ended``."""
    if row.ends_at is not None and row.ends_at <= now:
        return "ended"
    try:
        compiled = routing.compile_silence(row)
    except RuleError:
        return "upcoming"
    return "active" if compiled.window_at(now) is not None else "upcoming"


def expire_silence(session: Session, silence_id: int, *, now: datetime, by: Viewer | None = None) -> SilenceRow:
    """End a silence now (kept for the record, as Alertmanager does)."""
    row = get_silence(session, silence_id)
    if by is not None:
        require_act_on(session, by, row)
    if row.ends_at is not None and row.ends_at <= now:
        raise InvalidInput(f"silence {silence_id} has already ended")
    row.ends_at = max(now, row.starts_at)
    routing.bump(session, now)
    return row


def delete_silence_by_name(session: Session, name: str, *, now: datetime) -> None:
    row = repo.silence_by_name(session, name)
    if row is None:
        raise NotFound(f"silence {name!r} not found")
    repo.delete_row(session, row)
    routing.bump(session, now)


def due_reminders(session: Session, *, now: datetime, before: timedelta = REMIND_BEFORE) -> list[SilenceRow]:
    """Silences that end within ``before`` and whose author has not been told yet; marks them reminded."""
    rows = repo.silences_to_remind(session, now, now + before)
    for row in rows:
        row.reminded_at = now
    return rows


def next_reminder(session: Session, *, now: datetime, before: timedelta = REMIND_BEFORE) -> datetime | None:
    ends = repo.next_reminder_due(session, now)
    return None if ends is None else max(now, ends - before)


def remind_authors(session: Session, *, now: datetime, before: timedelta = REMIND_BEFORE) -> int:
    """Queue a message to the author of each silence about to end; one per silence (idempotency key)."""
    queued = 0
    for row in due_reminders(session, now=now, before=before):
        if row.created_by_user_id is None:
            continue
        methods = notify_repo.contact_methods_of(session, [row.created_by_user_id])[row.created_by_user_id]
        if not methods:
            continue
        assert row.ends_at is not None
        minutes = max(1, int((row.ends_at - now).total_seconds() // 60))
        text = f"Your silence #{row.id} ({row.comment}) ends in {minutes} min."
        queued += notify_repo.add_notifications(
            session,
            [
                {
                    "idempotency_key": f"silence-ends:{row.id}:{int(row.ends_at.timestamp())}",
                    "kind": "status",
                    "incident_id": None,
                    "user_id": row.created_by_user_id,
                    "contact_method_id": methods[0].id,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "fence": 0,
                    "payload": {"text": text, "silence_id": row.id},
                    "created_at": now,
                }
            ],
        )
    return queued


def notify_resolved_while_silenced(session: Session, incident: Incident, silence_id: int, *, now: datetime) -> int:
    """An incident that paged people and then resolved under a silence: they still learn it is over.

    Everyone the policy paged for it gets one message on the contact method it was paged on, and the timeline
    records the notice; a silence mutes new pages, not the news that a page is over.
    """
    paged: dict[int, int] = {}
    for n in notify_repo.of_incident(session, incident.id):
        if n.kind == "page":
            paged.setdefault(n.user_id, n.contact_method_id)
    rows = [
        {
            "idempotency_key": f"resolved:{incident.id}:{user_id}",
            "kind": "status",
            "incident_id": incident.id,
            "user_id": user_id,
            "contact_method_id": cm_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "fence": 0,
            "payload": {"text": f"Incident #{incident.number} resolved (while silenced): {incident.title}"},
            "created_at": now,
        }
        for user_id, cm_id in paged.items()
    ]
    queued = notify_repo.add_notifications(session, rows)
    incident_repo.add_timeline(
        session,
        [
            timeline_row(
                incident.id,
                TimelineKind.RESOLVED_NOTICE,
                Actor(label="silence", source="engine"),
                now,
                f"Resolved while silence #{silence_id} was active; {queued} responder(s) told",
                silence_id=silence_id,
                users=sorted(paged),
            )
        ],
    )
    return queued
