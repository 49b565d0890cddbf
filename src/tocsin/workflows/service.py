"""Playbook and workflow use cases: saving definitions (refused with the path of the fault), the incident events
consumer that starts runs and attaches playbooks, manual runs, ticking playbook steps, and the simulator. Each
takes a session, writes the incident's timeline through ``incidents.service.record``, and never commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.db.encrypted import is_sealed, keyring_of
from tocsin.db.session import WORKFLOW_WORK, note_new_work
from tocsin.escalation import service as escalation
from tocsin.events.registry import Consumer, Event
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind
from tocsin.notify.providers.webhook import decode_secret
from tocsin.oncall import service as oncall
from tocsin.response import roles as response_roles
from tocsin.response import service as response
from tocsin.response import types as incident_types
from tocsin.response.fields import Subject, compile_conditions, matches, view
from tocsin.services import repository as service_repo
from tocsin.teams import service as teams
from tocsin.users import service as users
from tocsin.workflows import repository as repo
from tocsin.workflows import steps as plan
from tocsin.workflows.models import IncidentPlaybook, Playbook, Workflow, WorkflowRun

CONSUMER_NAME = "workflows"
ENGINE = Actor(label="workflow", source="engine")


def _ref(ref: int | str) -> int | str:
    return int(ref) if isinstance(ref, str) and is_ascii_digits(ref) else ref


def _name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("name: 1 to 200 characters")
    return clean


# --- references and definitions ---------------------------------------------------------------------------------


def refs(session: Session) -> plan.Refs:
    """Every name a definition may refer to."""
    people: set[str] = set()
    for u in users.list_users(session, include_deactivated=False):
        people.update((u.email, str(u.id)))
    return plan.Refs(
        roles=frozenset(r.name for r in response_roles.list_roles(session)),
        checklists=frozenset(t.name for t in response.templates(session)),
        actions=frozenset(a.name for a in repo.actions(session)),
        users=frozenset(people),
        teams=frozenset(t.name for t in teams.list_teams(session)),
        schedules=frozenset(s.name for s in oncall.list_schedules(session)),
        types=frozenset(t.name for t in incident_types.list_types(session)),
        policies=frozenset(p.name for p in escalation.list_policies(session)),
        channels=frozenset(repo.channel_names(session)),
    )


def _invalid(exc: plan.DefinitionError) -> InvalidInput:
    return InvalidInput(str(exc), errors=[str(exc)])


def list_workflows(session: Session) -> list[Workflow]:
    return repo.workflows(session)


def get_workflow(session: Session, ref: int | str) -> Workflow:
    found = repo.workflow(session, _ref(ref))
    if found is None:
        raise NotFound(f"workflow {ref} not found")
    return found


def check_workflow(
    session: Session, name: str, spec: Mapping[str, Any], *, known: plan.Refs | None = None
) -> dict[str, Any]:
    """The cleaned definition, or InvalidInput naming the path of the first fault."""
    try:
        allowed = {"description", "enabled", "trigger", "conditions", "steps"}
        plan._keys(spec, allowed, "workflow")
        return {
            "description": str(spec.get("description") or ""),
            "enabled": bool(spec.get("enabled", True)),
            "trigger": plan.check_trigger(spec.get("trigger")),
            "conditions": plan.check_conditions(spec.get("conditions") or []),
            "steps": plan.check_steps(spec.get("steps"), known or refs(session)),
        }
    except plan.DefinitionError as exc:
        raise _invalid(exc) from None


MASK = "***"


def _seal_secrets(session: Session, steps: list[dict[str, Any]], stored: list[dict[str, Any]] | None) -> None:
    """Webhook step secrets are kept encrypted inside the definition (never in clear in the database, the audit
    trail, an export or an answer); ``***`` (what outputs show) keeps the stored secret of that step."""
    keyring = keyring_of(session)
    for i, step in enumerate(steps):
        secret = step.get("secret")
        if not secret:
            continue
        if secret == MASK:
            previous = stored[i] if stored is not None and i < len(stored) else {}
            if not previous.get("secret"):
                raise InvalidInput(f"steps.{i}.secret: {MASK} keeps a stored secret, and this step has none")
            step["secret"] = previous["secret"]
        elif not is_sealed(secret):
            try:
                decode_secret(secret)
            except ValueError as exc:
                raise InvalidInput(f"steps.{i}.secret: {exc}") from None
            step["secret"] = keyring.seal(secret)


def masked(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The steps (of a workflow or a playbook) as shown: secrets as ``***``."""
    out = []
    for step in steps:
        one = dict(step)
        if one.get("secret"):
            one["secret"] = MASK
        if isinstance(one.get("step"), Mapping) and one["step"].get("secret"):
            one["step"] = {**one["step"], "secret": MASK}
        out.append(one)
    return out


