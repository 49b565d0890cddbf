"""audit trail: origin columns (channel, token, address, user agent), filter indexes, the chain head, and the
addresses each API token was used from

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        # Entries are never rewritten: deleting a user must not set their id to NULL under an existing hash.
        batch_op.drop_constraint("fk_audit_log_actor_user_id_users", type_="foreignkey")
        batch_op.add_column(sa.Column("token_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("channel", sa.String(length=16), server_default="", nullable=False))
        batch_op.add_column(sa.Column("ip", sa.String(length=64), server_default="", nullable=False))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=255), server_default="", nullable=False))
        batch_op.create_index("ix_audit_log_object", ["object_type", "object_id"], unique=False)
        batch_op.create_index("ix_audit_log_actor_user_id", ["actor_user_id"], unique=False)
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_hash": ""}])

    op.create_table(
        "api_token_addresses",
        sa.Column("token_id", _ID, nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            name=op.f("fk_api_token_addresses_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", "ip", name=op.f("pk_api_token_addresses")),
    )


def downgrade() -> None:
    op.drop_table("api_token_addresses")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_at")
        batch_op.drop_index("ix_audit_log_actor_user_id")
        batch_op.drop_index("ix_audit_log_object")
        batch_op.drop_column("user_agent")
        batch_op.drop_column("ip")
        batch_op.drop_column("channel")
        batch_op.drop_column("token_id")
        batch_op.create_foreign_key(
            "fk_audit_log_actor_user_id_users", "users", ["actor_user_id"], ["id"], ondelete="SET NULL"
        )
