"""incident types, categories, severity levels, affected services, conference bridge

Revision ID: 0016
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0016"
down_revision = "0022"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_types",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("phase_model", sa.String(length=16), nullable=False),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.Column("required_roles", tocsin.db.base.JSONType, nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("private_team_id", _ID, nullable=True),
        sa.Column("pages", sa.Boolean(), nullable=False),
        sa.Column("playbook", sa.String(length=200), nullable=False),
        sa.Column("conference_url", sa.String(length=2000), nullable=False),
        sa.Column("update_cadence_minutes", sa.Integer(), nullable=True),
        sa.Column("checklists", tocsin.db.base.JSONType, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["private_team_id"], ["teams.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "severity_levels",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=8), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "incident_categories",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "incident_services",
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("service_id", _ID, nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("incident_id", "service_id"),
    )
    op.create_index("ix_incident_services_service", "incident_services", ["service_id", "incident_id"])
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("type_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("category", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("conference_url", sa.String(length=2000), server_default="", nullable=False))
        batch_op.create_index("ix_incidents_type_id", ["type_id"])
        batch_op.create_foreign_key(
            "fk_incidents_type_id_incident_types", "incident_types", ["type_id"], ["id"], ondelete="RESTRICT"
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint("fk_incidents_type_id_incident_types", type_="foreignkey")
        batch_op.drop_index("ix_incidents_type_id")
        batch_op.drop_column("conference_url")
        batch_op.drop_column("category")
        batch_op.drop_column("type_id")
    op.drop_index("ix_incident_services_service", table_name="incident_services")
    op.drop_table("incident_services")
    op.drop_table("incident_categories")
    op.drop_table("severity_levels")
    op.drop_table("incident_types")
