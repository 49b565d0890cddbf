"""drills (scenarios, runs, the drill flag of incidents and alerts) and the cost of downtime

Revision ID: 0020
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drill", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("downtime_cost", sa.Float(), nullable=True))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drill", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("downtime_cost_per_minute", sa.Float(), nullable=True))
    op.create_table(
        "tier_costs",
        sa.Column("tier", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cost_per_minute", sa.Float(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("tier"),
    )
    op.create_table(
        "drill_scenarios",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("service_id", _ID, nullable=False),
        sa.Column("payload", tocsin.db.base.JSONType, nullable=True),
        sa.Column("incident_type", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "drill_runs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("scenario_id", _ID, nullable=True),
        sa.Column("scenario_name", sa.String(length=200), nullable=False),
        sa.Column("incident_id", _ID, nullable=True),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("started_by_user_id", _ID, nullable=True),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.Column("report", tocsin.db.base.JSONType, nullable=True),
        sa.ForeignKeyConstraint(["scenario_id"], ["drill_scenarios.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["started_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drill_runs_incident", "drill_runs", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_drill_runs_incident", table_name="drill_runs")
    op.drop_table("drill_runs")
    op.drop_table("drill_scenarios")
    op.drop_table("tier_costs")
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_column("downtime_cost_per_minute")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("drill")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("downtime_cost")
        batch_op.drop_column("drill")
