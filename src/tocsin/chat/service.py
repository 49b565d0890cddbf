"""War rooms (ADR 0033): asking for a room, what the room should show (name, topic, pinned summary, members), the
incident events that make a room's engine row due again, and recording what the engine did.

The engine module (``engine/modules/chat.py``) is the only caller of the platforms; everything here is database
work, so a chat outage never holds a transaction, and never paging."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from tocsin.chat import repository as repo
from tocsin.chat.models import ChatAutoRule, ChatExport, ChatLink, ChatRoom
from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.db.claims import Claim
from tocsin.events.registry import Consumer, Event
from tocsin.incidents import lifecycle
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.response import repository as response_repo
from tocsin.response import service as response
from tocsin.stakeholders import service as stakeholders
from tocsin.users import repository as user_repo

PLATFORMS: Final = ("slack", "matrix", "teams")
CONSUMER_NAME: Final = "chat"
NAME_LIMIT: Final = 80
SUMMARY_MARK: Final = "Incident summary"


def check_platform(platform: str, configured: Sequence[str] | None = None) -> str:
    if platform not in PLATFORMS:
        raise InvalidInput(f"unknown chat platform {platform!r} (use one of {', '.join(PLATFORMS)})")
    if configured is not None and platform not in configured:
        # A well-formed request this server cannot serve as it is set up: a conflict with its state, not bad input.
        raise Conflict(f"chat platform {platform!r} is not configured on this server")
    return platform


def slug(text: str, limit: int) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:limit].strip("-")


def room_name(number: int, title: str) -> str:
    """``inc-{number}-{slug}``: lower case, digits and dashes, at most 80 characters (Slack's rules, the
    strictest of the platforms)."""
    head = f"inc-{number}"
    rest = slug(title, NAME_LIMIT - len(head) - 1)
    return f"{head}-{rest}" if rest else head


# --- asking for a room ------------------------------------------------------------------------------------------


def request_room(
    session: Session, incident: Incident, platform: str, *, actor: Actor, now: datetime
) -> tuple[ChatRoom, bool]:
    """The incident's room on the platform, asked for now unless it was already (never two): (room, new)."""
    found = repo.room(session, incident.id, platform)
    if found is not None:
        return found, False
    row = ChatRoom(
        incident_id=incident.id,
        platform=platform,
        name=room_name(incident.number, incident.title),
        private=incident.private,
        status="requested",
        topic="",
        summary_text="",
        invited=[],
        inviting=[],
        due_at=now,
        attempts=0,
        requested_by=actor.label[:255],
        fence=0,
        created_at=now,
        updated_at=now,
    )
    with session.begin_nested():
        repo.add(session, row)
    incidents.record(
        session, incident.id, TimelineKind.NOTE, f"War room {row.name} asked for on {platform}", actor=actor, now=now
    )
    return row, True


def rooms_of(session: Session, incident_id: int) -> list[ChatRoom]:
    return repo.rooms_of(session, incident_id)


def room_of(session: Session, incident_id: int, platform: str) -> ChatRoom | None:
    return repo.room(session, incident_id, platform)


def room_by_platform_id(session: Session, platform: str, room_id: str) -> ChatRoom | None:
    return repo.by_room_id(session, platform, room_id)


def set_auto_rule(
    session: Session, platform: str, *, severities: Sequence[str], types: Sequence[str], now: datetime
) -> ChatAutoRule:
    check_platform(platform)
    row = ChatAutoRule(platform=platform, severities=list(severities), types=list(types), created_at=now)
    repo.add(session, row)
    return row


def auto_rules(session: Session) -> list[ChatAutoRule]:
    return repo.auto_rules(session)


def clear_auto_rules(session: Session) -> int:
    rows = repo.auto_rules(session)
    for row in rows:
        session.delete(row)
    return len(rows)


def _type_name(session: Session, incident: Incident) -> str | None:
    if incident.type_id is None:
        return None
    kind = response_repo.incident_type(session, incident.type_id)
    return None if kind is None else kind.name


def _auto_platforms(session: Session, incident: Incident, rules: Sequence[ChatAutoRule]) -> list[str]:
    kind = _type_name(session, incident) if any(r.types for r in rules) else None
    return [
        r.platform
        for r in rules
        if (not r.severities or incident.severity in r.severities) and (not r.types or kind in r.types)
    ]


# --- incident events --------------------------------------------------------------------------------------------

_OPENING: Final = frozenset({"incident.triggered", "incident.updated", "incident.type_changed", "incident.reopened"})