def save_workflow(session: Session, name: str, spec: Mapping[str, Any], *, now: datetime) -> Workflow:
    """Create the workflow, or replace the one of this name (a new version; running incidents keep theirs)."""
    clean_name = _name(name)
    clean = check_workflow(session, clean_name, spec)
    existing = repo.workflow(session, clean_name)
    _seal_secrets(session, clean["steps"], existing.steps if existing is not None else None)
    others = {w.name: (w.trigger, w.steps) for w in repo.workflows(session) if w.name != clean_name}
    others[clean_name] = (clean["trigger"], clean["steps"])
    cycle = plan.find_cycle(others)
    if cycle:
        message = f"steps: a cycle of workflows starting each other: {' → '.join(cycle)}"
        raise InvalidInput(message, errors=[message])
    found = existing
    if found is None:
        created: Workflow = repo.add(
            session, Workflow(name=clean_name, created_at=now, updated_at=now, version=1, **clean)
        )
        return created
    if not _unchanged(session, found, clean):
        for key, value in clean.items():
            setattr(found, key, value)
        found.version += 1
        found.updated_at = now
    session.flush()
    return found


def _opened(session: Session, steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keyring = keyring_of(session)
    out = []
    for step in steps:
        one = dict(step)
        if one.get("secret"):
            one["secret"] = keyring.open(one["secret"])
        if isinstance(one.get("step"), Mapping) and one["step"].get("secret"):
            one["step"] = {**one["step"], "secret": keyring.open(one["step"]["secret"])}
        out.append(one)
    return out


def _unchanged(session: Session, found: Workflow | Playbook, clean: Mapping[str, Any]) -> bool:
    return all(
        (_opened(session, getattr(found, k)) == _opened(session, v)) if k == "steps" else getattr(found, k) == v
        for k, v in clean.items()
    )


def _inner(steps: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The workflow steps of a playbook's automatic steps (the same objects: sealing them seals the playbook's)."""
    return [s["step"] for s in steps if s.get("automatic") and isinstance(s.get("step"), dict)]


def workflow_changes(session: Session, name: str, spec: Mapping[str, Any]) -> tuple[bool, bool]:
    """(exists, would change) for a definition, checked as saving would check it; nothing is written."""
    clean = check_workflow(session, name, spec)
    found = repo.workflow(session, name.strip())
    if found is None:
        return False, True
    _seal_secrets(session, clean["steps"], found.steps)
    return True, not _unchanged(session, found, clean)


def playbook_changes(session: Session, name: str, spec: Mapping[str, Any]) -> tuple[bool, bool]:
    clean = check_playbook(session, spec)
    found = repo.playbook(session, name.strip())
    if found is None:
        return False, True
    _seal_secrets(session, _inner(clean["steps"]), _inner(found.steps))
    return True, not _unchanged(session, found, clean)


def delete_workflow(session: Session, ref: int | str) -> None:
    session.delete(get_workflow(session, ref))
    session.flush()


def list_playbooks(session: Session) -> list[Playbook]:
    return repo.playbooks(session)


def get_playbook(session: Session, ref: int | str) -> Playbook:
    found = repo.playbook(session, _ref(ref))
    if found is None:
        raise NotFound(f"playbook {ref} not found")
    return found


def check_playbook(session: Session, spec: Mapping[str, Any], *, known: plan.Refs | None = None) -> dict[str, Any]:
    try:
        plan._keys(spec, {"guidance", "match", "steps"}, "playbook")
        guidance = spec.get("guidance") or ""
        if not isinstance(guidance, str) or len(guidance) > 100_000:
            raise plan.DefinitionError("guidance: Markdown text of at most 100000 characters")
        raw = spec.get("steps")
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw or len(raw) > plan.MAX_STEPS:
            raise plan.DefinitionError(f"steps: a list of 1 to {plan.MAX_STEPS} steps")
        cleaned = []
        for i, item in enumerate(raw):
            where = f"steps.{i}"
            if not isinstance(item, Mapping):
                raise plan.DefinitionError(f"{where}: an object with a title")
            plan._keys(item, {"title", "automatic", "step"}, where)
            title = plan._text(item, "title", where, limit=500)
            automatic = bool(item.get("automatic", False))
            if automatic != ("step" in item):
                raise plan.DefinitionError(f"{where}: an automatic step has a 'step' (a workflow step), a manual none")
            entry: dict[str, Any] = {"title": title, "automatic": automatic}
            if automatic:
                entry["step"] = plan.check_step(item["step"], f"{where}.step", known or refs(session))
            cleaned.append(entry)
        return {
            "guidance": guidance,
            "match": plan.check_conditions(spec.get("match") or [], "match"),
            "steps": cleaned,
        }
    except plan.DefinitionError as exc:
        raise _invalid(exc) from None


def save_playbook(session: Session, name: str, spec: Mapping[str, Any], *, now: datetime) -> Playbook:
    clean_name = _name(name)
    clean = check_playbook(session, spec)
    found = repo.playbook(session, clean_name)
    _seal_secrets(session, _inner(clean["steps"]), _inner(found.steps) if found is not None else None)
    if found is None:
        return repo.add(session, Playbook(name=clean_name, created_at=now, updated_at=now, version=1, **clean))  # type: ignore[no-any-return]
    if not _unchanged(session, found, clean):
        for key, value in clean.items():
            setattr(found, key, value)
        found.version += 1
        found.updated_at = now
    session.flush()
    return found


def delete_playbook(session: Session, ref: int | str) -> None:
    session.delete(get_playbook(session, ref))
    session.flush()


# --- subjects ---------------------------------------------------------------------------------------------------


def subject_of(session: Session, incident: Incident, *, base_url: str = "") -> Subject:
    service = service_repo.get(session, incident.service_id)
    columns = {c.key: getattr(incident, c.key) for c in Incident.__table__.columns}
    for key, value in list(columns.items()):
        if hasattr(value, "value"):
            columns[key] = value.value
    columns["type"] = incident_types.names_by_id(session).get(incident.type_id, "") if incident.type_id else ""
    return Subject(
        incident=columns,
        service=service.name if service is not None else "",
        labels=repo.labels_of(session, incident.id),
        url=f"{base_url}/incidents/{incident.number}" if base_url else "",
    )


def subject_of_id(session: Session, incident_id: int) -> Subject:
    return subject_of(session, incidents.get(session, incident_id))


def subject_of_payload(payload: Mapping[str, Any]) -> Subject:
    """A made-up incident for the simulator: its fields by name, ``labels`` and ``service`` beside them."""
    if not isinstance(payload, Mapping):
        raise InvalidInput("payload: an object of incident fields")
    labels = payload.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise InvalidInput("payload.labels: an object")
    fields = {k: v for k, v in payload.items() if k not in ("labels", "service")}
    return Subject(incident=fields, service=str(payload.get("service") or ""), labels=labels)


# --- starting runs ----------------------------------------------------------------------------------------------


def _start(
    session: Session,
    incident_id: int,
    *,
    name: str,
    workflow_id: int | None,
    version: int,
    trigger: str,
    step_specs: list[dict[str, Any]],
    due: datetime,
    now: datetime,
) -> WorkflowRun:
    run = repo.add(
        session,
        WorkflowRun(
            incident_id=incident_id,
            workflow_id=workflow_id,
            name=name,
            version=version,
            trigger=trigger,
            steps=step_specs,
            status="pending",
            position=0,
            due_at=due,
            fence=0,
            created_at=now,
        ),
    )
    note_new_work(session, WORKFLOW_WORK)
    return run  # type: ignore[no-any-return]


def source_of(run: WorkflowRun) -> str:
    """What a step's idempotency key names: the workflow (by id, stable across renames) or the playbook run."""
    return f"w{run.workflow_id}" if run.workflow_id is not None else f"p:{run.name}"


def start_matching(
    session: Session,
    incident: Incident,
    event_type: str,
    changes: Mapping[str, Any],
    *,
    now: datetime,
    enabled: Sequence[Workflow] | None = None,
) -> list[WorkflowRun]:
    """Start every enabled workflow whose trigger follows this event and whose conditions hold now (a timer's due
    time comes later). ``enabled``: the enabled workflows when the caller has them already."""
    flows = repo.workflows(session, enabled_only=True) if enabled is None else enabled
    candidates = [w for w in flows if plan.trigger_fires(w.trigger, event_type, changes)]
    started = []
    if candidates:
        subject = view(subject_of(session, incident))
        for wf in candidates:
            if not matches(compile_conditions(wf.conditions), subject):
                continue
            due = now + timedelta(minutes=plan.delay_minutes(wf.trigger))
            started.append(
                _start(
                    session,
                    incident.id,
                    name=wf.name,
                    workflow_id=wf.id,
                    version=wf.version,
                    trigger=str(wf.trigger.get("event")),
                    step_specs=wf.steps,
                    due=due,
                    now=now,
                )
            )
    if event_type == "incident.triggered":
        attach_playbooks(session, incident, now=now)
    return started


def run_now(session: Session, incident_id: int, workflow_ref: int | str, *, actor: Actor, now: datetime) -> WorkflowRun:
    """Start a workflow on an incident by hand, whatever its trigger and conditions."""
    wf = get_workflow(session, workflow_ref)
    run = _start(
        session,
        incident_id,
        name=wf.name,
        workflow_id=wf.id,
        version=wf.version,
        trigger="manual",
        step_specs=wf.steps,
        due=now,
        now=now,
    )
    incidents.record(
        session,
        incident_id,
        TimelineKind.WORKFLOW_RUN,
        f"Workflow {wf.name} started by hand",
        actor=actor,
        now=now,
        run=run.id,
    )
    return run


def on_events(session: Session, events: Sequence[Event], now: datetime) -> None:
    """The ``workflows`` event consumer: runs and playbooks, written in the transaction that moves its cursor (so
    exactly once per event)."""
    # Definitions are read once per batch, and an incident only when some workflow's trigger follows the event or a
    # playbook may apply to it: with none defined, the consumer costs one query per batch on the paging path.
    enabled = repo.workflows(session, enabled_only=True)
    books = repo.any_playbook(session)
    for event in events:
        if event.type in (f"incident.{TimelineKind.WORKFLOW_RUN}", f"incident.{TimelineKind.WORKFLOW_STEP}"):
            continue
        opening = books and event.type == "incident.triggered"
        if not opening and not any(plan.trigger_fires(w.trigger, event.type, event.changes) for w in enabled):
            continue
        try:
            incident = incidents.get(session, event.incident_id)
        except NotFound:
            continue
        start_matching(session, incident, event.type, event.changes, now=now, enabled=enabled)


def consumer() -> Consumer:
    return Consumer(name=CONSUMER_NAME, handler=on_events)


# --- playbooks on incidents -------------------------------------------------------------------------------------


def attach_playbooks(session: Session, incident: Incident, *, now: datetime) -> list[IncidentPlaybook]:
    """Freeze the version of every matching playbook onto the incident; its automatic steps start as a run."""
    attached = {p.playbook_name for p in repo.incident_playbooks(session, incident.id)}
    books = [p for p in repo.playbooks(session) if p.name not in attached]
    if not books:
        return []
    subject = view(subject_of(session, incident))
    out = []
    for book in books:
        if not matches(compile_conditions(book.match, "match"), subject):
            continue
        snapshot = {"name": book.name, "version": book.version, "guidance": book.guidance, "steps": book.steps}
        row = IncidentPlaybook(
            incident_id=incident.id,
            playbook_name=book.name,
            version=book.version,
            snapshot=snapshot,
            ticks={},
            created_at=now,
        )
        automatic = [dict(s["step"], playbook_step=i) for i, s in enumerate(book.steps) if s.get("automatic")]
        if automatic:
            run = _start(
                session,
                incident.id,
                name=f"playbook {book.name}",
                workflow_id=None,
                version=book.version,
                trigger="playbook",
                step_specs=automatic,
                due=now,
                now=now,
            )
            row.run_id = run.id
        repo.add(session, row)
        incidents.record(
            session,
            incident.id,
            TimelineKind.WORKFLOW_RUN,
            f"Playbook {book.name} (version {book.version}) applies",
            actor=ENGINE,
            now=now,
            playbook=book.name,
        )
        out.append(row)
    return out


@dataclass(frozen=True, slots=True)
class PlaybookStepState:
    index: int
    title: str
    automatic: bool
    state: str  # open | done | running | waiting | failed | skipped | ambiguous | pending
    by: str = ""
    at: str = ""


@dataclass(frozen=True, slots=True)
class PlaybookView:
    name: str
    version: int
    guidance: str
    steps: list[PlaybookStepState]

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.state in ("done", "skipped"))


