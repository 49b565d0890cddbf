"""The root Typer app and what every command shares: settings, the database, output helpers, errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console

from tocsin.core.errors import TocsinError
from tocsin.db.session import Database
from tocsin.settings import ConfigError, Settings, load_settings

app = typer.Typer(help="Tocsin incident management", no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings() -> Settings:
    """Validated settings, or a clear message and exit code 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@contextmanager
def database(current: Settings | None = None) -> Iterator[Database]:
    db = Database((current or settings()).database_url, sqlite_synchronous=(current or settings()).sqlite_synchronous)
    try:
        yield db
    finally:
        db.dispose()


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def reports_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn Tocsin's own errors into a one-line message and exit code 1 instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except TocsinError as exc:
            detail = exc.detail + ("".join(f"\n  - {e}" for e in exc.errors) if exc.errors else "")
            raise fail(detail) from None

    return wrapper
