"""incident tasks, checklist templates and incident roles

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_tasks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("assignee_user_id", _ID, nullable=True),
        sa.Column("due_at", _TIME, nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("checklist", sa.String(length=200), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by_user_id", _ID, nullable=True),
        sa.Column("closed_at", _TIME, nullable=True),
        sa.Column("closed_by_user_id", _ID, nullable=True),
        sa.Column("reminded_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assignee_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["closed_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incident_tasks_incident", "incident_tasks", ["incident_id", "position"])
    op.create_index("ix_incident_tasks_due", "incident_tasks", ["status", "due_at"])
    op.create_table(
        "checklist_templates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("items", tocsin.db.base.JSONType, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )

    op.create_table(
        "incident_roles",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "incident_role_assignments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("role_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("assigned_at", _TIME, nullable=False),
        sa.Column("assigned_by_user_id", _ID, nullable=True),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["role_id"], ["incident_roles.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["assigned_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_role_assignments_incident", "incident_role_assignments", ["incident_id", "role_id", "ended_at"])
    op.create_index(op.f("ix_incident_role_assignments_user_id"), "incident_role_assignments", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_role_assignments_user_id"), table_name="incident_role_assignments")
    op.drop_index("ix_role_assignments_incident", table_name="incident_role_assignments")
    op.drop_table("incident_role_assignments")
    op.drop_table("incident_roles")
    op.drop_table("checklist_templates")
    op.drop_index("ix_incident_tasks_due", table_name="incident_tasks")
    op.drop_index("ix_incident_tasks_incident", table_name="incident_tasks")
    op.drop_table("incident_tasks")
