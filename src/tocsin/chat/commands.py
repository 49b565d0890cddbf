"""Commands from a war room (``/tocsin ack`` on Slack, ``!tocsin ack`` on Matrix): who says it, which incident it
is about, and doing it under the same authorization as the console, recorded with the platform as its source.

The chat account must be linked to a Tocsin user (``chat_links``, or found by the account's email); an unknown
person is told how to link and nothing happens. A command acts on the room's incident unless it names another
(``#123``) that the person may see."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, cast

from sqlalchemy.orm import Session

from tocsin.access import service as access
from tocsin.chat import service as chat
from tocsin.core.errors import TocsinError
from tocsin.incidents import lifecycle, visibility
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import ResponseStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor, IncidentFilter, Source
from tocsin.response import responders, roles
from tocsin.response import service as response
from tocsin.services import service as services
from tocsin.stakeholders import service as stakeholders
from tocsin.users import repository as user_repo
from tocsin.users.models import User

HELP: Final = (
    "Commands: declare <service> <title> · ack · resolve · status <investigating|identified|mitigated|monitoring> · "
    "severity <SEV1..> · role <role name> <person> · task add <title> · page <person> · page schedule <name> · "
    "update <text> · remove <person> · summary · list · link <your Tocsin email>. "
    "Add #<number> to act on another incident."
)
HOW_TO_LINK: Final = (
    "Your chat account is not linked to a Tocsin user, so Tocsin cannot act for you. Use the same email address in "
    "both, or ask an admin to link it (tocsin chat link <email> <platform> <account>)."
)
_MENTION: Final = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass
class Answer:
    text: str
    changed: list[int] = field(default_factory=list)
    public: bool = False


@dataclass(frozen=True, slots=True)
class Context:
    platform: str
    account: str
    # The room's incident, if the command came from a war room.
    incident_id: int | None
    see_all: bool
    base_url: str
    now: datetime
    # The account's email as the platform knows it (asked only when the account is not linked yet).
    email_of: Callable[[str], str | None] | None = None


def user_of(session: Session, ctx: Context) -> User | None:
    user_id = chat.linked_user_id(session, ctx.platform, ctx.account)
    if user_id is None and ctx.email_of is not None:
        email = ctx.email_of(ctx.account)
        user_id = chat.user_id_by_email(session, email) if email else None
        if user_id is not None:
            chat.link(session, user_id, ctx.platform, ctx.account, now=ctx.now)
    user = user_repo.get(session, user_id) if user_id is not None else None
    return None if user is None or user.deactivated_at is not None else user


def _person(session: Session, ctx: Context, ref: str) -> str:
    """A person named in a command: a chat mention of a linked account, or a Tocsin email / id."""
    account = _account(ref)
    if account is not None:
        uid = chat.linked_user_id(session, ctx.platform, account)
        if uid is None:
            raise _Refused(f"{ref} is not linked to a Tocsin user")
        return str(uid)
    return ref


def _account(ref: str) -> str | None:
    """The chat account a mention names (Slack ``<@U123|sam>``, Matrix ``@sam:server``), if it is one."""
    mention = _MENTION.match(ref)
    if mention:
        return mention.group(1)
    return ref if ref.startswith("@") and ":" in ref else None


def _remove(session: Session, ctx: Context, incident: Incident, args: list[str], actor: Actor) -> Answer:
    if len(args) != 1:
        return Answer("Usage: remove <person>")
    room = chat.room_of(session, incident.id, ctx.platform)
    if room is None:
        return Answer(f"Incident #{incident.number} has no {ctx.platform} war room.")
    account = _account(args[0])
    if account is None:
        account, who = chat.account_for_removal(session, room, args[0])
    else:
        uid = chat.linked_user_id(session, ctx.platform, account)
        who = chat.user_name(session, uid) if uid is not None else account
    chat.request_removal(session, incident, ctx.platform, account, who=who, actor=actor, now=ctx.now)
    return Answer(f"{who} will be removed from this room ({actor.label}).", [incident.id], True)


class _Refused(Exception):
    pass


def run(session: Session, ctx: Context, text: str) -> Answer:
    user = user_of(session, ctx)
    if user is None:
        return Answer(HOW_TO_LINK)
    try:
        words = shlex.split(text.strip())
    except ValueError:
        words = text.strip().split()
    target: int | None = None
    rest: list[str] = []
    for w in words:
        if target is None and re.fullmatch(r"#\d{1,12}", w):
            target = int(w[1:])
        else:
            rest.append(w)
    if not rest or rest[0] in ("help", "?"):
        return Answer(HELP)
    verb, args = rest[0].lower(), rest[1:]
    viewer = access.viewer_of(session, user)
    actor = Actor(label=user.name, source=cast(Source, ctx.platform), user_id=user.id)
    try:
        if verb == "list":
            return _list(session, ctx, user)
        if verb == "declare":
            return _declare(session, ctx, user, args, actor)
        incident = _incident(session, ctx, user, target)
        if incident is None:
            return Answer("Name the incident (#<number>): this room belongs to none." if target is None else "")
        if verb == "summary":
            return Answer(chat.summary_of(session, incident, ctx.base_url))
        service = services.get_service(session, incident.service_id)
        access.require_act(session, viewer, [service.team_id], f"incidents of service {service.name!r}")
        return _act(session, ctx, incident, verb, args, actor)
    except _Refused as exc:
        return Answer(str(exc))
    except TocsinError as exc:
        return Answer(f"Not done: {exc.detail}")


def _incident(session: Session, ctx: Context, user: User, number: int | None) -> Incident | None:
    if number is None:
        return incidents.get(session, ctx.incident_id) if ctx.incident_id is not None else None
    try:
        return visibility.get_visible(session, f"#{number}", access.viewer_of(session, user), see_all=ctx.see_all)
    except TocsinError:
        raise _Refused(f"There is no incident #{number} you can see.") from None


def _list(session: Session, ctx: Context, user: User) -> Answer:
    flt = IncidentFilter(
        statuses=(lifecycle.TRIGGERED, lifecycle.ACKNOWLEDGED),
        viewer=access.viewer_of(session, user),
        see_all=ctx.see_all,
    )
    rows, _ = incidents.list_incidents(session, flt, limit=20)
    if not rows:
        return Answer("No open incidents.")
    return Answer("\n".join(f"#{i.number} [{i.severity}] {i.status}: {i.title}" for i in rows))


def _declare(session: Session, ctx: Context, user: User, args: list[str], actor: Actor) -> Answer:
    if len(args) < 2:
        return Answer("Usage: declare <service> <title>")
    service = services.get_service(session, args[0])
    access.require_act(
        session, access.viewer_of(session, user), [service.team_id], f"incidents of service {service.name!r}"
    )
    made = incidents.declare(session, service_id=service.id, title=" ".join(args[1:]), actor=actor, now=ctx.now)
    return Answer(f"Declared #{made.number}: {made.title} {ctx.base_url}/incidents/{made.number}", [made.id], True)


_STATUSES: Final = {s.value: s for s in ResponseStatus}


def _act(session: Session, ctx: Context, incident: Incident, verb: str, args: list[str], actor: Actor) -> Answer:
    n, now = incident.number, ctx.now
    if verb in ("ack", "acknowledge"):
        if incident.status != lifecycle.TRIGGERED:
            return Answer(f"Incident #{n} is already {incident.status}.")
        incidents.acknowledge(session, incident.id, actor=actor, now=now)
        return Answer(f"{actor.label} acknowledged #{n}.", [incident.id], True)
    if verb == "resolve":
        if incident.status == lifecycle.RESOLVED:
            return Answer(f"Incident #{n} is already resolved.")
        incidents.resolve(session, incident.id, actor=actor, now=now, message=" ".join(args))
        return Answer(f"{actor.label} resolved #{n}.", [incident.id], True)
    if verb == "status":
        status = _STATUSES.get(args[0].lower()) if args else None
        if status is None:
            return Answer("Usage: status <" + "|".join(_STATUSES) + ">")
        incidents.change_response(session, incident.id, status, actor=actor, now=now, message=" ".join(args[1:]))
        return Answer(f"#{n} is now {status.value} ({actor.label}).", [incident.id], True)
    if verb in ("severity", "sev"):
        if len(args) != 1:
            return Answer("Usage: severity <SEV1|SEV2|…>")
        incidents.update_fields(session, incident.id, actor=actor, now=now, severity=args[0].upper())
        return Answer(f"#{n} severity is now {args[0].upper()} ({actor.label}).", [incident.id], True)
    if verb == "role":
        if len(args) < 2:
            return Answer("Usage: role <role name> <person>")
        held = roles.assign(
            session, incident.id, " ".join(args[:-1]), _person(session, ctx, args[-1]), actor=actor, now=now
        )
        return Answer(f"Role given on #{n} (assignment {held.id}).", [incident.id], True)
    if verb == "task":
        if len(args) < 2 or args[0] != "add":
            return Answer("Usage: task add <title>")
        task = response.add_task(session, incident.id, " ".join(args[1:]), actor=actor, now=now)
        return Answer(f"Task added to #{n}: {task.title}", [incident.id], True)
    if verb == "page":
        if not args:
            return Answer("Usage: page <person> | page schedule <name>")
        if args[0] == "schedule" and len(args) > 1:
            target = responders.Target(schedule=" ".join(args[1:]))
        else:
            target = responders.Target(user=_person(session, ctx, args[0]))
        asked = responders.request(session, incident.id, target, message="", actor=actor, now=now)
        return Answer(f"Paged {len(asked)} person(s) into #{n}.", [incident.id], True)
    if verb == "update":
        if not args:
            return Answer("Usage: update <text>")
        stakeholders.post_update(
            session,
            incident.id,
            body=" ".join(args),
            actor=actor,
            now=now,
            base_url=ctx.base_url,
            require_audience=False,
        )
        return Answer(f"Stakeholder update posted on #{n}.", [incident.id], True)
    if verb == "remove":
        return _remove(session, ctx, incident, args, actor)
    return Answer(f"Unknown command {verb!r}. " + HELP)


def capture(
    session: Session,
    *,
    platform: str,
    incident_id: int,
    author: str,
    text: str,
    at: datetime,
    now: datetime,
    by: str | None = None,
) -> None:
    """A chat message put on the incident's timeline (a reaction or a message action), with its author and time
    (and who put it there, when known)."""
    added = f" (added by {by})" if by else ""
    body = f"From {platform}, {author} at {at:%Y-%m-%d %H:%M:%S} UTC{added}: {text}"[:20_000]
    incidents.add_note(
        session, incident_id, body, actor=Actor(label=author[:255], source=cast(Source, platform)), now=now
    )
