"""Escalation policies: view a policy's steps, and edit steps, targets, delays and repeats (admins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from tocsin.core.errors import InvalidInput, NotFound, TocsinError
from tocsin.escalation import service as escalation
from tocsin.oncall import service as oncall
from tocsin.oncall.durations import format_duration, parse_duration
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.web.auth import PageError, PostedForm, WebUser, checked_form, require_user, runtime_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
SPARE_STEPS = 1


def _require_admin(request: Request) -> WebUser:
    who = require_user(request)
    if not who.is_admin:
        raise PageError(403, "Only admins can change escalation policies.")
    return who


@router.get("/escalation-policies", response_class=HTMLResponse)
def policy_list(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        rows = [(p, escalation.steps_of(session, p)) for p in escalation.list_policies(session)]
    return render("web/policies.html", who=who, section="policies", rows=rows)


@router.get("/escalation-policies/{policy_id}", response_class=HTMLResponse)
def policy_page(policy_id: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            policy = escalation.get_policy(session, policy_id)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Escalation policy {policy_id}")
        steps = escalation.steps_of(session, policy)
        choices = {
            "user": {u.id: u.name for u in users.list_users(session) if u.deactivated_at is None},
            "schedule": {s.id: s.name for s in oncall.list_schedules(session)},
            "team": {t.id: t.name for t in teams.list_teams(session)},
        }
    view = [
        {
            "delay": format_duration(timedelta(seconds=s.delay_seconds)),
            "targets": [(t["kind"], int(t["ref"])) for t in s.targets],
        }
        for s in steps
    ]
    return render(
        "web/policy.html",
        who=who,
        section="policies",
        policy=policy,
        steps=view,
        editable=view + [{"delay": "5m", "targets": []}] * SPARE_STEPS,
        choices=choices,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
    )


def _steps_from(form: FormData) -> list[tuple[list[dict[str, Any]], int]]:
    """Steps in form order; a step with no target is left out (that is how a step is removed)."""
    steps = []
    index = 0
    while f"step-{index}-delay" in form:
        targets = []
        for raw in form.getlist(f"step-{index}-targets"):
            kind, _, ref = str(raw).partition(":")
            targets.append({"kind": kind, "ref": ref})
        if targets:
            try:
                delay = int(parse_duration(str(form.get(f"step-{index}-delay") or "0")).total_seconds())
            except ValueError as exc:
                raise InvalidInput(f"step {index + 1}: {exc}") from None
            steps.append((targets, delay))
        index += 1
    return steps


@router.post("/escalation-policies/{policy_id}")
def update_policy(policy_id: int, request: Request, form: PostedForm) -> Response:
    who = _require_admin(request)
    checked_form(request, who, form)
    runtime = runtime_of(request)
    here = f"/escalation-policies/{policy_id}"
    try:
        repeat = int(str(form.get("repeat") or "0"))
    except ValueError:
        return RedirectResponse(f"{here}?{urlencode({'error': 'repeat must be a whole number'})}", status_code=303)
    try:
        with runtime.db.unit_of_work() as session:
            policy = escalation.get_policy(session, policy_id)
            escalation.set_steps(session, policy, steps=_steps_from(form), repeat=repeat)
    except TocsinError as exc:
        return RedirectResponse(f"{here}?{urlencode({'error': exc.detail})}", status_code=303)
    notice = "Saved. Incidents already open keep the steps they started with."
    return RedirectResponse(f"{here}?{urlencode({'notice': notice})}", status_code=303)
