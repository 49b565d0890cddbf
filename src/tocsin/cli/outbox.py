"""``tocsin outbox``: the mail kept in the local outbox (list, and show one with its text part)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.cli._app import app, console, database, format_time, print_json, reports_errors, table, text
from tocsin.mailbox import service as mailbox
from tocsin.mailbox.reading import read

outbox_app = typer.Typer(help="Mail kept in the local outbox (when no SMTP server is configured)", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
@reports_errors
def outbox_list(
    to: Annotated[str | None, typer.Option("--to", help="Only mail to this address")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many, newest first")] = 25,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List kept mail, newest first."""
    with database() as db, db.reader() as session:
        rows = mailbox.newest(session, addresses=[to] if to else None, limit=limit)
        found: list[dict[str, Any]] = [
            {
                "id": m.id,
                "kept_at": m.created_at,
                "to": m.recipient,
                "subject": m.subject,
                "source": m.source,
                "notification_id": m.notification_id,
            }
            for m in rows
        ]
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("no mail in the outbox")
        return
    grid = table("id", "kept (UTC)", "to", "subject", nowrap=("id", "kept (UTC)"))
    for m in found:
        grid.add_row(str(m["id"]), format_time(m["kept_at"]), text(m["to"]), text(m["subject"]))
    console.print(grid)


@outbox_app.command("show")
@reports_errors
def outbox_show(
    mail_id: Annotated[int, typer.Argument(metavar="ID", help="The mail's id (from `tocsin outbox list`)")],
    raw: Annotated[bool, typer.Option("--raw", help="Print the whole RFC 5322 message")] = False,
) -> None:
    """Show one kept mail: its headers and its text part (with the one-click links), or the raw message."""
    with database() as db, db.reader() as session:
        mail = mailbox.get(session, mail_id, addresses=None)
        message = mail.message
    if raw:
        typer.echo(message.decode("utf-8", "replace"), nl=False)
        return
    view = read(message)
    typer.echo(f"From: {view.sender}\nTo: {view.to}\nDate: {view.date}\nSubject: {view.subject}\n")
    typer.echo(view.text)
