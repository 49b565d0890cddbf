"""Action items (ADR 0029): what an incident's learning commits to change, each with an owner, a team, a due date, a
priority and a kind; open → in_progress → done, or won't do with a reason. An item is accepted even when it is not
SMART yet (no owner, no due date, no measurable outcome, a due date already past): the answer carries warnings
instead, so that nothing typed is lost. An unknown owner or team is refused (422).

Each item exposes its id, title, body and owner so that an issue tracker can be synchronised from it later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.core.errors import InvalidInput, InvalidTransition, NotFound, PayloadTooLarge
from tocsin.incidents import visibility
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.learning import repository as repo
from tocsin.learning import tracking
from tocsin.learning.models import ActionItem
from tocsin.notify import notices
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.users import service as users

KINDS: Final = ("prevent", "mitigate", "detect", "process")
PRIORITIES: Final = ("low", "medium", "high", "critical")
STATUSES: Final = ("open", "in_progress", "done", "wont_do")
OPEN: Final = repo.OPEN_ITEM
# (from, to): whether a reason is required.
MOVES: Final = {
    ("open", "in_progress"): False,
    ("open", "done"): False,
    ("in_progress", "done"): False,
    ("in_progress", "open"): False,
    ("open", "wont_do"): True,
    ("in_progress", "wont_do"): True,
    ("done", "open"): True,
    ("wont_do", "open"): True,
}
MAX_BODY: Final = 20_000


@dataclass(slots=True)
class ItemSpec:
    title: str
    body: str = ""
    success_criterion: str = ""
    owner: str | None = None
    team: str | None = None
    due_at: datetime | None = None
    priority: str = "medium"
    kind: str = "prevent"
    problem_id: int | None = None


@dataclass(slots=True)
class Saved:
    item: ActionItem
    warnings: list[str] = field(default_factory=list)


def warnings_of(item: ActionItem, now: datetime) -> list[str]:
    """What keeps an item from being SMART."""
    found = []
    if item.owner_user_id is None:
        found.append("no owner: name who does it")
    if item.due_at is None:
        found.append("no due date")
    elif item.due_at < now and item.status in OPEN:
        found.append("the due date is past")
    if not item.success_criterion.strip():
        found.append("no measurable outcome: say how we will know it is done (success criterion)")
    return found


def _check(session: Session, spec: ItemSpec) -> dict[str, object]:
    title = (spec.title or "").strip()
    if not title or len(title) > 500:
        raise InvalidInput("title: 1 to 500 characters")
    if len(spec.body) > MAX_BODY or len(spec.success_criterion) > MAX_BODY:
        raise PayloadTooLarge(f"body and success_criterion: at most {MAX_BODY:,} characters each")
    if spec.kind not in KINDS:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}")
    if spec.priority not in PRIORITIES:
        raise InvalidInput(f"priority: one of {', '.join(PRIORITIES)}")
    owner_id = None
    if spec.owner:
        try:
            owner_id = users.get_user(session, spec.owner).id
        except NotFound:
            raise InvalidInput(f"owner: unknown user {spec.owner!r}") from None
    team_id = None
    if spec.team:
        try:
            team_id = teams.get_team(session, spec.team).id
        except NotFound:
            raise InvalidInput(f"team: unknown team {spec.team!r}") from None
    if spec.problem_id is not None and repo.problem(session, spec.problem_id) is None:
        raise InvalidInput(f"problem_id: unknown problem {spec.problem_id}")
    return {
        "title": title,
        "body": spec.body,
        "success_criterion": spec.success_criterion.strip(),
        "owner_user_id": owner_id,
        "team_id": team_id,
        "due_at": spec.due_at,
        "priority": spec.priority,
        "kind": spec.kind,
        "problem_id": spec.problem_id,
    }


def create(session: Session, incident: Incident, spec: ItemSpec, *, actor: Actor, now: datetime) -> Saved:
    values = _check(session, spec)
    if values["team_id"] is None:
        values["team_id"] = services.get_service(session, incident.service_id).team_id
    item = ActionItem(
        incident_id=incident.id,
        status="open",
        reason="",
        created_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(item)
    session.flush()
    return Saved(item, warnings_of(item, now))


def get(session: Session, item_id: int) -> ActionItem:
    found = repo.action_item(session, item_id)
    if found is None:
        raise NotFound(f"action item {item_id} not found")
    return found


def edit(session: Session, item: ActionItem, spec: ItemSpec, *, now: datetime) -> Saved:
    values = _check(session, spec)
    for key, value in values.items():
        setattr(item, key, value)
    item.updated_at = now
    session.flush()
    return Saved(item, warnings_of(item, now))


def move(session: Session, item: ActionItem, target: str, *, reason: str = "", now: datetime) -> ActionItem:
    if target not in STATUSES:
        raise InvalidInput(f"status: one of {', '.join(STATUSES)}")
    needs_reason = MOVES.get((item.status, target))
    if needs_reason is None:
        raise InvalidTransition(f"an action item does not go from {item.status} to {target}")
    reason = (reason or "").strip()[:2000]
    if needs_reason and not reason:
        raise InvalidInput(f"reason: {item.status} to {target} needs a reason")
    item.status, item.reason, item.updated_at = target, reason, now
    item.done_at = now if target == "done" else None
    session.flush()
    tracking.follow_local(session, item, now=now)
    return item


def of_incident(session: Session, incident_id: int) -> list[ActionItem]:
    return repo.action_items_of(session, [incident_id])


def open_items(
    session: Session,
    viewer: Viewer,
    *,
    see_all: bool,
    owner: str | None = None,
    team: str | None = None,
) -> list[ActionItem]:
    """Open items (by person, by team), of the incidents this viewer reads only."""
    owner_id = team_id = None
    if owner:
        try:
            owner_id = users.get_user(session, owner).id
        except NotFound:
            raise InvalidInput(f"owner: unknown user {owner!r}") from None
    if team:
        try:
            team_id = teams.get_team(session, team).id
        except NotFound:
            raise InvalidInput(f"team: unknown team {team!r}") from None
    rows = repo.open_action_items(session, owner_user_id=owner_id, team_id=team_id)
    seen = set(visibility.visible_ids(session, [r.incident_id for r in rows], viewer, see_all=see_all))
    return [r for r in rows if r.incident_id in seen]


def all_done(items: list[ActionItem]) -> bool:
    """Every item done (won't do counts as settled); False when there is none."""
    return (
        bool(items) and all(i.status in ("done", "wont_do") for i in items) and any(i.status == "done" for i in items)
    )


# --- reminders (the engine) -------------------------------------------------------------------------------------


def remind_overdue(session: Session, *, now: datetime) -> int:
    """Each overdue item's owner is told once per due date (the notice key holds it) through their own contact
    methods; the number reminded."""
    reminded = 0
    for item in repo.overdue_items(session, now):
        if item.owner_user_id is None or item.due_at is None:
            continue
        text = (
            f'Action item #{item.id} "{item.title}" was due {item.due_at:%Y-%m-%d %H:%M} UTC and is still '
            f"{item.status.replace('_', ' ')}."
        )
        key = f"action-item-overdue:{item.id}:{item.due_at.isoformat()}"
        if notices.notify_user(session, user_id=item.owner_user_id, key=key, text=text, now=now):
            reminded += 1
    return reminded


def next_reminder(session: Session, now: datetime) -> datetime | None:
    return repo.next_item_due(session, now)
