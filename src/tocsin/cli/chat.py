"""``tocsin chat``: open an incident's war room, list its rooms, remove a person from one, print its exported
conversation, link chat accounts, automatic opening rules (ADR 0033)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tocsin.chat import service as chat
from tocsin.chat.setup import configured
from tocsin.cli._app import app, console, database, now, print_json, reports_errors, responder_actor, settings
from tocsin.cli._app import text as plain
from tocsin.cli.incidents import AsJson, AsUser, Ref
from tocsin.core.errors import NotFound
from tocsin.incidents import service as incidents
from tocsin.users import service as users

chat_app = typer.Typer(help="War rooms in Slack, Matrix or Microsoft Teams", no_args_is_help=True)
app.add_typer(chat_app, name="chat")

Platform = Annotated[
    str | None, typer.Option("--platform", help="slack, matrix or teams; default: the first configured")
]


@chat_app.command("open")
@reports_errors
def open_room(ref: Ref, platform: Platform = None, as_user: AsUser = None, as_json: AsJson = False) -> None:
    """Open the incident's war room (once: asking again shows the room already asked for)."""
    names = configured(settings())
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        row, new = chat.open_room(session, incident, platform, configured=names, actor=actor, now=now())
        done = {"id": row.id, "platform": row.platform, "name": row.name, "status": row.status, "new": new}
    if as_json:
        print_json(done)
        return
    console.print(f"{'asked for' if new else 'already'} {plain(done['platform'])} room {plain(done['name'])}")


@chat_app.command("rooms")
@reports_errors
def rooms(ref: Ref, as_json: AsJson = False) -> None:
    """The incident's war rooms and where each stands."""
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        found = [
            {"platform": r.platform, "name": r.name, "status": r.status, "room_id": r.room_id, "error": r.last_error}
            for r in chat.rooms_of(session, incident.id)
        ]
    if as_json:
        print_json(found)
        return
    for r in found:
        console.print(f"{plain(r['platform'])} {plain(r['name'])}: {plain(r['status'])} {plain(r['error'] or '')}")
    if not found:
        console.print("no war room")


@chat_app.command("remove")
@reports_errors
def remove(
    ref: Ref,
    platform: Annotated[str, typer.Argument(help="slack, matrix or teams")],
    person: Annotated[str, typer.Argument(help="A Tocsin user (email or id) or the chat account")],
    as_user: AsUser = None,
) -> None:
    """Remove a person from the incident's war room (not invited again until added to the incident anew)."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        row = chat.room_of(session, incident.id, chat.check_platform(platform))
        if row is None:
            raise NotFound(f"incident #{incident.number} has no {platform} war room")
        account, who = chat.account_for_removal(session, row, person)
        chat.request_removal(session, incident, platform, account, who=who, actor=actor, now=now())
    console.print(f"{plain(who)} will be removed from the {plain(platform)} room")


@chat_app.command("export")
@reports_errors
def export(ref: Ref, platform: Annotated[str, typer.Argument(help="slack, matrix or teams")]) -> None:
    """Print the room's conversation, exported when it was archived (TOCSIN_CHAT_EXPORT_CONVERSATION)."""
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        found = chat.export_of(session, incident.id, chat.check_platform(platform)).text
    sys.stdout.write(found + "\n")


@chat_app.command("link")
@reports_errors
def link(
    user: Annotated[str, typer.Argument(help="The Tocsin user (email or id)")],
    platform: Annotated[str, typer.Argument(help="slack, matrix or teams")],
    account: Annotated[str, typer.Argument(help="The chat account: a Slack member id, a Matrix user id …")],
) -> None:
    """Link a chat account to a Tocsin user, so that their commands from chat act as them."""
    with database() as db, db.unit_of_work() as session:
        found = users.get_user(session, user)
        chat.link(session, found.id, platform, account, now=now())
        name = found.name
    console.print(f"{plain(platform)} account {plain(account)} is now {plain(name)}")


@chat_app.command("auto-open")
@reports_errors
def auto_open(
    platform: Annotated[str, typer.Argument(help="slack, matrix or teams")],
    severity: Annotated[list[str] | None, typer.Option("--severity", help="Repeatable; none: any")] = None,
    kind: Annotated[list[str] | None, typer.Option("--type", help="Incident type (repeatable); none: any")] = None,
) -> None:
    """Open a room automatically for incidents of these severities and types."""
    with database() as db, db.unit_of_work() as session:
        chat.set_auto_rule(session, platform, severities=severity or [], types=kind or [], now=now())
    console.print(f"rooms on {plain(platform)} open by themselves for {', '.join(severity or ['any severity'])}")


@chat_app.command("auto-clear")
@reports_errors
def auto_clear() -> None:
    """Remove every automatic opening rule."""
    with database() as db, db.unit_of_work() as session:
        count = chat.clear_auto_rules(session)
    console.print(f"{count} rule(s) removed")