def playbooks_of(session: Session, incident_id: int) -> list[PlaybookView]:
    rows = repo.incident_playbooks(session, incident_id)
    runs = repo.step_runs(session, [r.run_id for r in rows if r.run_id is not None])
    out = []
    for row in rows:
        auto: dict[int, str] = {}
        run = repo.run(session, row.run_id) if row.run_id is not None else None
        if run is not None:
            by_position = {s.position: s.status for s in runs if s.run_id == run.id}
            for pos, spec in enumerate(run.steps):
                auto[int(spec.get("playbook_step", -1))] = by_position.get(pos, "pending")
        steps = []
        for i, spec in enumerate(row.snapshot.get("steps", [])):
            if spec.get("automatic"):
                steps.append(PlaybookStepState(i, spec["title"], True, auto.get(i, "pending")))
            else:
                tick = row.ticks.get(str(i)) or {}
                steps.append(
                    PlaybookStepState(
                        i,
                        spec["title"],
                        False,
                        "done" if tick.get("done") else "open",
                        tick.get("by", ""),
                        tick.get("at", ""),
                    )
                )
        out.append(PlaybookView(row.playbook_name, row.version, row.snapshot.get("guidance", ""), steps))
    return out


def tick(
    session: Session, incident_id: int, playbook: str, index: int, done: bool, *, actor: Actor, now: datetime
) -> None:
    """Tick (or untick) a manual step of a playbook on an incident."""
    row = next((r for r in repo.incident_playbooks(session, incident_id) if r.playbook_name == playbook), None)
    if row is None:
        raise NotFound(f"playbook {playbook!r} is not on this incident")
    steps = row.snapshot.get("steps", [])
    if not 0 <= index < len(steps):
        raise NotFound(f"playbook {playbook!r} has no step {index}")
    if steps[index].get("automatic"):
        raise Conflict("an automatic step runs by itself")
    current = bool((row.ticks.get(str(index)) or {}).get("done"))
    if current == done:
        raise Conflict(f"the step is already {'done' if done else 'open'}")
    row.ticks = {**row.ticks, str(index): {"done": done, "by": actor.label, "at": now.isoformat()}}
    word = "done" if done else "open again"
    incidents.record(
        session,
        incident_id,
        TimelineKind.WORKFLOW_STEP,
        f"Playbook {playbook}: {steps[index]['title']} {word}",
        actor=actor,
        now=now,
        playbook=playbook,
        step=index,
    )


