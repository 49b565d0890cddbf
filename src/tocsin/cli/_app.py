"""The root Typer app and what every command shares: settings, the database, output helpers, errors."""

from __future__ import annotations

import functools
import getpass
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import orjson
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import tocsin.registry  # noqa: F401  (the domains' hooks; ADR 0010)
from tocsin.audit import hook as audit_hook
from tocsin.audit.origin import Origin, acting, current
from tocsin.core.clock import SystemClock, utc
from tocsin.core.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.db.keys import keyring_from_settings
from tocsin.db.session import Database
from tocsin.incidents.schemas import Actor
from tocsin.settings import ConfigError, Settings, load_settings
from tocsin.users import service as users
from tocsin.users.models import User

app = typer.Typer(help="Tocsin incident management", no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


def settings() -> Settings:
    """Validated settings, or a clear message and exit code 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


@contextmanager
def database(current: Settings | None = None) -> Iterator[Database]:
    audit_hook.install()
    current = current or settings()
    try:
        keyring = keyring_from_settings(current)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    db = Database(current.database_url, sqlite_synchronous=current.sqlite_synchronous, keyring=keyring)
    try:
        with acting(Origin(channel="cli", actor=_os_user())):
            yield db
    finally:
        db.dispose()


def _os_user() -> str:
    """Who ran the command, as the operating system knows them (the audit trail's actor until --as says more)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = str(os.getuid())
    return f"{name}@{socket.gethostname()}"


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    # The message is printed as it is (no markup) and on one line however narrow the terminal is.
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
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
        except DBAPIError as exc:
            # Usually a database that is unreachable or not migrated yet; the driver's first line says which.
            first_line = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
            raise fail(
                f"database error: {first_line} (is it running, and migrated with 'tocsin db upgrade'?)"
            ) from None

    return wrapper


def now() -> datetime:
    return SystemClock().now()


def wake_workers(db: Database) -> None:
    """After a change that pages, tell workers on PostgreSQL at once; elsewhere their next tick finds it."""
    if not db.is_sqlite:
        from tocsin.engine.listen import notify_work

        notify_work(db.url)


AS_USER_HELP = (
    "Act as this user (email). Without it the user named in TOCSIN_CLI_USER acts, and without that the first admin."
)


def acting_user(session: Session, email: str | None) -> User:
    """Who a command acts as: --as EMAIL, else TOCSIN_CLI_USER, else the first (oldest) active admin."""
    ref = email or os.environ.get("TOCSIN_CLI_USER", "").strip() or None
    if ref is not None:
        user = users.get_user(session, ref)
        if user.deactivated_at is not None:
            raise Forbidden(f"user {user.email} is deactivated")
    else:
        admins = sorted(
            (u for u in users.list_users(session) if u.role == "admin" and u.deactivated_at is None),
            key=lambda u: u.id,
        )
        if not admins:
            raise NotFound("no user to act as: pass --as EMAIL, set TOCSIN_CLI_USER, or create an admin first")
        user = admins[0]
    origin = current()
    if origin is not None and origin.channel == "cli":
        os_user = origin.extra.setdefault("os_user", origin.actor)
        origin.signed_in(user_id=user.id, label=f"{user.name} ({os_user})")
    return user


def responder_actor(session: Session, email: str | None) -> Actor:
    """The acting user as a timeline actor from the command line; observers may read but not act."""
    user = acting_user(session, email)
    if user.role not in ("admin", "responder"):
        raise Forbidden(f"{user.email} is an observer: observers can read but not act on incidents")
    return Actor(label=user.name, source="cli", user_id=user.id)


def admin_user(session: Session, email: str | None) -> User:
    """The acting user, who must be an admin (as the API's admin-only routes require)."""
    user = acting_user(session, email)
    if user.role != "admin":
        raise Forbidden(f"{user.email} is not an admin: this needs the admin role")
    return user


def responder_user(session: Session, email: str | None) -> User:
    """The acting user, who must be a responder or an admin (as the API's responder routes require)."""
    user = acting_user(session, email)
    if user.role not in ("admin", "responder"):
        raise Forbidden(f"{user.email} is an observer: observers can read but not change this")
    return user


def validated(schema: type[M], data: dict[str, Any]) -> M:
    """Options read through the API's own request schema, refused in the words of the API's 422 answer."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()]
        raise InvalidInput("; ".join(errors)) from None


def format_time(value: datetime | None) -> str:
    """Times for people, in UTC to the minute (tables say UTC in their headers; JSON keeps full ISO 8601)."""
    return utc(value).strftime("%Y-%m-%d %H:%M") if value else ""


def table(*headers: str, title: str | None = None, nowrap: tuple[str, ...] = ()) -> Table:
    """A table whose cells wrap inside long words rather than cut them (emails, keys and tokens stay whole).

    Columns named in ``nowrap`` (short values: numbers, statuses, times) keep their width; the others give way.
    """
    grid = Table(title=title, title_justify="left")
    for header in headers:
        grid.add_column(header, overflow="fold", no_wrap=header in nowrap)
    return grid


def text(value: object) -> str:
    """Data shown inside Rich output: brackets in titles or names are not taken as markup."""
    return escape("" if value is None else str(value))
