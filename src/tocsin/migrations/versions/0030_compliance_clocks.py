"""regulatory regimes, incident classifications, submissions and clock reminders

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)
_JSON = tocsin.db.base.JSONType


def upgrade() -> None:
    op.create_table(
        "compliance_regimes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("holidays", _JSON, nullable=False),
        sa.Column("deadlines", _JSON, nullable=False),
        sa.Column("reminders", _JSON, nullable=False),
        sa.Column("contact_user_ids", _JSON, nullable=False),
        sa.Column("contact_team_ids", _JSON, nullable=False),
        sa.Column("headings", _JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "compliance_classifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("regime_id", _ID, nullable=False),
        sa.Column("detected_at", _TIME, nullable=False),
        sa.Column("awareness_at", _TIME, nullable=True),
        sa.Column("classified_at", _TIME, nullable=True),
        sa.Column("determined_at", _TIME, nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("classified_by_user_id", _ID, nullable=True),
        sa.Column("classified_by", sa.String(length=255), nullable=False),
        sa.Column("completed_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["regime_id"], ["compliance_regimes.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["classified_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "regime_id"),
    )
    op.create_index("ix_compliance_classifications_incident_id", "compliance_classifications", ["incident_id"])
    op.create_index("ix_compliance_classifications_regime_id", "compliance_classifications", ["regime_id"])
    op.create_table(
        "compliance_submissions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("classification_id", _ID, nullable=False),
        sa.Column("deadline_key", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", _TIME, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("due_at", _TIME, nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("late_reason", sa.Text(), nullable=False),
        sa.Column("submitted_by_user_id", _ID, nullable=True),
        sa.Column("submitted_by", sa.String(length=255), nullable=False),
        sa.Column("attachment_name", sa.String(length=255), nullable=False),
        sa.Column("attachment_type", sa.String(length=100), nullable=False),
        sa.Column("attachment_size", sa.Integer(), nullable=False),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["classification_id"], ["compliance_classifications.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["submitted_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_compliance_submissions_classification_id", "compliance_submissions", ["classification_id"])
    op.create_table(
        "compliance_reminders",
        sa.Column("id", _ID, nullable=False),
        sa.Column("classification_id", _ID, nullable=False),
        sa.Column("deadline_key", sa.String(length=64), nullable=False),
        sa.Column("point", sa.String(length=16), nullable=False),
        sa.Column("deadline_at", _TIME, nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recipients", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["classification_id"], ["compliance_classifications.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("classification_id", "deadline_key", "point", "deadline_at"),
    )
    op.create_index("ix_compliance_reminders_classification_id", "compliance_reminders", ["classification_id"])


def downgrade() -> None:
    op.drop_table("compliance_reminders")
    op.drop_table("compliance_submissions")
    op.drop_table("compliance_classifications")
    op.drop_table("compliance_regimes")
