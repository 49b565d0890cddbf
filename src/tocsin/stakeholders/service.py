"""Stakeholder updates inside the organisation (ADR 0028): groups that subscribe to incidents by service,
severity and type; updates written on an incident (free text or a template over the incident field table) and sent
to the matching groups — users through their own contact methods (the notices path, email or chat), plain
addresses by email through the engine — and kept on the timeline; and the cadence that says when the next is due.

Private incidents reach only groups marked ``private_ok``; a drill's updates are marked DRILL and reach only the
drill's participants, never a group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents import service as incidents
from tocsin.incidents import taxonomy, visibility
from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify import notices
from tocsin.response import repository as response_repo
from tocsin.response import roles as response_roles
from tocsin.response import templates
from tocsin.response import types as incident_types
from tocsin.response.fields import Subject, view
from tocsin.services import service as services
from tocsin.stakeholders import repository as repo
from tocsin.stakeholders.models import StakeholderDelivery, StakeholderGroup, StakeholderUpdate
from tocsin.users import service as users

EMAIL: Final = re.compile(r"^[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]{1,255}\.[^@\s<>\"',;]{2,63}$")
MAX_BODY: Final = 10_000
MAX_MEMBERS: Final = 500
DRILL_MARK: Final = "[DRILL]"
# Who is reminded when an update is due, in order: the first role someone holds; the owner when neither is held.
REMINDED_ROLES: Final = ("Communications Lead", "Incident Commander")
# The roles that speak for an incident on an external status page (one voice).
VOICE_ROLES: Final = REMINDED_ROLES


@dataclass(slots=True)
class GroupSpec:
    name: str
    description: str = ""
    users: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    min_severity: str | None = None
    types: list[str] = field(default_factory=list)
    private_ok: bool = False


# --- groups -----------------------------------------------------------------------------------------------------


def list_groups(session: Session) -> list[StakeholderGroup]:
    return repo.groups(session)


def get_group(session: Session, ref: int | str) -> StakeholderGroup:
    key: int | str = int(ref) if isinstance(ref, str) and is_ascii_digits(ref) else ref
    found = repo.group(session, key)
    if found is None and isinstance(key, int):
        found = repo.group(session, str(ref))
    if found is None:
        raise NotFound(f"stakeholder group {ref} not found")
    return found


def find_group(session: Session, name: str) -> StakeholderGroup | None:
    return repo.group(session, name)


def _unique(items: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _check(session: Session, spec: GroupSpec) -> dict[str, Any]:
    name = (spec.name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("name: 1 to 200 characters")
    if len(spec.users) + len(spec.emails) > MAX_MEMBERS:
        raise InvalidInput(f"members: at most {MAX_MEMBERS} users and addresses together")
    user_ids = []
    for ref in spec.users:
        try:
            user_ids.append(users.get_user(session, ref).id)
        except NotFound:
            raise InvalidInput(f"users: unknown user {ref!r}") from None
    emails = []
    for address in spec.emails:
        text = (address or "").strip().lower()
        if not EMAIL.match(text) or len(text) > 320:
            raise InvalidInput(f"emails: {address!r} is not an email address")
        emails.append(text)
    service_ids = []
    for ref in spec.services:
        try:
            service_ids.append(services.get_service(session, ref).id)
        except NotFound:
            raise InvalidInput(f"services: unknown service {ref!r}") from None
    type_ids = []
    for type_name in spec.types:
        try:
            type_ids.append(incident_types.get_type(session, type_name).id)
        except NotFound as exc:
            raise InvalidInput(f"types: {exc.detail}") from None
    severity = None
    if spec.min_severity:
        try:
            severity = taxonomy.check_severity(session, spec.min_severity)
        except InvalidInput as exc:
            raise InvalidInput(f"min_severity: {exc.detail}") from None
    return {
        "name": name,
        "description": (spec.description or "")[:20_000],
        "user_ids": _unique(user_ids),
        "emails": _unique(emails),
        "service_ids": _unique(service_ids),
        "type_ids": _unique(type_ids),
        "min_severity": severity,
        "private_ok": bool(spec.private_ok),
    }


def create_group(session: Session, spec: GroupSpec, *, now: datetime) -> StakeholderGroup:
    values = _check(session, spec)
    if repo.group(session, values["name"]) is not None:
        raise Conflict(f"a stakeholder group named {values['name']!r} exists")
    row = StakeholderGroup(**values, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def update_group(session: Session, row: StakeholderGroup, spec: GroupSpec, *, now: datetime) -> StakeholderGroup:
    values = _check(session, spec)
    other = repo.group(session, values["name"])
    if other is not None and other.id != row.id:
        raise Conflict(f"a stakeholder group named {values['name']!r} exists")
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now
    session.flush()
    return row


def delete_group(session: Session, row: StakeholderGroup) -> None:
    session.delete(row)
    session.flush()


def as_spec(session: Session, row: StakeholderGroup) -> dict[str, Any]:
    """A group by names (users by email, services and types by name): what the API, the console and ``tocsin
    export`` show, and what ``tocsin apply`` reads back."""
    user_names = {u.id: u.email for u in users.list_users(session)}
    service_names = {s.id: s.name for s in services.list_services(session)}
    type_names = incident_types.names_by_id(session)
    return {
        "name": row.name,
        "description": row.description,
        "users": [user_names[i] for i in row.user_ids if i in user_names],
        "emails": list(row.emails),
        "services": [service_names[i] for i in row.service_ids if i in service_names],
        "min_severity": row.min_severity,
        "types": [type_names[i] for i in row.type_ids if i in type_names],
        "private_ok": row.private_ok,
    }


# --- matching ---------------------------------------------------------------------------------------------------


def _rank(session: Session) -> dict[str, int]:
    return {s.name: s.position for s in taxonomy.severities(session)}


def group_matches(
    row: StakeholderGroup, incident: Incident, *, service_ids: Sequence[int], rank: Mapping[str, int]
) -> bool:
    """Every subscription the group sets must hold: one of its services is the incident's (or affected by it), the
    incident's severity is at or above its threshold (SEV1 above SEV2), the incident is of one of its types."""
    if row.service_ids and not set(row.service_ids) & set(service_ids):
        return False
    if row.min_severity is not None:
        threshold = rank.get(row.min_severity)
        level = rank.get(incident.severity)
        if threshold is None or level is None or level > threshold:
            return False
    return not row.type_ids or incident.type_id in row.type_ids


