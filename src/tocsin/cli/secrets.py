"""``tocsin secrets``: the key that encrypts the secrets kept in the database (ADR 0017)."""

from __future__ import annotations

import secrets as random
from typing import Annotated

import typer

from tocsin.cli._app import app, console, database, fail, print_json
from tocsin.db.encrypted import KeyMismatch, reseal_all
from tocsin.registry import metadata

secrets_app = typer.Typer(help="The key of the secrets kept in the database", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("rotate")
def rotate(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """Re-encrypt every encrypted column with the current key (TOCSIN_SECRET_KEY, or the first line of
    TOCSIN_SECRET_KEY_FILE), reading values under the older keys (TOCSIN_SECRET_KEYS_OLD, or the file's later
    lines); clear values left from before encryption are encrypted too. Once it is done the older keys can go."""
    with database() as db:
        try:
            with db.unit_of_work() as session:
                written = reseal_all(session.connection(), metadata, db.keyring)
        except KeyMismatch as exc:
            raise fail(str(exc), 2) from None
    if as_json:
        print_json(written)
        return
    for column, count in written.items():
        console.print(f"{column}: {count} re-encrypted")
    console.print(f"done: {sum(written.values())} values now under the current key")


@secrets_app.command("generate")
def generate() -> None:
    """Print a new random key, for TOCSIN_SECRET_KEY or the first line of TOCSIN_SECRET_KEY_FILE."""
    console.print(random.token_urlsafe(32), soft_wrap=True)
