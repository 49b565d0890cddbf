"""``tocsin incident type list|set`` and ``tocsin incident-type list|show|delete`` (ADR 0021)."""

from __future__ import annotations

from typing import Annotated

import typer

from tocsin.cli._app import app, console, database, now, print_json, reports_errors, responder_actor, table, text
from tocsin.cli.incidents import AsJson, AsUser, Ref, incident_app
from tocsin.incidents import service as incidents
from tocsin.incidents import taxonomy
from tocsin.response import types

type_app = typer.Typer(help="The type of an incident", no_args_is_help=True)
incident_app.add_typer(type_app, name="type")
admin_app = typer.Typer(help="Incident types, categories and severities (configure them with `tocsin apply`)")
app.add_typer(admin_app, name="incident-type")

TypeName = Annotated[str, typer.Argument(metavar="TYPE", help="Incident type name")]


@type_app.command("list")
@reports_errors
def type_list(as_json: AsJson = False) -> None:
    """The incident types and what each sets."""
    with database() as db, db.reader() as session:
        rows = [{"name": t.name, **types.as_dict(t)} for t in types.list_types(session)]
    if as_json:
        print_json(rows)
        return
    grid = table("type", "severity", "phases", "pages", "major", "private", "required roles")
    for r in rows:
        grid.add_row(
            text(r["name"]),
            r["severity"],
            r["phase_model"],
            "yes" if r["pages"] else "no",
            "yes" if r["major"] else "",
            "yes" if r["private"] else "",
            text(", ".join(r["required_roles"])),
        )
    console.print(grid)


@type_app.command("set")
@reports_errors
def type_set(ref: Ref, name: TypeName, as_user: AsUser = None) -> None:
    """Give an incident another type (kept in its timeline)."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        types.change_type(session, incident.id, name, actor=actor, now=now())
        number = incident.number
    console.print(f"#{number} is now of type {name}")


@admin_app.command("list")
@reports_errors
def admin_list(as_json: AsJson = False) -> None:
    """Types, severities and categories."""
    with database() as db, db.reader() as session:
        found = {
            "types": [t.name for t in types.list_types(session)],
            "severities": [s.name for s in taxonomy.severities(session)],
            "categories": [c.name for c in taxonomy.categories(session)],
        }
    if as_json:
        print_json(found)
        return
    for key, names in found.items():
        console.print(f"{key}: {text(', '.join(names)) or 'none'}")


@admin_app.command("delete")
@reports_errors
def admin_delete(name: TypeName) -> None:
    """Delete an incident type nobody's incident has."""
    with database() as db, db.unit_of_work() as session:
        types.delete_type(session, name)
    console.print(f"deleted incident type {name}")
