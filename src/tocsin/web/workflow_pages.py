"""Playbooks, workflows and remediation actions in the console: the incident page's card (its context and its form
actions at /incidents/{number}/playbook), the run log (/workflows/runs/{id}), and the editor and simulator
(/workflows)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents.models import Incident
from tocsin.web.auth import (
    PageError,
    PostedForm,
    WebUser,
    check_csrf,
    require_admin,
    require_responder,
    require_user,
    runtime_of,
)
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render
from tocsin.workflows import actions, runner
from tocsin.workflows import service as workflows

router = APIRouter(include_in_schema=False)
KINDS = ("workflow", "playbook", "action")


def incident_context(session: Session, incident: Incident, who: WebUser) -> dict[str, Any]:
    """What the incident page's playbook card shows (``web/_incident_playbook.html``)."""
    return {
        "wf_playbooks": workflows.playbooks_of(session, incident.id),
        "wf_runs": runner.runs_of(session, incident.id),
        "wf_action_runs": list(actions.runs_of(session, incident.id)),
        "wf_workflows": [w.name for w in workflows.list_workflows(session) if w.enabled],
        "wf_actions": [a.name for a in actions.list_actions(session)],
    }


def _int(text: Any) -> int:
    value = str(text or "")
    if not is_ascii_digits(value):
        raise InvalidInput(f"not a number: {value!r}")
    return int(value)


@router.post("/incidents/{number}/playbook")
def playbook_action(number: int, request: Request, form: PostedForm) -> Response:
    """Tick a manual step, run a workflow now, run (or approve) a remediation action."""
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    action = str(form.get("action") or "")
    here = f"/incidents/{number}"
    now = runtime.clock.now()
    perform: int | None = None
    try:
        with runtime.db.unit_of_work() as session:
            incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            require_act_on_incident(session, who, incident)
            if action == "tick":
                done = str(form.get("done") or "") == "1"
                workflows.tick(
                    session,
                    incident.id,
                    str(form.get("playbook") or ""),
                    _int(form.get("step")),
                    done,
                    actor=who.actor(),
                    now=now,
                )
                notice = "Step done" if done else "Step open again"
            elif action == "run_workflow":
                run = workflows.run_now(
                    session, incident.id, str(form.get("workflow") or ""), actor=who.actor(), now=now
                )
                notice = f"Workflow {run.name} started"
            elif action == "run_action":
                started = actions.request_run(
                    session,
                    incident.id,
                    str(form.get("remediation") or ""),
                    actor=who.actor(),
                    role=who.user.role,
                    now=now,
                )
                if started.status == "awaiting_approval":
                    notice = f"Action {started.action_name} waits for a second person's approval"
                else:
                    perform, notice = started.id, f"Action {started.action_name} run"
            elif action == "approve":
                approved = actions.approve(session, _int(form.get("run")), actor=who.actor(), now=now)
                if approved.incident_id != incident.id:
                    raise NotFound("no such action run on this incident")
                perform, notice = approved.id, f"Action {approved.action_name} approved and run"
            else:
                raise InvalidInput(f"unknown action {action!r}")
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return RedirectResponse(f"{here}?{urlencode({'error': exc.detail})}", status_code=303)
    if perform is not None:
        done_run = actions.perform(runtime.db, perform, workflows.subject_of_id, runtime.workflow_env(), runtime.clock)
        if done_run is not None:
            notice = f"Action {done_run.action_name}: {done_run.status}"
    runtime.wakeup.notify()
    return RedirectResponse(f"{here}?{urlencode({'notice': notice})}", status_code=303)


