"""Escalation policies: view a policy's steps; admins create policies and edit steps, targets, delays and repeats.
Forms are validated by the API's schema and applied by the same service functions the API calls."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter
from starlette.datastructures import FormData

from tocsin.api.oncall import PolicyIn, StepIn, seconds
from tocsin.core.errors import InvalidInput, NotFound, TocsinError
from tocsin.escalation import service as escalation
from tocsin.escalation.models import EscalationPolicy
from tocsin.oncall import service as oncall
from tocsin.oncall.durations import format_duration
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_admin, require_user, runtime_of, shown_as_page
from tocsin.web.forms import FormInvalid, invalid, text, validate, values_of
from tocsin.web.scope import sees
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)
WHAT = "escalation policies"
SPARE_STEPS = 1
NEW_STEPS = 3
_POLICY_IN = TypeAdapter(PolicyIn)
_STEP_PATH = re.compile(r"^steps\.(\d+)\.(\w+)")


def _choices(session: Any) -> dict[str, dict[int, str]]:
    return {
        "user": {u.id: u.name for u in users.list_users(session) if u.deactivated_at is None},
        "schedule": {s.id: s.name for s in oncall.list_schedules(session)},
        "team": {t.id: t.name for t in teams.list_teams(session)},
    }


@router.get("/escalation-policies", response_class=HTMLResponse)
def policy_list(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    see_all = runtime.settings.teams_see_all
    with runtime.db.reader() as session:
        seen = [p for p in escalation.list_policies(session) if sees(session, who, p.team_id, see_all=see_all)]
        rows = [(p, escalation.steps_of(session, p)) for p in seen]
    return render("web/policies.html", who=who, section="policies", rows=rows)


def _form_page(
    request: Request,
    who: WebUser,
    policy: EscalationPolicy | None,
    values: dict[str, Any],
    failed: FormInvalid | None = None,
) -> Response:
    """The policy's page with its edit form, or the new-policy form; ``values`` as the form names them."""
    with shown_as_page(), runtime_of(request).db.reader() as session:
        choices = _choices(session)
        steps = escalation.steps_of(session, policy) if policy else []
    view = [
        {
            "delay": format_duration(timedelta(seconds=s.delay_seconds)),
            "targets": [(t["kind"], int(t["ref"])) for t in s.targets],
        }
        for s in steps
    ]
    count = max([int(k.split("-")[1]) for k in values if re.fullmatch(r"step-\d+-delay", k)], default=-1) + 1
    slots = max(count, (len(view) + SPARE_STEPS) if policy else NEW_STEPS)
    return render(
        "web/policy.html" if policy else "web/policy_new.html",
        failed.status if failed else 200,
        who=who,
        section="policies",
        policy=policy,
        steps=view,
        slots=slots,
        choices=choices,
        values=values,
        errors=failed.errors if failed else {},
        error=failed.message if failed else "",
        notice=request.query_params.get("notice", "")[:200],
    )


def _stored_values(policy: EscalationPolicy, steps: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"name": policy.name, "description": policy.description, "repeat": str(policy.repeat)}
    for i, step in enumerate(steps):
        values[f"step-{i}-delay"] = format_duration(timedelta(seconds=step.delay_seconds))
        values[f"step-{i}-targets"] = [f"{t['kind']}:{t['ref']}" for t in step.targets]
    for i in range(len(steps), len(steps) + SPARE_STEPS):
        values[f"step-{i}-delay"] = "5m"
    return values


@router.get("/escalation-policies/new", response_class=HTMLResponse)
def new_policy(request: Request) -> Response:
    who = require_admin(request, WHAT)
    values: dict[str, Any] = {"repeat": "0", **{f"step-{i}-delay": "5m" for i in range(NEW_STEPS)}}
    return _form_page(request, who, None, values)


