"""heartbeat monitors and inbound delivery ids

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("integration_id", _ID, nullable=False),
        sa.Column("delivery_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_inbound_deliveries_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_deliveries")),
        sa.UniqueConstraint("integration_id", "delivery_id", name=op.f("uq_inbound_deliveries_integration_id")),
    )
    op.create_index(op.f("ix_inbound_deliveries_received_at"), "inbound_deliveries", ["received_at"], unique=False)
    op.create_table(
        "heartbeat_monitors",
        sa.Column("id", _ID, nullable=False),
        sa.Column("integration_id", _ID, nullable=False),
        sa.Column("period_seconds", sa.Integer(), nullable=False),
        sa.Column("grace_seconds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_ping_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_start_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_heartbeat_monitors_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heartbeat_monitors")),
        sa.UniqueConstraint("integration_id", name=op.f("uq_heartbeat_monitors_integration_id")),
    )
    op.create_index(op.f("ix_heartbeat_monitors_due_at"), "heartbeat_monitors", ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_heartbeat_monitors_due_at"), table_name="heartbeat_monitors")
    op.drop_table("heartbeat_monitors")
    op.drop_index(op.f("ix_inbound_deliveries_received_at"), table_name="inbound_deliveries")
    op.drop_table("inbound_deliveries")
