"""stakeholder groups, updates and their deliveries; a status page's anyone_may_publish

Revision ID: 0024
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0024"
down_revision = "0021"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)
_JSON = tocsin.db.base.JSONType


def upgrade() -> None:
    op.create_table(
        "stakeholder_groups",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("user_ids", _JSON, nullable=False),
        sa.Column("emails", _JSON, nullable=False),
        sa.Column("service_ids", _JSON, nullable=False),
        sa.Column("type_ids", _JSON, nullable=False),
        sa.Column("min_severity", sa.String(length=8), nullable=True),
        sa.Column("private_ok", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "stakeholder_updates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("groups", _JSON, nullable=False),
        sa.Column("recipients", _JSON, nullable=False),
        sa.Column("created_by_user_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stakeholder_updates_incident_id", "stakeholder_updates", ["incident_id"])
    op.create_table(
        "stakeholder_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("update_id", _ID, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["update_id"], ["stakeholder_updates.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("update_id", "address"),
    )
    op.create_index("ix_stakeholder_deliveries_status", "stakeholder_deliveries", ["status"])
    with op.batch_alter_table("status_pages") as batch:
        batch.add_column(sa.Column("anyone_may_publish", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("status_pages") as batch:
        batch.drop_column("anyone_may_publish")
    op.drop_index("ix_stakeholder_deliveries_status", table_name="stakeholder_deliveries")
    op.drop_table("stakeholder_deliveries")
    op.drop_index("ix_stakeholder_updates_incident_id", table_name="stakeholder_updates")
    op.drop_table("stakeholder_updates")
    op.drop_table("stakeholder_groups")