def matching_groups(session: Session, incident: Incident) -> list[StakeholderGroup]:
    service_ids = [incident.service_id, *incidents.affected_services(session, incident.id)]
    rank = _rank(session)
    return [g for g in repo.groups(session) if group_matches(g, incident, service_ids=service_ids, rank=rank)]


# --- updates ----------------------------------------------------------------------------------------------------


def subject_of(session: Session, incident: Incident, *, base_url: str = "") -> Subject:
    columns = {c.key: getattr(incident, c.key) for c in Incident.__table__.columns}
    for key, value in list(columns.items()):
        if hasattr(value, "value"):
            columns[key] = value.value
    columns["type"] = incident_types.names_by_id(session).get(incident.type_id, "") if incident.type_id else ""
    service = services.get_service(session, incident.service_id)
    return Subject(
        incident=columns,
        service=service.name,
        url=f"{base_url}/incidents/{incident.number}" if base_url else "",
    )


def check_template(template: str, where: str = "template") -> None:
    """Only incident fields (``{{incident.title}}``); anything else is a 422 naming it."""
    try:
        templates.check(template, where, allow=("incident",))
    except templates.TemplateError as exc:
        raise InvalidInput(str(exc)) from None


def compose(session: Session, incident: Incident, *, body: str | None, template: str | None, base_url: str = "") -> str:
    if (body is None) == (template is None):
        raise InvalidInput("give either body (free text) or template")
    if template is not None:
        check_template(template)
        text = templates.render(template, {"incident": view(subject_of(session, incident, base_url=base_url))})
    else:
        text = body or ""
    text = text.strip()
    if not text:
        raise InvalidInput("body: an update needs some text")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"body: at most {MAX_BODY} characters")
    return text


@dataclass(slots=True)
class Audience:
    groups: list[StakeholderGroup]
    user_ids: list[int]
    emails: list[str]


