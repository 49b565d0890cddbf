"""Incident use cases. Each takes a session, writes the timeline, and never commits."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.core.errors import BadRequest, Conflict, InvalidInput, InvalidTransition, NotFound
from tocsin.core.numbers import ascii_int, is_ascii_digits
from tocsin.core.pagination import decode_cursor, encode_cursor
from tocsin.incidents import lifecycle, milestones, phases, taxonomy
from tocsin.incidents import repository as repo
from tocsin.incidents.hooks import HOOKS, StatusChange
from tocsin.incidents.lifecycle import IncidentStatus, ResponseStatus
from tocsin.incidents.models import AffectedService, Incident, TimelineEntry
from tocsin.incidents.priority import PRIORITIES, URGENCIES, default_priority
from tocsin.incidents.schemas import Actor, IncidentFilter, NewIncident, TypeDefaults
from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.services import repository as service_repo
from tocsin.services.models import Service
from tocsin.users import repository as user_repo

INCIDENT_COUNTER = "incident_number"
# Kinds whose events already say the paging state they lead to (the paging table's own).
_PAGING_KINDS = frozenset(lifecycle.ALLOWED.values())


def open_incidents(
    session: Session,
    specs: Sequence[NewIncident],
    *,
    actor: Actor,
    now: datetime,
    alert_counts: Sequence[int] | None = None,
    majors: Sequence[bool] | None = None,
    origin: tuple[str, dict[str, Any]] | None = None,
) -> list[repo.OpenedIncident]:
    """Create incidents in one go (the ingest path opens many per transaction) and write their first entry; a
    caller that changes them further loads them (``get``).

    ``alert_counts`` and ``majors``, one per spec, are stored with the incidents (by default 0 and False);
    ``origin`` (a text and its data) says in the first entry where the incidents came from (a service request)."""
    if not specs:
        return []
    hooks = HOOKS.ready()
    counts = alert_counts if alert_counts is not None else [0] * len(specs)
    major = majors if majors is not None else [False] * len(specs)
    numbers = repo.allocate_numbers(session, INCIDENT_COUNTER, len(specs))
    kinds = [_type_named(session, spec.incident_type) for spec in specs]
    known_categories: set[str] | None = None
    if any(spec.category for spec in specs):
        known_categories = {c.name for c in taxonomy.categories(session)}
    rows = []
    for number, spec, alert_count, is_major, kind in zip(numbers, specs, counts, major, kinds, strict=True):
        category = spec.category if known_categories is not None and spec.category in known_categories else ""
        rows.append(
            {
                "number": number,
                "title": spec.title[:1024],
                "description": spec.description,
                "service_id": spec.service_id,
                "status": lifecycle.TRIGGERED,
                "urgency": spec.urgency,
                "severity": spec.severity,
                "priority": spec.priority,
                "alert_count": alert_count,
                "assigned_user_id": None,
                "created_by_user_id": spec.created_by_user_id,
                # A type that keeps its incidents private makes them so (ADR 0021, ADR 0022); a person may open
                # one private whatever its type, and make it public later with a reason.
                "private": spec.private or (kind is not None and kind.private),
                "private_team_id": spec.private_team_id
                or (kind.private_team_id if kind is not None and kind.private else None),
                "created_at": now,
                "updated_at": now,
                "acknowledged_at": None,
                "resolved_at": None,
                "major": is_major or (kind is not None and kind.major),
                "response_status": lifecycle.ResponseStatus.TRIAGE,
                "phase_model": kind.phase_model if kind is not None else "default",
                # Monitoring detects; a person who declares one reports it.
                "detected_at": now if spec.created_by_user_id is None else None,
                "reported_at": now if spec.created_by_user_id is not None else None,
                "type_id": kind.id if kind is not None else None,
                "category": category,
                "conference_url": spec.conference_url or (kind.bridge_for(number) if kind is not None else ""),
                "drill": spec.drill,
            }
        )
    stored = repo.add_incidents(session, rows)
    incidents = [
        dataclasses.replace(i, pages=kind.pages) if kind is not None else i
        for i, kind in zip(stored, kinds, strict=True)
    ]
    said, data = origin if origin is not None else ("", {})
    entries = [
        timeline_row(i.id, TimelineKind.TRIGGERED, actor, now, f"Incident #{i.number} opened{said}", **data)
        for i in incidents
    ]
    for i, kind, was_major in zip(incidents, kinds, major, strict=True):
        if kind is not None:
            entries.append(
                timeline_row(i.id, TimelineKind.TYPE_CHANGED, actor, now, f"Type {kind.name}", type=kind.name)
            )
            if kind.major and not was_major:
                entries.append(timeline_row(i.id, TimelineKind.MAJOR, actor, now, f"Major incident (type {kind.name})"))
    repo.add_timeline(session, entries)
    hooks.opened(session, incidents, now)
    return incidents


def _type_named(session: Session, name: str | None) -> TypeDefaults | None:
    """The type of that name, or None (no name, or a name the types do not know: the ingest path opens anyway)."""
    book = HOOKS.types
    if not name or book is None:
        return None
    return book.find(session, name)


def find_type(session: Session, name: str) -> TypeDefaults:
    """The type of that name; a 422 naming the defined ones otherwise."""
    book = HOOKS.types
    found = book.find(session, name) if book is not None else None
    if found is None:
        known = book.names(session) if book is not None else []
        raise InvalidInput(f"unknown incident type {name!r}; defined: {', '.join(known) or 'none'}")
    return found


def type_of(session: Session, incident: Incident) -> TypeDefaults | None:
    """The incident's type, or None (Standard behaviour)."""
    book = HOOKS.types
    if incident.type_id is None or book is None:
        return None
    return book.of_id(session, incident.type_id)


