"""service desk: desk settings per service, reports, service requests and their timeline (ADR 0024)

Revision ID: 0019
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0019"
down_revision = "0023"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "service_desk_settings",
        sa.Column("service_id", _ID, nullable=False),
        sa.Column("desk_mode", sa.String(length=16), nullable=False),
        sa.Column("public_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("public_token_hash", sa.String(length=64), nullable=True),
        sa.Column("public_token_rotated_at", _TIME, nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("service_id"),
        sa.UniqueConstraint("public_token_hash"),
    )
    op.create_table(
        "service_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("service_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requester_user_id", _ID, nullable=True),
        sa.Column("requester_name", sa.String(length=200), nullable=False),
        sa.Column("requester_email", sa.String(length=320), nullable=False),
        sa.Column("assignee_user_id", _ID, nullable=True),
        sa.Column("impact", sa.String(length=8), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=False),
        sa.Column("incident_id", _ID, nullable=True),
        sa.Column("from_incident_id", _ID, nullable=True),
        sa.Column("created_by_user_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("closed_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["requester_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["assignee_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["from_incident_id"], ["incidents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_service_requests_status_id", "service_requests", ["status", "id"])
    op.create_index("ix_service_requests_service", "service_requests", ["service_id", "id"])
    op.create_table(
        "service_request_timeline",
        sa.Column("id", _ID, nullable=False),
        sa.Column("request_id", _ID, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", _ID, nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", tocsin.db.base.JSONType, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_service_request_timeline_request", "service_request_timeline", ["request_id", "id"])
    op.create_table(
        "desk_reports",
        sa.Column("id", _ID, nullable=False),
        sa.Column("service_id", _ID, nullable=False),
        sa.Column("reporter_user_id", _ID, nullable=True),
        sa.Column("reporter_name", sa.String(length=200), nullable=False),
        sa.Column("reporter_email", sa.String(length=320), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("symptoms", sa.Text(), nullable=False),
        sa.Column("impact", sa.String(length=8), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=False),
        sa.Column("choice", sa.String(length=8), nullable=True),
        sa.Column("became", sa.String(length=8), nullable=False),
        sa.Column("incident_id", _ID, nullable=True),
        sa.Column("request_id", _ID, nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["reporter_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["request_id"], ["service_requests.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_desk_reports_service_created", "desk_reports", ["service_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_desk_reports_service_created", table_name="desk_reports")
    op.drop_table("desk_reports")
    op.drop_index("ix_service_request_timeline_request", table_name="service_request_timeline")
    op.drop_table("service_request_timeline")
    op.drop_index("ix_service_requests_service", table_name="service_requests")
    op.drop_index("ix_service_requests_status_id", table_name="service_requests")
    op.drop_table("service_requests")
    op.drop_table("service_desk_settings")