def on_events(session: Session, events: Sequence[Event], now: datetime) -> None:
    """Rooms follow their incidents: any event makes its rooms due (topic, summary, members, archive time), and
    an incident that comes to match an automatic rule gets its room."""
    ids = sorted({e.incident_id for e in events})
    rooms: dict[int, list[ChatRoom]] = {}
    for row in repo.rooms_of_many(session, ids):
        rooms.setdefault(row.incident_id, []).append(row)
    for row_list in rooms.values():
        for row in row_list:
            if row.status in repo.ACTIVE:
                # Always now, even over an earlier due time: a pass that started before this event sees a due time
                # later than its start and so knows it must come back (``finish``).
                row.due_at = now
    opening = {e.incident_id for e in events if e.type in _OPENING}
    rules = repo.auto_rules(session) if opening else []
    if not rules:
        return
    for incident_id in sorted(opening):
        incident = incidents.get(session, incident_id)
        if incident.drill or not lifecycle.is_open(incident.status):
            continue
        have = {r.platform for r in rooms.get(incident_id, [])}
        for platform in _auto_platforms(session, incident, rules):
            if platform not in have:
                request_room(session, incident, platform, actor=Actor(label="chat rule", source="engine"), now=now)
                have.add(platform)


def consumer() -> Consumer:
    return Consumer(name=CONSUMER_NAME, handler=on_events)


# --- what a room should show ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the room should look like now, read in one transaction for the engine to bring about."""

    room_id: int
    platform: str
    name: str
    private: bool
    status: str
    external_id: str | None
    topic: str
    summary: str
    # user id → email, and the chat accounts already known for some of them.
    people: dict[int, str]
    accounts: dict[int, str]
    resolved_at: datetime | None
    archive_at: datetime | None
    notice_sent: bool
    invited: tuple[str, ...]
    inviting: tuple[str, ...]
    current_topic: str
    summary_ref: str | None
    current_summary: str
    attempts: int
    # Removals on request: account → when (they stand until the person is added anew), those not yet confirmed,
    # and when each person was last added to the incident (a role given, a responder request accepted).
    removed: dict[str, datetime]
    removing: tuple[str, ...]
    added: dict[int, datetime]
    exported: bool

    def held_out(self, uid: int, account: str) -> bool:
        """Removed on request, and not added to the incident since."""
        removed = self.removed.get(account)
        if removed is None:
            return False
        added = self.added.get(uid)
        return added is None or added <= removed


def _commander(session: Session, incident: Incident) -> tuple[str, dict[str, str]]:
    names = {r.id: r.name for r in response_repo.roles(session)}
    held = [a for a in response_repo.assignments(session, incident.id) if a.ended_at is None]
    people = {u.id: u.name for u in (user_repo.get(session, a.user_id) for a in held) if u is not None}
    roles = {names.get(a.role_id, "role"): people.get(a.user_id, str(a.user_id)) for a in held}
    return roles.get("Incident Commander", "none"), roles


def link_of(incident: Incident, base_url: str) -> str:
    return f"{base_url}/incidents/{incident.number}"


def topic_of(session: Session, incident: Incident, base_url: str) -> str:
    commander, _ = _commander(session, incident)
    status = incident.status.value if hasattr(incident.status, "value") else str(incident.status)
    return f"{status.upper()} · {incident.severity} · Commander: {commander} · {link_of(incident, base_url)}"


def summary_of(session: Session, incident: Incident, base_url: str) -> str:
    """The pinned message: status, roles, the last stakeholder update and the open tasks."""
    _, roles = _commander(session, incident)
    status = incident.status.value if hasattr(incident.status, "value") else str(incident.status)
    lines = [
        f"{SUMMARY_MARK} — #{incident.number} {incident.title}",
        f"Status: {status} ({incident.response_status}) · Severity: {incident.severity}",
        "Roles: " + (", ".join(f"{r}: {n}" for r, n in sorted(roles.items())) or "none assigned"),
    ]
    updates = stakeholders.updates_of(session, incident.id)
    if updates:
        last = updates[-1]
        lines.append(f"Last stakeholder update ({last.created_at:%Y-%m-%d %H:%M} UTC): {last.body[:500]}")
    open_tasks = [t for t in response.tasks(session, incident.id) if t.status != "done"]
    if open_tasks:
        lines.append(f"Open tasks ({len(open_tasks)}):")
        lines += [f"• {t.title}" for t in open_tasks[:10]]
    lines.append(link_of(incident, base_url))
    return "\n".join(lines)


def members_of(session: Session, incident: Incident) -> list[int]:
    """Who belongs in the room: the owner, the role holders and the responders who accepted."""
    ids: list[int] = []
    if incident.assigned_user_id is not None:
        ids.append(incident.assigned_user_id)
    ids += [a.user_id for a in response_repo.assignments(session, incident.id) if a.ended_at is None]
    ids += [r.user_id for r in response_repo.responder_requests(session, incident.id) if r.status == "accepted"]
    return list(dict.fromkeys(ids))


