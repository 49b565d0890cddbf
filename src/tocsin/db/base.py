"""Declarative base with a naming convention (so migrations are stable) and timezone-aware timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime, whatever the dialect keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def vocabulary(enum: type[StrEnum], length: int) -> Enum:
    """A column holding the values of a StrEnum as plain strings (no database enum type, no CHECK constraint, so a
    new value needs no migration), read back as members."""
    return Enum(enum, native_enum=False, create_constraint=False, length=length, values_callable=_values)


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


# JSON that becomes JSONB on PostgreSQL (indexable, compact) and JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")
# 64-bit keys on PostgreSQL; SQLite needs plain INTEGER for its rowid alias (autoincrement).
BigID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSONType,
        list[int]: JSONType,
        list[dict[str, Any]]: JSONType,
    }
