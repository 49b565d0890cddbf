"""responder requests and user skills

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "responder_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("requested_by_user_id", _ID, nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("via_ref", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", _TIME, nullable=False),
        sa.Column("answered_at", _TIME, nullable=True),
        sa.Column("answered_via", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["requested_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_responder_requests_incident_user", "responder_requests", ["incident_id", "user_id"])
    op.create_index("ix_responder_requests_user_status", "responder_requests", ["user_id", "status"])
    op.create_table(
        "user_skills",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("skill", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "skill"),
    )
    op.create_index("ix_user_skills_skill", "user_skills", ["skill"])


def downgrade() -> None:
    op.drop_index("ix_user_skills_skill", table_name="user_skills")
    op.drop_table("user_skills")
    op.drop_index("ix_responder_requests_user_status", table_name="responder_requests")
    op.drop_index("ix_responder_requests_incident_user", table_name="responder_requests")
    op.drop_table("responder_requests")
