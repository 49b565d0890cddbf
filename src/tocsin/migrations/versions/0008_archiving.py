"""archiving instead of deleting: archived_at on services, integrations, schedules and policies; incidents and
alerts no longer cascade away with their service or integration

Revision ID: 0008
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ARCHIVABLE = ("services", "integrations", "schedules", "escalation_policies")
# (table, column, referred table) whose rows are history: deleting the referred row must not take them along.
_HISTORY_FKS = (
    ("incidents", "service_id", "services"),
    ("alerts", "service_id", "services"),
    ("alerts", "integration_id", "integrations"),
)
_OPEN_ALERT = "status <> 'resolved'"


def _set_ondelete(ondelete: str) -> None:
    # SQLite copies the table to change a foreign key; the partial dedup index is dropped around the copy so that
    # it comes back with its WHERE clause.
    op.drop_index("uq_alerts_open_dedup", table_name="alerts")
    for table in ("incidents", "alerts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for t, column, referred in _HISTORY_FKS:
                if t != table:
                    continue
                name = f"fk_{table}_{column}_{referred}"
                batch_op.drop_constraint(name, type_="foreignkey")
                batch_op.create_foreign_key(name, referred, [column], ["id"], ondelete=ondelete)
    op.create_index(
        "uq_alerts_open_dedup",
        "alerts",
        ["integration_id", "dedup_key"],
        unique=True,
        sqlite_where=sa.text(_OPEN_ALERT),
        postgresql_where=sa.text(_OPEN_ALERT),
    )


def upgrade() -> None:
    for table in _ARCHIVABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("archived_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=True))
    _set_ondelete("RESTRICT")


def downgrade() -> None:
    _set_ondelete("CASCADE")
    for table in _ARCHIVABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("archived_at")
