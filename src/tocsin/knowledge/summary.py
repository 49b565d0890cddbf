"""The catch-up summary of an incident, built from its data alone (no model): what happened, where it stands, who
holds which role, the last stakeholder update and the open tasks. Also the model's input when one is configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.timeline import TimelineKind
from tocsin.response import roles as response_roles
from tocsin.response import service as response
from tocsin.response.models import TaskStatus
from tocsin.services import service as services
from tocsin.stakeholders import service as stakeholders
from tocsin.users import service as users

# What a reader catching up cares about; the paging chatter and the automatic entries are left out.
_STORY = (
    TimelineKind.TRIGGERED,
    TimelineKind.ACKNOWLEDGED,
    TimelineKind.RESOLVED,
    TimelineKind.REOPENED,
    TimelineKind.RETRIGGERED,
    TimelineKind.NOTE,
    TimelineKind.RESPONSE_CHANGED,
    TimelineKind.UPDATED,
    TimelineKind.STAKEHOLDER_UPDATE,
)
STORY_MAX = 8


@dataclass
class Summary:
    number: int
    title: str
    service: str
    status: str
    response_status: str
    severity: str
    priority: str
    opened_at: datetime
    resolved_at: datetime | None
    what_happened: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    last_update: str | None = None
    last_update_at: datetime | None = None
    open_tasks: list[str] = field(default_factory=list)
    generated: bool = False
    text: str = ""

    def as_markdown(self) -> str:
        lines = [
            f"**#{self.number} {self.title}** — {self.service}",
            f"Status: {self.status} ({self.response_status}), {self.severity}, {self.priority}; opened "
            f"{self.opened_at:%Y-%m-%d %H:%M} UTC"
            + (f", resolved {self.resolved_at:%Y-%m-%d %H:%M} UTC" if self.resolved_at else ""),
        ]
        if self.what_happened:
            lines += ["", "What happened:"] + [f"- {s}" for s in self.what_happened]
        if self.roles:
            lines += ["", "Roles: " + ", ".join(f"{r}: {u}" for r, u in self.roles.items())]
        if self.last_update:
            lines += ["", f"Last stakeholder update ({self.last_update_at:%Y-%m-%d %H:%M} UTC): {self.last_update}"]
        if self.open_tasks:
            lines += ["", "Open tasks:"] + [f"- {t}" for t in self.open_tasks]
        return "\n".join(lines)


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def catch_up(session: Session, incident: Incident) -> Summary:
    service = services.get_service(session, incident.service_id)
    story = list(
        session.execute(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id, TimelineEntry.kind.in_(_STORY))
            .order_by(TimelineEntry.id.desc())
            .limit(STORY_MAX)
        ).scalars()
    )
    happened = [f"{e.at:%H:%M} {e.kind}: {_one_line(e.message or '', 240)}".rstrip(": ") for e in reversed(story)]
    holders = response_roles.current_holders(response_roles.history(session, incident.id))
    role_names = {r.id: r.name for r in response_roles.list_roles(session)}
    tasks = [t for t in response.tasks(session, incident.id) if t.status == TaskStatus.OPEN]
    people = users.names_of(
        session, sorted(set(holders.values()) | {t.assignee_user_id for t in tasks if t.assignee_user_id})
    )
    updates = stakeholders.updates_of(session, incident.id)
    last = updates[-1] if updates else None
    summary = Summary(
        number=incident.number,
        title=incident.title,
        service=service.name,
        status=str(incident.status),
        response_status=str(incident.response_status),
        severity=incident.severity,
        priority=incident.priority,
        opened_at=incident.created_at,
        resolved_at=incident.resolved_at,
        what_happened=happened,
        roles={role_names.get(r, str(r)): people.get(u, f"user {u}") for r, u in sorted(holders.items())},
        last_update=_one_line(last.body, 500) if last else None,
        last_update_at=last.created_at if last else None,
        open_tasks=[
            t.title + (f" ({people.get(t.assignee_user_id, '?')})" if t.assignee_user_id else "") for t in tasks
        ],
    )
    summary.text = summary.as_markdown()
    return summary
