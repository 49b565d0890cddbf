"""analytics settings, weekly digest runs; notifications by person and time for on-call health

Revision ID: 0029
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0029"
down_revision = "0032"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "analytics_settings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("business_start", sa.Integer(), nullable=False),
        sa.Column("business_end", sa.Integer(), nullable=False),
        sa.Column("sleep_start", sa.Integer(), nullable=False),
        sa.Column("sleep_end", sa.Integer(), nullable=False),
        sa.Column("weekly_interruptions", sa.Integer(), nullable=False),
        sa.Column("weekly_sleep_interruptions", sa.Integer(), nullable=False),
        sa.Column("digest_enabled", sa.Boolean(), nullable=False),
        sa.Column("digest_weekday", sa.Integer(), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "analytics_digest_runs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("sent_at", _TIME, nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("week"),
    )
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_user_created", table_name="notifications")
    op.drop_table("analytics_digest_runs")
    op.drop_table("analytics_settings")
