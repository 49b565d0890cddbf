"""The installation's own secrets: taken from settings when given, else generated once and kept in the database,
encrypted with the key for secrets at rest (ADR 0017)."""

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


def check_key(session: Session) -> None:
    """Read a secret written with the installation's key: raises ``KeyMismatch`` when this process was given
    another key, so that it refuses to start rather than fail on the first page it sends."""
    instance_secret(session, "key_check")