# --- simulation -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Simulated:
    kind: str  # workflow | playbook
    name: str
    version: int
    trigger: str
    would_run: bool
    reason: str
    steps: list[dict[str, Any]]


def simulate(
    session: Session, subject: Subject, *, event: str | None = None, incident_id: int | None = None
) -> list[Simulated]:
    """What would run for this incident (or made-up fields) now, and why or why not, without acting: every
    workflow (its trigger against ``event`` when given), and the playbooks that would apply."""
    fields_view = view(subject)
    out = []
    for wf in repo.workflows(session):
        trigger = str(wf.trigger.get("event"))
        if not wf.enabled:
            out.append(Simulated("workflow", wf.name, wf.version, trigger, False, "disabled", wf.steps))
            continue
        if event is not None and not plan.trigger_fires(
            wf.trigger, event, {"severity": 1, wf.trigger.get("field", ""): 1, "status": [None, "done"]}
        ):
            out.append(
                Simulated("workflow", wf.name, wf.version, trigger, False, f"its trigger is not {event}", wf.steps)
            )
            continue
        failed = [m.to_dict() for m in compile_conditions(wf.conditions) if not m.matches(fields_view)]
        if failed:
            out.append(
                Simulated("workflow", wf.name, wf.version, trigger, False, f"condition not met: {failed[0]}", wf.steps)
            )
            continue
        steps = [dict(s) for s in wf.steps]
        if incident_id is not None:
            for i, s in enumerate(steps):
                if s.get("once") and repo.step_run_by_key(
                    session, plan.step_key(incident_id, f"w{wf.id}", wf.version, i, 0, once=True)
                ):
                    s["skipped"] = "already ran once on this incident"
        delay = plan.delay_minutes(wf.trigger)
        reason = f"would run {delay} minutes after the trigger" if delay else "would run"
        out.append(Simulated("workflow", wf.name, wf.version, trigger, True, reason, steps))
    for book in repo.playbooks(session):
        ok = matches(compile_conditions(book.match, "match"), fields_view)
        out.append(
            Simulated(
                "playbook", book.name, book.version, "declared", ok, "applies" if ok else "does not match", book.steps
            )
        )
    return out
