"""analytics: facts kept per incident (durations, timeline counts, seconds in each response status)

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)
_STATUSES = ("triage", "investigating", "identified", "mitigated", "monitoring", "resolved")


def upgrade() -> None:
    op.create_table(
        "analytics_incident_facts",
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("stamp", _TIME, nullable=False),
        sa.Column("computed_at", _TIME, nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True) for name in ("ack", "mitigate", "resolve", "detect", "downtime")),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("first_update", sa.Float(), nullable=True),
        sa.Column("auto_resolved", sa.Boolean(), nullable=True),
        sa.Column("phase_model", sa.String(length=16), nullable=False),
        *(sa.Column(f"in_{status}", sa.Float(), nullable=True) for status in _STATUSES),
        sa.Column("open_status", sa.String(length=16), nullable=True),
        sa.Column("open_since", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_analytics_incident_facts_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_analytics_incident_facts")),
    )


def downgrade() -> None:
    op.drop_table("analytics_incident_facts")
