"""secrets at rest: encrypted columns become TEXT and their clear values are encrypted (ADR 0017)

Revision ID: 0013
Revises: 0011

The encrypted columns are those the models give an ``EncryptedText`` type, found in the metadata. A column switched
to that type after this revision ran is encrypted by ``tocsin secrets rotate``, which encrypts the clear values it
finds (a short secret, up to about 100 characters, still fits a VARCHAR(255) once encrypted).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tocsin.db.encrypted import encrypted_columns, open_all, reseal_all
from tocsin.db.keys import keyring_from_environment
from tocsin.registry import metadata

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

# What the columns encrypted by this revision were before it, for the downgrade.
_CLEAR_TYPES: dict[tuple[str, str], sa.types.TypeEngine[str]] = {
    ("contact_methods", "address"): sa.String(length=2048),
    ("contact_methods", "secret"): sa.String(length=255),
    ("instance_secrets", "value"): sa.String(length=255),
    ("webhook_subscriptions", "url"): sa.String(length=2048),
    ("webhook_subscriptions", "secret"): sa.String(length=512),
    ("integrations", "signing_secret"): sa.String(length=255),
}


def _keyring():  # type: ignore[no-untyped-def]
    return keyring_from_environment(op.get_bind().engine.url.render_as_string(hide_password=False))


def _retype(types: dict[tuple[str, str], sa.types.TypeEngine[str]]) -> None:
    inspector = sa.inspect(op.get_bind())
    for (table, column), new_type in types.items():
        current = {c["name"]: c for c in inspector.get_columns(table)}
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=new_type, existing_nullable=current[column]["nullable"])


def _present() -> list[tuple[str, str]]:
    """The encrypted columns of the models that this database has at this revision."""
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    return [
        (table, column)
        for table, column in encrypted_columns(metadata)
        if table in tables and column in {c["name"] for c in inspector.get_columns(table)}
    ]


def upgrade() -> None:
    columns = _present()
    # A Fernet token is about 4/3 of the value plus 100 characters: the VARCHAR limits of clear values are too short.
    _retype({column: sa.Text() for column in columns})
    reseal_all(op.get_bind(), metadata, _keyring(), columns)


def downgrade() -> None:
    columns = _present()
    open_all(op.get_bind(), metadata, _keyring(), columns)
    _retype({column: _CLEAR_TYPES[column] for column in columns if column in _CLEAR_TYPES})
