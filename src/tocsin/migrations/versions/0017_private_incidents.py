"""private incidents and their participants added by hand

Revision ID: 0017
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0017"
down_revision = "0019"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("private_team_id", _ID, nullable=True))
        batch_op.create_foreign_key(
            "fk_incidents_private_team_id_teams", "teams", ["private_team_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "incident_participants",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("added_by_user_id", _ID, nullable=True),
        sa.Column("added_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["added_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "user_id", name="uq_incident_participants"),
    )
    op.create_index(op.f("ix_incident_participants_user_id"), "incident_participants", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_participants_user_id"), table_name="incident_participants")
    op.drop_table("incident_participants")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint("fk_incidents_private_team_id_teams", type_="foreignkey")
        batch_op.drop_column("private_team_id")
        batch_op.drop_column("private")
