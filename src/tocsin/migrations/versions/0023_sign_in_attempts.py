"""sign-in attempts counted in the database

Revision ID: 0023
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0023"
down_revision = "0015"
branch_labels = None
depends_on = None

_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    op.create_index(op.f("ix_sign_in_attempts_last_at"), "sign_in_attempts", ["last_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_attempts_last_at"), table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
