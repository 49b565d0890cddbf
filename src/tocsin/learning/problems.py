"""Problems (ITIL, ADR 0029): the cause behind one or more incidents, open → known_error → resolved. A known error
carries a workaround that is shown on every new incident it matches.

The match rule: the incident's service (or one it affects) is one of the problem's services, and, when the problem
sets a pattern, the pattern appears in the incident's title or category (case-insensitive, plain text, no
wildcards). A problem with no service matches nothing, so that a forgotten rule never floods every incident.

A problem linked to a private incident is read only by those who read every private incident it is linked to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.core.errors import InvalidInput, InvalidTransition, NotFound, PayloadTooLarge
from tocsin.incidents import service as incidents
from tocsin.incidents import visibility
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.learning import repository as repo
from tocsin.learning.models import ActionItem, Postmortem, Problem
from tocsin.services import service as services

STATUSES: Final = ("open", "known_error", "resolved")
MOVES: Final = {
    ("open", "known_error"),
    ("open", "resolved"),
    ("known_error", "resolved"),
    ("known_error", "open"),
    ("resolved", "open"),
}
MAX_TEXT: Final = 50_000
MAX_LINKS: Final = 200


@dataclass(slots=True)
class ProblemSpec:
    title: str
    description: str = ""
    root_cause: str = ""
    workaround: str = ""
    services: list[str] = field(default_factory=list)
    pattern: str = ""


def _check(session: Session, spec: ProblemSpec) -> dict[str, object]:
    title = (spec.title or "").strip()
    if not title or len(title) > 500:
        raise InvalidInput("title: 1 to 500 characters")
    for name in ("description", "root_cause", "workaround"):
        if len(getattr(spec, name)) > MAX_TEXT:
            raise PayloadTooLarge(f"{name}: at most {MAX_TEXT:,} characters")
    if len(spec.pattern) > 200:
        raise InvalidInput("pattern: at most 200 characters")
    service_ids = []
    for ref in spec.services:
        try:
            service_ids.append(services.get_service(session, ref).id)
        except NotFound:
            raise InvalidInput(f"services: unknown service {ref!r}") from None
    return {
        "title": title,
        "description": spec.description,
        "root_cause": spec.root_cause,
        "workaround": spec.workaround,
        "service_ids": list(dict.fromkeys(service_ids)),
        "pattern": spec.pattern.strip(),
    }


def create(
    session: Session,
    spec: ProblemSpec,
    *,
    incidents_linked: Sequence[Incident] = (),
    actor: Actor,
    now: datetime,
) -> Problem:
    values = _check(session, spec)
    if len(incidents_linked) > MAX_LINKS:
        raise InvalidInput(f"incidents: at most {MAX_LINKS}")
    if not values["service_ids"]:
        values["service_ids"] = list(dict.fromkeys(i.service_id for i in incidents_linked))
    row = Problem(
        status="open", created_by_user_id=actor.user_id, created_at=now, updated_at=now, resolved_at=None, **values
    )
    session.add(row)
    session.flush()
    for incident in incidents_linked:
        repo.link(session, row.id, incident.id, now)
    session.flush()
    return row


def from_postmortem(session: Session, postmortem: Postmortem, *, actor: Actor, now: datetime) -> Problem:
    """A problem carrying the postmortem's root cause, linked to its incident and taking its open action items."""
    incident = incidents.get(session, postmortem.incident_id)
    root = repo.section(session, postmortem.id, "root_cause")
    row = create(
        session,
        ProblemSpec(title=incident.title, root_cause=root.body if root is not None else ""),
        incidents_linked=[incident],
        actor=actor,
        now=now,
    )
    for item in repo.action_items_of(session, [incident.id]):
        if item.problem_id is None:
            item.problem_id = row.id
    session.flush()
    return row


def get(session: Session, problem_id: int) -> Problem:
    found = repo.problem(session, problem_id)
    if found is None:
        raise NotFound(f"problem {problem_id} not found")
    return found


