"""``tocsin team`` and ``tocsin contact``: teams and memberships, and people's contact methods and rules, edited
and removed from the command line with the same use cases and refusals as the API. Creating them in bulk is
``tocsin apply``'s work."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from tocsin.admin import contacts
from tocsin.cli._app import (
    AS_USER_HELP,
    acting_user,
    admin_user,
    app,
    console,
    database,
    now,
    reports_errors,
    table,
    text,
)
from tocsin.core.errors import Forbidden, NotFound
from tocsin.notify import contacts as notify_contacts
from tocsin.teams import service as teams
from tocsin.users import service as users

team_app = typer.Typer(help="Teams and their members", no_args_is_help=True)
contact_app = typer.Typer(help="Contact methods and notification rules", no_args_is_help=True)
app.add_typer(team_app, name="team")
app.add_typer(contact_app, name="contact")

AsUser = Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)]
Team = Annotated[str, typer.Argument(help="Team id or name")]
Person = Annotated[str, typer.Argument(help="The user's email or id")]


def _own_or_admin(session: Session, email: str | None, owner_id: int) -> None:
    user = acting_user(session, email)
    if user.id != owner_id and user.role != "admin":
        raise Forbidden(f"{user.email} can only change their own contact methods and rules")


# --- teams -------------------------------------------------------------------------------------------------------


@team_app.command("create")
@reports_errors
def team_create(name: str, description: str = "", as_user: AsUser = None) -> None:
    """Create a team."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        team = teams.create_team(session, name=name, description=description, now=now())
        console.print(f"created team {team.id}: {text(team.name)}")


@team_app.command("list")
@reports_errors
def team_list() -> None:
    """List teams and their members."""
    with database() as db, db.reader() as session:
        grid = table("id", "name", "members", nowrap=("id",))
        for team in teams.list_teams(session):
            members = ", ".join(f"{u.email} ({role})" for u, role in teams.members(session, team))
            grid.add_row(str(team.id), text(team.name), text(members))
    console.print(grid)


@team_app.command("edit")
@reports_errors
def team_edit(
    team: Team,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    description: Annotated[str | None, typer.Option(help="New description")] = None,
    as_user: AsUser = None,
) -> None:
    """Rename a team or change its description."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        row = teams.update_team(session, teams.get_team(session, team), name=name, description=description)
        console.print(f"updated team {text(row.name)}")


@team_app.command("delete")
@reports_errors
def team_delete(team: Team, as_user: AsUser = None) -> None:
    """Delete a team: its memberships go; its services, schedules and policies stay, without a team."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        row = teams.get_team(session, team)
        teams.delete_team(session, row)
        console.print(f"deleted team {text(row.name)}")


@team_app.command("add-member")
@reports_errors
def team_add_member(
    team: Team,
    email: Person,
    role: Annotated[str, typer.Option(help="member or manager")] = "member",
    as_user: AsUser = None,
) -> None:
    """Add someone to a team, or change their role in it."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        row, user = teams.get_team(session, team), users.get_user(session, email)
        teams.set_member(session, row, user, role=role)
        console.print(f"{text(user.email)} is a {role} of {text(row.name)}")


@team_app.command("remove-member")
@reports_errors
def team_remove_member(team: Team, email: Person, as_user: AsUser = None) -> None:
    """Take someone out of a team."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        row, user = teams.get_team(session, team), users.get_user(session, email)
        if user.id not in {u.id for u, _ in teams.members(session, row)}:
            raise NotFound(f"{user.email} is not a member of team {row.name!r}")
        teams.remove_member(session, row, user)
        console.print(f"removed {text(user.email)} from {text(row.name)}")


# --- contact methods and notification rules ----------------------------------------------------------------------


@contact_app.command("list")
@reports_errors
def contact_list(email: Person) -> None:
    """A person's contact methods and notification rules, with their ids."""
    with database() as db, db.reader() as session:
        user = users.get_user(session, email)
        grid = table("id", "name", "type", "address", "state", nowrap=("id", "type"))
        for cm in notify_contacts.contact_methods(session, user.id):
            grid.add_row(str(cm.id), text(cm.name), cm.type, text(cm.address), "disabled" if cm.disabled else "on")
        rules = table("rule", "urgency", "contact method", "delay (s)", nowrap=("rule",))
        for rule in notify_contacts.rules(session, user.id):
            rules.add_row(str(rule.id), rule.urgency, str(rule.contact_method_id), str(rule.delay_seconds))
    console.print(grid)
    console.print(rules)


@contact_app.command("edit")
@reports_errors
def contact_edit(
    cm_id: int,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    address: Annotated[str | None, typer.Option(help="New address")] = None,
    disabled: Annotated[bool | None, typer.Option("--disabled/--enabled", help="Stop or resume paging it")] = None,
    as_user: AsUser = None,
) -> None:
    """Change a contact method, or disable it (a method that was paged is disabled, not deleted)."""
    with database() as db, db.unit_of_work() as session:
        cm = contacts.get_contact_method(session, cm_id)
        _own_or_admin(session, as_user, cm.user_id)
        contacts.update_contact_method(session, cm, name=name, address=address, disabled=disabled)
        console.print(f"updated contact method {cm.id}: {text(cm.address)}{' (disabled)' if cm.disabled else ''}")


@contact_app.command("delete")
@reports_errors
def contact_delete(cm_id: int, as_user: AsUser = None) -> None:
    """Delete a contact method that was never paged, with its rules."""
    with database() as db, db.unit_of_work() as session:
        cm = contacts.get_contact_method(session, cm_id)
        _own_or_admin(session, as_user, cm.user_id)
        contacts.delete_contact_method(session, cm)
        console.print(f"deleted contact method {cm_id}")


@contact_app.command("rule-edit")
@reports_errors
def rule_edit(
    rule_id: int,
    urgency: Annotated[str | None, typer.Option(help="high or low")] = None,
    contact: Annotated[int | None, typer.Option(help="Contact method id")] = None,
    delay: Annotated[int | None, typer.Option(help="Delay in seconds")] = None,
    as_user: AsUser = None,
) -> None:
    """Change a notification rule."""
    with database() as db, db.unit_of_work() as session:
        rule = contacts.get_rule(session, rule_id)
        _own_or_admin(session, as_user, rule.user_id)
        contacts.update_rule(session, rule, urgency=urgency, contact_method_id=contact, delay_seconds=delay)
        console.print(f"updated rule {rule.id}: {rule.urgency}, method {rule.contact_method_id}, {rule.delay_seconds}s")


@contact_app.command("rule-delete")
@reports_errors
def rule_delete(rule_id: int, as_user: AsUser = None) -> None:
    """Delete a notification rule."""
    with database() as db, db.unit_of_work() as session:
        rule = contacts.get_rule(session, rule_id)
        _own_or_admin(session, as_user, rule.user_id)
        contacts.delete_rule(session, rule)
        console.print(f"deleted rule {rule_id}")
