"""postmortems and their sections, rules, templates and review meetings; action items; problems; recurrences

Revision ID: 0027
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0027"
down_revision = "0024"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)
_JSON = tocsin.db.base.JSONType


def _id() -> sa.Column[int]:
    return sa.Column("id", _ID, nullable=False)


def upgrade() -> None:
    op.create_table(
        "postmortem_rules",
        _id(),
        sa.Column("type_id", _ID, nullable=True),
        sa.Column("min_severity", sa.String(length=8), nullable=True),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["type_id"], ["incident_types.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "postmortem_templates",
        _id(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("sections", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "postmortems",
        _id(),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("owner_user_id", _ID, nullable=True),
        sa.Column("reviewer_ids", _JSON, nullable=False),
        sa.Column("approved_by", _JSON, nullable=False),
        sa.Column("require_approval", sa.Boolean(), nullable=False),
        sa.Column("due_at", _TIME, nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("published_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id"),
    )
    op.create_index("ix_postmortems_status", "postmortems", ["status"])
    op.create_table(
        "postmortem_sections",
        _id(),
        sa.Column("postmortem_id", _ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by_user_id", _ID, nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["postmortem_id"], ["postmortems.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("postmortem_id", "key"),
    )
    op.create_index("ix_postmortem_sections_postmortem_id", "postmortem_sections", ["postmortem_id"])
    op.create_table(
        "postmortem_section_revisions",
        _id(),
        sa.Column("section_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["section_id"], ["postmortem_sections.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_postmortem_section_revisions_section_id", "postmortem_section_revisions", ["section_id"])
    op.create_table(
        "postmortem_meetings",
        _id(),
        sa.Column("postmortem_id", _ID, nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("starts_at", _TIME, nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=2000), nullable=False),
        sa.Column("participant_ids", _JSON, nullable=False),
        sa.Column("attended_ids", _JSON, nullable=False),
        sa.Column("decisions", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["postmortem_id"], ["postmortems.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index("ix_postmortem_meetings_postmortem_id", "postmortem_meetings", ["postmortem_id"])
    op.create_table(
        "postmortem_invites",
        _id(),
        sa.Column("meeting_id", _ID, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["postmortem_meetings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "address"),
    )
    op.create_index("ix_postmortem_invites_status", "postmortem_invites", ["status"])
    op.create_table(
        "problems",
        _id(),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("workaround", sa.Text(), nullable=False),
        sa.Column("service_ids", _JSON, nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("created_by_user_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("resolved_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_problems_status", "problems", ["status"])
    op.create_table(
        "problem_incidents",
        sa.Column("problem_id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["problem_id"], ["problems.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("problem_id", "incident_id"),
    )
    op.create_index("ix_problem_incidents_incident_id", "problem_incidents", ["incident_id"])
    op.create_table(
        "action_items",
        _id(),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("problem_id", _ID, nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("success_criterion", sa.Text(), nullable=False),
        sa.Column("owner_user_id", _ID, nullable=True),
        sa.Column("team_id", _ID, nullable=True),
        sa.Column("due_at", _TIME, nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_user_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("done_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["problem_id"], ["problems.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("incident_id", "problem_id", "owner_user_id", "team_id", "status"):
        op.create_index(f"ix_action_items_{column}", "action_items", [column])
    op.create_table(
        "incident_recurrences",
        _id(),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("earlier_incident_id", _ID, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["earlier_incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "earlier_incident_id"),
    )
    op.create_index("ix_incident_recurrences_incident_id", "incident_recurrences", ["incident_id"])
    op.create_index("ix_incident_recurrences_earlier_incident_id", "incident_recurrences", ["earlier_incident_id"])


def downgrade() -> None:
    for table in (
        "incident_recurrences",
        "action_items",
        "problem_incidents",
        "problems",
        "postmortem_invites",
        "postmortem_meetings",
        "postmortem_section_revisions",
        "postmortem_sections",
        "postmortems",
        "postmortem_templates",
        "postmortem_rules",
    ):
        op.drop_table(table)
