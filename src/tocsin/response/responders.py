"""Responders: paging more people *into* an incident already being worked, and their answers.

A request names one person, or finds them: whoever is on call now in a schedule, the targets of an escalation
policy's first step, or someone with a skill (on call first, then the least loaded). Each person asked gets a
``responder_requests`` row, a timeline entry and a page through their own notification rules
(``notify.paging.page_responder``), which carries accept / decline on every channel: signed links (web, email,
Teams), SMS words, voice keys and Slack buttons. Every channel answers through ``answer``, the one use case, which
writes the timeline entry (and so the incident event) and cancels what was not sent yet.

Whoever accepted is a participant of the incident: ``participants`` and ``repository.requests_of`` answer by
(incident, user).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.escalation import service as escalation
from tocsin.incidents import lifecycle
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify import paging
from tocsin.oncall import service as oncall
from tocsin.response import repository as repo
from tocsin.response import skills
from tocsin.response.models import ResponderRequest, ResponderStatus, ResponderVia
from tocsin.users import repository as user_repo
from tocsin.users import service as users
from tocsin.users.models import User

MAX_MESSAGE = 1000
_PAST = {"accept": "accepted", "decline": "declined"}


@dataclass(frozen=True, slots=True)
class Target:
    """Exactly one of these says who to ask."""

    user: str | None = None
    schedule: str | None = None
    policy: str | None = None
    skill: str | None = None
    on_call_first: bool = True


def _active(session: Session, ids: Sequence[int]) -> list[User]:
    found = [user_repo.get(session, i) for i in dict.fromkeys(ids)]
    return [u for u in found if u is not None and u.deactivated_at is None]


def resolve(session: Session, target: Target, *, now: datetime) -> tuple[ResponderVia, str, list[User]]:
    """Who the target means now; InvalidInput (422) naming what is unknown or empty."""
    given = [
        (k, v)
        for k, v in (
            ("user", target.user),
            ("schedule", target.schedule),
            ("policy", target.policy),
            ("skill", target.skill),
        )
        if v
    ]
    if len(given) != 1:
        raise InvalidInput("name exactly one of user, schedule, policy or skill")
    kind, ref = given[0]
    assert ref is not None
    if kind == "user":
        try:
            user = users.get_user(session, ref)
        except NotFound:
            raise InvalidInput(f"no user {ref!r}") from None
        if user.deactivated_at is not None:
            raise InvalidInput(f"{user.name} is deactivated")
        return ResponderVia.USER, "", [user]
    if kind == "schedule":
        try:
            schedule = oncall.get_schedule(session, ref)
        except NotFound:
            raise InvalidInput(f"no schedule {ref!r}") from None
        people = _active(session, [int(u) for u in oncall.users_on_call(session, schedule.id, now)])
        if not people:
            raise InvalidInput(f"nobody is on call in schedule {schedule.name!r} now")
        return ResponderVia.SCHEDULE, schedule.name, people
    if kind == "policy":
        try:
            policy = escalation.get_policy(session, ref)
        except NotFound:
            raise InvalidInput(f"no escalation policy {ref!r}") from None
        people = _active(session, [int(u) for u in escalation.first_responders(session, policy, now)])
        if not people:
            raise InvalidInput(f"the first step of escalation policy {policy.name!r} reaches nobody now")
        return ResponderVia.POLICY, policy.name, people
    skill = skills.clean_skill(ref)
    found = skills.experts(session, skill, now=now, on_call_first=target.on_call_first)
    if not found:
        raise InvalidInput(f"nobody has skill {skill!r}")
    return ResponderVia.SKILL, skill, _active(session, [found[0].user_id])


def request(
    session: Session, incident_id: int, target: Target, *, message: str, actor: Actor, now: datetime
) -> list[ResponderRequest]:
    """Ask the people the target means to join the incident; each is paged with the message. Those asked already
    (pending or accepted) are not asked twice; Conflict when that leaves nobody."""
    text = message.strip()
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"a responder request's message is limited to {MAX_MESSAGE} characters")
    incident = incidents.get(session, incident_id)
    if not lifecycle.is_open(incident.status):
        raise Conflict(f"incident #{incident.number} is resolved; reopen it before asking anyone to join")
    via, via_ref, people = resolve(session, target, now=now)
    made: list[ResponderRequest] = []
    skipped: list[str] = []
    for person in people:
        mine = repo.requests_of(session, incident.id, person.id, for_update=True)
        if any(r.status in (ResponderStatus.REQUESTED, ResponderStatus.ACCEPTED) for r in mine):
            skipped.append(person.name)
            continue
        made.append(_ask(session, incident, person, via, via_ref, text, actor=actor, now=now))
    if not made:
        raise Conflict(f"{', '.join(skipped)} {'was' if len(skipped) == 1 else 'were'} asked already")
    return made


def _ask(
    session: Session,
    incident: Incident,
    person: User,
    via: ResponderVia,
    via_ref: str,
    text: str,
    *,
    actor: Actor,
    now: datetime,
) -> ResponderRequest:
    row = ResponderRequest(
        incident_id=incident.id,
        user_id=person.id,
        requested_by_user_id=actor.user_id,
        via=via,
        via_ref=via_ref,
        message=text,
        status=ResponderStatus.REQUESTED,
        requested_at=now,
    )
    repo.add_request(session, row)
    how = f" (via {via.value} {via_ref})" if via_ref else ""
    incidents.record(
        session,
        incident.id,
        TimelineKind.RESPONDER_REQUESTED,
        f"{person.name} asked to join{how}" + (f": {text}" if text else ""),
        actor=actor,
        now=now,
        request=row.id,
        user=person.id,
        via=via.value,
    )
    page = f"You are asked to join incident #{incident.number}" + (f": {text}" if text else f" ({incident.title})")
    queued = paging.page_responder(
        session, incident_id=incident.id, user_id=person.id, request_id=row.id, text=page, now=now
    )
    if not queued:
        incidents.record(
            session,
            incident.id,
            TimelineKind.NOTIFY_FALLBACK,
            f"{person.name} has no contact method; the request waits for them in Tocsin",
            actor=actor,
            now=now,
            request=row.id,
        )
    return row


def get_request(session: Session, incident_id: int, request_id: int, *, for_update: bool = False) -> ResponderRequest:
    found = repo.responder_request(session, request_id, for_update=for_update)
    if found is None or found.incident_id != incident_id:
        raise NotFound(f"responder request {request_id} not found on this incident")
    return found


def answer_request(
    session: Session, row: ResponderRequest, accept: bool, *, actor: Actor, via: str, now: datetime
) -> ResponderRequest:
    """The one answer every channel gives: accepted or declined, with its timeline entry (and incident event);
    the request's messages not sent yet are cancelled. Conflict when it was answered or withdrawn already."""
    if row.status != ResponderStatus.REQUESTED:
        raise Conflict(f"this request was {row.status.value} already")
    if actor.user_id is not None and actor.user_id != row.user_id:
        user = user_repo.get(session, actor.user_id)
        if user is None or user.role != "admin":
            raise Forbidden("only the person asked (or an admin) answers a responder request")
    row.status = ResponderStatus.ACCEPTED if accept else ResponderStatus.DECLINED
    row.answered_at = now
    row.answered_via = via[:16]
    person = user_repo.get(session, row.user_id)
    name = person.name if person else str(row.user_id)
    kind = TimelineKind.RESPONDER_ACCEPTED if accept else TimelineKind.RESPONDER_DECLINED
    verb = "joined the response" if accept else "declined to join"
    incidents.record(
        session,
        row.incident_id,
        kind,
        f"{name} {verb} (via {via})",
        actor=actor,
        now=now,
        request=row.id,
        user=row.user_id,
        channel=via,
        changes={"responder_request": {"from": ResponderStatus.REQUESTED.value, "to": row.status.value}},
    )
    paging.cancel_responder_pages(session, row.id)
    session.flush()
    return row


