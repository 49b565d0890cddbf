"""Postmortems (ADR 0029): one per incident, created by hand or when an incident a rule names is resolved; written
in sections saved independently (each save names the version it edits: a stale save is a 409 carrying the text
it would have overwritten) with their history; reviewed (draft → in_review → published, and back with a reason)
and approved by reviewers before publication when the postmortem asks for it.

The transports check that the reader may see the incident (ADR 0022) before calling in: a postmortem is read by
whoever reads its incident, and by no one else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound, PayloadTooLarge
from tocsin.incidents import service as incidents
from tocsin.incidents import taxonomy
from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.learning import hooks, prefill, templates
from tocsin.learning import repository as repo
from tocsin.learning.models import Postmortem, PostmortemRule, PostmortemSection, SectionRevision
from tocsin.response import types as incident_types
from tocsin.users import service as users

STATUSES: Final = ("draft", "in_review", "published")
# (from, to): whether a reason is required. Anything else is a 409.
MOVES: Final = {
    ("draft", "in_review"): False,
    ("in_review", "published"): False,
    ("in_review", "draft"): True,
    ("published", "in_review"): True,
    ("published", "draft"): True,
}
DUE_BUSINESS_DAYS: Final = 5
MAX_SECTION: Final = 100_000
MAX_DATA_ITEMS: Final = 200
MAX_REVIEWERS: Final = 50


class StaleSection(Conflict):
    title = "Section changed meanwhile"


def add_business_days(start: datetime, days: int) -> datetime:
    when = start
    while days > 0:
        when += timedelta(days=1)
        if when.weekday() < 5:
            days -= 1
    return when


def _user_id(session: Session, ref: int | str, field: str) -> int:
    try:
        return users.get_user(session, ref).id
    except NotFound:
        raise InvalidInput(f"{field}: unknown user {ref!r}") from None


# --- rules ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RuleSpec:
    type: str | None = None
    min_severity: str | None = None
    template: str = templates.DEFAULT


def rules(session: Session) -> list[PostmortemRule]:
    return repo.rules(session)


def rule_as_spec(session: Session, row: PostmortemRule) -> dict[str, Any]:
    names = incident_types.names_by_id(session)
    return {
        "id": row.id,
        "type": names.get(row.type_id) if row.type_id is not None else None,
        "min_severity": row.min_severity,
        "template": row.template,
    }


def replace_rules(session: Session, specs: Sequence[RuleSpec], *, now: datetime) -> list[PostmortemRule]:
    """The whole rule set at once (what the API's PUT and ``tocsin apply`` give)."""
    if len(specs) > 100:
        raise InvalidInput("rules: at most 100")
    rows = []
    for n, spec in enumerate(specs):
        type_id = None
        if spec.type:
            try:
                type_id = incident_types.get_type(session, spec.type).id
            except NotFound as exc:
                raise InvalidInput(f"rules[{n}].type: {exc.detail}") from None
        severity = None
        if spec.min_severity:
            try:
                severity = taxonomy.check_severity(session, spec.min_severity)
            except InvalidInput as exc:
                raise InvalidInput(f"rules[{n}].min_severity: {exc.detail}") from None
        templates.sections_of(session, spec.template)
        rows.append(PostmortemRule(type_id=type_id, min_severity=severity, template=spec.template, created_at=now))
    for old in repo.rules(session):
        session.delete(old)
    session.flush()
    session.add_all(rows)
    session.flush()
    return rows


def required_by(session: Session, incident: Incident) -> PostmortemRule | None:
    """The first rule that asks for a postmortem of this incident (drills never need one)."""
    if incident.drill:
        return None
    rank = {s.name: s.position for s in taxonomy.severities(session)}
    for rule in repo.rules(session):
        if rule.type_id is not None and rule.type_id != incident.type_id:
            continue
        if rule.min_severity is not None:
            threshold, level = rank.get(rule.min_severity), rank.get(incident.severity)
            if threshold is None or level is None or level > threshold:
                continue
        return rule
    return None


# --- postmortems ------------------------------------------------------------------------------------------------


def postmortem_of(session: Session, incident_id: int) -> Postmortem | None:
    return repo.postmortem_of(session, incident_id)


def get(session: Session, incident_id: int) -> Postmortem:
    found = repo.postmortem_of(session, incident_id)
    if found is None:
        raise NotFound("this incident has no postmortem")
    return found


def published_postmortem(session: Session, incident_id: int) -> Postmortem | None:
    """The incident's postmortem once published (what a status page may link to), else None."""
    found = repo.postmortem_of(session, incident_id)
    return found if found is not None and found.status == "published" else None


def sections(session: Session, postmortem: Postmortem) -> list[PostmortemSection]:
    return repo.sections(session, postmortem.id)


def create(
    session: Session,
    incident: Incident,
    *,
    actor: Actor,
    now: datetime,
    owner: int | str | None = None,
    reviewers: Sequence[int | str] = (),
    due_at: datetime | None = None,
    template: str | None = None,
    require_approval: bool = True,
    automatic: bool = False,
) -> Postmortem:
    """A postmortem with its draft already filled from the incident; a second one is a 409."""
    if repo.postmortem_of(session, incident.id) is not None:
        raise Conflict(f"incident #{incident.number} has a postmortem already")
    name = template or templates.DEFAULT
    chosen = templates.sections_of(session, name)
    owner_id = _user_id(session, owner, "owner") if owner is not None else incident.assigned_user_id or actor.user_id
    reviewer_ids = _reviewers(session, reviewers)
    if due_at is None:
        due_at = add_business_days(incident.resolved_at or now, DUE_BUSINESS_DAYS)
    row = Postmortem(
        incident_id=incident.id,
        template=name,
        status="draft",
        status_reason="",
        owner_user_id=owner_id,
        reviewer_ids=reviewer_ids,
        approved_by=[],
        require_approval=require_approval,
        due_at=due_at,
        automatic=automatic,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    draft = prefill.draft(session, incident, chosen, now=now)
    for position, section in enumerate(chosen):
        body, data = draft[section.key]
        added = PostmortemSection(
            postmortem_id=row.id,
            key=section.key,
            title=section.title,
            position=position,
            body=body,
            data=data,
            version=1,
            updated_by_user_id=None,
            updated_at=now,
        )
        session.add(added)
        session.flush()
        session.add(SectionRevision(section_id=added.id, version=1, body=body, data=data, user_id=None, at=now))
    session.flush()
    incidents.record(
        session,
        incident.id,
        TimelineKind.POSTMORTEM,
        "Postmortem started" + (" (required for incidents like this one)" if automatic else ""),
        actor=actor,
        now=now,
        postmortem_id=row.id,
    )
    return row


def _reviewers(session: Session, refs: Sequence[int | str]) -> list[int]:
    if len(refs) > MAX_REVIEWERS:
        raise InvalidInput(f"reviewers: at most {MAX_REVIEWERS}")
    return list(dict.fromkeys(_user_id(session, r, "reviewers") for r in refs))


def update(
    session: Session,
    postmortem: Postmortem,
    *,
    now: datetime,
    owner: int | str | None = None,
    reviewers: Sequence[int | str] | None = None,
    due_at: datetime | None = None,
    require_approval: bool | None = None,
) -> Postmortem:
    if owner is not None:
        postmortem.owner_user_id = _user_id(session, owner, "owner")
    if reviewers is not None:
        postmortem.reviewer_ids = _reviewers(session, reviewers)
        postmortem.approved_by = [u for u in postmortem.approved_by if u in postmortem.reviewer_ids]
    if due_at is not None:
        postmortem.due_at = due_at
    if require_approval is not None:
        postmortem.require_approval = require_approval
    postmortem.updated_at = now
    session.flush()
    return postmortem


def _check_data(key: str, data: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if len(data) > MAX_DATA_ITEMS:
        raise PayloadTooLarge(f"{key}: at most {MAX_DATA_ITEMS} items")
    if key == templates.FIVE_WHYS:
        return [{"why": str(d.get("why") or "")[:5000], "answer": str(d.get("answer") or "")[:5000]} for d in data]
    if key == templates.TIMELINE:
        picked = []
        for n, d in enumerate(data):
            at = d.get("at")
            if not isinstance(at, str) or not at:
                raise InvalidInput(f"data[{n}].at: a time is required")
            entry_id = d.get("entry_id")
            picked.append(
                {
                    "entry_id": int(entry_id) if isinstance(entry_id, int) else None,
                    "at": at[:40],
                    "message": str(d.get("message") or "")[:2000],
                    "note": str(d.get("note") or "")[:2000],
                }
            )
        return sorted(picked, key=lambda p: p["at"])
    if data:
        raise InvalidInput(f"data: section {key!r} holds text only")
    return []


def current(section: PostmortemSection) -> dict[str, Any]:
    """What a section holds now (what a stale save is answered with)."""
    return {
        "key": section.key,
        "version": section.version,
        "body": section.body,
        "data": list(section.data),
        "updated_by_user_id": section.updated_by_user_id,
        "updated_at": section.updated_at.isoformat(),
    }


def save_section(
    session: Session,
    postmortem: Postmortem,
    key: str,
    *,
    body: str,
    version: int,
    data: Sequence[Mapping[str, Any]] | None = None,
    actor: Actor,
    now: datetime,
) -> PostmortemSection:
    """Save one section over ``version``; when someone saved it meanwhile, a 409 carrying their text."""
    if len(body) > MAX_SECTION:
        raise PayloadTooLarge(f"body: a section is limited to {MAX_SECTION:,} characters")
    if postmortem.status == "published":
        raise Conflict("the postmortem is published: move it back to review (with a reason) to edit it")
    section = repo.section(session, postmortem.id, key, for_update=True)
    if section is None:
        raise NotFound(f"section {key!r} not found")
    checked = _check_data(key, data) if data is not None else list(section.data)
    if section.version != version:
        raise StaleSection(
            f"section {key!r} was saved by someone else meanwhile (version {section.version}, yours {version}): "
            "merge their text and save again",
            current=current(section),
        )
    section.body = body
    section.data = checked
    section.version += 1
    section.updated_by_user_id = actor.user_id
    section.updated_at = now
    postmortem.updated_at = now
    session.add(
        SectionRevision(
            section_id=section.id, version=section.version, body=body, data=checked, user_id=actor.user_id, at=now
        )
    )
    session.flush()
    return section


def history(session: Session, postmortem: Postmortem, key: str) -> list[SectionRevision]:
    section = repo.section(session, postmortem.id, key)
    if section is None:
        raise NotFound(f"section {key!r} not found")
    return repo.revisions(session, section.id)


def approve(session: Session, postmortem: Postmortem, *, actor: Actor, now: datetime) -> Postmortem:
    if actor.user_id is None or actor.user_id not in postmortem.reviewer_ids:
        raise Forbidden("only the postmortem's reviewers approve it")
    if postmortem.status != "in_review":
        raise InvalidTransition(f"a postmortem is approved in review, not {postmortem.status}")
    if actor.user_id not in postmortem.approved_by:
        postmortem.approved_by = [*postmortem.approved_by, actor.user_id]
    postmortem.updated_at = now
    session.flush()
    return postmortem


def missing_approvals(postmortem: Postmortem) -> list[int]:
    if not postmortem.require_approval:
        return []
    return [u for u in postmortem.reviewer_ids if u not in postmortem.approved_by]


def move(
    session: Session, postmortem: Postmortem, target: str, *, reason: str = "", actor: Actor, now: datetime
) -> Postmortem:
    if target not in STATUSES:
        raise InvalidInput(f"status: one of {', '.join(STATUSES)}")
    needs_reason = MOVES.get((postmortem.status, target))
    if needs_reason is None:
        raise InvalidTransition(f"a postmortem does not go from {postmortem.status} to {target}")
    reason = (reason or "").strip()[:2000]
    if needs_reason and not reason:
        raise InvalidInput(f"reason: going back from {postmortem.status} to {target} needs a reason")
    if target == "published":
        if postmortem.require_approval and not postmortem.reviewer_ids:
            raise Conflict("the postmortem needs approval and has no reviewer: name reviewers first")
        missing = missing_approvals(postmortem)
        if missing:
            names = users.names_of(session, missing)
            raise Conflict("waiting for the approval of " + ", ".join(str(names.get(u, u)) for u in missing))
        postmortem.published_at = now
    if target == "draft":
        postmortem.approved_by = []
    postmortem.status, postmortem.status_reason, postmortem.updated_at = target, reason, now
    session.flush()
    incidents.record(
        session,
        postmortem.incident_id,
        TimelineKind.POSTMORTEM,
        f"Postmortem {target.replace('_', ' ')}" + (f": {reason}" if reason else ""),
        actor=actor,
        now=now,
        postmortem_id=postmortem.id,
    )
    if target == "published":
        hooks.published(session, postmortem, now)
    return postmortem


def on_resolved(session: Session, incident: Incident, *, now: datetime) -> Postmortem | None:
    """An incident a rule names gets its postmortem when it is resolved (once: a reopened and resolved again incident
    keeps the one it has)."""
    if incident.status != IncidentStatus.RESOLVED or repo.postmortem_of(session, incident.id) is not None:
        return None
    rule = required_by(session, incident)
    if rule is None:
        return None
    return create(
        session,
        incident,
        actor=Actor(label="engine", source="engine"),
        now=now,
        template=rule.template,
        automatic=True,
    )
