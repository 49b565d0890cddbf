"""single sign-on: provider identities of SSO-managed accounts, the team memberships the group mapping made, and
OpenID Connect sign-ins in flight (ADR 0037)

Revision ID: 0033
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0033"
down_revision = "0028"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sso_identities",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_sign_in_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "subject"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_table(
        "sso_team_grants",
        sa.Column("team_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "user_id"),
    )
    op.create_index("ix_sso_team_grants_user_id", "sso_team_grants", ["user_id"])
    op.create_table(
        "oidc_sign_in_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("state_hash"),
    )
    op.create_index("ix_oidc_sign_in_states_expires_at", "oidc_sign_in_states", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_oidc_sign_in_states_expires_at", table_name="oidc_sign_in_states")
    op.drop_table("oidc_sign_in_states")
    op.drop_index("ix_sso_team_grants_user_id", table_name="sso_team_grants")
    op.drop_table("sso_team_grants")
    op.drop_table("sso_identities")