@router.get("/workflows/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            run, steps = runner.run_view(session, run_id)
            incident = visible_incident(session, who, run.incident_id, see_all=runtime.settings.teams_see_all)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Workflow run {run_id}")
        by_position = {s.position: s for s in steps}
        rows = [(i, spec, by_position.get(i)) for i, spec in enumerate(run.steps)]
        return render("web/workflow_run.html", who=who, run=run, incident=incident, rows=rows)


def _definition(session: Session, kind: str, name: str) -> dict[str, Any]:
    if kind == "workflow":
        w = workflows.get_workflow(session, name)
        return {
            "description": w.description,
            "enabled": w.enabled,
            "trigger": w.trigger,
            "conditions": w.conditions,
            "steps": w.steps,
        }
    if kind == "playbook":
        p = workflows.get_playbook(session, name)
        return {"guidance": p.guidance, "match": p.match, "steps": workflows.masked(p.steps)}
    a = actions.get_action(session, name)
    out: dict[str, Any] = {
        "description": a.description,
        "kind": a.kind,
        "timeout_seconds": a.timeout_seconds,
        "callback_minutes": a.callback_minutes,
        "allowed_roles": a.allowed_roles,
        "approval": a.approval,
    }
    if a.kind == "script":
        out["command"] = a.command
    else:
        out.update(method=a.method, url=a.url, headers=a.headers, body=a.body_template)
    return out


@router.get("/workflows", response_class=HTMLResponse)
def workflows_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    q = request.query_params
    kind, name = q.get("kind", ""), q.get("name", "")
    with runtime.db.reader() as session:
        text = ""
        if kind in KINDS and name:
            try:
                text = json.dumps(_definition(session, kind, name), indent=2, ensure_ascii=False)
            except NotFound:
                text = ""
        simulated = None
        sim_ref = q.get("simulate", "")
        if sim_ref:
            try:
                ref = sim_ref if sim_ref.startswith("#") else f"#{sim_ref}"
                incident = visible_incident(session, who, ref, see_all=runtime.settings.teams_see_all)
                simulated = workflows.simulate(
                    session, workflows.subject_of(session, incident), incident_id=incident.id
                )
            except (NotFound, InvalidInput):
                simulated = []
        return render(
            "web/workflows.html",
            who=who,
            workflows=workflows.list_workflows(session),
            playbooks=workflows.list_playbooks(session),
            actions=actions.list_actions(session),
            kind=kind if kind in KINDS else "workflow",
            name=name,
            text=text or q.get("text", ""),
            error=q.get("error", "")[:500],
            notice=q.get("notice", "")[:200],
            simulated=simulated,
            simulate=sim_ref[:20],
        )


@router.post("/workflows")
def save_definition(request: Request, form: PostedForm) -> Response:
    """Save a workflow, playbook or action from its JSON definition (the API's body), or delete it."""
    who = require_admin(request, "workflows, playbooks and actions")
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    kind, name = str(form.get("kind") or ""), str(form.get("name") or "").strip()
    text = str(form.get("definition") or "")
    back = {"kind": kind, "name": name}
    try:
        if kind not in KINDS:
            raise InvalidInput("choose workflow, playbook or action")
        with runtime.db.unit_of_work() as session:
            if form.get("delete"):
                {
                    "workflow": workflows.delete_workflow,
                    "playbook": workflows.delete_playbook,
                    "action": actions.delete_action,
                }[kind](session, name)
                notice = f"Deleted {kind} {name}"
            else:
                try:
                    spec = json.loads(text or "{}")
                except ValueError as exc:
                    raise InvalidInput(f"definition: not JSON ({exc})") from None
                if not isinstance(spec, dict):
                    raise InvalidInput("definition: a JSON object")
                if kind == "workflow":
                    workflows.save_workflow(session, name, spec, now=runtime.clock.now())
                elif kind == "playbook":
                    workflows.save_playbook(session, name, spec, now=runtime.clock.now())
                else:
                    actions.save_action(session, name, spec, now=runtime.clock.now())
                notice = f"Saved {kind} {name}"
    except TocsinError as exc:
        return RedirectResponse(f"/workflows?{urlencode({**back, 'error': exc.detail, 'text': text[:4000]})}", 303)
    return RedirectResponse(f"/workflows?{urlencode({**back, 'notice': notice})}", status_code=303)