def pages(session: Session, incident: Incident) -> bool:
    """Whether the incident's type pages (no type: it does; ADR 0021)."""
    kind = type_of(session, incident)
    return kind is None or kind.pages


def silent_type_ids(session: Session) -> list[int]:
    """Ids of the incident types that do not page."""
    book = HOOKS.types
    return book.silent_ids(session) if book is not None else []


def check_conference_url(url: str) -> str:
    """An http(s) URL people can open ("" clears it); 422 otherwise."""
    clean = url.strip()
    if not clean:
        return ""
    parsed = urlsplit(clean)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(clean) > 2000 or not clean.isprintable():
        raise InvalidInput(f"the conference bridge must be an http(s) URL of at most 2000 characters, not {clean!r}")
    return clean


def change_status(
    session: Session,
    incident: Incident,
    target: IncidentStatus,
    *,
    actor: Actor,
    now: datetime,
    message: str = "",
    escalating_by_hand: bool = False,
) -> None:
    """The single place where an incident's paging state changes. The status reactions registered in ``hooks``
    follow it in the same transaction: paging stops on acknowledge and resolve and starts over on a re-trigger
    (unless ``escalating_by_hand``: the caller then pages the next step itself), chat messages already sent are
    updated. The response status follows as the move table says (acknowledging ends triage)."""
    move = lifecycle.paging_move(incident.status, incident.response_status, target)
    _apply(session, incident, move, actor=actor, now=now, message=message, escalating_by_hand=escalating_by_hand)


def change_response(
    session: Session, incident_id: int, target: ResponseStatus, *, actor: Actor, now: datetime, message: str = ""
) -> Incident:
    """Move the response (investigating → identified → mitigated …); paging follows as the move table says:
    ending the response stops it and resolves the alerts, reopening pages again."""
    incident = _locked(session, incident_id)
    move = lifecycle.response_move(incident.status, incident.response_status, target)
    resolving = move.status == lifecycle.RESOLVED and incident.status != lifecycle.RESOLVED
    _apply(session, incident, move, actor=actor, now=now, message=message)
    if resolving:
        HOOKS.resolved_by_hand(session, incident, now)
    return incident


def reopen(session: Session, incident_id: int, *, actor: Actor, now: datetime, message: str = "") -> Incident:
    """A resolved incident back to investigating: its milestones from resolving on are cleared and paging starts
    again."""
    return change_response(session, incident_id, ResponseStatus.INVESTIGATING, actor=actor, now=now, message=message)