def added_at(session: Session, incident: Incident) -> dict[int, datetime]:
    """When each person was last added to the incident: a role given or a responder request accepted."""
    found: dict[int, datetime] = {}
    for a in response_repo.assignments(session, incident.id):
        if a.ended_at is None:
            found[a.user_id] = max(found.get(a.user_id, a.assigned_at), a.assigned_at)
    for r in response_repo.responder_requests(session, incident.id):
        if r.status == "accepted" and r.answered_at is not None:
            found[r.user_id] = max(found.get(r.user_id, r.answered_at), r.answered_at)
    return found


def lock(session: Session, claim: Claim) -> ChatRoom | None:
    return repo.lock(session, claim)


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return repo.claim(session, now=now, owner=owner, lease=lease, limit=limit)


def next_due(session: Session) -> datetime | None:
    return repo.next_due(session)


def wanted(session: Session, row: ChatRoom, base_url: str) -> Wanted:
    incident = incidents.get(session, row.incident_id)
    people: dict[int, str] = {}
    for uid in members_of(session, incident):
        user = user_repo.get(session, uid)
        if user is not None and user.deactivated_at is None:
            people[uid] = user.email
    return Wanted(
        room_id=row.id,
        platform=row.platform,
        name=row.name,
        private=row.private,
        status=row.status,
        external_id=row.room_id,
        topic=topic_of(session, incident, base_url),
        summary=summary_of(session, incident, base_url),
        people=people,
        accounts=repo.links_of_users(session, row.platform, list(people)),
        resolved_at=incident.resolved_at if incident.status == lifecycle.RESOLVED else None,
        archive_at=row.archive_at,
        notice_sent=row.notice_sent_at is not None,
        invited=tuple(row.invited),
        inviting=tuple(row.inviting),
        current_topic=row.topic,
        summary_ref=row.summary_ref,
        current_summary=row.summary_text,
        attempts=row.attempts,
        removed={a: datetime.fromisoformat(t) for a, t in (row.removed or {}).items()},
        removing=tuple(row.removing or ()),
        added=added_at(session, incident),
        exported=row.exported_at is not None,
    )


# --- links between chat accounts and users ----------------------------------------------------------------------


def link(session: Session, user_id: int, platform: str, external_id: str, *, now: datetime) -> ChatLink:
    check_platform(platform)
    found = repo.link_of(session, platform, external_id)
    if found is not None:
        found.user_id = user_id
        return found
    row = ChatLink(user_id=user_id, platform=platform, external_id=external_id, created_at=now)
    with session.begin_nested():
        repo.add(session, row)
    return row


def linked_user_id(session: Session, platform: str, external_id: str) -> int | None:
    found = repo.link_of(session, platform, external_id)
    return None if found is None else found.user_id


def user_id_by_email(session: Session, email: str) -> int | None:
    user = user_repo.by_email(session, email)
    return None if user is None or user.deactivated_at is not None else user.id


def apply(session: Session, claim: Claim, now: datetime, **changes: object) -> bool:
    """Record what the engine did on a room it still holds (False: its claim went stale, nothing written)."""
    row = repo.lock(session, claim)
    if row is None:
        return False
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now
    return True


def finish(
    session: Session, claim: Claim, started: datetime, now: datetime, due: datetime | None, **changes: object
) -> bool:
    """End a pass on a room: the next due time, unless an event made the room due while the pass worked; the lease
    is let go."""
    row = repo.lock(session, claim)
    if row is None:
        return False
    for name, value in changes.items():
        setattr(row, name, value)
    if row.due_at is None or row.due_at <= started:
        row.due_at = due
    elif due is not None:
        row.due_at = min(row.due_at, due)
    row.lease_owner = None
    row.lease_until = None
    row.updated_at = now
    return True


def note(session: Session, incident_id: int, text: str, *, now: datetime) -> None:
    incidents.record(session, incident_id, TimelineKind.NOTE, text, actor=Actor(label="chat", source="engine"), now=now)


def get_room(session: Session, room_id: int) -> ChatRoom:
    row = session.get(ChatRoom, room_id)
    if row is None:
        raise NotFound(f"chat room {room_id} does not exist")
    return row


def user_name(session: Session, user_id: int) -> str:
    user = user_repo.get(session, user_id)
    return user.name if user is not None else f"user {user_id}"


def open_room(
    session: Session,
    incident: Incident,
    platform: str | None,
    *,
    configured: Sequence[str],
    actor: Actor,
    now: datetime,
) -> tuple[ChatRoom, bool]:
    """A room asked for by a person (button, API, CLI, workflow step): the platform named, else the first one
    configured."""
    if platform is None:
        if not configured:
            raise Conflict("no chat platform is configured on this server (Slack, Matrix or Teams)")
        platform = configured[0]
    check_platform(platform, configured)
    return request_room(session, incident, platform, actor=actor, now=now)


