"""status page subscription limits shared by every process: requests counted per key and slice of the window

Revision ID: 0025
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0025"
down_revision = "0030"
branch_labels = None
depends_on = None

_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "statuspage_subscribe_windows",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("slice_start", _TIME, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", "slice_start"),
    )
    op.create_index(
        op.f("ix_statuspage_subscribe_windows_slice_start"), "statuspage_subscribe_windows", ["slice_start"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_statuspage_subscribe_windows_slice_start"), table_name="statuspage_subscribe_windows")
    op.drop_table("statuspage_subscribe_windows")
