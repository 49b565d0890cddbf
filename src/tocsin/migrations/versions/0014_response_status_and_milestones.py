"""response status, phase model and milestones of incidents

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_MILESTONES = ("impact_started_at", "detected_at", "reported_at", "mitigated_at", "closed_at", "impact_ended_at")


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_status", sa.String(length=16), server_default="triage", nullable=False))
        batch_op.add_column(sa.Column("phase_model", sa.String(length=16), server_default="default", nullable=False))
        for name in _MILESTONES:
            batch_op.add_column(sa.Column(name, tocsin.db.base.UTCDateTime(timezone=True), nullable=True))
    # Incidents from before: the response follows the paging state; people declared those with a creator.
    op.execute(
        "UPDATE incidents SET response_status = CASE status WHEN 'resolved' THEN 'resolved' "
        "WHEN 'acknowledged' THEN 'investigating' ELSE 'triage' END"
    )
    op.execute("UPDATE incidents SET detected_at = created_at WHERE created_by_user_id IS NULL")
    op.execute("UPDATE incidents SET reported_at = created_at WHERE created_by_user_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name in reversed(_MILESTONES):
            batch_op.drop_column(name)
        batch_op.drop_column("phase_model")
        batch_op.drop_column("response_status")
