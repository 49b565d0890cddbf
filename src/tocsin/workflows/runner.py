"""Executing workflow runs, for the engine (``engine/modules/workflows.py``): claim due runs (lease and fence,
``db/claims``), then step by step, each in a transaction that re-checks the fence.

Steps that stay in the database (set a field, assign a role, add a checklist, notify, a stakeholder update) run in
the transaction that records them: done exactly once. Steps that call out (a webhook, a remediation action) are
recorded ``running`` first, called outside any transaction, and their outcome recorded after; a run whose worker
died in between is taken over after its lease, and the step is resumed when the receiver recognises a copy (a
webhook, same webhook-id) or marked ``ambiguous`` otherwise (an action: never run twice blindly), and the run
follows the step's error policy. Waits are the run's due time, so they survive restarts.

``HANDLERS`` is the one place a step kind gets what it does (beside its definition in ``steps.KINDS``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.chat import service as chat
from tocsin.core.clock import Clock
from tocsin.core.errors import NotFound, TocsinError
from tocsin.db.claims import Claim
from tocsin.db.encrypted import keyring_of
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.lifecycle import ResponseStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify import notices
from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.oncall import service as oncall
from tocsin.response import repository as response_repo
from tocsin.response import responders, templates
from tocsin.response import roles as response_roles
from tocsin.response import service as response
from tocsin.response import types as incident_types
from tocsin.response.fields import compile_conditions, matches, view
from tocsin.stakeholders import service as stakeholders
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.workflows import actions, channels
from tocsin.workflows import repository as repo
from tocsin.workflows import service as wf
from tocsin.workflows import steps as plan
from tocsin.workflows.http import Answer, Request
from tocsin.workflows.models import WorkflowRun, WorkflowStepRun

WAIT_POLL = timedelta(seconds=30)
log = logging.getLogger(__name__)


class StepFailed(Exception):
    """A step that could not do its work; the message says why."""


@dataclass(slots=True)
class Context:
    session: Session
    run: WorkflowRun
    incident: Incident
    key: str
    actor: Actor
    now: datetime
    env: actions.Env

    def values(self) -> dict[str, Any]:
        subject = wf.subject_of(self.session, self.incident, base_url=self.env.base_url)
        return {"incident": view(subject), "run": {"id": self.run.id, "workflow": self.run.name}}


Handler = Callable[[Context, dict[str, Any]], str]


def _set_field(ctx: Context, spec: dict[str, Any]) -> str:
    field, value = spec["field"], spec["value"]
    if field == "response_status":
        if ctx.incident.response_status == value:
            return f"response status already {value}"
        incidents.change_response(ctx.session, ctx.incident.id, ResponseStatus(value), actor=ctx.actor, now=ctx.now)
    else:
        incidents.update_fields(ctx.session, ctx.incident.id, actor=ctx.actor, now=ctx.now, **{field: value})
    return f"{field} set to {value}"


def _assign_role(ctx: Context, spec: dict[str, Any]) -> str:
    if "user" in spec:
        who: str = spec["user"]
    else:
        schedule = oncall.get_schedule(ctx.session, spec["schedule"])
        on_call = oncall.users_on_call(ctx.session, schedule.id, ctx.now)
        if not on_call:
            raise StepFailed(f"nobody is on call for {schedule.name}")
        who = on_call[0]
    user = users.get_user(ctx.session, who)
    role = response_roles.get_role(ctx.session, spec["role"])
    if response_repo.holder(ctx.session, ctx.incident.id, role.id) is not None and (
        response_repo.holder(ctx.session, ctx.incident.id, role.id).user_id == user.id  # type: ignore[union-attr]
    ):
        return f"{user.name} already holds {role.name}"
    response_roles.assign(ctx.session, ctx.incident.id, role.id, user.id, actor=ctx.actor, now=ctx.now)
    return f"{role.name} given to {user.name}"


def _add_checklist(ctx: Context, spec: dict[str, Any]) -> str:
    added = response.add_checklist(ctx.session, ctx.incident.id, spec["checklist"], actor=ctx.actor, now=ctx.now)
    return f"checklist {spec['checklist']}: {len(added)} tasks"


def _notify(ctx: Context, spec: dict[str, Any]) -> str:
    text = templates.render(spec["message"], ctx.values())
    key = f"workflow:{ctx.key}"
    if "team" in spec:
        team = teams.get_team(ctx.session, spec["team"])
        reached = notices.notify_team(ctx.session, team_id=team.id, key=key, text=text, now=ctx.now, skip_user_id=None)
        return f"team {team.name} notified ({reached} people)"
    if "role" in spec:
        role = response_roles.get_role(ctx.session, spec["role"])
        holder = response_repo.holder(ctx.session, ctx.incident.id, role.id)
        if holder is None:
            raise StepFailed(f"nobody holds {role.name} to notify")
        user_id = holder.user_id
    else:
        user_id = users.get_user(ctx.session, spec["user"]).id
    if not notices.notify_user(ctx.session, user_id=user_id, key=key, text=text, now=ctx.now):
        raise StepFailed(f"user {user_id} cannot be reached (no contact method, or deactivated)")
    return f"{users.names_of(ctx.session, [user_id]).get(user_id, user_id)} notified"


def _stakeholder_update(ctx: Context, spec: dict[str, Any]) -> str:
    text = templates.render(spec["message"], ctx.values())
    try:
        update = stakeholders.post_update(
            ctx.session,
            ctx.incident.id,
            body=text,
            actor=ctx.actor,
            now=ctx.now,
            base_url=ctx.env.base_url,
            require_audience=False,
        )
    except TocsinError as exc:
        raise StepFailed(exc.detail) from None
    if update.drill:
        return "stakeholder update posted to the drill's participants"
    if not update.groups:
        return "stakeholder update kept on the timeline: no stakeholder group subscribes to this incident"
    return "stakeholder update posted to " + ", ".join(update.groups)


def _set_type(ctx: Context, spec: dict[str, Any]) -> str:
    if (
        ctx.incident.type_id is not None
        and incident_types.names_by_id(ctx.session).get(ctx.incident.type_id) == (spec["type"])
    ):
        return f"already of type {spec['type']}"
    incident_types.change_type(ctx.session, ctx.incident.id, spec["type"], actor=ctx.actor, now=ctx.now)
    return f"type set to {spec['type']}"


def _add_responders(ctx: Context, spec: dict[str, Any]) -> str:
    target = responders.Target(
        user=spec.get("user"), schedule=spec.get("schedule"), policy=spec.get("policy"), skill=spec.get("skill")
    )
    message = templates.render(spec.get("message") or "", ctx.values())
    try:
        made = responders.request(ctx.session, ctx.incident.id, target, message=message, actor=ctx.actor, now=ctx.now)
    except TocsinError as exc:
        raise StepFailed(exc.detail) from None
    names = users.names_of(ctx.session, [r.user_id for r in made])
    return "asked to join: " + ", ".join(names.get(r.user_id, str(r.user_id)) for r in made)


def _open_chat_room(ctx: Context, spec: dict[str, Any]) -> str:
    if spec["platform"] not in ctx.env.chat_platforms:
        raise StepFailed(f"chat platform {spec['platform']} is not configured on this server")
    row, new = chat.request_room(ctx.session, ctx.incident, spec["platform"], actor=ctx.actor, now=ctx.now)
    return f"war room {row.name} asked for" if new else f"war room {row.name} was already asked for"


# kind → what it does, for the steps that stay in the database.
HANDLERS: dict[str, Handler] = {
    "set_field": _set_field,
    "assign_role": _assign_role,
    "add_checklist": _add_checklist,
    "set_type": _set_type,
    "add_responders": _add_responders,
    "notify": _notify,
    "stakeholder_update": _stakeholder_update,
    "open_chat_room": _open_chat_room,
}


# --- the run cycle ----------------------------------------------------------------------------------------------


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return repo.claim_runs(session, now=now, owner=owner, lease_until=now + lease, limit=limit)


def next_due(session: Session) -> datetime | None:
    return repo.next_due(session)


def _actor(run: WorkflowRun) -> Actor:
    return Actor(label=f"workflow {run.name}"[:255], source="engine")


def _entry(session: Session, run: WorkflowRun, message: str, now: datetime, **data: Any) -> None:
    incidents.record(
        session, run.incident_id, TimelineKind.WORKFLOW_STEP, message, actor=_actor(run), now=now, run=run.id, **data
    )


def _close(session: Session, run: WorkflowRun, status: str, now: datetime, error: str | None = None) -> None:
    run.status, run.finished_at, run.due_at = status, now, None
    run.lease_owner = run.lease_until = None
    run.error = error
    word = {"done": "finished", "failed": "stopped"}.get(status, status)
    text = f"Workflow {run.name} {word}" + (f": {error}" if error else "")
    incidents.record(
        session,
        run.incident_id,
        TimelineKind.WORKFLOW_RUN,
        text,
        actor=_actor(run),
        now=now,
        run=run.id,
        outcome=status,
    )


def _label(run: WorkflowRun, position: int, spec: dict[str, Any]) -> str:
    return f"Workflow {run.name}, step {position + 1} ({spec.get('name') or spec['kind']})"


def _after_step(
    session: Session, run: WorkflowRun, step: WorkflowStepRun, spec: dict[str, Any], ok: bool, text: str, now: datetime
) -> None:
    """Record a step's end and move the run on (or stop it, as the step's error policy says)."""
    step.finished_at = now
    if ok:
        step.status = "done"
        step.result = {**(step.result or {}), "message": text}
    else:
        step.status = step.status if step.status == "ambiguous" else "failed"
        step.error = text
    _entry(
        session,
        run,
        f"{_label(run, step.position, spec)} {step.status}: {text}",
        now,
        step=step.position,
        outcome=step.status,
    )
    run.position = step.position + 1
    if not ok and spec.get("on_error", "stop") == "stop":
        _close(session, run, "failed", now, f"step {step.position + 1} {step.status}: {text}")


def _new_step(
    run: WorkflowRun, position: int, spec: dict[str, Any], key: str, now: datetime, status: str
) -> WorkflowStepRun:
    return WorkflowStepRun(
        run_id=run.id,
        position=position,
        kind=spec["kind"],
        idempotency_key=key,
        status=status,
        attempts=0,
        result={},
        started_at=now,
    )


@dataclass(frozen=True, slots=True)
class Outbound:
    """An external step to call outside the transaction."""

    step_id: int
    request: Request | None = None
    action: actions.Prepared | None = None
    # A post to a chat channel, through its provider.
    chat: OutboundMessage | None = None


def _outbound(ctx: Context, step: WorkflowStepRun, spec: dict[str, Any], *, resumed: bool) -> Outbound | str:
    """The call an external step makes, or the reason it cannot (a string: the step fails)."""
    if spec["kind"] == "notify":
        room = repo.channel(ctx.session, str(spec["channel"]))
        if room is None:
            return f"no chat channel {spec['channel']!r} any more"
        values = ctx.values()
        text = channels.text_for(ctx.incident, templates.render(spec["message"], values), values["incident"]["url"])
        return Outbound(step.id, chat=channels.message(room, text, f"wf_{step.idempotency_key}"))
    if spec["kind"] == "webhook":
        values = ctx.values()
        body = (
            templates.render(spec["body"], values, json_strings=True)
            if spec.get("body")
            else json.dumps(
                {"type": "workflow.step", "workflow": ctx.run.name, "run": ctx.run.id, "incident": values["incident"]},
                default=str,
            )
        )
        return Outbound(
            step.id,
            request=Request(
                "POST",
                spec["url"],
                {},
                body.encode(),
                f"wf_{step.idempotency_key}",
                keyring_of(ctx.session).open(spec.get("secret", "")),
                10.0,
            ),
        )
    # An action: a run of its own, recorded with the step.
    found = repo.action_run_of_step(ctx.session, step.id)
    if found is None:
        try:
            found = actions.request_run(
                ctx.session,
                ctx.incident.id,
                spec["action"],
                actor=ctx.actor,
                role=None,
                now=ctx.now,
                step_run_id=step.id,
            )
        except TocsinError as exc:
            return exc.detail
    subject = wf.subject_of(ctx.session, ctx.incident, base_url=ctx.env.base_url)
    prepared = actions.begin(ctx.session, found.id, subject, ctx.env, now=ctx.now)
    if prepared is None:
        return f"the action run is {found.status}"
    return Outbound(step.id, action=prepared)


@dataclass(frozen=True, slots=True)
class Stretch:
    """What a transaction made of a run: the steps that ended, and what comes next: the run finished or stopped
    for now (a wait, taken over), a call to make after the commit, or a failure to record."""

    ended: int
    finished: bool = False
    outbound: Outbound | None = None
    failure: tuple[int, str] | None = None
    # Stopped before a call out, which is to be recorded as in flight in a transaction of its own.
    paused: bool = False


def stretch(
    session: Session, c: Claim, env: actions.Env, now: datetime, lease: timedelta, *, calls: bool = True
) -> Stretch:
    """Work a claimed run's steps that stay in the database, in this transaction, up to a call out, a wait or its
    end. Without ``calls`` it stops before a call out: a transaction shared by several runs must not record
    several calls as in flight when only one is made at a time (a death would leave them all ambiguous)."""
    ended = 0
    outbound: Outbound | None = None
    failure: tuple[int, str] | None = None
    run = repo.lock_run(session, c)
    if run is None or run.status not in ("pending", "running", "waiting"):
        return Stretch(ended, finished=True)
    if run.status == "pending":
        run.status, run.started_at = "running", now
        incidents.record(
            session,
            run.incident_id,
            TimelineKind.WORKFLOW_RUN,
            f"Workflow {run.name} (version {run.version}) started ({run.trigger})",
            actor=_actor(run),
            now=now,
            run=run.id,
        )
    try:
        # Read once: the steps change it through this session, which keeps the one object up to date.
        incident = incidents.get(session, run.incident_id)
    except NotFound:
        run.status, run.due_at = "canceled", None
        return Stretch(ended, finished=True)
    source = wf.source_of(run)
    keys = [
        plan.step_key(run.incident_id, source, run.version, i, run.id, once=bool(spec.get("once")))
        for i, spec in enumerate(run.steps)
    ]
    # The step rows this stretch may meet, in one query rather than one per step.
    known = repo.step_runs_by_keys(session, keys[run.position :])
    # Steps that stay in the database follow one another in this transaction (each in a savepoint): the
    # run commits once per stretch of them, up to a call out, a wait or its end.
    while outbound is None and failure is None:
        if run.status not in ("running", "waiting"):
            return Stretch(ended, finished=True)
        run.lease_until = now + lease
        if run.position >= len(run.steps):
            _close(session, run, "done", now)
            return Stretch(ended, finished=True)
        position, spec = run.position, dict(run.steps[run.position])
        kind = plan.KINDS[spec["kind"]]
        key = keys[position]
        step = known.get(key)
        ctx = Context(session, run, incident, key, _actor(run), now, env)
        if step is not None and step.run_id != run.id:
            run.position += 1
            _entry(
                session,
                run,
                f"{_label(run, position, spec)} skipped: already ran once on this incident",
                now,
                step=position,
                outcome="skipped",
            )
            continue
        if kind.waits:
            if step is None:
                step = repo.add(session, _new_step(run, position, spec, key, now, "waiting"))
                assert step is not None
                step.due_at = now + timedelta(minutes=int(spec["minutes"]))
                _entry(
                    session,
                    run,
                    f"{_label(run, position, spec)} waiting until {step.due_at.isoformat()}",
                    now,
                    step=position,
                    outcome="waiting",
                )
            holds = "until" in spec and matches(compile_conditions(spec["until"], "until"), ctx.values()["incident"])
            assert step.due_at is not None
            if holds or ("until" not in spec and now >= step.due_at):
                _after_step(session, run, step, spec, True, "condition met" if holds else "waited", now)
                ended += 1
                continue
            if now >= step.due_at:
                _after_step(session, run, step, spec, False, "timed out waiting for the condition", now)
                ended += 1
                continue
            run.status = "waiting"
            run.due_at = min(step.due_at, now + WAIT_POLL) if "until" in spec else step.due_at
            run.lease_owner = run.lease_until = None
            return Stretch(ended, finished=True)
        run.status = "running"
        if plan.external(kind, spec) and not calls:
            return Stretch(ended, paused=True)
        if not plan.external(kind, spec):
            if step is None:
                step = repo.add(session, _new_step(run, position, spec, key, now, "running"))
            assert step is not None
            try:
                with session.begin_nested():
                    text = HANDLERS[spec["kind"]](ctx, spec)
            except (StepFailed, TocsinError) as exc:
                reason = exc.detail if isinstance(exc, TocsinError) else str(exc)
                _after_step(session, run, step, spec, False, reason, now)
            else:
                _after_step(session, run, step, spec, True, text, now)
            ended += 1
            continue
        else:
            if step is None:
                step = repo.add(session, _new_step(run, position, spec, key, now, "running"))
                assert step is not None
            elif not plan.idempotent(kind, spec) and step.status != "retry":
                # In flight when its worker died: the effect is unknown, never run twice blindly.
                step.status = "ambiguous"
                action_run = repo.action_run_of_step(session, step.id)
                if action_run is not None and action_run.status == "running":
                    actions.mark_ambiguous(session, action_run, now=now)
                _after_step(session, run, step, spec, False, "the worker stopped during the call; not run again", now)
                ended += 1
                continue
            # Recorded as in flight before the call: a death during it leaves it for the next holder.
            step.status = "running"
            step.attempts += 1
            made = _outbound(ctx, step, spec, resumed=step.attempts > 1)
            if isinstance(made, str):
                failure = (step.id, made)
            else:
                outbound = made
                run.lease_until = now + lease + timedelta(seconds=_timeout(made))
    return Stretch(ended, outbound=outbound, failure=failure)


def first_stretch(session: Session, c: Claim, env: actions.Env, now: datetime, lease: timedelta) -> Stretch | None:
    """``stretch`` in a savepoint of a transaction shared with other runs; None when it failed (rolled back
    alone, and tried again in a transaction of its own, where the fault is reported)."""
    try:
        with session.begin_nested():
            return stretch(session, c, env, now, lease, calls=False)
    except Exception:
        log.warning("workflow run %s: its first stretch failed in a shared transaction; trying alone", c.id)
        return None


def drive(
    db: Database, c: Claim, env: actions.Env, clock: Clock, *, lease: timedelta, first: Stretch | None = None
) -> int:
    """Work a claimed run as far as it goes now; the number of steps that ended. ``first``: its first stretch,
    already committed (``WorkflowModule`` works the first stretches of a claimed batch in one transaction)."""
    ended = 0
    ahead = first
    while True:
        if ahead is None:
            with db.unit_of_work() as session:
                ahead = stretch(session, c, env, clock.now(), lease)
        ended += ahead.ended
        outbound, failure, finished = ahead.outbound, ahead.failure, ahead.finished
        paused, ahead = ahead.paused, None
        if finished:
            return ended
        if paused:
            continue
        if failure is not None:
            with db.unit_of_work() as session:
                run = repo.lock_run(session, c)
                step = repo.step_run(session, failure[0])
                if run is None or step is None:
                    return ended
                _after_step(session, run, step, dict(run.steps[step.position]), False, failure[1], clock.now())
                ended += 1
            continue
        assert outbound is not None
        if outbound.chat is not None:
            sent = channels.post(env.providers, outbound.chat)
            if not _record_post(db, c, outbound, sent, clock):
                return ended
            ended += 1
            continue
        answer = _call(outbound, env, clock)
        with db.unit_of_work() as session:
            now = clock.now()
            run = repo.lock_run(session, c)
            if run is None:
                return ended  # taken over: the new holder decides about the step
            step = repo.step_run(session, outbound.step_id)
            assert step is not None
            spec = dict(run.steps[step.position])
            if outbound.action is not None:
                done = actions.finish(session, outbound.action.run_id, answer, now=now)
                text = f"action run {done.id} {done.status}" + (f": {answer.error}" if answer.error else "")
            else:
                text = f"HTTP {answer.status_code}" if answer.status_code else (answer.error or "no answer")
            step.result = {"status_code": answer.status_code, "duration_ms": answer.duration_ms}
            _after_step(session, run, step, spec, answer.ok, text, now)
            ended += 1


def _record_post(db: Database, c: Claim, outbound: Outbound, sent: SendResult, clock: Clock) -> bool:
    """Record a post to a chat channel; False when the run stops here for now (taken over, or the post is tried
    again later: the step stays ``retry``, the run waits for its next attempt)."""
    assert outbound.chat is not None
    with db.unit_of_work() as session:
        now = clock.now()
        run = repo.lock_run(session, c)
        if run is None:
            return False
        step = repo.step_run(session, outbound.step_id)
        assert step is not None
        spec = dict(run.steps[step.position])
        where = f"channel {spec['channel']}"
        result: dict[str, Any] = {"channel": spec["channel"], "provider": outbound.chat.contact_type}
        if sent.provider_ref:
            result["provider_ref"] = sent.provider_ref
        if sent.status_code is not None:
            result["status_code"] = sent.status_code
        # A new value, not one changed in place: the JSON column notices only a new one.
        step.result = result
        if sent.outcome == "retry" and step.attempts < channels.MAX_ATTEMPTS:
            delay = _retry_delay(sent.retry_after, step.attempts)
            step.status, step.error = "retry", sent.error
            run.status, run.due_at = "waiting", now + delay
            run.lease_owner = run.lease_until = None
            _entry(
                session,
                run,
                f"{_label(run, step.position, spec)}: {where} refused the post for now ({sent.error}); "
                f"trying again in {int(delay.total_seconds())} s",
                now,
                step=step.position,
                outcome="retry",
            )
            return False
        ok = sent.outcome == "delivered"
        text = f"posted to {where}" if ok else f"not posted to {where}: {sent.error or sent.outcome}"
        _after_step(session, run, step, spec, ok, text, now)
        return True


def _retry_delay(retry_after: str | None, attempts: int) -> timedelta:
    try:
        asked = float(retry_after) if retry_after else 0.0
    except ValueError:
        asked = 0.0
    return timedelta(seconds=min(300.0, max(asked, 5.0 * 2 ** max(0, attempts - 1))))


def _timeout(outbound: Outbound) -> float:
    if outbound.chat is not None:
        return 15.0
    if outbound.request is not None:
        return outbound.request.timeout
    if outbound.action is not None and outbound.action.request is not None:
        return outbound.action.request.timeout
    return 300.0


def _call(outbound: Outbound, env: actions.Env, clock: Clock) -> Answer:
    stamp = int(clock.now().timestamp())
    if outbound.action is not None:
        return actions.call(outbound.action, env, stamp=stamp)
    assert outbound.request is not None
    return env.caller.call(outbound.request, stamp=stamp)


def run_view(session: Session, run_id: int) -> tuple[WorkflowRun, list[WorkflowStepRun]]:
    run = repo.run(session, run_id)
    if run is None:
        raise NotFound(f"workflow run {run_id} not found")
    return run, repo.step_runs(session, [run.id])


def runs_of(session: Session, incident_id: int) -> list[WorkflowRun]:
    return repo.runs_of(session, incident_id)