def answer(
    session: Session, incident_id: int, user: User, accept: bool, *, via: str, actor: Actor, now: datetime
) -> ResponderRequest:
    """The person's pending request on the incident, answered (links, chat buttons, voice keys, the console)."""
    pending = [r for r in repo.requests_of(session, incident_id, user.id, for_update=True) if r.status == "requested"]
    if not pending:
        mine = repo.requests_of(session, incident_id, user.id)
        if mine:
            raise Conflict(f"your request to join this incident was {mine[0].status.value} already")
        raise NotFound("you were not asked to join this incident")
    return answer_request(session, pending[0], accept, actor=actor, via=via, now=now)


def cancel(session: Session, row: ResponderRequest, *, actor: Actor, now: datetime) -> ResponderRequest:
    if row.status != ResponderStatus.REQUESTED:
        raise Conflict(f"this request was {row.status.value} already")
    row.status = ResponderStatus.CANCELED
    row.answered_at = now
    person = user_repo.get(session, row.user_id)
    incidents.record(
        session,
        row.incident_id,
        TimelineKind.RESPONDER_CANCELED,
        f"Request to {person.name if person else row.user_id} withdrawn",
        actor=actor,
        now=now,
        request=row.id,
        user=row.user_id,
    )
    paging.cancel_responder_pages(session, row.id)
    return row


