"""``tocsin incident role`` (list, assign, release), ``tocsin incident responder`` (list, add, accept, decline)
and ``tocsin user skills``, ``tocsin user experts``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tocsin.api.responders import ResponderIn
from tocsin.cli._app import (
    acting_user,
    console,
    database,
    format_time,
    now,
    print_json,
    reports_errors,
    responder_actor,
    table,
    text,
    validated,
)
from tocsin.cli.incidents import AsJson, AsUser, Ref, incident_app
from tocsin.cli.people import user_app
from tocsin.core.errors import Forbidden
from tocsin.incidents import service as incidents
from tocsin.response import responders, roles, skills
from tocsin.users import service as users

role_app = typer.Typer(help="Roles people hold on an incident", no_args_is_help=True)
incident_app.add_typer(role_app, name="role")
responder_app = typer.Typer(help="People paged into an incident, and their answers", no_args_is_help=True)
incident_app.add_typer(responder_app, name="responder")

RoleName = Annotated[str, typer.Argument(metavar="ROLE", help="Role name or id, e.g. 'Incident Commander'")]
RequestId = Annotated[int, typer.Argument(metavar="REQUEST", help="Request id (from `tocsin incident responder list`)")]


@role_app.command("list")
@reports_errors
def role_list(ref: Ref, as_json: AsJson = False) -> None:
    """Each role, who holds it now, and who held it when."""
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        history = roles.history(session, incident.id)
        names = {r.id: r.name for r in roles.list_roles(session)}
        people = users.names_of(session, [h.user_id for h in history])
        holders = roles.current_holders(history)
        current = {name: people.get(holders[rid], "") if rid in holders else "" for rid, name in names.items()}
        held: list[dict[str, Any]] = [
            {
                "role": names.get(h.role_id, "?"),
                "user": people.get(h.user_id, ""),
                "assigned_at": h.assigned_at,
                "ended_at": h.ended_at,
            }
            for h in history
        ]
    if as_json:
        print_json({"current": current, "history": held})
        return
    grid = table("role", "held by", title=f"Roles on #{incident.number}")
    for name, who in current.items():
        grid.add_row(text(name), text(who) or "-")
    console.print(grid)
    if held:
        past = table("role", "person", "from (UTC)", "until (UTC)", title="History")
        for h in held:
            past.add_row(text(h["role"]), text(h["user"]), format_time(h["assigned_at"]), format_time(h["ended_at"]))
        console.print(past)


@role_app.command("assign")
@reports_errors
def role_assign(
    ref: Ref,
    role: RoleName,
    user: Annotated[str, typer.Argument(help="Who gets it (email or id); hands it over from its holder")],
    as_user: AsUser = None,
) -> None:
    """Give a role to a person (handing it over from whoever holds it); they get its instructions."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        held = roles.assign(session, incident.id, role, user, actor=actor, now=now())
        name = users.get_user(session, held.user_id).name
    console.print(f"{role} on #{incident.number}: {name}")


@role_app.command("release")
@reports_errors
def role_release(ref: Ref, role: RoleName, as_user: AsUser = None) -> None:
    """Nobody holds the role on the incident any more."""
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        roles.release(session, incident.id, role, actor=actor, now=now())
    console.print(f"{role} on #{incident.number} released")


@responder_app.command("list")
@reports_errors
def responder_list(ref: Ref, as_json: AsJson = False) -> None:
    """Who was asked to join the incident, and their answers."""
    with database() as db, db.reader() as session:
        incident = incidents.get(session, ref)
        rows = responders.requests_on(session, incident.id)
        people = users.names_of(session, [r.user_id for r in rows])
        items: list[dict[str, Any]] = [
            {
                "id": r.id,
                "user": people.get(r.user_id, ""),
                "status": r.status.value,
                "via": r.via.value,
                "via_ref": r.via_ref,
                "message": r.message,
                "requested_at": r.requested_at,
                "answered_at": r.answered_at,
                "answered_via": r.answered_via,
            }
            for r in rows
        ]
    if as_json:
        print_json(items)
        return
    grid = table(
        "id", "person", "status", "via", "asked (UTC)", "answered via", title=f"Responders on #{incident.number}"
    )
    for i in items:
        via = f"{i['via']} {i['via_ref']}".strip()
        grid.add_row(
            str(i["id"]),
            text(i["user"]),
            i["status"],
            text(via),
            format_time(i["requested_at"]),
            i["answered_via"] or "",
        )
    console.print(grid)