def _apply(
    session: Session,
    incident: Incident,
    move: lifecycle.Move,
    *,
    actor: Actor,
    now: datetime,
    message: str,
    escalating_by_hand: bool = False,
) -> None:
    hooks = HOOKS.ready()
    previous, previous_response = incident.status, incident.response_status
    incident.status, incident.response_status = move.status, move.response
    incident.updated_at = now
    if move.status != previous:
        if move.status == lifecycle.ACKNOWLEDGED:
            incident.acknowledged_at = now
            if incident.assigned_user_id is None and actor.user_id is not None:
                # Whoever acknowledges an incident nobody owns owns it (the Assigned column showed no one).
                incident.assigned_user_id = actor.user_id
        elif move.status == lifecycle.RESOLVED:
            incident.resolved_at = now
        elif move.status == lifecycle.TRIGGERED:
            incident.acknowledged_at = None
    if move.kind == TimelineKind.REOPENED:
        incident.resolved_at = incident.closed_at = incident.impact_ended_at = None
    milestone = milestones.SET_BY.get(move.response)
    if milestone is not None and getattr(incident, milestones.COLUMNS[milestone]) is None:
        setattr(incident, milestones.COLUMNS[milestone], now)
    data: dict[str, Any] = {"previous": previous}
    changes: dict[str, Any] = {}
    if move.response != previous_response:
        changes["response_status"] = {"from": previous_response, "to": move.response}
    if move.status != previous and move.kind not in _PAGING_KINDS:
        changes["status"] = {"from": previous, "to": move.status}
    if changes:
        data["changes"] = changes
    text = message or _move_message(move, previous_response)
    repo.add_timeline(session, [timeline_row(incident.id, move.kind, actor, now, text, **data)])
    if move.status != previous:
        change = StatusChange(incident, previous, move.status, actor, now, escalating_by_hand=escalating_by_hand)
        hooks.status_changed(session, change)


def _move_message(move: lifecycle.Move, previous_response: ResponseStatus) -> str:
    if move.kind == TimelineKind.REOPENED:
        return "Reopened"
    if move.response != previous_response and move.kind == TimelineKind.RESPONSE_CHANGED:
        return f"Response {previous_response} → {move.response}"
    return ""


def edit_milestone(
    session: Session, incident_id: int, name: str, at: datetime | None, *, reason: str, actor: Actor, now: datetime
) -> Incident:
    """Correct a milestone afterwards, with the reason kept in the timeline; an order that cannot be is refused."""
    milestones.check_name(name)
    if not reason.strip():
        raise InvalidInput("say why the milestone changes (reason)")
    if at is not None and at > now:
        raise InvalidInput(f"{name.replace('_', ' ')} cannot be in the future")
    incident = _locked(session, incident_id)
    column = milestones.COLUMNS[name]
    before = getattr(incident, column)
    times = {n: getattr(incident, c) for n, c in milestones.COLUMNS.items()}
    times[name] = at
    problems = milestones.out_of_order(times)
    if problems:
        raise InvalidInput("milestones out of order: " + "; ".join(problems), errors=problems)
    if before == at:
        return incident
    setattr(incident, column, at)
    incident.updated_at = now
    change = {"from": before.isoformat() if before else None, "to": at.isoformat() if at else None}
    row = timeline_row(
        incident.id, TimelineKind.MILESTONE_EDITED, actor, now, reason.strip(), milestone=name, changes={column: change}
    )
    repo.add_timeline(session, [row])
    HOOKS.milestone_edited(session, incident, name, now)
    return incident


def phase_times(session: Session, incident: Incident, *, now: datetime) -> list[tuple[str, timedelta]]:
    """Time spent in each phase of the incident's model, from the moves its timeline records."""
    moves: list[tuple[datetime, str]] = [(incident.created_at, lifecycle.ResponseStatus.TRIAGE)]
    for at, reached in repo.response_moves(session, incident.id):
        moves.append((at, reached))
    return phases.time_in_phases(incident.phase_model, moves, now=now)