@dataclass(frozen=True, slots=True)
class ReplyResult:
    text: str
    changed: bool


def answer_reply(
    session: Session, user: User, action: str, target: int | None, *, via: str, now: datetime
) -> ReplyResult:
    """An answer from a channel that names the incident by number, or not at all (the latest request)."""
    accept = action == "accept"
    actor = Actor(label=user.name, source=via, user_id=user.id)  # type: ignore[arg-type]
    if target is None:
        pending = repo.pending_of_user(session, user.id)
        if not pending:
            return ReplyResult("You have no request to join an incident waiting for an answer.", False)
        row = pending[0]
    else:
        incident = incident_repo.get_by_number(session, target)
        if incident is None:
            return ReplyResult(f"There is no incident #{target}.", False)
        rows = [r for r in repo.requests_of(session, incident.id, user.id, for_update=True) if r.status == "requested"]
        if not rows:
            return ReplyResult(f"You have no request to join incident #{target} waiting for an answer.", False)
        row = rows[0]
    incident_row = incident_repo.get(session, row.incident_id)
    number = incident_row.number if incident_row else row.incident_id
    answer_request(session, row, accept, actor=actor, via=via, now=now)
    return ReplyResult(f"Incident #{number}: request {_PAST[action]}.", True)


def answer_on(session: Session, user: User, incident_id: int, action: str, *, via: str, now: datetime) -> ReplyResult:
    """An answer from a channel that carries the incident id (a Slack button, a key pressed on its call)."""
    actor = Actor(label=user.name, source=via, user_id=user.id)  # type: ignore[arg-type]
    incident = incident_repo.get(session, incident_id)
    if incident is None:
        return ReplyResult("That incident no longer exists.", False)
    try:
        answer(session, incident_id, user, action == "accept", via=via, actor=actor, now=now)
    except (Conflict, NotFound) as exc:
        return ReplyResult(f"Incident #{incident.number}: {exc.detail}.", False)
    return ReplyResult(f"Incident #{incident.number}: request {_PAST[action]}.", True)


def requests_on(session: Session, incident_id: int) -> list[ResponderRequest]:
    return repo.responder_requests(session, incident_id)


def participants(session: Session, incident_id: int) -> set[int]:
    """Who accepted to join the incident."""
    return {r.user_id for r in repo.responder_requests(session, incident_id) if r.status == "accepted"}


@dataclass(frozen=True, slots=True)
class Engaged:
    user_id: int
    name: str
    how: tuple[str, ...]  # "owner", role names, "responder"


def engaged(session: Session, incident: Incident) -> list[Engaged]:
    """Who is working the incident: its owner, the role holders and the responders who accepted."""
    how: dict[int, list[str]] = {}
    if incident.assigned_user_id is not None:
        how.setdefault(incident.assigned_user_id, []).append("owner")
    names = {r.id: r.name for r in repo.roles(session)}
    for held in repo.assignments(session, incident.id):
        if held.ended_at is None:
            how.setdefault(held.user_id, []).append(names.get(held.role_id, "role"))
    for uid in participants(session, incident.id):
        how.setdefault(uid, []).append("responder")
    people = users.names_of(session, list(how))
    return [Engaged(uid, people.get(uid, str(uid)), tuple(h)) for uid, h in how.items()]


def pending_message(session: Session, incident_id: int, user_id: int) -> str | None:
    """The message of the person's unanswered request on the incident (read out on its call), or None."""
    for row in repo.requests_of(session, incident_id, user_id):
        if row.status == ResponderStatus.REQUESTED:
            return row.message
    return None


def latest_request(session: Session, incident_id: int, user_id: int) -> ResponderRequest | None:
    """The person's newest request on the incident, whatever became of it."""
    found = repo.requests_of(session, incident_id, user_id)
    return found[0] if found else None
