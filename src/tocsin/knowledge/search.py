"""Search across every registered source (ADR 0030), filtered by who may read each document.

The user's text never reaches the query language: it is cut into word tokens (letters, digits, underscore), each
quoted, so operators, quotes, parentheses or column filters in it are only words or nothing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, false, or_, true
from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.core.errors import InvalidInput
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.models import Incident
from tocsin.knowledge import repository as repo
from tocsin.knowledge.models import KnowledgeDocument
from tocsin.knowledge.sources import SOURCES
from tocsin.services.models import Service

QUERY_MAX = 200
TERMS_MAX = 12
_WORD = re.compile(r"\w+", re.UNICODE)


def terms_of(text: str, limit: int = TERMS_MAX) -> list[str]:
    """Lower-cased word tokens of the text, in order, without repeats, at most ``limit``, each at most 40 chars."""
    out: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0).strip("_")[:40]
        if word and word not in out:
            out.append(word)
        if len(out) >= limit:
            break
    return out


def check_query(q: str) -> list[str]:
    text = (q or "").strip()
    if not text:
        raise InvalidInput("a search needs some words", errors=["q: required"])
    if len(text) > QUERY_MAX:
        raise InvalidInput(f"a search is limited to {QUERY_MAX} characters", errors=["q: too long"])
    return terms_of(text)


def readable_clause(viewer: Viewer, *, see_all: bool) -> ColumnElement[bool] | None:
    """Documents this viewer may read, by their source's visibility; None when they read everything (admins)."""
    if viewer.is_admin:
        return None
    doc = KnowledgeDocument
    by_incident = [s.kind for s in SOURCES.items if s.visibility == "incident"]
    by_service = [s.kind for s in SOURCES.items if s.visibility == "service"]
    public = [s.kind for s in SOURCES.items if s.visibility == "public"]
    incident_ok = exists().where(Incident.id == doc.incident_id, incident_repo.visible_clause(viewer, see_all=see_all))
    if see_all:
        service_ok: ColumnElement[bool] = true()
    else:
        teams = sorted(viewer.teams)
        service_ok = or_(
            doc.service_id.is_(None),
            exists().where(
                Service.id == doc.service_id,
                or_(Service.team_id.is_(None), Service.team_id.in_(teams) if teams else false()),
            ),
        )
    return or_(
        and_(doc.kind.in_(by_incident), doc.incident_id.is_not(None), incident_ok),
        # An alert that never became an incident is read as its service's.
        and_(doc.kind.in_(by_incident), doc.incident_id.is_(None), service_ok),
        and_(doc.kind.in_(by_service), service_ok),
        doc.kind.in_(public) if public else false(),
    )


@dataclass(frozen=True, slots=True)
class Result:
    kind: str
    label: str
    ref_id: int
    incident_id: int | None
    title: str
    snippet: str
    url: str
    score: float
    changed_at: datetime


def snippet(body: str, terms: Sequence[str], width: int = 160) -> str:
    """A piece of the body around the first term found, on one line."""
    flat = " ".join(body.split())
    lower = flat.lower()
    at = min((i for i in (lower.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, at - width // 3)
    piece = flat[start : start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def search(
    session: Session,
    q: str,
    viewer: Viewer,
    *,
    see_all: bool,
    kinds: Sequence[str] = (),
    limit: int = 20,
) -> list[Result]:
    terms = check_query(q)
    unknown = [k for k in kinds if SOURCES.get(k) is None]
    if unknown:
        raise InvalidInput(f"unknown kind {unknown[0]!r}", errors=[f"kind: one of {', '.join(SOURCES.kinds)}"])
    if not terms:
        return []
    hits = repo.ranked(
        session,
        terms,
        any_term=False,
        prefix_last=True,
        kinds=list(kinds),
        where=readable_clause(viewer, see_all=see_all),
        limit=max(1, min(limit, 100)),
    )
    out = []
    for hit in hits:
        source = SOURCES.get(hit.doc.kind)
        out.append(
            Result(
                kind=hit.doc.kind,
                label=source.label if source else hit.doc.kind,
                ref_id=hit.doc.ref_id,
                incident_id=hit.doc.incident_id,
                title=hit.doc.title,
                snippet=snippet(hit.doc.body, terms),
                url=hit.doc.url,
                score=round(hit.score, 4),
                changed_at=hit.doc.changed_at,
            )
        )
    return out


def count_documents(session: Session) -> dict[str, int]:
    return repo.counts(session)
