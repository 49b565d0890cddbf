"""routing and noise-reduction rules

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import tocsin.db.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "inhibit_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "source_matchers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "target_matchers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "equal", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inhibit_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_inhibit_rules_name")),
    )
    op.create_table(
        "noise_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "value", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("updated_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_noise_settings")),
    )
    op.create_table(
        "grouping_rules",
        sa.Column("service_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "group_by", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("by_content", sa.Boolean(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_grouping_rules_service_id_services"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_grouping_rules")),
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "matchers", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("service_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("starts_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recurrence", sa.String(length=500), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("created_by_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reminded_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_silences_created_by_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_silences_service_id_services"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
        sa.UniqueConstraint("name", name=op.f("uq_silences_name")),
    )
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.create_index("ix_silences_ends_at", ["ends_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_silences_service_id"), ["service_id"], unique=False)

    op.create_table(
        "event_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("integration_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "matchers", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "actions", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tocsin.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_event_rules_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_event_rules_name")),
    )
    with op.batch_alter_table("event_rules", schema=None) as batch_op:
        batch_op.create_index("ix_event_rules_integration_position", ["integration_id", "position"], unique=False)

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suppressed", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "suppressed_by",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("group_key", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("inhibits", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_alerts_inhibits", ["inhibits"], unique=False)
        batch_op.create_index("ix_alerts_service_group_key", ["service_id", "group_key"], unique=False)

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("major", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("major")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_service_group_key")
        batch_op.drop_index("ix_alerts_inhibits")
        batch_op.drop_column("inhibits")
        batch_op.drop_column("group_key")
        batch_op.drop_column("suppressed_by")
        batch_op.drop_column("suppressed")

    with op.batch_alter_table("event_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_event_rules_integration_position")

    op.drop_table("event_rules")
    with op.batch_alter_table("silences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_silences_service_id"))
        batch_op.drop_index("ix_silences_ends_at")

    op.drop_table("silences")
    op.drop_table("grouping_rules")
    op.drop_table("noise_settings")
    op.drop_table("inhibit_rules")