@responder_app.command("add")
@reports_errors
def responder_add(
    ref: Ref,
    user: Annotated[str | None, typer.Option("--user", help="A person (email or id)")] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", help="Whoever is on call now in this schedule")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="The targets of this policy's first step")] = None,
    skill: Annotated[str | None, typer.Option("--skill", help="Someone with this skill")] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="What you ask them")] = "",
    on_call_first: Annotated[
        bool, typer.Option("--on-call-first/--least-loaded", help="With --skill: prefer whoever is on call now")
    ] = True,
    as_user: AsUser = None,
) -> None:
    """Page a person, a schedule's on-call, a policy's first step or someone with a skill into the incident."""
    body = validated(
        ResponderIn,
        {
            "user": user,
            "schedule": schedule,
            "policy": policy,
            "skill": skill,
            "message": message,
            "on_call_first": on_call_first,
        },
    )
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        made = responders.request(session, incident.id, body.target(), message=body.message, actor=actor, now=now())
        asked = users.names_of(session, [r.user_id for r in made])
        ids = [r.id for r in made]
    for request_id, user_id in zip(ids, asked, strict=False):
        console.print(f"request {request_id}: {asked[user_id]} asked to join #{incident.number}")


def _answer(ref: str, request_id: int, accept: bool, as_user: str | None) -> None:
    with database() as db, db.unit_of_work() as session:
        actor = responder_actor(session, as_user)
        incident = incidents.get(session, ref)
        row = responders.get_request(session, incident.id, request_id, for_update=True)
        responders.answer_request(session, row, accept, actor=actor, via="cli", now=now())
    console.print(f"request {request_id} {'accepted' if accept else 'declined'}")


@responder_app.command("accept")
@reports_errors
def responder_accept(ref: Ref, request_id: RequestId, as_user: AsUser = None) -> None:
    """Accept a request to join the incident (yours, or anyone's as an admin)."""
    _answer(ref, request_id, True, as_user)


@responder_app.command("decline")
@reports_errors
def responder_decline(ref: Ref, request_id: RequestId, as_user: AsUser = None) -> None:
    """Decline a request to join the incident (yours, or anyone's as an admin)."""
    _answer(ref, request_id, False, as_user)


@user_app.command("skills")
@reports_errors
def user_skills(
    user: Annotated[str, typer.Argument(help="Email or id")],
    set_to: Annotated[
        list[str] | None, typer.Option("--set", help="Replace the skills with these (repeat the option)")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every skill")] = False,
    as_user: AsUser = None,
    as_json: AsJson = False,
) -> None:
    """Show a person's skills, or set them (your own, or anyone's as an admin)."""
    changing = clear or bool(set_to)
    with database() as db, db.unit_of_work() if changing else db.reader() as session:
        person = users.get_user(session, user)
        if changing:
            me = acting_user(session, as_user)
            if me.id != person.id and me.role != "admin":
                raise Forbidden("you can only set your own skills")
            found = skills.set_skills(session, person, [] if clear else list(set_to or []))
        else:
            found = skills.skills_of(session, person.id)
        name = person.name
    if as_json:
        print_json({"user": name, "skills": found})
        return
    console.print(f"{name}: {', '.join(found) or 'no skills'}")


@user_app.command("experts")
@reports_errors
def user_experts(skill: Annotated[str, typer.Argument(help="A skill, e.g. postgres")], as_json: AsJson = False) -> None:
    """Who has a skill: on call now first, then the least loaded."""
    with database() as db, db.reader() as session:
        found = skills.experts(session, skill, now=now())
    if as_json:
        print_json([{"user_id": e.user_id, "name": e.name, "on_call": e.on_call, "load": e.load} for e in found])
        return
    grid = table("person", "on call now", "open incidents", title=f"People with {skill}")
    for e in found:
        grid.add_row(text(e.name), "yes" if e.on_call else "no", str(e.load))
    console.print(grid)
