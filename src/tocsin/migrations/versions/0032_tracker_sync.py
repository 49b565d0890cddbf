"""tracker connections (Jira, GitHub Issues), remote issues and inbound tracker deliveries

Revision ID: 0032
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0032"
down_revision = "0027"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)
_JSON = tocsin.db.base.JSONType


def upgrade() -> None:
    op.create_table(
        "tracker_connections",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("issue_type", sa.String(length=100), nullable=False),
        sa.Column("api_version", sa.String(length=4), nullable=False),
        sa.Column("auth_scheme", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=320), nullable=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=False),
        sa.Column("done_status", sa.String(length=100), nullable=False),
        sa.Column("reopen_status", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "tracker_remote_issues",
        sa.Column("id", _ID, nullable=False),
        sa.Column("local_ref", sa.String(length=200), nullable=False),
        sa.Column("connection_id", _ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("labels", _JSON, nullable=False),
        sa.Column("remote_key", sa.String(length=100), nullable=True),
        sa.Column("remote_url", sa.String(length=1000), nullable=True),
        sa.Column("remote_status", sa.String(length=100), nullable=True),
        sa.Column("remote_state", sa.String(length=16), nullable=True),
        sa.Column("wanted_state", sa.String(length=16), nullable=False),
        sa.Column("pushed_state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("fence", sa.Integer(), nullable=False),
        sa.Column("create_sent_at", _TIME, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_synced_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["tracker_connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index("ix_tracker_remote_issues_due", "tracker_remote_issues", ["status", "next_attempt_at"])
    op.create_index("ix_tracker_remote_issues_local_ref", "tracker_remote_issues", ["local_ref"])
    op.create_index("ix_tracker_remote_issues_connection_id", "tracker_remote_issues", ["connection_id"])
    op.create_table(
        "tracker_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("connection_id", _ID, nullable=False),
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["tracker_connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connection_id", "delivery_id"),
    )
    op.create_index("ix_tracker_deliveries_received_at", "tracker_deliveries", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_tracker_deliveries_received_at", table_name="tracker_deliveries")
    op.drop_table("tracker_deliveries")
    op.drop_index("ix_tracker_remote_issues_connection_id", table_name="tracker_remote_issues")
    op.drop_index("ix_tracker_remote_issues_local_ref", table_name="tracker_remote_issues")
    op.drop_index("ix_tracker_remote_issues_due", table_name="tracker_remote_issues")
    op.drop_table("tracker_remote_issues")
    op.drop_table("tracker_connections")
