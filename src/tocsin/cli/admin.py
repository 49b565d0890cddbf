"""``tocsin user edit|deactivate|reactivate|delete`` and ``tocsin service|integration|schedule|policy
archive|unarchive|delete``: the same use cases and refusals as the API (ADR 0012).

Every command here acts as an admin (``--as``, TOCSIN_CLI_USER or the first admin): having the database URL is
not enough to retire what others depend on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from tocsin.admin import service as admin
from tocsin.cli._app import (
    AS_USER_HELP,
    admin_user,
    app,
    console,
    database,
    format_time,
    now,
    print_json,
    reports_errors,
    text,
)
from tocsin.cli.people import user_app  # ``tocsin user`` lives there; the commands below join it
from tocsin.escalation import service as escalation
from tocsin.oncall import schedules
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.users import service as users

service_app = typer.Typer(help="Edit, archive, restore or delete services", no_args_is_help=True)
integration_app = typer.Typer(help="Edit, archive, restore or delete integrations", no_args_is_help=True)
schedule_app = typer.Typer(help="Edit, archive, restore or delete on-call schedules", no_args_is_help=True)
policy_app = typer.Typer(help="Archive, restore or delete escalation policies", no_args_is_help=True)
app.add_typer(service_app, name="service")
app.add_typer(integration_app, name="integration")
app.add_typer(schedule_app, name="schedule")
app.add_typer(policy_app, name="policy")

AsUser = Annotated[str | None, typer.Option("--as", help=AS_USER_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
Ref = Annotated[str, typer.Argument(help="id or name")]


def _run(as_user: str | None, action: Callable[[Session], str]) -> None:
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        message = action(session)
    console.print(message)


# --- services and integrations -----------------------------------------------------------------------------------


@service_app.command("list")
@reports_errors
def service_list(
    include_archived: Annotated[bool, typer.Option("--archived", help="Show archived services too")] = False,
    as_json: AsJson = False,
) -> None:
    """List services."""
    with database() as db, db.reader() as session:
        rows: list[dict[str, Any]] = [
            {"id": s.id, "name": s.name, "archived_at": s.archived_at}
            for s in services.list_services(session, include_archived=include_archived)
        ]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        archived = f"  (archived {format_time(r['archived_at'])} UTC)" if r["archived_at"] else ""
        console.print(f"{r['id']}  {text(r['name'])}{archived}")


@service_app.command("edit")
@reports_errors
def service_edit(
    ref: Ref,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    description: Annotated[str | None, typer.Option(help="New description")] = None,
    urgency: Annotated[str | None, typer.Option(help="high, low or severity_based")] = None,
    as_user: AsUser = None,
) -> None:
    """Change a service's name, description or urgency (the rest: `tocsin apply` or the API)."""

    def act(session: Session) -> str:
        service = services.get_service(session, ref)
        services.update_service(session, service, name=name, description=description, urgency=urgency)
        return f"updated service {text(service.name)}"

    _run(as_user, act)


@service_app.command("archive")
@reports_errors
def service_archive(ref: Ref, as_user: AsUser = None) -> None:
    """Archive a service: its integrations stop taking events, its incidents stay (refused while any is open)."""

    def act(session: Session) -> str:
        service = admin.archive_service(session, services.get_service(session, ref), now=now())
        return f"archived service {text(service.name)}"

    _run(as_user, act)


@service_app.command("unarchive")
@reports_errors
def service_unarchive(ref: Ref, as_user: AsUser = None) -> None:
    """Bring an archived service back."""
    _run(
        as_user,
        lambda s: f"restored service {text(admin.unarchive_service(s, services.get_service(s, ref), now=now()).name)}",
    )


@service_app.command("delete")
@reports_errors
def service_delete(ref: Ref, as_user: AsUser = None) -> None:
    """Delete a service that has no incident and no alert (otherwise archive it)."""

    def act(session: Session) -> str:
        service = services.get_service(session, ref)
        services.delete_service(session, service)
        return f"deleted service {text(service.name)}"

    _run(as_user, act)


def _integration_action(verb: str, fn: Callable[[Session, Any], object]) -> Callable[[int, str | None], None]:
    def command(integration_id: int, as_user: str | None) -> None:
        def act(session: Session) -> str:
            integration = services.get_integration(session, integration_id)
            fn(session, integration)
            return f"{verb} integration {integration.id} ({text(integration.name)})"

        _run(as_user, act)

    return command


@integration_app.command("edit")
@reports_errors
def integration_edit(
    integration_id: int,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    key: Annotated[str | None, typer.Option(help="New routing key; the old one stops working at once")] = None,
    as_user: AsUser = None,
) -> None:
    """Rename an integration or replace its key."""
    _integration_action("updated", lambda s, i: services.update_integration(s, i, name=name, key=key))(
        integration_id, as_user
    )


@integration_app.command("archive")
@reports_errors
def integration_archive(integration_id: int, as_user: AsUser = None) -> None:
    """Archive an integration: its key answers as unknown from now on."""
    _integration_action("archived", lambda s, i: services.archive_integration(s, i, now=now()))(integration_id, as_user)


@integration_app.command("unarchive")
@reports_errors
def integration_unarchive(integration_id: int, as_user: AsUser = None) -> None:
    """Bring an archived integration back."""
    _integration_action("restored", services.unarchive_integration)(integration_id, as_user)


@integration_app.command("delete")
@reports_errors
def integration_delete(integration_id: int, as_user: AsUser = None) -> None:
    """Delete an integration that brought in no alert (otherwise archive it)."""
    _integration_action("deleted", services.delete_integration)(integration_id, as_user)


# --- schedules and policies --------------------------------------------------------------------------------------


