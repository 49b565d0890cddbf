"""Queries of the search index: writing documents (one statement per kind of change), and the full-text queries of
each database (FTS5 on SQLite, tsvector on PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident
from tocsin.knowledge.models import IndexCursor, KnowledgeDocument
from tocsin.knowledge.sources import Document

_FTS = table("knowledge_fts", column("rowid"))
# On PostgreSQL, a word of a similar-incidents query found in more than this share of the documents is left out
# when rarer ones remain (ts_rank knows no document frequency; bm25 on SQLite weighs words by it), once the index
# holds enough documents for the statistics to mean something.
COMMON_SHARE = 0.08
COMMON_FROM_DOCUMENTS = 10_000
# Documents found by the rare lexemes, then ranked by all of them.
RARE_CANDIDATES = 1000
_STATS_SECONDS = 600.0
_stats: dict[str, tuple[float, dict[str, float]]] = {}
_VECTOR_SQL = (
    "UPDATE knowledge_documents SET search_vector = "
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'B') WHERE id = ANY(:ids)"
)


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def upsert(session: Session, kind: str, docs: Sequence[Document]) -> int:
    """Write these documents of one kind (new ones inserted, known ones replaced); returns how many."""
    if not docs:
        return 0
    latest: dict[int, Document] = {}
    for doc in docs:
        latest[doc.ref_id] = doc
    refs = sorted(latest)
    known: dict[int, int] = {}
    for chunk in _chunks(refs, 500):
        rows = session.execute(
            select(KnowledgeDocument.ref_id, KnowledgeDocument.id).where(
                KnowledgeDocument.kind == kind, KnowledgeDocument.ref_id.in_(chunk)
            )
        )
        known.update({r: i for r, i in rows.all()})
    fresh = [_values(kind, latest[r]) for r in refs if r not in known]
    changed = [{"doc_id": known[r], **_values(kind, latest[r])} for r in refs if r in known]
    if fresh and is_sqlite(session):
        session.execute(insert(KnowledgeDocument), fresh)
    elif fresh:
        # Two engines indexing the same incident's events may both find a document missing: the second one's
        # insert becomes its update rather than a unique-key failure that would hold the consumer back.
        adding = pg_insert(KnowledgeDocument)
        session.execute(
            adding.on_conflict_do_update(
                index_elements=["kind", "ref_id"],
                set_={k: getattr(adding.excluded, k) for k in fresh[0] if k not in ("kind", "ref_id")},
            ),
            fresh,
        )
    if changed:
        stmt = (
            update(KnowledgeDocument)
            .where(KnowledgeDocument.id == bindparam("doc_id"))
            .values({k: bindparam(k) for k in changed[0] if k != "doc_id"})
        )
        session.connection().execute(stmt, changed)
    if not is_sqlite(session):
        ids: list[int] = []
        for chunk in _chunks(refs, 1000):
            ids += session.execute(
                select(KnowledgeDocument.id).where(KnowledgeDocument.kind == kind, KnowledgeDocument.ref_id.in_(chunk))
            ).scalars()
        session.execute(text(_VECTOR_SQL), {"ids": ids})
    return len(refs)


def remove(session: Session, kind: str, ref_ids: Sequence[int]) -> None:
    if ref_ids:
        session.execute(
            delete(KnowledgeDocument).where(KnowledgeDocument.kind == kind, KnowledgeDocument.ref_id.in_(ref_ids))
        )


def _values(kind: str, doc: Document) -> dict[str, object]:
    return {
        "kind": kind,
        "ref_id": doc.ref_id,
        "incident_id": doc.incident_id,
        "service_id": doc.service_id,
        "key": doc.key[:255] if doc.key else None,
        "title": doc.title[:1024],
        "body": doc.body[:100_000],
        "url": doc.url[:512],
        "changed_at": doc.changed_at,
    }


def _chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def cursor(session: Session, kind: str) -> datetime | None:
    row = session.get(IndexCursor, kind)
    return row.seen_until if row is not None else None


def set_cursor(session: Session, kind: str, seen_until: datetime | None, *, backfilled: bool = False) -> None:
    row = session.get(IndexCursor, kind)
    if row is None:
        session.add(IndexCursor(kind=kind, seen_until=seen_until, backfilled=backfilled))
        return
    if seen_until is not None and (row.seen_until is None or seen_until > row.seen_until):
        row.seen_until = seen_until
    row.backfilled = row.backfilled or backfilled


def backfilled(session: Session, kind: str) -> bool:
    row = session.get(IndexCursor, kind)
    return row is not None and row.backfilled


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(KnowledgeDocument.kind, func.count()).group_by(KnowledgeDocument.kind))
    return {k: n for k, n in rows.all()}


# --- full-text queries ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hit:
    doc: KnowledgeDocument
    score: float


def fts_match(terms: Sequence[str], *, any_term: bool, prefix_last: bool, kinds: Sequence[str] = ()) -> str:
    """The FTS5 expression for terms that are plain word characters (the caller's tokenizer guarantees it), each
    quoted so that no operator of the query language can come from the user's text."""
    quoted = [f'"{t}"' for t in terms]
    if prefix_last and quoted:
        quoted[-1] += "*"
    joined = " OR ".join(quoted) if any_term else " ".join(quoted)
    expr = "{title body} : (" + joined + ")"
    if kinds:
        expr = "kind : (" + " OR ".join(f'"{k}"' for k in kinds) + ") AND " + expr
    return expr


def pg_query(terms: Sequence[str], *, any_term: bool, prefix_last: bool) -> str:
    parts = [f"'{t}'" for t in terms]
    if prefix_last and parts:
        parts[-1] += ":*"
    return (" | " if any_term else " & ").join(parts)


def _ranked_statement(
    session: Session,
    columns: Sequence[Any],
    terms: Sequence[str],
    *,
    any_term: bool,
    prefix_last: bool,
    kinds: Sequence[str],
    where: ColumnElement[bool] | None,
    limit: int,
    proximity: bool = True,
) -> Any:
    """``proximity``: on PostgreSQL, rank by cover density (``ts_rank_cd``, how close the words stand), else by
    frequency alone (``ts_rank``, about four times cheaper on a term that matches a third of the documents)."""
    doc = KnowledgeDocument
    stmt: Any
    if is_sqlite(session):
        fts: ColumnElement[Any] = literal_column("knowledge_fts")
        score: ColumnElement[float] = literal_column("bm25(knowledge_fts, 0.0, 10.0, 1.0)")
        stmt = (
            select(*columns, (-score).label("score"))
            .select_from(_FTS)
            .join(doc, doc.id == _FTS.c.rowid)
            .where(fts.op("MATCH")(fts_match(terms, any_term=any_term, prefix_last=prefix_last, kinds=kinds)))
            .order_by(score)
        )
    else:
        expression = pg_query(terms, any_term=any_term, prefix_last=prefix_last)
        query = func.to_tsquery(literal_column("'english'"), expression)
        rank = (func.ts_rank_cd if proximity else func.ts_rank)(doc.search_vector, query)
        stmt = select(*columns, rank.label("score")).where(doc.search_vector.op("@@")(query)).order_by(rank.desc())
        if kinds:
            stmt = stmt.where(doc.kind.in_(kinds))

    if where is not None:
        stmt = stmt.where(where)
    return stmt.limit(limit)


def ranked(
    session: Session,
    terms: Sequence[str],
    *,
    any_term: bool,
    prefix_last: bool,
    kinds: Sequence[str],
    where: ColumnElement[bool] | None,
    limit: int,
) -> list[Hit]:
    """Documents matching the terms, best first (bm25 on SQLite, ts_rank_cd on PostgreSQL), filtered by ``where``
    (who may read them) in the same query."""
    stmt = _ranked_statement(
        session,
        [KnowledgeDocument],
        terms,
        any_term=any_term,
        prefix_last=prefix_last,
        kinds=kinds,
        where=where,
        limit=limit,
    )
    return [Hit(row[0], float(row[1] or 0.0)) for row in session.execute(stmt).all()]


def _lexeme_shares(session: Session) -> dict[str, float]:
    """Share of the documents holding each of PostgreSQL's most common lexemes of the index (ANALYZE's statistics,
    read again every ten minutes); empty while the index is small or not analysed."""
    key = str(session.get_bind().engine.url)
    cached = _stats.get(key)
    if cached is not None and time.monotonic() - cached[0] < _STATS_SECONDS:
        return cached[1]
    found: dict[str, float] = {}
    size = session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'knowledge_documents'")).scalar()
    if size is not None and size >= COMMON_FROM_DOCUMENTS:
        row = session.execute(
            text(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
                " WHERE tablename = 'knowledge_documents' AND attname = 'search_vector'"
            )
        ).first()
        if row is not None and row[0]:
            found = dict(zip(row[0], row[1], strict=False))
    _stats[key] = (time.monotonic(), found)
    return found


def _split_lexemes(session: Session, terms: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """The lexemes of these words, and the rare ones among them (the common left out, at least two kept: the
    rarest); None while no statistics say which are common."""
    shares = _lexeme_shares(session)
    if not shares:
        return None
    lexemes = session.execute(
        text("SELECT unnest(tsvector_to_array(to_tsvector('english', :words)))"), {"words": " ".join(terms)}
    ).scalars()
    by_share = sorted((shares.get(x, 0.0), x) for x in lexemes if x.isascii() and x.replace("-", "").isalnum())
    rare = [x for share, x in by_share if share <= COMMON_SHARE]
    return [x for _, x in by_share], rare if len(rare) >= 2 else [x for _, x in by_share[:2]]


def ranked_refs(
    session: Session, terms: Sequence[str], *, kind: str, exclude_ref: int, limit: int
) -> list[tuple[int, float]]:
    """(ref id, score) of the documents of one kind matching any of the terms, best first: ids only, no rows."""
    if not is_sqlite(session):
        split = _split_lexemes(session, terms)
        if split is not None:
            return _ranked_lexemes(session, *split, kind=kind, exclude_ref=exclude_ref, limit=limit)
    stmt = _ranked_statement(
        session,
        [KnowledgeDocument.ref_id],
        terms,
        any_term=True,
        prefix_last=False,
        kinds=[kind],
        where=KnowledgeDocument.ref_id != exclude_ref,
        limit=limit,
        # A title's words against every incident: any word may match tens of thousands of them, and the words'
        # order means little in a title.
        proximity=False,
    )
    return [(int(row[0]), float(row[1] or 0.0)) for row in session.execute(stmt).all()]


def _ranked_lexemes(
    session: Session, lexemes: Sequence[str], rare: Sequence[str], *, kind: str, exclude_ref: int, limit: int
) -> list[tuple[int, float]]:
    """ranked_refs on PostgreSQL in two steps: the documents best matching the rare lexemes (a common one would
    match tens of thousands, each scored by reading its whole vector), then those ranked by every lexeme. The
    'simple' configuration takes the lexemes as they are, already stemmed."""
    if not rare:
        return []
    doc = KnowledgeDocument

    def query(words: Sequence[str]) -> Any:
        return func.to_tsquery(literal_column("'simple'"), " | ".join(f"'{x}'" for x in words))

    narrow = query(rare)
    found = (
        select(doc.id)
        .where(doc.search_vector.op("@@")(narrow), doc.kind == kind, doc.ref_id != exclude_ref)
        .order_by(func.ts_rank(doc.search_vector, narrow).desc())
        .limit(RARE_CANDIDATES)
    )
    rank = func.ts_rank(doc.search_vector, query(lexemes))
    stmt = select(doc.ref_id, rank.label("score")).where(doc.id.in_(found)).order_by(rank.desc()).limit(limit)
    return [(int(row[0]), float(row[1] or 0.0)) for row in session.execute(stmt).all()]


def newest_titles(session: Session, service_id: int, *, exclude_id: int, limit: int) -> dict[int, str]:
    """Id → title of the newest incidents of a service (not this one)."""
    stmt = (
        select(Incident.id, Incident.title)
        .where(Incident.service_id == service_id, Incident.id != exclude_id)
        .order_by(Incident.created_at.desc())
        .limit(limit)
    )
    return {int(i): t for i, t in session.execute(stmt).all()}


def titles_of(session: Session, incident_ids: Collection[int]) -> dict[int, str]:
    if not incident_ids:
        return {}
    stmt = select(Incident.id, Incident.title).where(Incident.id.in_(sorted(incident_ids)))
    return {int(i): t for i, t in session.execute(stmt).all()}


def sharing_keys(session: Session, kind: str, incident_id: int, limit: int) -> dict[int, int]:
    """Other incidents with documents of ``kind`` carrying a key one of this incident's documents carries: incident
    id → how many keys shared (one query; the newest incidents first)."""
    doc = KnowledgeDocument
    own = (
        select(doc.key)
        .where(doc.incident_id == incident_id, doc.kind == kind, doc.key.is_not(None))
        .limit(50)
        .scalar_subquery()
    )
    rows = session.execute(
        select(doc.incident_id, func.count(func.distinct(doc.key)))
        .where(doc.kind == kind, doc.key.in_(own))
        .where(doc.incident_id.is_not(None), doc.incident_id != incident_id)
        .group_by(doc.incident_id)
        .order_by(doc.incident_id.desc())
        .limit(limit)
    )
    return {int(i): int(n) for i, n in rows.all() if i is not None}