def set_phase_model(session: Session, incident_id: int, model: str, *, actor: Actor, now: datetime) -> Incident:
    phases.check_model(model)
    incident = _locked(session, incident_id)
    if incident.phase_model != model:
        change = {"phase_model": {"from": incident.phase_model, "to": model}}
        incident.phase_model = model
        incident.updated_at = now
        row = timeline_row(incident.id, TimelineKind.UPDATED, actor, now, f"Phase model {model}", changes=change)
        repo.add_timeline(session, [row])
    return incident


def first_time(session: Session, name: str) -> bool:
    """True for the first caller ever to ask with ``name`` in this database (one-off set-up steps); the counter
    row's lock makes two nodes agree on who was first."""
    return repo.allocate_numbers(session, name, 1)[0] == 1


def get(session: Session, ref: int | str) -> Incident:
    """Find by id, or by number when given as "#12" or "number:12"."""
    incident: Incident | None
    if isinstance(ref, str) and (ref.startswith("#") or ref.startswith("number:")):
        digits = ref.lstrip("#").removeprefix("number:")
        if not is_ascii_digits(digits):
            raise BadRequest(f"not an incident number: {ref!r}")
        incident = repo.get_by_number(session, int(digits))
    else:
        number = ascii_int(ref)
        if number is None:
            raise BadRequest(f"not an incident id: {ref!r}")
        incident = repo.get(session, number)
    if incident is None:
        raise NotFound(f"incident {ref} not found")
    return incident


def _locked(session: Session, incident_id: int) -> Incident:
    incident = repo.get(session, incident_id, for_update=True)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    return incident


def acknowledge(session: Session, incident_id: int, *, actor: Actor, now: datetime) -> Incident:
    incident = _locked(session, incident_id)
    change_status(session, incident, lifecycle.ACKNOWLEDGED, actor=actor, now=now)
    return incident


def resolve(session: Session, incident_id: int, *, actor: Actor, now: datetime, message: str = "") -> Incident:
    """Resolving an incident resolves its open alerts too, so that their dedup keys start afresh."""
    incident = _locked(session, incident_id)
    change_status(session, incident, lifecycle.RESOLVED, actor=actor, now=now, message=message)
    HOOKS.resolved_by_hand(session, incident, now)
    return incident


def retrigger(session: Session, incident_id: int, *, actor: Actor, now: datetime, message: str = "") -> Incident:
    incident = _locked(session, incident_id)
    change_status(session, incident, lifecycle.TRIGGERED, actor=actor, now=now, message=message)
    return incident


def escalate_now(session: Session, incident_id: int, *, actor: Actor, now: datetime) -> Incident:
    """Page the next step at once. An acknowledged incident is handed on: it pages again from the next step."""
    pager = HOOKS.pager()
    incident = _locked(session, incident_id)
    if incident.status == lifecycle.RESOLVED:
        raise InvalidTransition("a resolved incident cannot be escalated")
    if incident.status == lifecycle.ACKNOWLEDGED:
        change_status(
            session,
            incident,
            lifecycle.TRIGGERED,
            actor=actor,
            now=now,
            message="Escalated by hand",
            escalating_by_hand=True,
        )
    pager.fire_now(session, incident, actor=actor, now=now)
    return incident


def record(
    session: Session, incident_id: int, kind: TimelineKind, message: str, *, actor: Actor, now: datetime, **data: Any
) -> None:
    """An entry written for another domain's change to the response (a task added, a checklist done), with its
    incident event; the incident counts as updated."""
    incident = _locked(session, incident_id)
    incident.updated_at = now
    repo.add_timeline(session, [timeline_row(incident.id, kind, actor, now, message, **data)])


def add_note(session: Session, incident_id: int, text: str, *, actor: Actor, now: datetime) -> TimelineEntry:
    body = text.strip()
    if not body:
        raise InvalidInput("a note needs some text")
    if len(body) > 20_000:
        raise InvalidInput("a note is limited to 20,000 characters")
    incident = _locked(session, incident_id)
    incident.updated_at = now
    return repo.add_timeline_entry(session, timeline_row(incident.id, TimelineKind.NOTE, actor, now, body))


