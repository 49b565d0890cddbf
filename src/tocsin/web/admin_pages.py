"""Archive, restore and delete buttons of the console (services, schedules, policies) and deactivating people.

Every button is a POST form with the CSRF token and a confirmation box the server checks, so a stray click or a
form without the box changes nothing. Refusals (open incidents, a policy in use, the last admin) come back on the
page they were asked from, in the words of the service layer (ADR 0012).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tocsin.admin import service as admin
from tocsin.core.errors import NotFound, TocsinError
from tocsin.escalation import service as escalation
from tocsin.oncall import schedules
from tocsin.oncall import service as oncall
from tocsin.services import service as services
from tocsin.users import service as users
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_user, runtime_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

CONFIRM_FIELD = "confirm"


def _require_admin(request: Request) -> WebUser:
    who = require_user(request)
    if not who.is_admin:
        raise PageError(403, "Only admins can archive, deactivate or delete.")
    return who


def _back(path: str, **query: str) -> Response:
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


def _act(
    request: Request,
    form: FormData,
    page: str,
    done: str,
    action: Callable[[Session], str],
    *,
    after: str | None = None,
) -> Response:
    """Check the form, run ``action`` in one transaction; back to ``page`` with its notice or the refusal."""
    who = _require_admin(request)
    check_csrf(request, who, form)
    if form.get(CONFIRM_FIELD) != "yes":
        return _back(page, error=f"Tick the box to confirm: {done}.")
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            notice = action(session)
    except NotFound as exc:
        raise PageError(404, exc.detail) from None
    except TocsinError as exc:
        return _back(page, error=exc.detail[:300])
    return _back(after or page, notice=notice)


@router.get("/archive", response_class=HTMLResponse)
def archive_page(request: Request) -> Response:
    """What was archived or deactivated, each linking to its page and its Restore button."""
    who = _require_admin(request)
    with runtime_of(request).db.reader() as session:
        retired = {
            "Services": [
                (f"/services/{s.id}", s.name, s.archived_at)
                for s in services.list_services(session, include_archived=True)
                if s.archived_at is not None
            ],
            "Schedules": [
                (f"/schedules/{s.id}", s.name, s.archived_at)
                for s in oncall.list_schedules(session, include_archived=True)
                if s.archived_at is not None
            ],
            "Escalation policies": [
                (f"/escalation-policies/{p.id}", p.name, p.archived_at)
                for p in escalation.list_policies(session, include_archived=True)
                if p.archived_at is not None
            ],
            "People": [
                (f"/people/{u.id}", u.email, u.deactivated_at)
                for u in users.list_users(session)
                if u.deactivated_at is not None
            ],
        }
    return render("web/archive.html", who=who, section="services", retired=retired)


# --- services ----------------------------------------------------------------------------------------------------


@router.post("/services/{service_id}/archive")
def archive_service(service_id: int, request: Request, form: PostedForm) -> Response:
    now = runtime_of(request).clock.now()

    def act(session: Session) -> str:
        service = admin.archive_service(session, services.get_service(session, service_id), now=now)
        return f"Archived {service.name}: its integrations no longer take events; its incidents stay."

    return _act(request, form, f"/services/{service_id}", "archive the service", act)


@router.post("/services/{service_id}/unarchive")
def unarchive_service(service_id: int, request: Request, form: PostedForm) -> Response:
    now = runtime_of(request).clock.now()

    def act(session: Session) -> str:
        service = admin.unarchive_service(session, services.get_service(session, service_id), now=now)
        return f"Restored {service.name}."

    return _act(request, form, f"/services/{service_id}", "restore the service", act)


@router.post("/services/{service_id}/delete")
def delete_service(service_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Session) -> str:
        service = services.get_service(session, service_id)
        services.delete_service(session, service)
        return f"Deleted {service.name}."

    return _act(request, form, f"/services/{service_id}", "delete the service", act, after="/services")


# --- schedules ---------------------------------------------------------------------------------------------------


@router.post("/schedules/{schedule_id}/archive")
def archive_schedule(schedule_id: int, request: Request, form: PostedForm) -> Response:
    now = runtime_of(request).clock.now()

    def act(session: Session) -> str:
        schedule = schedules.archive_schedule(session, oncall.get_schedule(session, schedule_id), now=now)
        return f"Archived {schedule.name}: nobody is on call in it any more."

    return _act(request, form, f"/schedules/{schedule_id}", "archive the schedule", act)


@router.post("/schedules/{schedule_id}/unarchive")
def unarchive_schedule(schedule_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Session) -> str:
        return f"Restored {schedules.unarchive_schedule(session, oncall.get_schedule(session, schedule_id)).name}."

    return _act(request, form, f"/schedules/{schedule_id}", "restore the schedule", act)


@router.post("/schedules/{schedule_id}/delete")
def delete_schedule(schedule_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Session) -> str:
        schedule = oncall.get_schedule(session, schedule_id)
        admin.delete_schedule(session, schedule)
        return f"Deleted {schedule.name}."

    return _act(request, form, f"/schedules/{schedule_id}", "delete the schedule", act, after="/oncall")


# --- escalation policies -----------------------------------------------------------------------------------------


@router.post("/escalation-policies/{policy_id}/archive")
def archive_policy(policy_id: int, request: Request, form: PostedForm) -> Response:
    now = runtime_of(request).clock.now()

    def act(session: Session) -> str:
        return f"Archived {admin.archive_policy(session, escalation.get_policy(session, policy_id), now=now).name}."

    return _act(request, form, f"/escalation-policies/{policy_id}", "archive the policy", act)


@router.post("/escalation-policies/{policy_id}/unarchive")
def unarchive_policy(policy_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Session) -> str:
        return f"Restored {admin.unarchive_policy(session, escalation.get_policy(session, policy_id)).name}."

    return _act(request, form, f"/escalation-policies/{policy_id}", "restore the policy", act)


@router.post("/escalation-policies/{policy_id}/delete")
def delete_policy(policy_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Session) -> str:
        policy = escalation.get_policy(session, policy_id)
        admin.delete_policy(session, policy)
        return f"Deleted {policy.name}."

    return _act(
        request, form, f"/escalation-policies/{policy_id}", "delete the policy", act, after="/escalation-policies"
    )


# --- people ------------------------------------------------------------------------------------------------------


@router.get("/people/{user_id}/deactivate", response_class=HTMLResponse)
def deactivation_page(user_id: int, request: Request) -> Response:
    """What deactivating would leave uncovered, before the button that does it."""
    who = _require_admin(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            user = users.get_user(session, user_id)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"User {user_id}")
        impact = admin.deactivation_impact(session, user, now=runtime.clock.now())
        try:
            users.ensure_admin_remains(session, user, "deactivate")
            refusal = ""
        except TocsinError as exc:
            refusal = exc.detail
    return render(
        "web/deactivate.html", who=who, section="people", user=user, impact=impact, error=refusal, blocked=bool(refusal)
    )


def _person_page(who: WebUser, user_id: int) -> str:
    return "/me" if user_id == who.user.id else f"/people/{user_id}"


@router.post("/people/{user_id}/deactivate")
def deactivate(user_id: int, request: Request, form: PostedForm) -> Response:
    now = runtime_of(request).clock.now()

    def act(session: Session) -> str:
        impact = admin.deactivate_user(session, users.get_user(session, user_id), now=now)
        gaps = sum(1 for s in impact.schedules if s.gaps)
        return f"Deactivated {impact.email}." + (f" {gaps} schedule(s) now have gaps." if gaps else "")

    return _act(request, form, f"/people/{user_id}/deactivate", "deactivate", act, after=f"/people/{user_id}")


@router.post("/people/{user_id}/reactivate")
def reactivate(user_id: int, request: Request, form: PostedForm) -> Response:
    def act(session: Session) -> str:
        return f"Reactivated {users.reactivate_user(session, users.get_user(session, user_id)).email}."

    return _act(request, form, f"/people/{user_id}", "reactivate", act)


@router.post("/people/{user_id}/delete")
def delete_person(user_id: int, request: Request, form: PostedForm) -> Response:
    now = runtime_of(request).clock.now()

    def act(session: Session) -> str:
        user = users.get_user(session, user_id)
        admin.delete_user(session, user, now=now)
        return f"Deleted {user.email}."

    return _act(request, form, f"/people/{user_id}", "delete", act, after="/people")
