"""work signal rows (one per kind of work) for cross-process engine wakeups on SQLite

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "work_signal",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_signal")),
    )
    # One row per kind of work: any (1), escalation (2), notification (3).
    op.bulk_insert(table, [{"id": row, "version": 0} for row in (1, 2, 3)])


def downgrade() -> None:
    op.drop_table("work_signal")
