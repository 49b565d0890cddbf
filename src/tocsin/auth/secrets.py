"""The installation's own secrets: taken from settings when given, else generated once and kept in the database."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.auth.models import InstanceSecret


def instance_secret(session: Session, name: str) -> str:
    """The named secret, created on first use. Concurrent first starts agree: the first insert wins."""
    dialect = session.get_bind().dialect.name
    ins = pg_insert(InstanceSecret) if dialect == "postgresql" else sqlite_insert(InstanceSecret)
    session.execute(
        ins.values(name=name, value=secrets.token_urlsafe(32)).on_conflict_do_nothing(index_elements=["name"])
    )
    return str(session.execute(select(InstanceSecret.value).where(InstanceSecret.name == name)).scalar_one())
