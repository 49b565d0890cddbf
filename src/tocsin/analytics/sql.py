"""Time arithmetic in SQL, one spelling per dialect: 100,000 incidents are summed by the database, not parsed
into Python datetimes one by one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):
    """Seconds from the first instant to the second (NULL when either is NULL)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


class epoch(FunctionElement[float]):
    """Seconds since 1970-01-01 UTC."""

    type = Float()
    inherit_cache = True
    name = "epoch"


@compiles(seconds_between, "sqlite")
def _between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


@compiles(seconds_between)
def _between_default(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    (at,) = list(element.clauses)
    return f"((julianday({compiler.process(at, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch)
def _epoch_default(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    (at,) = list(element.clauses)
    return f"EXTRACT(EPOCH FROM {compiler.process(at, **kw)})"


def between(start: Any, end: Any) -> ColumnElement[float]:
    return seconds_between(start, end)
