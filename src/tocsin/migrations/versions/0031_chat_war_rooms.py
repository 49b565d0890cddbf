"""chat war rooms: a room per incident and platform, chat account links, automatic opening rules

Revision ID: 0031
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0031"
down_revision = "0026"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)
_JSON = tocsin.db.base.JSONType


def upgrade() -> None:
    op.create_table(
        "chat_rooms",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("room_id", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("summary_ref", sa.String(length=255), nullable=True),
        sa.Column("summary_text", sa.Text(), nullable=False),
        sa.Column("invited", _JSON, nullable=False),
        sa.Column("inviting", _JSON, nullable=False),
        sa.Column("archive_at", _TIME, nullable=True),
        sa.Column("notice_sent_at", _TIME, nullable=True),
        sa.Column("archived_at", _TIME, nullable=True),
        sa.Column("due_at", _TIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "platform"),
    )
    op.create_index("ix_chat_rooms_due_at", "chat_rooms", ["due_at"])
    op.create_table(
        "chat_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "external_id"),
    )
    op.create_index("ix_chat_links_user_id", "chat_links", ["user_id"])
    op.create_table(
        "chat_auto_rules",
        sa.Column("id", _ID, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("severities", _JSON, nullable=False),
        sa.Column("types", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("chat_auto_rules")
    op.drop_index("ix_chat_links_user_id", table_name="chat_links")
    op.drop_table("chat_links")
    op.drop_index("ix_chat_rooms_due_at", table_name="chat_rooms")
    op.drop_table("chat_rooms")
