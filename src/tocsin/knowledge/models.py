"""The search index, runbooks and their versions, and model assistance's requests and type policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType

# PostgreSQL keeps each document's weighted tsvector in this column (GIN-indexed); SQLite leaves it empty and uses
# the FTS5 table ``knowledge_fts`` kept by triggers on ``knowledge_documents`` instead (migration 0028).
SearchVector = TSVECTOR().with_variant(Text(), "sqlite")


class KnowledgeDocument(Base):
    """One searchable thing (an incident, an alert, a note, a runbook …): its text as the index holds it and what
    decides who may read it (its incident, else its service's team, else everyone)."""

    __tablename__ = "knowledge_documents"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_knowledge_documents_kind_ref"),
        Index("ix_knowledge_documents_kind_key", "kind", "key"),
        Index("ix_knowledge_documents_kind_service", "kind", "service_id", "ref_id"),
        Index("ix_knowledge_documents_incident", "incident_id"),
        Index("ix_knowledge_documents_vector", "search_vector", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int] = mapped_column(BigID)
    incident_id: Mapped[int | None] = mapped_column(BigID)
    service_id: Mapped[int | None] = mapped_column(BigID)
    # A structural key of the document (an alert's fingerprint), for exact matches between documents.
    key: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(1024), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(512), default="")
    changed_at: Mapped[datetime]
    search_vector: Mapped[Any] = mapped_column(SearchVector, nullable=True)


class IndexCursor(Base):
    """How far the indexer has read each source: the latest change time it has indexed. An incident-bound source
    is read this way only once, to fill the index with what existed before (``backfilled`` then); the incident
    events keep it current after that."""

    __tablename__ = "knowledge_index_cursors"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_until: Mapped[datetime | None]
    backfilled: Mapped[bool] = mapped_column(default=False)


class Runbook(Base):
    __tablename__ = "runbooks"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    # What it applies to; any one matching is enough: services, alert label matchers, incident type names.
    service_ids: Mapped[list[int]] = mapped_column(default=list)
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    type_names: Mapped[list[str]] = mapped_column(JSONType, default=list)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RunbookVersion(Base):
    """Every save of a runbook, whole (title, text and links), so that any version can be read again."""

    __tablename__ = "runbook_versions"
    __table_args__ = (UniqueConstraint("runbook_id", "version"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    runbook_id: Mapped[int] = mapped_column(ForeignKey("runbooks.id", ondelete="CASCADE"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[dict[str, Any]] = mapped_column(default=dict)
    saved_at: Mapped[datetime]
    saved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class AssistTypePolicy(Base):
    """Whether incidents of a type may be sent to the model while private (by type name; none: never)."""

    __tablename__ = "assist_type_policies"

    type_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    private_allowed: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class AssistRequest(Base):
    """One call to the model: what was sent (for admins to read), what came back, or why it fell back."""

    __tablename__ = "assist_requests"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200), default="")
    prompt: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    answer: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(String(500))
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(default=0)