def audience(
    session: Session, incident: Incident, group_names: Sequence[str] | None, *, require: bool = True
) -> Audience:
    """Who an update on ``incident`` reaches. A drill: its participants only. A private incident: named groups
    must be ``private_ok`` (409 otherwise), matched ones are kept to those. No group at all is a 409 unless
    ``require`` is false (a workflow's step: the update is then kept on the timeline only)."""
    if incident.drill:
        people = set(visibility.participants(session, incident))
        return Audience(groups=[], user_ids=sorted(people), emails=[])
    if group_names is not None:
        chosen = []
        for name in group_names:
            found = repo.group(session, name)
            if found is None:
                raise InvalidInput(f"groups: unknown stakeholder group {name!r}")
            chosen.append(found)
        if incident.private:
            refused = [g.name for g in chosen if not g.private_ok]
            if refused:
                raise Conflict(
                    f"incident #{incident.number} is private: group(s) {', '.join(refused)} may not hear about it "
                    "(mark a group private_ok to allow it)"
                )
    else:
        chosen = [g for g in matching_groups(session, incident) if g.private_ok or not incident.private]
    if not chosen and require:
        raise Conflict(
            f"no stakeholder group subscribes to incident #{incident.number}"
            + (" (it is private: only groups marked private_ok may hear about it)" if incident.private else "")
        )
    user_ids = _unique([uid for g in chosen for uid in g.user_ids])
    emails = _unique([e for g in chosen for e in g.emails])
    return Audience(groups=_unique(chosen), user_ids=user_ids, emails=emails)


def post_update(
    session: Session,
    incident_id: int,
    *,
    body: str | None = None,
    template: str | None = None,
    groups: Sequence[str] | None = None,
    actor: Actor,
    now: datetime,
    base_url: str = "",
    require_audience: bool = True,
) -> StakeholderUpdate:
    """Write an update and send it: users through their contact methods, addresses by email (the engine), one entry
    on the timeline. Nothing changes when it is refused."""
    incident = incidents.get(session, incident_id)
    text = compose(session, incident, body=body, template=template, base_url=base_url)
    reach = audience(session, incident, groups, require=require_audience)
    if incident.drill:
        text = f"{DRILL_MARK} {text}"
    subject = f"{'[DRILL] ' if incident.drill else ''}Incident #{incident.number}: {incident.title}"[:1000]
    update = StakeholderUpdate(
        incident_id=incident.id,
        body=text,
        drill=incident.drill,
        groups=[g.name for g in reach.groups],
        recipients={},
        created_by_user_id=actor.user_id,
        created_at=now,
    )
    session.add(update)
    session.flush()
    reached = [
        uid
        for uid in reach.user_ids
        if notices.notify_user(
            session, user_id=uid, key=f"stakeholder:{update.id}:{uid}", text=f"{subject}\n\n{text}", now=now
        )
    ]
    for address in reach.emails:
        session.add(
            StakeholderDelivery(
                update_id=update.id, address=address, subject=subject, body=text, status="pending", created_at=now
            )
        )
    update.recipients = {
        "users": reached,
        "unreachable_users": sorted(set(reach.user_ids) - set(reached)),
        "emails": reach.emails,
    }
    session.flush()
    incidents.record(
        session,
        incident.id,
        TimelineKind.STAKEHOLDER_UPDATE,
        f"Stakeholder update: {text[:2000]}",
        actor=actor,
        now=now,
        stakeholder_update_id=update.id,
        groups=update.groups,
        drill_participants=incident.drill,
    )
    return update


def updates_of(session: Session, incident_id: int) -> list[StakeholderUpdate]:
    return repo.updates_of(session, incident_id)


def deliveries_of(session: Session, update_id: int) -> list[StakeholderDelivery]:
    return repo.deliveries_of(session, update_id)


# --- email deliveries (the engine) ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    address: str
    subject: str
    body: str


def claim_deliveries(session: Session, *, limit: int = 100) -> list[Outgoing]:
    """Pending deliveries, marked as sending: a claim is taken once (an interrupted send is not retried, so an
    address is never mailed twice by a crash between send and record)."""
    rows = repo.claim_deliveries(session, limit)
    for row in rows:
        row.status = "sending"
        row.attempts += 1
    session.flush()
    return [Outgoing(id=r.id, address=r.address, subject=r.subject, body=r.body) for r in rows]


