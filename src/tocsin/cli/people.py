"""``tocsin user`` and ``tocsin token``: people and their API tokens."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from tocsin.auth import accounts
from tocsin.cli._app import (
    AS_USER_HELP,
    acting_user,
    app,
    console,
    database,
    err_console,
    fail,
    format_time,
    now,
    print_json,
    reports_errors,
    settings,
    table,
    text,
)
from tocsin.users import service as users
from tocsin.users.models import ROLES, ApiToken, User
from tocsin.users.password_policy import check_new_password
from tocsin.users.passwords import hash_password

user_app = typer.Typer(help="People who can be paged and act on incidents", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (bearer tokens for /api/v1)", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def _password_from_stdin() -> str:
    # Only the line ending is stripped: spaces are a legitimate part of a passphrase.
    password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise fail(f"the password on stdin must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise fail(f"the password on stdin must be at most {MAX_PASSWORD_LENGTH} characters")
    return password


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "timezone": user.timezone,
        "created_at": user.created_at,
        "deactivated_at": user.deactivated_at,
    }


def _token_json(token: ApiToken, emails: dict[int, str]) -> dict[str, Any]:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "user": emails.get(token.user_id, ""),
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@user_app.command("create")
@reports_errors
def user_create(
    email: Annotated[str, typer.Argument(help="Email address; also the login name")],
    name: Annotated[str, typer.Option(help="Display name (default: the email)")] = "",
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}")] = "responder",
    timezone: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Berlin")] = "UTC",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a password for the web sign-in from standard input")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new user as JSON")] = False,
) -> None:
    """Create a user."""
    password_hash = hash_password(_password_from_stdin()) if password_stdin else None
    with database() as db, db.unit_of_work() as session:
        user = users.create_user(
            session, email=email, name=name, role=role, timezone=timezone, password_hash=password_hash, now=now()
        )
        created = _user_json(user)
    if as_json:
        print_json(created)
    else:
        console.print(f"created user {created['id']}: {text(created['email'])} ({created['role']})")


@user_app.command("reset-password")
@reports_errors
def user_reset_password(
    email: Annotated[str, typer.Argument(help="Email or id of the user")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input")
    ] = False,
) -> None:
    """Set a user's password and sign out all their console sessions.

    Without --password-stdin a temporary password is made and printed once; the user should change it on the
    Account page after signing in.
    """
    current = settings()
    with database(current) as db:
        with db.reader() as session:
            user = users.get_user(session, email)
        if password_stdin:
            password = _password_from_stdin()
            check_new_password(
                password,
                email=user.email,
                name=user.name,
                min_length=current.password_min_length,
                blocklist_file=current.password_blocklist_file,
            )
        else:
            password = accounts.temporary_password()
        new_hash = hash_password(password)
        with db.unit_of_work() as session:
            ended = accounts.reset_password(session, user.id, new_hash=new_hash)
    if not password_stdin:
        sys.stdout.write(password + "\n")
    err_console.print(f"password of {text(user.email)} reset; {ended} session(s) signed out")


@user_app.command("list")
@reports_errors
def user_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """List users."""
    with database() as db, db.reader() as session:
        rows = [_user_json(u) for u in users.list_users(session)]
    if as_json:
        print_json(rows)
        return
    grid = table("id", "email", "name", "role", "time zone", "status", nowrap=("id", "role"))
    for r in rows:
        status = f"deactivated {format_time(r['deactivated_at'])} UTC" if r["deactivated_at"] else "active"
        grid.add_row(str(r["id"]), text(r["email"]), text(r["name"]), r["role"], r["timezone"], status)
    console.print(grid)


@token_app.command("create")
@reports_errors
def token_create(
    user: Annotated[str, typer.Option("--user", help="Email of the user the token acts as")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Create an API token and print only the token, so that $(tocsin token create ...) captures it.

    The token is shown once: only its hash is stored.
    """
    with database() as db, db.unit_of_work() as session:
        owner = users.get_user(session, user)
        _, secret = users.create_token(session, owner, name=name, now=now())
    sys.stdout.write(secret + "\n")


@token_app.command("list")
@reports_errors
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens (email)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List API tokens (never the tokens themselves: only their first characters)."""
    with database() as db, db.reader() as session:
        owner_id = users.get_user(session, user).id if user else None
        emails = {u.id: u.email for u in users.list_users(session)}
        rows = [_token_json(t, emails) for t in users.list_tokens(session, owner_id)]
    if as_json:
        print_json(rows)
        return
    grid = table(
        "id", "user", "name", "starts with", "created (UTC)", "last used", "revoked", nowrap=("id", "starts with")
    )
    for r in rows:
        grid.add_row(
            str(r["id"]),
            text(r["user"]),
            text(r["name"]),
            text(r["prefix"]) + "…",
            format_time(r["created_at"]),
            format_time(r["last_used_at"]),
            format_time(r["revoked_at"]),
        )
    console.print(grid)


@token_app.command("revoke")
@reports_errors
def token_revoke(
    token_id: Annotated[int, typer.Argument(metavar="ID", help="Token id, as shown by 'tocsin token list'")],
    as_user: Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)] = None,
) -> None:
    """Revoke an API token; requests that use it are refused from now on.

    Admins revoke any token, other users only their own.
    """
    with database() as db, db.unit_of_work() as session:
        by = acting_user(session, as_user)
        token = users.revoke_token(session, token_id, by=by, now=now())
        revoked_at = token.revoked_at
    console.print(f"token {token_id} revoked ({format_time(revoked_at)} UTC)")
