"""Runbooks (ADR 0030): Markdown articles, every save kept as a version, linked to services, alert label matchers
(the matcher vocabulary of event rules) and incident types; the ones an incident matches are shown with it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.alerts.rules.matchers import RuleError, all_match, compile_matchers, event_view
from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.incidents.models import AffectedService, Incident
from tocsin.knowledge import repository as repo
from tocsin.knowledge.builtin_sources import runbook_document
from tocsin.knowledge.models import Runbook, RunbookVersion
from tocsin.response.models import IncidentType
from tocsin.services import service as services

TITLE_MAX = 300
BODY_MAX = 40_000
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class RunbookSpec:
    title: str
    body: str = ""
    slug: str | None = None
    services: list[str] = field(default_factory=list)
    matchers: list[dict[str, Any]] = field(default_factory=list)
    types: list[str] = field(default_factory=list)


def slugify(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:200]


def list_runbooks(session: Session) -> list[Runbook]:
    return list(session.execute(select(Runbook).order_by(Runbook.title)).scalars())


def get(session: Session, ref: int | str) -> Runbook:
    book = None
    if isinstance(ref, int) or (str(ref).isascii() and str(ref).isdigit()):
        book = session.get(Runbook, int(ref))
    if book is None:
        book = session.execute(select(Runbook).where(Runbook.slug == str(ref))).scalar_one_or_none()
    if book is None:
        raise NotFound(f"runbook {ref!r} not found")
    return book


def versions(session: Session, book: Runbook) -> list[RunbookVersion]:
    stmt = select(RunbookVersion).where(RunbookVersion.runbook_id == book.id).order_by(RunbookVersion.version.desc())
    return list(session.execute(stmt).scalars())


def version(session: Session, book: Runbook, number: int) -> RunbookVersion:
    row = session.execute(
        select(RunbookVersion).where(RunbookVersion.runbook_id == book.id, RunbookVersion.version == number)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"runbook {book.slug!r} has no version {number}")
    return row


def _checked(session: Session, spec: RunbookSpec) -> tuple[str, str, list[int], list[dict[str, Any]], list[str]]:
    errors: list[str] = []
    title = spec.title.strip()
    if not title:
        errors.append("title: required")
    elif len(title) > TITLE_MAX:
        errors.append(f"title: at most {TITLE_MAX} characters")
    if len(spec.body) > BODY_MAX:
        errors.append(f"body: at most {BODY_MAX} characters")
    slug = slugify(spec.slug or title)
    if not slug:
        errors.append("slug: needs letters or digits")
    service_ids: list[int] = []
    for ref in spec.services:
        try:
            service_ids.append(services.get_service(session, ref).id)
        except NotFound:
            errors.append(f"services: unknown service {ref!r}")
    try:
        compile_matchers(spec.matchers)
    except RuleError as exc:
        errors.append(f"matchers: {exc}")
    types = [t.strip() for t in spec.types if t.strip()]
    known = set(session.execute(select(IncidentType.name).where(IncidentType.name.in_(types))).scalars())
    errors += [f"types: unknown incident type {t!r}" for t in types if t not in known]
    if errors:
        raise InvalidInput("the runbook is not valid: " + "; ".join(errors), errors=errors)
    return title, slug, sorted(set(service_ids)), [dict(m) for m in spec.matchers], types


def _snapshot(session: Session, book: Runbook, user_id: int | None, now: datetime) -> None:
    links = {"service_ids": list(book.service_ids), "matchers": list(book.matchers), "types": list(book.type_names)}
    session.add(
        RunbookVersion(
            runbook_id=book.id,
            version=book.version,
            title=book.title,
            body=book.body,
            links=links,
            saved_at=now,
            saved_by_user_id=user_id,
        )
    )
    repo.upsert(session, "runbook", [runbook_document(book)])


def create(session: Session, spec: RunbookSpec, *, user_id: int | None, now: datetime) -> Runbook:
    title, slug, service_ids, matchers, types = _checked(session, spec)
    if session.execute(select(Runbook.id).where(Runbook.slug == slug)).first() is not None:
        raise Conflict(f"a runbook named {slug!r} already exists")
    book = Runbook(
        slug=slug,
        title=title,
        body=spec.body,
        service_ids=service_ids,
        matchers=matchers,
        type_names=types,
        version=1,
        created_at=now,
        updated_at=now,
        updated_by_user_id=user_id,
    )
    session.add(book)
    session.flush()
    _snapshot(session, book, user_id, now)
    return book


def update(
    session: Session, book: Runbook, spec: RunbookSpec, *, user_id: int | None, now: datetime, base_version: int | None
) -> Runbook:
    """Save a new version. ``base_version`` is the version the writer started from: a save over a newer one is
    refused (409) so that nobody's edit silently replaces another's."""
    if base_version is not None and base_version != book.version:
        raise Conflict(f"runbook {book.slug!r} was changed meanwhile (now version {book.version}); reload it")
    title, slug, service_ids, matchers, types = _checked(session, spec)
    if spec.slug and slug != book.slug:
        taken = session.execute(select(Runbook.id).where(Runbook.slug == slug, Runbook.id != book.id)).first()
        if taken is not None:
            raise Conflict(f"a runbook named {slug!r} already exists")
        book.slug = slug
    book.title, book.body = title, spec.body
    book.service_ids, book.matchers, book.type_names = service_ids, matchers, types
    book.version += 1
    book.updated_at = now
    book.updated_by_user_id = user_id
    session.flush()
    _snapshot(session, book, user_id, now)
    return book


def delete(session: Session, book: Runbook) -> None:
    repo.remove(session, "runbook", [book.id])
    session.delete(book)


def as_spec(book: Runbook, service_names: dict[int, str]) -> RunbookSpec:
    return RunbookSpec(
        title=book.title,
        body=book.body,
        slug=book.slug,
        services=[service_names.get(i, str(i)) for i in book.service_ids],
        matchers=list(book.matchers),
        types=list(book.type_names),
    )


@dataclass(frozen=True, slots=True)
class Match:
    runbook: Runbook
    reasons: list[str]


def matching(session: Session, incident: Incident, *, alert_limit: int = 50) -> list[Match]:
    """The runbooks this incident matches, and why (its service or an affected one, one of its alerts, its type)."""
    books = list_runbooks(session)
    if not books:
        return []
    service_ids = {incident.service_id} | set(
        session.execute(select(AffectedService.service_id).where(AffectedService.incident_id == incident.id)).scalars()
    )
    type_name = None
    if incident.type_id is not None:
        type_name = session.execute(select(IncidentType.name).where(IncidentType.id == incident.type_id)).scalar()
    views: list[dict[str, Any]] | None = None
    out: list[Match] = []
    for book in books:
        reasons = []
        if service_ids & set(book.service_ids):
            reasons.append("service")
        if type_name and type_name in book.type_names:
            reasons.append(f"type {type_name}")
        if book.matchers:
            if views is None:
                views = _alert_views(session, incident.id, alert_limit)
            compiled = compile_matchers(book.matchers)
            if any(all_match(compiled, v) for v in views):
                reasons.append("alert labels")
        if reasons:
            out.append(Match(book, reasons))
    return out


def _alert_views(session: Session, incident_id: int, limit: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.id.desc()).limit(limit)
    ).scalars()
    return [
        event_view(
            summary=a.summary,
            severity=a.severity,
            source=a.source,
            labels=a.labels or {},
            details=a.details or {},
            component=a.component,
            group=a.group,
            class_=a.class_,
            dedup_key=a.dedup_key,
        )
        for a in rows
    ]


def names_of(session: Session, ids: Sequence[int]) -> dict[int, str]:
    return {s.id: s.name for s in services.list_services(session, include_archived=True) if s.id in set(ids)}


def page_links(session: Session, incident_id: int, number: int, base_url: str) -> list[tuple[str, str]]:
    """A page's link to the incident's runbooks: the runbook itself when one matches, the list when several do.
    Without any runbook it costs one query."""
    if session.execute(select(Runbook.id).limit(1)).first() is None:
        return []
    incident = session.get(Incident, incident_id)
    if incident is None:
        return []
    found = matching(session, incident)
    if not found:
        return []
    if len(found) == 1:
        return [("Runbook", f"{base_url}/runbooks/{found[0].runbook.slug}")]
    return [("Runbooks", f"{base_url}/incidents/{number}/runbooks")]