def record_delivery(session: Session, delivery_id: int, *, error: str | None, now: datetime) -> None:
    row = repo.delivery(session, delivery_id)
    if row is None:
        return
    if error is None:
        row.status, row.sent_at, row.error = "sent", now, None
    else:
        row.status, row.error = "failed", error[:2000]
    session.flush()


def pending_deliveries(session: Session) -> int:
    return repo.pending_count(session)


# --- cadence ----------------------------------------------------------------------------------------------------


def cadence_of(
    session: Session, incident: Incident, per_severity: Mapping[str, int], *, by_type: Mapping[int, int] | None = None
) -> timedelta | None:
    """How often updates are due: the incident type's ``update_cadence_minutes``, else the per-severity setting
    (``by_type``: the types' cadences when the caller has them already)."""
    cadences = incident_types.cadences(session) if by_type is None else by_type
    minutes = cadences.get(incident.type_id) if incident.type_id is not None else None
    if minutes is None:
        minutes = per_severity.get(incident.severity)
    return timedelta(minutes=minutes) if minutes else None


def next_due(
    session: Session,
    incident: Incident,
    per_severity: Mapping[str, int],
    *,
    last: datetime | None = None,
    by_type: Mapping[int, int] | None = None,
) -> datetime | None:
    """When the next update is due (None: no cadence, or the incident is resolved)."""
    if incident.status == IncidentStatus.RESOLVED:
        return None
    every = cadence_of(session, incident, per_severity, by_type=by_type)
    if every is None:
        return None
    if last is None:
        last = repo.last_update_at(session, [incident.id]).get(incident.id)
    return (last or incident.created_at) + every


def _reminded_user(session: Session, incident: Incident) -> int | None:
    for name in REMINDED_ROLES:
        try:
            role = response_roles.get_role(session, name)
        except TocsinError:
            continue
        held = response_repo.holder(session, incident.id, role.id)
        if held is not None:
            return held.user_id
    return incident.assigned_user_id


def _name_of(session: Session, user_id: int) -> str:
    return str(users.names_of(session, [user_id]).get(user_id, user_id))


def remind_due(session: Session, *, now: datetime, per_severity: Mapping[str, int]) -> tuple[int, datetime | None]:
    """Remind whoever speaks for each incident whose update is due, once per due time (the notice key holds the due
    time, so a second pass adds nothing); the number reminded and the next due time still ahead."""
    by_type = incident_types.cadences(session)
    if not by_type and not per_severity:
        return 0, None
    # Only the open incidents that have a cadence: not every open incident on every pass of the engine.
    rows = repo.open_incidents(session, type_ids=list(by_type), severities=list(per_severity))
    last = repo.last_update_at(session, [r.id for r in rows])
    reminded, ahead = 0, []
    for incident in rows:
        due = next_due(session, incident, per_severity, last=last.get(incident.id), by_type=by_type)
        if due is None:
            continue
        if due > now:
            ahead.append(due)
            continue
        user_id = _reminded_user(session, incident)
        if user_id is None:
            continue
        text = (
            f"A stakeholder update is due on incident #{incident.number} ({incident.title}): "
            f"the last was due at {due:%H:%M} UTC."
        )
        key = f"stakeholder-due:{incident.id}:{due.isoformat()}"
        if notices.notify_user(session, user_id=user_id, key=key, text=text, now=now):
            reminded += 1
            incidents.record(
                session,
                incident.id,
                TimelineKind.STAKEHOLDER_UPDATE_DUE,
                f"A stakeholder update is due (since {due:%H:%M} UTC); reminded {_name_of(session, user_id)}",
                actor=Actor(label="engine", source="engine"),
                now=now,
            )
    return reminded, min(ahead) if ahead else None


# --- one voice --------------------------------------------------------------------------------------------------


def may_speak(session: Session, incident_ids: Sequence[int], user_id: int | None) -> bool:
    """True when ``user_id`` holds the Communications Lead or Incident Commander role on one of the incidents."""
    if user_id is None:
        return False
    for name in VOICE_ROLES:
        try:
            role = response_roles.get_role(session, name)
        except TocsinError:
            continue
        for incident_id in incident_ids:
            held = response_repo.holder(session, incident_id, role.id)
            if held is not None and held.user_id == user_id:
                return True
    return False