def may_see(session: Session, viewer: Viewer, problem: Problem, *, see_all: bool, linked: Sequence[int]) -> bool:
    if viewer.is_admin or not linked:
        return True
    for incident in repo.incidents(session, linked):
        if incident.private and not visibility.may_see(session, viewer, incident, see_all=see_all):
            return False
    return True


def get_visible(session: Session, problem_id: int, viewer: Viewer, *, see_all: bool) -> Problem:
    found = get(session, problem_id)
    linked = linked_incident_ids(session, found.id)
    if not may_see(session, viewer, found, see_all=see_all, linked=linked):
        raise NotFound(f"problem {problem_id} not found")
    return found


def list_visible(session: Session, viewer: Viewer, *, see_all: bool, status: str | None = None) -> list[Problem]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status: one of {', '.join(STATUSES)}")
    rows = repo.problems(session, status=status)
    links = repo.incident_ids_of_problems(session, [r.id for r in rows])
    return [r for r in rows if may_see(session, viewer, r, see_all=see_all, linked=links[r.id])]


def action_items(session: Session, problem: Problem) -> list[ActionItem]:
    return repo.action_items_of_problem(session, problem.id)


def linked_incident_ids(session: Session, problem_id: int) -> list[int]:
    return repo.incident_ids_of_problems(session, [problem_id])[problem_id]


def edit(session: Session, problem: Problem, spec: ProblemSpec, *, now: datetime) -> Problem:
    """Replace the fields; no service named keeps the services it has (those of the incidents first linked)."""
    values = _check(session, spec)
    if not values["service_ids"]:
        values["service_ids"] = list(problem.service_ids)
    for key, value in values.items():
        setattr(problem, key, value)
    problem.updated_at = now
    session.flush()
    return problem


def link(session: Session, problem: Problem, incident: Incident, *, now: datetime) -> bool:
    if len(linked_incident_ids(session, problem.id)) >= MAX_LINKS:
        raise InvalidInput(f"incidents: at most {MAX_LINKS} per problem")
    added = repo.link(session, problem.id, incident.id, now)
    session.flush()
    return added


def move(session: Session, problem: Problem, target: str, *, actor: Actor, now: datetime) -> Problem:
    """A known error needs a workaround; resolving is written on every linked incident's timeline."""
    if target not in STATUSES:
        raise InvalidInput(f"status: one of {', '.join(STATUSES)}")
    if (problem.status, target) not in MOVES:
        raise InvalidTransition(f"a problem does not go from {problem.status} to {target}")
    if target == "known_error" and not problem.workaround.strip():
        raise InvalidInput("workaround: a known error needs one")
    problem.status, problem.updated_at = target, now
    problem.resolved_at = now if target == "resolved" else None
    session.flush()
    if target == "resolved":
        for incident_id in linked_incident_ids(session, problem.id):
            incidents.record(
                session,
                incident_id,
                TimelineKind.PROBLEM,
                f'Problem #{problem.id} "{problem.title}" resolved',
                actor=actor,
                now=now,
                problem_id=problem.id,
            )
    return problem


def matches(problem: Problem, incident: Incident, service_ids: Sequence[int]) -> bool:
    if not set(problem.service_ids) & set(service_ids):
        return False
    if not problem.pattern:
        return True
    needle = problem.pattern.casefold()
    return needle in incident.title.casefold() or needle in (incident.category or "").casefold()


def known_errors_for(session: Session, incident: Incident) -> list[Problem]:
    """The known errors whose rule matches this incident (their workaround is shown on it)."""
    rows = repo.known_errors(session)
    if not rows:
        return []
    service_ids = [incident.service_id, *incidents.affected_services(session, incident.id)]
    return [p for p in rows if matches(p, incident, service_ids)]


def on_opened(session: Session, incident: Incident, *, now: datetime) -> int:
    """A new incident a known error matches shows its workaround on the timeline at once."""
    found = known_errors_for(session, incident)
    for problem in found:
        incidents.record(
            session,
            incident.id,
            TimelineKind.PROBLEM,
            f'Known error #{problem.id} "{problem.title}" matches this incident. Workaround: {problem.workaround}'[
                :4000
            ],
            actor=Actor(label="engine", source="engine"),
            now=now,
            problem_id=problem.id,
        )
    return len(found)
