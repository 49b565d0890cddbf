"""Similar past incidents (ADR 0030): lexical ranking of the incident's words against other incidents (bm25 on
SQLite, ts_rank_cd on PostgreSQL) plus structural signals (a shared alert fingerprint, the same service), each
result with its reasons and resolution note. Only incidents the viewer may read are ever returned.

With a model configured (``configure``, ADR 0039), titles are also compared by meaning: the newest incidents of the
same service and the candidates found above are embedded on the spot, and those close in meaning join the
candidates ("disk full" finds "no space left on device", which share no word).

``ENRICHERS`` lets upper domains add to each result (a postmortem's link, its action items): a callable given the
session and the results, returning for each incident id a dict of extra fields, merged into ``extra``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.access.policy import Viewer
from tocsin.incidents import repository as incident_repo
from tocsin.incidents.models import Incident
from tocsin.knowledge import repository as repo
from tocsin.knowledge.builtin_sources import resolution_notes
from tocsin.knowledge.embeddings import Embedder
from tocsin.knowledge.models import KnowledgeDocument
from tocsin.knowledge.search import terms_of
from tocsin.services.models import Service

TOP = 5
TEXT_CANDIDATES = 40
KEY_CANDIDATES = 40
SERVICE_CANDIDATES = 10
# Weights of the signals: a shared fingerprint says the same thing broke; text similarity says it looked alike;
# the same service alone says little (every incident of a busy service shares it), so it mostly breaks ties.
W_TEXT = 1.0
W_KEY = 1.2
W_SERVICE = 0.35
W_MEANING = 1.0
# Cosine similarity of titles from which two incidents count as close in meaning (the model's scale: unrelated
# incident titles score about 0.1 to 0.3, titles of one service up to 0.5 for their shared words, reworded ones
# 0.6 and more).
MEANING_MIN = 0.6
# The newest incidents of the same service compared by meaning, and how many of them may join the candidates.
MEANING_POOL = 1000
MEANING_CANDIDATES = 10
_embedder: Embedder | None = None


def configure(embedder: Embedder | None) -> None:
    """The model that compares titles by meaning (None: words and structure alone); set once at start."""
    global _embedder
    _embedder = embedder


STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "the",
        "to",
        "was",
        "were",
        "with",
        "high",
        "low",
        "error",
        "errors",
        "alert",
        "alerts",
        "incident",
    ]
)


@dataclass
class Similar:
    incident_id: int
    number: int
    title: str
    status: str
    service: str
    created_at: datetime
    resolved_at: datetime | None
    score: float
    reasons: list[str]
    resolution: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Enricher = Callable[[Session, Sequence[Similar]], dict[int, dict[str, Any]]]
ENRICHERS: list[Enricher] = []


def _text_scores(session: Session, incident: Incident) -> dict[int, float]:
    # The title only: descriptions repeat boilerplate whose words would match nearly every incident.
    words = [t for t in terms_of(incident.title, 24) if t not in STOPWORDS]
    words = [w for w in words if not w.isdigit()][:12]
    if not words:
        return {}
    hits = repo.ranked_refs(session, words, kind="incident", exclude_ref=incident.id, limit=TEXT_CANDIDATES)
    best = max((score for _, score in hits), default=0.0)
    if best <= 0:
        return {}
    return {ref: score / best for ref, score in hits}


def _same_service(session: Session, incident: Incident) -> list[int]:
    rows = session.execute(
        select(KnowledgeDocument.ref_id)
        .where(KnowledgeDocument.kind == "incident", KnowledgeDocument.service_id == incident.service_id)
        .where(KnowledgeDocument.ref_id != incident.id)
        .order_by(KnowledgeDocument.ref_id.desc())
        .limit(SERVICE_CANDIDATES)
    )
    return list(rows.scalars())


def _meaning_scores(session: Session, incident: Incident, found: set[int]) -> dict[int, float]:
    """Cosine similarity of titles, for the newest incidents of the same service and those already found; only
    those close in meaning are kept, the closest first."""
    if _embedder is None or not incident.title.strip():
        return {}
    # The incidents' own titles: the index's carry their number, which would weigh in the comparison.
    pool = repo.newest_titles(session, incident.service_id, exclude_id=incident.id, limit=MEANING_POOL)
    pool.update(repo.titles_of(session, found.difference(pool)))
    refs = list(pool)
    scores = _embedder.similarities(incident.title, [pool[r] for r in refs])
    close = sorted(((s, r) for r, s in zip(refs, scores, strict=True) if s >= MEANING_MIN), reverse=True)
    return {int(r): s for s, r in close[:MEANING_CANDIDATES]} | {int(r): s for s, r in close if r in found}


def similar_incidents(
    session: Session, incident: Incident, viewer: Viewer, *, see_all: bool, top: int = TOP
) -> list[Similar]:
    text = _text_scores(session, incident)
    shared = repo.sharing_keys(session, "alert", incident.id, KEY_CANDIDATES)
    meaning = _meaning_scores(session, incident, set(text) | set(shared))
    candidates = set(text) | set(shared) | set(meaning)
    if len(candidates) < top:
        # Little else to go on: recent incidents of the same service fill the list.
        candidates |= set(_same_service(session, incident))
    candidates.discard(incident.id)
    if not candidates:
        return []
    stmt = (
        select(
            Incident.id,
            Incident.number,
            Incident.title,
            Incident.status,
            Incident.service_id,
            Incident.created_at,
            Incident.resolved_at,
            Incident.drill,
            Service.name,
        )
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.id.in_(sorted(candidates)))
    )
    if not viewer.is_admin:
        stmt = stmt.where(incident_repo.visible_clause(viewer, see_all=see_all))
    scored: list[Similar] = []
    for other in session.execute(stmt).all():
        service_name = other.name
        reasons: list[str] = []
        score = 0.0
        if other.id in shared:
            n = shared[other.id]
            reasons.append("shared alert fingerprint" if n == 1 else f"{n} shared alert fingerprints")
            score += W_KEY + 0.1 * (min(n, 3) - 1)
        if other.id in text:
            score += W_TEXT * text[other.id]
            if text[other.id] >= 0.3:
                reasons.append("similar text")
        if other.id in meaning:
            # Only what exceeds the threshold counts: titles of one service share its words, and so some meaning.
            score += W_MEANING * (meaning[other.id] - MEANING_MIN) / (1.0 - MEANING_MIN)
            reasons.append("similar meaning")
        if other.service_id == incident.service_id:
            reasons.append(f"same service ({service_name})")
            score += W_SERVICE
        if other.drill:
            score *= 0.5
        if not reasons:
            continue
        scored.append(
            Similar(
                incident_id=other.id,
                number=other.number,
                title=other.title,
                status=str(other.status),
                service=service_name,
                created_at=other.created_at,
                resolved_at=other.resolved_at,
                score=round(score, 4),
                reasons=reasons,
            )
        )
    scored.sort(key=lambda s: (-s.score, -s.incident_id))
    best = scored[:top]
    notes = resolution_notes(session, [s.incident_id for s in best])
    for s in best:
        s.resolution = notes.get(s.incident_id, "")
    for enrich in ENRICHERS:
        extra = enrich(session, best)
        for s in best:
            s.extra.update(extra.get(s.incident_id, {}))
    return best