@router.get("/escalation-policies/{policy_id}", response_class=HTMLResponse)
def policy_page(policy_id: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            policy = escalation.get_policy(session, policy_id)
            if not sees(session, who, policy.team_id, see_all=runtime.settings.teams_see_all):
                raise NotFound(f"escalation policy {policy_id} not found")
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Escalation policy {policy_id}")
        values = _stored_values(policy, escalation.steps_of(session, policy))
    return _form_page(request, who, policy, values)


def _policy_data(form: FormData, name: str) -> tuple[dict[str, Any], list[int]]:
    """The form as the API's JSON body, and the form's step number for each step kept. A step with no target is
    left out: that is how a step is removed."""
    steps, where = [], []
    index = 0
    while f"step-{index}-delay" in form:
        targets = []
        for raw in form.getlist(f"step-{index}-targets"):
            kind, _, ref = str(raw).partition(":")
            targets.append({"kind": kind, "ref": ref})
        if targets:
            steps.append({"targets": targets, "delay": text(form, f"step-{index}-delay") or "0"})
            where.append(index)
        index += 1
    data = {"name": name, "description": text(form, "description"), "repeat": text(form, "repeat") or "0"}
    return {**data, "steps": steps}, where


def _on_the_form(bad: FormInvalid, where: list[int]) -> FormInvalid:
    """Schema paths (steps.0.delay) as the form's fields (step-2-delay) and its step numbers."""

    def field(path: str) -> str:
        found = _STEP_PATH.match(path)
        if found is None or int(found.group(1)) >= len(where):
            return path
        return f"step-{where[int(found.group(1))]}-{found.group(2)}"

    return FormInvalid(bad.status, bad.message, {field(path): message for path, message in bad.errors.items()})


def _steps(session: Any, steps: list[StepIn], where: list[int]) -> list[tuple[list[dict[str, Any]], int]]:
    out = []
    for step, index in zip(steps, where, strict=True):
        try:
            delay = seconds(step.delay)
        except InvalidInput as exc:
            message = f"step {index + 1}: {exc.detail}"
            raise FormInvalid(422, message, {f"step-{index}-delay": exc.detail}) from None
        out.append((escalation.resolve_targets(session, [(t.kind, t.ref) for t in step.targets]), delay))
    return out


@router.post("/escalation-policies/new")
def create_policy(request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    data, where = _policy_data(form, text(form, "name"))
    try:
        body = validate(_POLICY_IN, data)
        with runtime.db.unit_of_work() as session:
            policy = escalation.create_policy(
                session,
                name=body.name,
                description=body.description,
                repeat=body.repeat,
                now=runtime.clock.now(),
                steps=_steps(session, body.steps, where),
            )
            policy_id = policy.id
    except FormInvalid as bad:
        failed = _on_the_form(bad, where)
    except TocsinError as exc:
        failed = invalid(exc, ("name", "description", "repeat"))
    else:
        return RedirectResponse(
            f"/escalation-policies/{policy_id}?{urlencode({'notice': 'Policy created'})}", status_code=303
        )
    return _form_page(request, who, None, values_of(form), failed)


@router.post("/escalation-policies/{policy_id}")
def update_policy(policy_id: int, request: Request, form: PostedForm) -> Response:
    who = require_admin(request, WHAT)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with shown_as_page(), runtime.db.reader() as session:
        policy = escalation.get_policy(session, policy_id)
    data, where = _policy_data(form, policy.name)
    try:
        # As PUT /api/v1/escalation-policies/{ref}: the description, steps and repeats change, the name stays.
        body = validate(_POLICY_IN, data)
        with runtime.db.unit_of_work() as session:
            stored = escalation.get_policy(session, policy_id)
            stored.description = body.description
            escalation.set_steps(session, stored, repeat=body.repeat, steps=_steps(session, body.steps, where))
    except FormInvalid as bad:
        failed = _on_the_form(bad, where)
    except TocsinError as exc:
        failed = invalid(exc, ("description", "repeat"))
    else:
        notice = "Saved. Incidents already open keep the steps they started with."
        return RedirectResponse(f"/escalation-policies/{policy_id}?{urlencode({'notice': notice})}", status_code=303)
    return _form_page(request, who, policy, values_of(form), failed)