# --- removals on request ----------------------------------------------------------------------------------------


def request_removal(
    session: Session, incident: Incident, platform: str, account: str, *, who: str, actor: Actor, now: datetime
) -> ChatRoom:
    """Ask the engine to remove one account from the incident's room: recorded now (the room becomes due), and
    held: the reconciliation does not invite them again until they are added to the incident anew."""
    check_platform(platform)
    found = repo.room(session, incident.id, platform)
    if found is None:
        raise NotFound(f"incident #{incident.number} has no {platform} war room")
    row = repo.lock_room(session, found.id)
    if row.status not in repo.ACTIVE:
        raise Conflict(f"the {platform} war room of #{incident.number} is {row.status}")
    row.removed = {**(row.removed or {}), account: now.isoformat()}
    if account not in (row.removing or []):
        row.removing = [*(row.removing or []), account]
    row.due_at = now
    row.updated_at = now
    incidents.record(
        session,
        incident.id,
        TimelineKind.NOTE,
        f"{who} is to be removed from war room {row.name} on {platform}, asked by {actor.label} via {actor.source}",
        actor=actor,
        now=now,
        platform=platform,
        account=account,
    )
    return row


def removal_done(
    session: Session, claim: Claim, account: str, *, removed: bool, now: datetime, reason: str = ""
) -> bool:
    """The engine removed the account (or found it gone, or the platform will not remove it): no longer in flight,
    no longer counted as invited."""
    row = repo.lock(session, claim)
    if row is None:
        return False
    row.removing = [a for a in (row.removing or []) if a != account]
    row.invited = [a for a in (row.invited or []) if a != account]
    row.updated_at = now
    if not removed:
        why = f": {reason}" if reason else ""
        note(session, row.incident_id, f"{account} could not be removed from war room {row.name}{why}", now=now)
    return True


def account_for_removal(session: Session, row: ChatRoom, person: str) -> tuple[str, str]:
    """The chat account to remove and a name for the timeline: a Tocsin user (id or email) with a linked account on
    the room's platform, or an account the room invited."""
    user = user_repo.by_email(session, person) if "@" in person and ":" not in person else None
    if user is None and person.isascii() and person.isdigit():
        user = user_repo.get(session, int(person))
    if user is not None:
        account = repo.links_of_users(session, row.platform, [user.id]).get(user.id)
        if account is None:
            raise NotFound(f"{user.name} has no linked {row.platform} account")
        return account, user.name
    if person in (row.invited or []) or person in (row.inviting or []):
        uid = linked_user_id(session, row.platform, person)
        return person, user_name(session, uid) if uid is not None else person
    raise NotFound(f"no person {person!r} in the {row.platform} war room")


# --- the conversation's export ----------------------------------------------------------------------------------


def save_export(session: Session, claim: Claim, *, text: str, messages: int, cut: bool, now: datetime) -> bool:
    """Keep the room's exported conversation, once (a later pass that finds it done writes nothing)."""
    row = repo.lock(session, claim)
    if row is None:
        return False
    if row.exported_at is not None:
        return True
    repo.add(
        session,
        ChatExport(
            room_id=row.id,
            incident_id=row.incident_id,
            platform=row.platform,
            name=row.name,
            messages=messages,
            cut=cut,
            text=text,
            created_at=now,
        ),
    )
    row.exported_at = now
    row.updated_at = now
    size = len(text.encode())
    note(
        session,
        row.incident_id,
        f"Conversation of war room {row.name} on {row.platform} exported for the postmortem: {messages} message(s), "
        f"{size} bytes" + (" (the oldest messages were cut to keep within the size limit)" if cut else ""),
        now=now,
    )
    return True


def exports_by_platform(session: Session, incident_id: int) -> dict[str, ChatExport]:
    """The exported conversations of the incident's rooms."""
    return {e.platform: e for e in repo.exports_of(session, incident_id)}


def members_shown(session: Session, row: ChatRoom) -> list[tuple[str, str]]:
    """(account, name) of the people the room invited and nobody asked to remove, Tocsin names where linked; none
    once the room is archived or failed."""
    if row.status not in repo.ACTIVE:
        return []
    leaving = set(row.removing or [])
    accounts = [a for a in (row.invited or []) if a not in leaving]
    names = names_of_accounts(session, row.platform, accounts)
    return [(a, names.get(a, a)) for a in accounts]


def export_of(session: Session, incident_id: int, platform: str) -> ChatExport:
    found = repo.export_of(session, incident_id, platform)
    if found is None:
        raise NotFound(f"no exported {platform} conversation for this incident")
    return found


def names_of_accounts(session: Session, platform: str, accounts: Sequence[str]) -> dict[str, str]:
    """Tocsin names of the linked accounts among these (others keep the platform's own name)."""
    return repo.names_of_accounts(session, platform, accounts)
