"""Remediation actions: named calls to the automation a team already runs. Definitions (templates checked when
saved), runs by hand (roles allowed per action, optional second-person approval) or by a workflow step, each run
recorded (who, what, when, request and response excerpts, duration, outcome), and the one-shot signed result
callback.

A run is three steps, each in its own transaction but the call: ``begin`` (the row says ``running``, the callback
token is made), the call outside any transaction, ``finish`` (the outcome, on the timeline). ``perform`` strings
them together for the API and the engine.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.core.clock import Clock
from tocsin.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from tocsin.core.numbers import is_ascii_digits
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify.providers.base import ProviderRegistry
from tocsin.notify.providers.webhook import decode_secret, verify_standard_webhook
from tocsin.response import templates
from tocsin.response.fields import Subject, view
from tocsin.workflows import repository as repo
from tocsin.workflows.http import Answer, Caller, Request, excerpt
from tocsin.workflows.models import ActionRun, RemediationAction

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
KINDS = ("http", "script")
MANUAL_ROLES = ("responder", "admin")
CALLBACK_PATH = "/actions/callback/"


@dataclass(frozen=True, slots=True)
class Env:
    """What running an action or a step needs from the process: where the callback is, the HTTP caller, the
    script settings, the chat providers."""

    base_url: str
    caller: Caller
    scripts_enabled: bool = False
    script_allowlist: tuple[str, ...] = ()
    script_timeout: float = 30.0
    clock: Clock | None = field(default=None)
    # The chat providers a ``notify`` step posts to a channel through (Slack, Teams, Mattermost, Discord).
    providers: ProviderRegistry | None = field(default=None)
    # The chat platforms configured (the ``open_chat_room`` step asks for a room on one of them).
    chat_platforms: tuple[str, ...] = ()


# --- definitions ------------------------------------------------------------------------------------------------


def _where(exc: templates.TemplateError) -> InvalidInput:
    return InvalidInput(str(exc), errors=[str(exc)])


def check_action(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The cleaned definition, or InvalidInput naming the path of the fault."""
    allowed = {
        "description",
        "kind",
        "method",
        "url",
        "headers",
        "body",
        "secret",
        "timeout_seconds",
        "callback_minutes",
        "allowed_roles",
        "approval",
        "command",
    }
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise InvalidInput(f"action: unknown field(s) {', '.join(unknown)}")
    kind = spec.get("kind", "http")
    if kind not in KINDS:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}")
    out: dict[str, Any] = {
        "description": str(spec.get("description") or ""),
        "kind": kind,
        "approval": bool(spec.get("approval", False)),
    }
    timeout = spec.get("timeout_seconds", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        raise InvalidInput("timeout_seconds: more than 0, at most 300")
    out["timeout_seconds"] = float(timeout)
    minutes = spec.get("callback_minutes", 0)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 7 * 24 * 60:
        raise InvalidInput("callback_minutes: 0 (no callback) to 10080")
    out["callback_minutes"] = minutes
    roles = spec.get("allowed_roles") or []
    if not isinstance(roles, list) or any(r not in ("responder", "admin") for r in roles):
        raise InvalidInput("allowed_roles: a list of responder, admin")
    out["allowed_roles"] = list(roles)
    secret = spec.get("secret") or ""
    if secret:
        try:
            decode_secret(str(secret))
        except ValueError as exc:
            raise InvalidInput(f"secret: {exc}") from None
    elif minutes:
        raise InvalidInput("secret: a result callback needs a signing secret (whsec_…) to check it by")
    out["secret"] = str(secret)
    if kind == "script":
        command = spec.get("command")
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise InvalidInput("command: a list of arguments, the first the command's absolute path")
        if not command[0].startswith("/"):
            raise InvalidInput("command.0: the command's absolute path")
        for i, arg in enumerate(command):
            try:
                templates.check(arg, f"command.{i}", allow=("incident", "run"))
            except templates.TemplateError as exc:
                raise _where(exc) from None
        out.update(command=list(command), method="POST", url="", headers={}, body_template="")
        return out
    method = str(spec.get("method", "POST")).upper()
    if method not in METHODS:
        raise InvalidInput(f"method: one of {', '.join(METHODS)}")
    url = spec.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2000:
        raise InvalidInput("url: an http or https URL")
    headers = spec.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(isinstance(v, str) for v in headers.values()):
        raise InvalidInput("headers: an object of text values")
    try:
        templates.check(url, "url", allow=("incident", "run"))
        for name, value in headers.items():
            templates.check(value, f"headers.{name}")
        body = spec.get("body") or ""
        templates.check(body, "body")
    except templates.TemplateError as exc:
        raise _where(exc) from None
    out.update(method=method, url=url, headers=dict(headers), body_template=body, command=[])
    return out


def list_actions(session: Session) -> list[RemediationAction]:
    return repo.actions(session)


def get_action(session: Session, ref: int | str) -> RemediationAction:
    found = repo.action(session, int(ref) if isinstance(ref, str) and is_ascii_digits(ref) else ref)
    if found is None:
        raise NotFound(f"remediation action {ref} not found")
    return found


def save_action(session: Session, name: str, spec: Mapping[str, Any], *, now: datetime) -> RemediationAction:
    clean_name = name.strip()
    if not clean_name or len(clean_name) > 200:
        raise InvalidInput("name: 1 to 200 characters")
    clean = check_action(spec)
    found = repo.action(session, clean_name)
    if found is None:
        found = RemediationAction(name=clean_name, created_at=now)
        session.add(found)
    for key, value in clean.items():
        setattr(found, key, value)
    found.updated_at = now
    session.flush()
    return found


def delete_action(session: Session, ref: int | str) -> None:
    session.delete(get_action(session, ref))
    session.flush()


# --- runs -------------------------------------------------------------------------------------------------------


def request_run(
    session: Session,
    incident_id: int,
    action_ref: int | str,
    *,
    actor: Actor,
    role: str | None,
    now: datetime,
    step_run_id: int | None = None,
) -> ActionRun:
    """A run asked for by a person (``role`` their role: checked against the action's) or by a workflow step
    (``role`` None). A person's run of an action that needs approval waits for a second person."""
    action = get_action(session, action_ref)
    if role is not None:
        allowed = action.allowed_roles or list(MANUAL_ROLES)
        if role not in allowed:
            raise Forbidden(f"action {action.name!r} may be run by {', '.join(allowed)} only")
    waits = role is not None and action.approval
    run = repo.add(
        session,
        ActionRun(
            action_id=action.id,
            action_name=action.name,
            incident_id=incident_id,
            step_run_id=step_run_id,
            requested_by_user_id=actor.user_id,
            requested_by=actor.label,
            status="awaiting_approval" if waits else "running",
            message_id=f"act_{secrets.token_hex(12)}",
            created_at=now,
        ),
    )
    message = f"Action {action.name} " + ("awaits a second person's approval" if waits else "started")
    incidents.record(
        session, incident_id, TimelineKind.ACTION_RUN, message, actor=actor, now=now, action=action.name, run=run.id
    )
    return run  # type: ignore[no-any-return]


def approve(session: Session, run_id: int, *, actor: Actor, now: datetime) -> ActionRun:
    run = get_run(session, run_id, for_update=True)
    if run.status != "awaiting_approval":
        raise Conflict(f"the run is {run.status}, not awaiting approval")
    if actor.user_id is not None and actor.user_id == run.requested_by_user_id:
        raise Forbidden("a second person approves: not the one who asked")
    run.status = "running"
    run.approved_by_user_id = actor.user_id
    incidents.record(
        session,
        run.incident_id,
        TimelineKind.ACTION_RUN,
        f"Action {run.action_name} approved",
        actor=actor,
        now=now,
        action=run.action_name,
        run=run.id,
    )
    return run


def get_run(session: Session, run_id: int, *, for_update: bool = False) -> ActionRun:
    found = repo.action_run(session, run_id, for_update=for_update)
    if found is None:
        raise NotFound(f"action run {run_id} not found")
    return found


@dataclass(frozen=True, slots=True)
class Prepared:
    run_id: int
    request: Request | None
    argv: tuple[str, ...] = ()
    error: str | None = None


def _values(subject: Subject, callback_url: str, run_id: int) -> dict[str, Any]:
    return {"incident": view(subject), "callback": {"url": callback_url}, "run": {"id": run_id}}


def begin(session: Session, run_id: int, subject: Subject, env: Env, *, now: datetime) -> Prepared | None:
    """Build the request of a run that is ``running`` and not started yet (None otherwise)."""
    run = get_run(session, run_id, for_update=True)
    if run.status != "running" or run.started_at is not None:
        return None
    action = repo.action(session, run.action_id) if run.action_id is not None else None
    run.started_at = now
    if action is None:
        return Prepared(run.id, None, error="the action was deleted")
    callback_url = ""
    if action.callback_minutes:
        token = secrets.token_urlsafe(32)
        run.callback_hash = hashlib.sha256(token.encode()).hexdigest()
        run.callback_until = now + timedelta(minutes=action.callback_minutes)
        callback_url = f"{env.base_url}{CALLBACK_PATH}{token}"
    values = _values(subject, callback_url, run.id)
    if action.kind == "script":
        argv = tuple(templates.render(a, values) for a in action.command)
        run.request_excerpt = excerpt(" ".join(argv))
        if not env.scripts_enabled:
            return Prepared(run.id, None, error="script actions are disabled (TOCSIN_WORKFLOW_SCRIPTS_ENABLED)")
        if argv[0] not in env.script_allowlist:
            return Prepared(run.id, None, error=f"{argv[0]} is not in TOCSIN_WORKFLOW_SCRIPT_ALLOWLIST")
        return Prepared(run.id, None, argv=argv)
    json_body = "json" in action.headers.get("content-type", action.headers.get("Content-Type", "json")).lower()
    body = templates.render(action.body_template, values, json_strings=json_body)
    headers = {k: templates.render(v, values) for k, v in action.headers.items()}
    if callback_url:
        headers["tocsin-callback-url"] = callback_url
    url = templates.render(action.url, values)
    run.request_excerpt = excerpt(f"{action.method} {url}\n{body}")
    request = Request(
        method=action.method,
        url=url,
        headers=headers,
        body=body.encode(),
        message_id=run.message_id,
        secret=action.secret,
        timeout=action.timeout_seconds,
    )
    return Prepared(run.id, request)


def call(prepared: Prepared, env: Env, *, stamp: int) -> Answer:
    """The call itself, outside any transaction."""
    if prepared.error is not None:
        return Answer(False, None, "", prepared.error, 0)
    if prepared.request is not None:
        return env.caller.call(prepared.request, stamp=stamp)
    started = time.monotonic()
    try:
        done = subprocess.run(
            list(prepared.argv), capture_output=True, timeout=env.script_timeout, check=False, shell=False
        )
    except subprocess.TimeoutExpired:
        took = int((time.monotonic() - started) * 1000)
        return Answer(False, None, "", f"timed out after {env.script_timeout:g} s", took)
    except OSError as exc:
        return Answer(False, None, "", f"could not run: {exc}", int((time.monotonic() - started) * 1000))
    took = int((time.monotonic() - started) * 1000)
    output = excerpt(done.stdout + done.stderr)
    error = None if done.returncode == 0 else f"exit status {done.returncode}"
    return Answer(done.returncode == 0, done.returncode, output, error, took)


def finish(session: Session, run_id: int, answer: Answer, *, now: datetime) -> ActionRun:
    """Record the outcome of the call; with a callback to come, the run waits for it."""
    run = get_run(session, run_id, for_update=True)
    if run.status != "running":
        return run
    run.status_code = answer.status_code
    run.response_excerpt = answer.excerpt
    run.duration_ms = answer.duration_ms
    run.error = answer.error
    if answer.ok and run.callback_hash is not None:
        run.status = "awaiting_callback"
        message = f"Action {run.action_name} called ({answer.status_code}); waiting for its result"
    elif answer.ok:
        run.status, run.finished_at = "succeeded", now
        message = f"Action {run.action_name} succeeded ({answer.duration_ms} ms)"
    else:
        run.status, run.finished_at = "failed", now
        message = f"Action {run.action_name} failed: {answer.error}"
    if answer.excerpt and run.status != "awaiting_callback":
        message += f"\n{answer.excerpt[:1000]}"
    incidents.record(
        session,
        run.incident_id,
        TimelineKind.ACTION_RUN,
        message,
        actor=Actor("workflow", "engine"),
        now=now,
        action=run.action_name,
        run=run.id,
        outcome=run.status,
    )
    return run


def mark_ambiguous(session: Session, run: ActionRun, *, now: datetime) -> None:
    """A run whose worker died mid-call: its effect is unknown, so it is never repeated blindly."""
    run.status, run.finished_at = "ambiguous", now
    run.error = "the worker stopped during the call: the outcome is unknown, and it is not run again"
    incidents.record(
        session,
        run.incident_id,
        TimelineKind.ACTION_RUN,
        f"Action {run.action_name} ambiguous: {run.error}",
        actor=Actor("workflow", "engine"),
        now=now,
        action=run.action_name,
        run=run.id,
        outcome="ambiguous",
    )


def perform(db: Database, run_id: int, subject_of: Any, env: Env, clock: Clock) -> ActionRun | None:
    """begin → call → finish for a run that is ``running``; ``subject_of(session, incident_id)`` reads the
    incident's fields."""
    with db.unit_of_work() as session:
        run = get_run(session, run_id)
        prepared = begin(session, run_id, subject_of(session, run.incident_id), env, now=clock.now())
    if prepared is None:
        return None
    answer = call(prepared, env, stamp=int(clock.now().timestamp()))
    with db.unit_of_work() as session:
        done = finish(session, run_id, answer, now=clock.now())
        session.expunge(done)
        return done


# --- the result callback ----------------------------------------------------------------------------------------


def callback(session: Session, token: str, headers: Mapping[str, str], body: bytes, *, now: datetime) -> ActionRun:
    """The automation reports its result: signed with the action's secret (Standard Webhooks), once, in time.
    Unknown token: 404; bad signature: 401; already reported or too late: 409; nothing changes on a refusal."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    run = repo.action_run_by_callback(session, digest)
    if run is None:
        raise NotFound("no action run waits for this callback")
    action = repo.action(session, run.action_id) if run.action_id is not None else None
    if action is None or not action.secret or not verify_standard_webhook(action.secret, headers, body, now=now):
        raise Unauthorized("bad or missing webhook signature")
    if run.status != "awaiting_callback":
        raise Conflict(f"this run already reported its result ({run.status})")
    if run.callback_until is None or now > run.callback_until:
        raise Conflict("the callback came too late: its time is over")
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise InvalidInput('the body must be JSON: {"status": "succeeded"|"failed", "message": …}') from None
    status = data.get("status") if isinstance(data, dict) else None
    if status not in ("succeeded", "failed"):
        raise InvalidInput("status: succeeded or failed")
    message = str(data.get("message") or "")[:2000]
    run.status, run.finished_at = status, now
    run.response_excerpt = excerpt(message) if message else run.response_excerpt
    incidents.record(
        session,
        run.incident_id,
        TimelineKind.ACTION_RUN,
        f"Action {run.action_name} reported {status}" + (f": {message}" if message else ""),
        actor=Actor(f"action {run.action_name}", "integration"),
        now=now,
        action=run.action_name,
        run=run.id,
        outcome=status,
    )
    return run


def expire_callbacks(session: Session, *, now: datetime, limit: int = 100) -> int:
    """Runs whose automation never reported in time: failed, on the timeline (a report after this is a 409)."""
    expired = repo.expired_callbacks(session, now, limit)
    for run in expired:
        run.status, run.finished_at = "failed", now
        run.error = "no result came back before the callback time ran out"
        incidents.record(
            session,
            run.incident_id,
            TimelineKind.ACTION_RUN,
            f"Action {run.action_name} failed: {run.error}",
            actor=Actor("workflow", "engine"),
            now=now,
            action=run.action_name,
            run=run.id,
            outcome="failed",
        )
    return len(expired)


def next_callback_deadline(session: Session) -> datetime | None:
    return repo.next_callback_deadline(session)


def runs_of(session: Session, incident_id: int) -> Sequence[ActionRun]:
    return repo.action_runs_of(session, incident_id)