def reassign(
    session: Session,
    incident_id: int,
    *,
    actor: Actor,
    now: datetime,
    user_id: int | None = None,
    policy_id: int | None = None,
) -> Incident:
    """Hand the incident to a person or to another escalation policy; whoever it goes to is paged from now on.

    An acknowledged incident goes back to triggered, so that the new owner is paged and has to acknowledge.
    """
    if (user_id is None) == (policy_id is None):
        raise InvalidInput("reassign to exactly one of: a user, an escalation policy")
    pager = HOOKS.pager()
    incident = _locked(session, incident_id)
    if not lifecycle.is_open(incident.status):
        raise InvalidInput("a resolved incident cannot be reassigned")
    if user_id is not None:
        user = user_repo.get(session, user_id)
        if user is None:
            raise InvalidInput(f"user {user_id} does not exist")
        previous = incident.assigned_user_id
        incident.assigned_user_id = user.id
        pager.retarget_to_user(session, incident, user.id, now=now)
        entry = timeline_row(
            incident.id, TimelineKind.REASSIGNED, actor, now, f"Assigned to {user.name}", previous=previous, to=user.id
        )
    else:
        assert policy_id is not None
        name = pager.retarget_to_policy(session, incident, policy_id, now=now)
        entry = timeline_row(
            incident.id, TimelineKind.REASSIGNED, actor, now, f"Handed to escalation policy {name}", policy=policy_id
        )
    incident.updated_at = now
    repo.add_timeline(session, [entry])
    if incident.status == lifecycle.ACKNOWLEDGED:
        change_status(session, incident, lifecycle.TRIGGERED, actor=actor, now=now, message="reassigned")
    else:
        pager.restart(session, incident, now=now)
    return incident


def update_fields(
    session: Session,
    incident_id: int,
    *,
    actor: Actor,
    now: datetime,
    severity: str | None = None,
    priority: str | None = None,
    urgency: str | None = None,
    title: str | None = None,
    category: str | None = None,
    conference_url: str | None = None,
) -> Incident:
    """Change the plain fields; every value is checked before any is changed (a bad one changes nothing)."""
    if severity is not None:
        taxonomy.check_severity(session, severity)
    if category is not None:
        taxonomy.check_category(session, category)
    if conference_url is not None:
        conference_url = check_conference_url(conference_url)
    incident = _locked(session, incident_id)
    changes: dict[str, Any] = {}
    for name, value, allowed in (
        ("severity", severity, tuple(taxonomy.severity_names(session)) if severity is not None else ()),
        ("priority", priority, PRIORITIES),
        ("urgency", urgency, URGENCIES),
    ):
        if value is None:
            continue
        if value not in allowed:
            raise InvalidInput(f"{name} must be one of {', '.join(allowed)}")
        if getattr(incident, name) != value:
            changes[name] = {"from": getattr(incident, name), "to": value}
            setattr(incident, name, value)
    for name, value in (("category", category), ("conference_url", conference_url)):
        if value is not None and getattr(incident, name) != value:
            changes[name] = {"from": getattr(incident, name), "to": value}
            setattr(incident, name, value)
    if title is not None and title.strip() and title != incident.title:
        changes["title"] = {"from": incident.title, "to": title.strip()[:1024]}
        incident.title = title.strip()[:1024]
    if changes:
        incident.updated_at = now
        summary = ", ".join(f"{k} {v['from']} → {v['to']}" for k, v in changes.items())
        repo.add_timeline(
            session, [timeline_row(incident.id, TimelineKind.UPDATED, actor, now, summary, changes=changes)]
        )
    return incident


