"""Acting on a reply that came back through a paging channel (SMS code, key press, chat button).

The transport has already checked the request's signature; this module finds the person behind the phone
number or chat account, and acts through ``incidents.service`` with the channel as the actor's source, so the
timeline says "acknowledged by Alice via sms". It answers with a short text for the person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.access.service import viewer_of
from tocsin.core.errors import Conflict, InvalidTransition, NotFound
from tocsin.incidents import lifecycle, visibility
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor, Source
from tocsin.notify import repository as repo
from tocsin.notify import service as notify
from tocsin.notify.models import UsedLinkToken
from tocsin.notify.providers.base import IncidentView
from tocsin.notify.reply_codes import PHONE_TYPES, Action, Reply, normalize_phone
from tocsin.users import repository as user_repo
from tocsin.users.models import User

_PAST = {"acknowledge": "acknowledged", "resolve": "resolved", "escalate": "escalated"}


def user_by_phone(session: Session, phone: str) -> User | None:
    number = normalize_phone(phone)
    if number is None:
        return None
    for cm in repo.verified_methods_at(session, PHONE_TYPES, number):
        user = user_repo.get(session, cm.user_id)
        if user is not None and user.deactivated_at is None:
            return user
    return None


def user_by_slack(session: Session, slack_user_id: str, email: str | None = None) -> User | None:
    """The Slack account's user: by the id stored on the user or on a Slack contact method, else by the Slack
    profile's email (the user's own, or the address of a Slack contact method)."""
    user = user_repo.by_slack_user_id(session, slack_user_id) if slack_user_id else None
    if user is None and slack_user_id:
        methods = repo.verified_methods_at(session, ("slack",), slack_user_id)
        user = user_repo.get(session, methods[0].user_id) if methods else None
    if user is None and email:
        user = user_repo.by_email(session, email)
    if user is None and email:
        methods = repo.verified_methods_at(session, ("slack",), email)
        user = user_repo.get(session, methods[0].user_id) if methods else None
    if user is None or user.deactivated_at is not None:
        return None
    return user


@dataclass
class ReplyOutcome:
    text: str
    changed: list[int] = field(default_factory=list)  # incident ids whose status changed


def _actor(user: User, source: Source) -> Actor:
    return Actor(label=user.name, source=source, user_id=user.id)


def _open_paged(session: Session, user: User) -> list[Incident]:
    found = []
    for incident_id in repo.paged_incident_ids(session, user.id):
        incident = incident_repo.get(session, incident_id)
        if incident is not None and lifecycle.is_open(incident.status):
            found.append(incident)
    return found


def _apply(session: Session, incident: Incident, action: Action, actor: Actor, now: datetime) -> bool:
    """True when the status changed; False when the incident is already where the action would put it."""
    if action == "acknowledge":
        if incident.status != lifecycle.TRIGGERED:
            return False
        incidents.acknowledge(session, incident.id, actor=actor, now=now)
    elif action == "resolve":
        if incident.status == lifecycle.RESOLVED:
            return False
        incidents.resolve(session, incident.id, actor=actor, now=now)
    else:
        if incident.status == lifecycle.RESOLVED:
            return False
        incidents.escalate_now(session, incident.id, actor=actor, now=now)
    return True


def act_on_incident(
    session: Session, user: User, incident_id: int, action: Action, *, source: Source, now: datetime
) -> ReplyOutcome:
    """One action on one incident, named by id (a key press on a call about it, a chat button)."""
    if user.role == "observer":
        return ReplyOutcome("Observers can read incidents but not act on them.")
    incident = incident_repo.get(session, incident_id)
    # A button of a channel-wide post pressed by someone who takes no part in a private incident (ADR 0022): the
    # same answer as for one that does not exist.
    if incident is None or not visibility.may_see(session, viewer_of(session, user), incident, see_all=True):
        return ReplyOutcome("That incident no longer exists.")
    try:
        changed = _apply(session, incident, action, _actor(user, source), now)
    except (InvalidTransition, Conflict, NotFound) as exc:
        return ReplyOutcome(f"Incident #{incident.number}: {exc.detail}.")
    if not changed:
        return ReplyOutcome(f"Incident #{incident.number} is already {incident.status}.")
    return ReplyOutcome(f"Incident #{incident.number} {_PAST[action]}.", [incident.id])


def act_on_reply(session: Session, user: User, reply: Reply, *, source: Source, now: datetime) -> ReplyOutcome:
    """A code from a text message: one incident by number, the most recent page, or all open pages."""
    if user.role == "observer":
        return ReplyOutcome("Observers can read incidents but not act on them.")
    if isinstance(reply.target, int):
        incident = incident_repo.get_by_number(session, reply.target)
        if incident is None:
            return ReplyOutcome(f"There is no incident #{reply.target}.")
        return act_on_incident(session, user, incident.id, reply.action, source=source, now=now)
    targets = _open_paged(session, user)
    if not targets:
        return ReplyOutcome("You have no open incidents to act on.")
    if reply.target is None:
        # "4" means the page still ringing: the newest triggered incident, even if a settled one was paged later.
        waiting = [i for i in targets if i.status == lifecycle.TRIGGERED] if reply.action == "acknowledge" else []
        chosen = (waiting or targets)[0]
        return act_on_incident(session, user, chosen.id, reply.action, source=source, now=now)
    changed: list[int] = []
    numbers: list[int] = []
    actor = _actor(user, source)
    for incident in targets:
        try:
            if _apply(session, incident, reply.action, actor, now):
                changed.append(incident.id)
                numbers.append(incident.number)
        except (InvalidTransition, Conflict, NotFound):
            continue
    if not numbers:
        return ReplyOutcome(f"Nothing to do: your open incidents are already {_PAST[reply.action]}.")
    listed = ", ".join(f"#{n}" for n in sorted(numbers)[:10])
    more = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    return ReplyOutcome(f"{_PAST[reply.action].capitalize()} {listed}{more}.", changed)


def incident_view(session: Session, incident_id: int, base_url: str) -> IncidentView | None:
    """How a channel shows an incident right now (a call reads it when it is answered)."""
    incident = incident_repo.get(session, incident_id)
    return None if incident is None else notify.view_of(session, incident, base_url)


def first_use(session: Session, key: str, now: datetime) -> bool:
    """Record that a signed inbound request was handled; False if it was handled before (a replay).

    Shares the single-use table of the one-click links: a request's key is as good as a link's nonce.
    """
    if len(key) > 64:
        raise ValueError("a replay key is at most 64 characters")
    if session.get(UsedLinkToken, key) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(UsedLinkToken(nonce=key, used_at=now))
    except IntegrityError:
        return False
    return True
