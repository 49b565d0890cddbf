"""local mail outbox: outgoing email kept in the database when no SMTP server is configured

Revision ID: 0009
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("created_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("notification_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_mail_outbox_notification_id_notifications"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index(op.f("ix_mail_outbox_created_at"), "mail_outbox", ["created_at"], unique=False)
    op.create_index(op.f("ix_mail_outbox_recipient"), "mail_outbox", ["recipient"], unique=False)
    op.create_index(op.f("ix_mail_outbox_notification_id"), "mail_outbox", ["notification_id"], unique=False)


def downgrade() -> None:
    op.drop_table("mail_outbox")