def declare(
    session: Session,
    *,
    service_id: int,
    title: str,
    actor: Actor,
    now: datetime,
    description: str = "",
    urgency: str | None = None,
    severity: str | None = None,
    priority: str | None = None,
    origin: tuple[str, dict[str, Any]] | None = None,
    private: bool = False,
    private_team_id: int | None = None,
    incident_type: str | None = None,
    category: str | None = None,
    conference_url: str | None = None,
) -> Incident:
    """A person opens an incident by hand (``origin``: see ``open_incidents``). A type (ADR 0021) sets its defaults;
    a severity given wins over the type's. A private one (ADR 0022) is seen by its participants, the members of
    ``private_team_id`` and admins only; a type that keeps its incidents private makes it so."""
    service = service_repo.get(session, service_id)
    if service is None:
        raise InvalidInput(f"service {service_id} does not exist")
    if service.archived_at is not None:
        raise InvalidInput(f"service {service.name!r} is archived; unarchive it to open incidents on it")
    if not title.strip():
        raise InvalidInput("an incident needs a title")
    urgency = urgency or (service.urgency if service.urgency in URGENCIES else "high")
    if urgency not in URGENCIES:
        raise InvalidInput(f"urgency must be one of {', '.join(URGENCIES)}")
    kind = find_type(session, incident_type) if incident_type else None
    severity = severity or (kind.severity if kind is not None else "SEV3")
    taxonomy.check_severity(session, severity)
    if category:
        taxonomy.check_category(session, category)
    bridge = check_conference_url(conference_url) if conference_url else None
    if priority is not None and priority not in PRIORITIES:
        raise InvalidInput(f"priority must be one of {', '.join(PRIORITIES)}")
    spec = NewIncident(
        service_id=service.id,
        title=title.strip(),
        description=description,
        urgency=urgency,
        severity=severity,
        priority=priority or default_priority(severity, urgency),
        created_by_user_id=actor.user_id,
        private=private,
        private_team_id=private_team_id,
        incident_type=kind.name if kind is not None else None,
        category=category or None,
        conference_url=bridge,
    )
    (opened,) = open_incidents(session, [spec], actor=actor, now=now, origin=origin)
    incident = repo.get(session, opened.id)
    assert incident is not None
    return incident


def list_incidents(
    session: Session, flt: IncidentFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[Incident], str | None]:
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    before = decode_cursor(cursor) if cursor else None
    rows = repo.search(session, flt, before_id=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)


def timeline(session: Session, incident_id: int, *, after_id: int = 0) -> list[TimelineEntry]:
    get(session, incident_id)
    return repo.timeline(session, incident_id, after_id=after_id)


def open_counts(session: Session) -> dict[str, int]:
    return repo.count_open(session)


def refuse_service_deletion(session: Session, service: Service) -> None:
    """Incidents are history: a service that has any is archived, never deleted with them (ADR 0012)."""
    count = repo.count_of_service(session, service.id) + repo.count_affecting(session, service.id)
    if count:
        raise Conflict(
            f"service {service.name!r} has {count} incident(s) in its history; archive it instead of deleting it"
        )


def refuse_service_archive(session: Session, service: Service) -> None:
    """Nobody's response loses the service under it: archiving waits until its incidents are resolved."""
    numbers = repo.numbers_of_service(session, service.id, open_only=True)
    if numbers:
        listed = ", ".join(f"#{n}" for n in numbers)
        raise Conflict(f"service {service.name!r} has open incidents ({listed}); resolve them before archiving")


def open_counts_by_service(session: Session, viewer: Viewer | None = None) -> dict[int, int]:
    """Open incidents per service id (services without any are left out); with ``viewer``, only those they see."""
    return repo.open_counts_by_service(session, viewer)


