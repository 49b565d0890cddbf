"""chat war rooms: removals on request that stick, and the conversation's export on archive

Revision ID: 0035
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0035"
down_revision = "0033"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)
_JSON = tocsin.db.base.JSONType


def upgrade() -> None:
    with op.batch_alter_table("chat_rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed", _JSON, server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column("removing", _JSON, server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column("exported_at", _TIME, nullable=True))
    op.create_table(
        "chat_exports",
        sa.Column("id", _ID, nullable=False),
        sa.Column("room_id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("cut", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["chat_rooms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id"),
    )
    op.create_index("ix_chat_exports_incident_id", "chat_exports", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_chat_exports_incident_id", table_name="chat_exports")
    op.drop_table("chat_exports")
    with op.batch_alter_table("chat_rooms", schema=None) as batch_op:
        batch_op.drop_column("exported_at")
        batch_op.drop_column("removing")
        batch_op.drop_column("removed")
