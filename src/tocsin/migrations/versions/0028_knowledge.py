"""knowledge: the search index (FTS5 on SQLite, tsvector + GIN on PostgreSQL), runbooks and their versions, model
assistance requests and the per-type policy

Revision ID: 0028
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = "0028"
down_revision = "0031"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)
_JSON = tocsin.db.base.JSONType

# The FTS5 index mirrors knowledge_documents (external content): the triggers keep it in step, row by row, in the
# transaction that writes the document.
_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE knowledge_fts USING fts5(kind, title, body, content='knowledge_documents', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER knowledge_fts_ai AFTER INSERT ON knowledge_documents BEGIN "
    "INSERT INTO knowledge_fts(rowid, kind, title, body) VALUES (new.id, new.kind, new.title, new.body); END",
    "CREATE TRIGGER knowledge_fts_ad AFTER DELETE ON knowledge_documents BEGIN "
    "INSERT INTO knowledge_fts(knowledge_fts, rowid, kind, title, body) "
    "VALUES ('delete', old.id, old.kind, old.title, old.body); END",
    "CREATE TRIGGER knowledge_fts_au AFTER UPDATE ON knowledge_documents BEGIN "
    "INSERT INTO knowledge_fts(knowledge_fts, rowid, kind, title, body) "
    "VALUES ('delete', old.id, old.kind, old.title, old.body); "
    "INSERT INTO knowledge_fts(rowid, kind, title, body) VALUES (new.id, new.kind, new.title, new.body); END",
]


def upgrade() -> None:
    vector = postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite")
    op.create_table(
        "knowledge_documents",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref_id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=True),
        sa.Column("service_id", _ID, nullable=True),
        sa.Column("key", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=1024), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("changed_at", _TIME, nullable=False),
        sa.Column("search_vector", vector, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "ref_id", name="uq_knowledge_documents_kind_ref"),
    )
    op.create_index("ix_knowledge_documents_kind_key", "knowledge_documents", ["kind", "key"])
    op.create_index("ix_knowledge_documents_kind_service", "knowledge_documents", ["kind", "service_id", "ref_id"])
    op.create_index("ix_knowledge_documents_incident", "knowledge_documents", ["incident_id"])
    op.create_index("ix_knowledge_documents_vector", "knowledge_documents", ["search_vector"], postgresql_using="gin")
    op.create_table(
        "knowledge_index_cursors",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("seen_until", _TIME, nullable=True),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )
    op.create_table(
        "runbooks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("service_ids", _JSON, nullable=False),
        sa.Column("matchers", _JSON, nullable=False),
        sa.Column("type_names", _JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("updated_by_user_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(["updated_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "runbook_versions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("runbook_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("links", _JSON, nullable=False),
        sa.Column("saved_at", _TIME, nullable=False),
        sa.Column("saved_by_user_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(["runbook_id"], ["runbooks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["saved_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("runbook_id", "version"),
    )
    op.create_table(
        "assist_type_policies",
        sa.Column("type_name", sa.String(length=100), nullable=False),
        sa.Column("private_allowed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("type_name"),
    )
    op.create_table(
        "assist_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=True),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt", _JSON, nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("requested_by_user_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assist_requests_incident_id", "assist_requests", ["incident_id"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("knowledge_fts_au", "knowledge_fts_ad", "knowledge_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS knowledge_fts")
    op.drop_index("ix_assist_requests_incident_id", table_name="assist_requests")
    op.drop_table("assist_requests")
    op.drop_table("assist_type_policies")
    op.drop_table("runbook_versions")
    op.drop_table("runbooks")
    op.drop_table("knowledge_index_cursors")
    op.drop_index("ix_knowledge_documents_vector", table_name="knowledge_documents")
    op.drop_index("ix_knowledge_documents_incident", table_name="knowledge_documents")
    op.drop_index("ix_knowledge_documents_kind_service", table_name="knowledge_documents")
    op.drop_index("ix_knowledge_documents_kind_key", table_name="knowledge_documents")
    op.drop_table("knowledge_documents")