@schedule_app.command("edit")
@reports_errors
def schedule_edit(
    ref: Ref,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    description: Annotated[str | None, typer.Option(help="New description")] = None,
    timezone: Annotated[str | None, typer.Option(help="New IANA time zone")] = None,
    as_user: AsUser = None,
) -> None:
    """Change a schedule's name, description or time zone (layers: `tocsin apply` or the API)."""

    def act(session: Session) -> str:
        schedule = schedules.update_schedule(
            session, oncall.get_schedule(session, ref), name=name, description=description, timezone=timezone
        )
        return f"updated schedule {text(schedule.name)}"

    _run(as_user, act)


@schedule_app.command("archive")
@reports_errors
def schedule_archive(ref: Ref, as_user: AsUser = None) -> None:
    """Archive a schedule: nobody is on call in it any more."""
    _run(
        as_user,
        lambda s: (
            f"archived schedule {text(schedules.archive_schedule(s, oncall.get_schedule(s, ref), now=now()).name)}"
        ),
    )


@schedule_app.command("unarchive")
@reports_errors
def schedule_unarchive(ref: Ref, as_user: AsUser = None) -> None:
    """Bring an archived schedule back."""
    _run(
        as_user,
        lambda s: f"restored schedule {text(schedules.unarchive_schedule(s, oncall.get_schedule(s, ref)).name)}",
    )


@schedule_app.command("delete")
@reports_errors
def schedule_delete(ref: Ref, as_user: AsUser = None) -> None:
    """Delete a schedule no escalation policy names (otherwise archive it)."""

    def act(session: Session) -> str:
        schedule = oncall.get_schedule(session, ref)
        admin.delete_schedule(session, schedule)
        return f"deleted schedule {text(schedule.name)}"

    _run(as_user, act)


@policy_app.command("archive")
@reports_errors
def policy_archive(ref: Ref, as_user: AsUser = None) -> None:
    """Archive an escalation policy no live service uses."""
    _run(
        as_user,
        lambda s: f"archived policy {text(admin.archive_policy(s, escalation.get_policy(s, ref), now=now()).name)}",
    )


@policy_app.command("unarchive")
@reports_errors
def policy_unarchive(ref: Ref, as_user: AsUser = None) -> None:
    """Bring an archived escalation policy back."""
    _run(as_user, lambda s: f"restored policy {text(admin.unarchive_policy(s, escalation.get_policy(s, ref)).name)}")


@policy_app.command("delete")
@reports_errors
def policy_delete(ref: Ref, as_user: AsUser = None) -> None:
    """Delete an escalation policy no service uses (otherwise archive it)."""

    def act(session: Session) -> str:
        policy = escalation.get_policy(session, ref)
        admin.delete_policy(session, policy)
        return f"deleted policy {text(policy.name)}"

    _run(as_user, act)


# --- users -------------------------------------------------------------------------------------------------------


@user_app.command("edit")
@reports_errors
def user_edit(
    email: Annotated[str, typer.Argument(help="The user's email or id")],
    name: Annotated[str | None, typer.Option(help="New display name")] = None,
    role: Annotated[str | None, typer.Option(help="New role: admin, responder or observer")] = None,
    timezone: Annotated[str | None, typer.Option(help="New IANA time zone")] = None,
    as_user: AsUser = None,
) -> None:
    """Change a user's name, role or time zone (the last active admin keeps the admin role)."""

    def act(session: Session) -> str:
        user = users.update_user(session, users.get_user(session, email), name=name, role=role, timezone=timezone)
        return f"updated {text(user.email)}: {text(user.name)}, {user.role}, {user.timezone}"

    _run(as_user, act)


def _impact_lines(impact: admin.DeactivationImpact) -> list[str]:
    lines = []
    for s in impact.schedules:
        gaps = ", ".join(f"{format_time(a)} → {format_time(b)}" for a, b in s.gaps) or "none"
        lines.append(f"schedule {text(s.name)}: gaps in the next 14 days (UTC): {gaps}")
    for p in impact.policies:
        empty = f"; steps {', '.join(map(str, p.empty_steps))} would page nobody" if p.empty_steps else ""
        lines.append(f"policy {text(p.name)}: named in steps {', '.join(map(str, p.steps))}{empty}")
    return lines or ["no schedule or policy names them"]


@user_app.command("deactivate")
@reports_errors
def user_deactivate(
    email: Annotated[str, typer.Argument(help="The user's email or id")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what it would leave uncovered")] = False,
    as_user: AsUser = None,
) -> None:
    """Deactivate a user: no sign-in, tokens and sessions refused at once, never paged. Shows the gaps it opens."""
    with database() as db, db.unit_of_work() as session:
        admin_user(session, as_user)
        user = users.get_user(session, email)
        impact = admin.deactivate_user(session, user, now=now(), dry_run=dry_run)
    for line in _impact_lines(impact):
        console.print(line)
    console.print(f"{'would deactivate' if dry_run else 'deactivated'} {text(impact.email)}")


@user_app.command("reactivate")
@reports_errors
def user_reactivate(
    email: Annotated[str, typer.Argument(help="The user's email or id")], as_user: AsUser = None
) -> None:
    """Let a deactivated user sign in and be paged again."""
    _run(as_user, lambda s: f"reactivated {text(users.reactivate_user(s, users.get_user(s, email)).email)}")


@user_app.command("delete")
@reports_errors
def user_delete(email: Annotated[str, typer.Argument(help="The user's email or id")], as_user: AsUser = None) -> None:
    """Delete a user nothing names (otherwise deactivate them)."""

    def act(session: Session) -> str:
        user = users.get_user(session, email)
        admin.delete_user(session, user, now=now())
        return f"deleted {text(user.email)}"

    _run(as_user, act)
