"""``tocsin serve``, ``tocsin worker`` and ``tocsin db upgrade``."""

from __future__ import annotations

from typing import Annotated

import typer

from tocsin.cli._app import app, console, database, fail, now, settings
from tocsin.compliance import service as compliance
from tocsin.db import migrate
from tocsin.db.encrypted import KeyMismatch
from tocsin.ops.logging import configure_logging
from tocsin.response import roles, types
from tocsin.settings import ConfigError

db_app = typer.Typer(help="Database schema", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (TOCSIN_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (TOCSIN_PORT)")] = None,
    worker: Annotated[bool, typer.Option(help="Run the escalation engine in this process")] = True,
    upgrade: Annotated[bool, typer.Option(help="Apply pending database migrations first")] = True,
) -> None:
    """Serve the API, the web pages and (unless --no-worker) the background engine in one process."""
    import uvicorn

    from tocsin.app import create_app
    from tocsin.settings import load_settings

    base = settings()
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if not worker:
        overrides["run_worker"] = False
    current = load_settings(**{**base.model_dump(exclude={"base_url"}), **overrides}) if overrides else base
    configure_logging(current.log_level, current.log_format)
    if upgrade:
        migrate.upgrade(current.database_url)
    try:
        app_ = create_app(current)
        app_.state.runtime.check_secret_key()
    except (ConfigError, KeyMismatch) as exc:
        raise fail(str(exc), 2) from None
    from tocsin.integrations.smtp_listener import SmtpListener, listener_from_settings
    from tocsin.mailbox.smtp_port import OutboxSmtpPort

    runtime = app_.state.runtime
    mail = listener_from_settings(runtime)
    outbox_address = current.outbox_smtp_address
    outbox = OutboxSmtpPort(runtime.db, runtime.clock, *outbox_address) if outbox_address else None
    started: list[SmtpListener | OutboxSmtpPort] = []
    try:
        for m, setting in ((mail, "TOCSIN_SMTP_LISTEN"), (outbox, "TOCSIN_OUTBOX_SMTP_LISTEN")):
            if m is None:
                continue
            try:
                m.start()
            except OSError as exc:
                where = f"{m.controller.hostname}:{m.controller.port}"
                raise fail(f"cannot listen for mail on {where} ({setting}): {exc.strerror or exc}", 2) from None
            started.append(m)
        uvicorn.run(app_, host=current.host, port=current.port, log_config=None, access_log=False)
    finally:
        for m in started:
            m.stop()


@app.command()
def worker(
    owner: Annotated[str | None, typer.Option(help="Name of this worker in leases (default host:pid)")] = None,
) -> None:
    """Run only the escalation and notification engine (as many as you like on PostgreSQL)."""
    from tocsin.engine.main import run_worker

    current = settings()
    configure_logging(current.log_level, current.log_format)
    try:
        run_worker(current, owner=owner)
    except (ConfigError, KeyMismatch) as exc:
        raise fail(str(exc), 2) from None


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Create or migrate the database schema."""
    current = settings()
    migrate.upgrade(current.database_url, revision)
    if revision == "head":
        with database() as db, db.unit_of_work() as session:
            roles.seed_defaults(session, now=now())
            types.seed_defaults(session, now=now())
            compliance.seed_defaults(session, now=now())
    console.print(f"database at revision {migrate.head_revision() if revision == 'head' else revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    with database() as db:
        console.print(migrate.current_revision(db.engine) or "(empty)")