def retrigger_expired_acks(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Acknowledged incidents not resolved within their service's ack timeout page again."""
    expired = repo.expired_acks(session, now, limit)
    actor = Actor(label="acknowledgement timeout", source="engine")
    for incident in expired:
        change_status(
            session,
            incident,
            lifecycle.TRIGGERED,
            actor=actor,
            now=now,
            message="Acknowledgement timed out; paging again",
        )
    return len(expired)


def next_ack_expiry(session: Session) -> datetime | None:
    return repo.next_ack_expiry(session)


def latest_change(session: Session) -> int:
    """The id of the newest timeline entry: every change of any incident moves it."""
    return repo.latest_timeline_id(session)


def changed_since(session: Session, after_id: int) -> list[int]:
    """Ids of the incidents whose timeline grew after ``after_id``."""
    return repo.incidents_changed_since(session, after_id)


# --- type, major flag, affected services (ADR 0021) ---------------------------------------------------------


def set_type(session: Session, incident_id: int, kind: TypeDefaults | None, *, actor: Actor, now: datetime) -> Incident:
    """Change the incident's type (None: back to Standard behaviour), kept in the timeline. Only the type changes:
    severity, phases and the rest stay as the people working it set them."""
    incident = _locked(session, incident_id)
    target = kind.id if kind is not None else None
    if incident.type_id == target:
        return incident
    before = type_of(session, incident)
    incident.type_id = target
    incident.updated_at = now
    name = kind.name if kind is not None else "Standard"
    change = {"type": {"from": before.name if before is not None else None, "to": kind.name if kind else None}}
    row = timeline_row(incident.id, TimelineKind.TYPE_CHANGED, actor, now, f"Type {name}", type=name, changes=change)
    repo.add_timeline(session, [row])
    return incident


def set_major(session: Session, incident_id: int, major: bool, *, reason: str, actor: Actor, now: datetime) -> Incident:
    """Mark or unmark a major incident by hand; the reason is kept in the timeline."""
    if not reason.strip():
        raise InvalidInput("say why (reason)")
    if len(reason) > 2000:
        raise InvalidInput("a reason is limited to 2000 characters")
    incident = _locked(session, incident_id)
    if incident.major == major:
        raise Conflict(f"the incident is {'already' if major else 'not'} a major incident")
    incident.major = major
    incident.updated_at = now
    text = ("Marked as a major incident: " if major else "No longer a major incident: ") + reason.strip()
    change = {"major": {"from": not major, "to": major}}
    repo.add_timeline(session, [timeline_row(incident.id, TimelineKind.MAJOR, actor, now, text, changes=change)])
    return incident


def affected_services(session: Session, incident_id: int) -> list[int]:
    """Ids of the services the incident affects besides its primary one, in the order they were added."""
    return [row.service_id for row in repo.affected_services(session, incident_id)]


def affected_services_of(session: Session, incident_ids: Sequence[int]) -> dict[int, list[int]]:
    """incident id → ids of the services it affects besides its primary one (incidents without any left out)."""
    found: dict[int, list[int]] = {}
    for row in repo.affected_of(session, incident_ids):
        found.setdefault(row.incident_id, []).append(row.service_id)
    return found


def add_affected_service(
    session: Session, incident_id: int, service_id: int, *, actor: Actor, now: datetime
) -> Incident:
    service = service_repo.get(session, service_id)
    if service is None:
        raise NotFound(f"service {service_id} not found")
    incident = _locked(session, incident_id)
    if service.id == incident.service_id:
        raise Conflict(f"{service.name!r} is the incident's primary service")
    if repo.affected_service(session, incident.id, service.id) is not None:
        raise Conflict(f"the incident already affects {service.name!r}")
    session.add(AffectedService(incident_id=incident.id, service_id=service.id, added_at=now))
    incident.updated_at = now
    row = timeline_row(
        incident.id, TimelineKind.SERVICE_AFFECTED, actor, now, f"Affects {service.name}", service=service.id
    )
    repo.add_timeline(session, [row])
    session.flush()
    return incident


def remove_affected_service(
    session: Session, incident_id: int, service_id: int, *, actor: Actor, now: datetime
) -> Incident:
    incident = _locked(session, incident_id)
    found = repo.affected_service(session, incident.id, service_id)
    if found is None:
        raise NotFound(f"the incident does not list service {service_id} as affected")
    service = service_repo.get(session, service_id)
    session.delete(found)
    incident.updated_at = now
    name = service.name if service is not None else str(service_id)
    row = timeline_row(
        incident.id, TimelineKind.SERVICE_UNAFFECTED, actor, now, f"No longer affects {name}", service=service_id
    )
    repo.add_timeline(session, [row])
    session.flush()
    return incident
