"""Workflow definitions (pure): the trigger vocabulary, the step kinds and what each needs, and the checks that
refuse a bad definition with the path of the fault. No I/O; what a step does is in ``workflows/runner.py``.

A step kind is one entry of ``KINDS`` (its keys and checks) and one of ``runner.HANDLERS`` (what it does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tocsin.alerts.rules.matchers import RuleError
from tocsin.chat.service import PLATFORMS as CHAT_PLATFORMS
from tocsin.response import templates
from tocsin.response.fields import FIELDS, SETTABLE, compile_conditions

MAX_STEPS: Final = 50
MAX_WAIT_MINUTES: Final = 7 * 24 * 60
ON_ERROR: Final = ("continue", "stop")


class DefinitionError(ValueError):
    """A definition that cannot be saved; the message starts with the path of the fault."""


# --- triggers ---------------------------------------------------------------------------------------------------

# trigger kind → the incident event type it follows (``field_changed``/``severity_changed`` read the changes).
EVENT_TRIGGERS: Final[dict[str, str]] = {
    "declared": "incident.triggered",
    "acknowledged": "incident.acknowledged",
    "resolved": "incident.resolved",
    "response_changed": "incident.response_changed",
    "reopened": "incident.reopened",
    "severity_changed": "incident.updated",
    "type_changed": "incident.type_changed",
    "field_changed": "incident.updated",
    "role_assigned": "incident.role_assigned",
    "task_done": "incident.task_closed",
}
TRIGGERS: Final = (*EVENT_TRIGGERS, "timer", "manual")


def trigger_fires(trigger: Mapping[str, Any], event_type: str, changes: Mapping[str, Any]) -> bool:
    """Whether an incident event starts a workflow with this trigger (a timer follows its ``after`` kind)."""
    kind = trigger.get("event")
    if kind == "timer":
        kind = trigger.get("after")
    if kind not in EVENT_TRIGGERS or EVENT_TRIGGERS[kind] != event_type:
        return False
    if kind == "severity_changed":
        return "severity" in changes
    if kind == "field_changed":
        return str(trigger.get("field")) in changes
    if kind == "task_done":
        status = changes.get("status")
        return isinstance(status, Sequence) and len(status) == 2 and status[1] == "done"
    return True


def delay_minutes(trigger: Mapping[str, Any]) -> int:
    return int(trigger.get("minutes") or 0) if trigger.get("event") == "timer" else 0


def check_trigger(trigger: Any) -> dict[str, Any]:
    if not isinstance(trigger, Mapping):
        raise DefinitionError("trigger: must be an object with 'event'")
    _keys(trigger, {"event", "field", "after", "minutes"}, "trigger")
    kind = trigger.get("event")
    if kind not in TRIGGERS:
        raise DefinitionError(f"trigger.event: unknown trigger {kind!r} (use one of {', '.join(TRIGGERS)})")
    out: dict[str, Any] = {"event": kind}
    if kind == "field_changed":
        name = trigger.get("field")
        if not isinstance(name, str) or not name:
            raise DefinitionError("trigger.field: field_changed needs the field it watches")
        if name not in FIELDS and name != "assigned_user_id" and not name.startswith("role:"):
            raise DefinitionError(
                f"trigger.field: unknown field {name!r} (use one of {', '.join(FIELDS)}, assigned_user_id, role:<name>)"
            )
        out["field"] = name
    if kind == "timer":
        after = trigger.get("after")
        if after not in EVENT_TRIGGERS or after in ("field_changed",):
            raise DefinitionError(f"trigger.after: a timer starts after one of {', '.join(EVENT_TRIGGERS)}")
        out["after"] = after
        out["minutes"] = _minutes(trigger.get("minutes"), "trigger.minutes")
    return out


# --- steps ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refs:
    """The names a definition may refer to (loaded by the service): roles, checklists, actions, users, teams,
    schedules, chat channels."""

    roles: frozenset[str] = frozenset()
    checklists: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    schedules: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    policies: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()


Check = Callable[[Mapping[str, Any], str, Refs], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class StepKind:
    keys: frozenset[str]
    check: Check
    # Calls out of the database: the call and its record are two transactions, and a worker may die between.
    external: bool = False
    # Safe to do again after such a death (the receiver recognises the copy); otherwise the step is ambiguous.
    idempotent: bool = True
    waits: bool = False
    # For a kind that calls out only for some targets (``notify`` to a chat channel): whether this step does.
    calls_out: Callable[[Mapping[str, Any]], bool] | None = None
    fields_set: Callable[[Mapping[str, Any]], tuple[str, ...]] = field(default=lambda spec: ())


def external(kind: StepKind, spec: Mapping[str, Any]) -> bool:
    """Whether this step calls out of the database (recorded before the call, its outcome after)."""
    return kind.external or (kind.calls_out is not None and kind.calls_out(spec))


def idempotent(kind: StepKind, spec: Mapping[str, Any]) -> bool:
    """Whether a call that may have been made before its worker died may be made again."""
    return kind.idempotent and not (kind.calls_out is not None and kind.calls_out(spec))


COMMON: Final = frozenset({"kind", "name", "once", "on_error"})


def _keys(spec: Mapping[str, Any], allowed: set[str] | frozenset[str], where: str) -> None:
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise DefinitionError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _text(spec: Mapping[str, Any], key: str, where: str, *, limit: int = 2000, required: bool = True) -> str:
    value = spec.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(f"{where}.{key}: required (text)")
    if len(value) > limit:
        raise DefinitionError(f"{where}.{key}: at most {limit} characters")
    return value


def _minutes(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WAIT_MINUTES:
        raise DefinitionError(f"{where}: a whole number of minutes from 1 to {MAX_WAIT_MINUTES}")
    return value


def _ref(spec: Mapping[str, Any], key: str, known: frozenset[str], what: str, where: str) -> str:
    name = _text(spec, key, where, limit=255)
    if name not in known:
        raise DefinitionError(f"{where}.{key}: no {what} {name!r}")
    return name


def _template(spec: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    text = _text(spec, key, where, limit=20_000, required=required)
    try:
        templates.check(text, f"{where}.{key}", allow=("incident", "run"))
    except templates.TemplateError as exc:
        raise DefinitionError(str(exc)) from None
    return text


def _set_field(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    name = _text(spec, "field", where, limit=64)
    if name not in SETTABLE:
        raise DefinitionError(f"{where}.field: {name!r} cannot be set (settable: {', '.join(SETTABLE)})")
    allowed = SETTABLE[name]
    value = _text(spec, "value", where, limit=1024)
    if allowed is not None and value not in allowed:
        raise DefinitionError(f"{where}.value: {name} takes one of {', '.join(allowed)}")
    return {"field": name, "value": value}


def _assign_role(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    role = _ref(spec, "role", refs.roles, "incident role", where)
    if ("user" in spec) == ("schedule" in spec):
        raise DefinitionError(f"{where}: give either user or schedule (whoever is on call for it)")
    if "user" in spec:
        return {"role": role, "user": _ref(spec, "user", refs.users, "user", where)}
    return {"role": role, "schedule": _ref(spec, "schedule", refs.schedules, "schedule", where)}


def _add_checklist(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    return {"checklist": _ref(spec, "checklist", refs.checklists, "checklist template", where)}


def _notify(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    targets = [k for k in ("user", "team", "role", "channel") if k in spec]
    if len(targets) != 1:
        raise DefinitionError(f"{where}: give one of user, team, role (whoever holds it) or channel (a chat channel)")
    out: dict[str, Any] = {"message": _template(spec, "message", where)}
    target = targets[0]
    known = {"user": refs.users, "team": refs.teams, "role": refs.roles, "channel": refs.channels}[target]
    what = {"user": "user", "team": "team", "role": "incident role", "channel": "chat channel"}[target]
    out[target] = _ref(spec, target, known, what, where)
    return out


def _update(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    return {"message": _template(spec, "message", where)}


def _wait(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    if "until" in spec:
        try:
            compile_conditions(spec["until"], f"{where}.until")
        except RuleError as exc:
            raise DefinitionError(str(exc)) from None
        if not spec["until"]:
            raise DefinitionError(f"{where}.until: at least one condition")
        return {"until": list(spec["until"]), "minutes": _minutes(spec.get("minutes"), f"{where}.minutes")}
    return {"minutes": _minutes(spec.get("minutes"), f"{where}.minutes")}


def _webhook(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    url = _text(spec, "url", where, limit=2000)
    if not url.startswith(("http://", "https://")):
        raise DefinitionError(f"{where}.url: an http or https URL")
    out = {"url": url, "body": _template(spec, "body", where, required=False)}
    if spec.get("secret"):
        out["secret"] = _text(spec, "secret", where, limit=500)
    return out


def _set_type(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    return {"type": _ref(spec, "type", refs.types, "incident type", where)}


def _add_responders(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    targets = [k for k in ("user", "schedule", "policy", "skill") if k in spec]
    if len(targets) != 1:
        raise DefinitionError(f"{where}: give one of user, schedule, policy or skill (someone with it, on call first)")
    target = targets[0]
    out: dict[str, Any] = {"message": _template(spec, "message", where, required=False)}
    if target == "skill":
        out["skill"] = _text(spec, "skill", where, limit=50).strip().lower()
    else:
        known = {"user": refs.users, "schedule": refs.schedules, "policy": refs.policies}[target]
        what = {"user": "user", "schedule": "schedule", "policy": "escalation policy"}[target]
        out[target] = _ref(spec, target, known, what, where)
    return out


def _action(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    return {"action": _ref(spec, "action", refs.actions, "remediation action", where)}


def _open_chat_room(spec: Mapping[str, Any], where: str, refs: Refs) -> dict[str, Any]:
    platform = _text(spec, "platform", where, limit=16)
    if platform not in CHAT_PLATFORMS:
        raise DefinitionError(f"{where}.platform: a chat platform ({', '.join(CHAT_PLATFORMS)})")
    return {"platform": platform}


KINDS: Final[dict[str, StepKind]] = {
    "set_field": StepKind(frozenset({"field", "value"}), _set_field, fields_set=lambda s: (str(s.get("field")),)),
    "assign_role": StepKind(frozenset({"role", "user", "schedule"}), _assign_role),
    "add_checklist": StepKind(frozenset({"checklist"}), _add_checklist),
    "set_type": StepKind(frozenset({"type"}), _set_type, fields_set=lambda s: ("type",)),
    "add_responders": StepKind(frozenset({"user", "schedule", "policy", "skill", "message"}), _add_responders),
    # To a person, a team or a role's holder: a notice in the outbox. To a chat channel: a post, made outside the
    # transaction; a post cut short by a worker's death is ambiguous, never posted twice.
    "notify": StepKind(
        frozenset({"user", "team", "role", "channel", "message"}), _notify, calls_out=lambda s: "channel" in s
    ),
    "stakeholder_update": StepKind(frozenset({"message"}), _update),
    "wait": StepKind(frozenset({"minutes", "until"}), _wait, waits=True),
    # Standard Webhooks: the same webhook-id on a resend, which receivers deduplicate on.
    "webhook": StepKind(frozenset({"url", "body", "secret"}), _webhook, external=True, idempotent=True),
    # An action's effect is unknown after a death mid-call: marked ambiguous, never run twice blindly.
    "action": StepKind(frozenset({"action"}), _action, external=True, idempotent=False),
    # Asks for the room only (a row the chat engine works on): stays in the database, safe to repeat.
    "open_chat_room": StepKind(frozenset({"platform"}), _open_chat_room),
}


def check_step(spec: Any, where: str, refs: Refs) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise DefinitionError(f"{where}: a step is an object with a kind")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise DefinitionError(f"{where}.kind: unknown step kind {kind!r} (use one of {', '.join(KINDS)})")
    entry = KINDS[kind]
    _keys(spec, COMMON | entry.keys, where)
    out = {"kind": kind, **entry.check(spec, where, refs)}
    if spec.get("name") is not None:
        out["name"] = _text(spec, "name", where, limit=200)
    once = spec.get("once", False)
    if not isinstance(once, bool):
        raise DefinitionError(f"{where}.once: true or false")
    on_error = spec.get("on_error", "stop")
    if on_error not in ON_ERROR:
        raise DefinitionError(f"{where}.on_error: continue or stop")
    out["once"], out["on_error"] = once, on_error
    return out


def check_steps(specs: Any, refs: Refs, where: str = "steps") -> list[dict[str, Any]]:
    if not isinstance(specs, Sequence) or isinstance(specs, str) or not specs:
        raise DefinitionError(f"{where}: a list of at least one step")
    if len(specs) > MAX_STEPS:
        raise DefinitionError(f"{where}: at most {MAX_STEPS} steps")
    return [check_step(s, f"{where}.{i}", refs) for i, s in enumerate(specs)]


def check_conditions(specs: Any, where: str = "conditions") -> list[dict[str, Any]]:
    if specs is None:
        return []
    try:
        return [m.to_dict() for m in compile_conditions(specs, where)]
    except RuleError as exc:
        raise DefinitionError(str(exc)) from None


# --- cycles -----------------------------------------------------------------------------------------------------


def watched_fields(trigger: Mapping[str, Any]) -> tuple[str, ...]:
    kind = trigger.get("after") if trigger.get("event") == "timer" else trigger.get("event")
    if kind == "severity_changed":
        return ("severity",)
    if kind == "field_changed":
        return (str(trigger.get("field")),)
    if kind in ("response_changed", "resolved"):
        return ("response_status",)
    return ()


def find_cycle(workflows: Mapping[str, tuple[Mapping[str, Any], Sequence[Mapping[str, Any]]]]) -> list[str] | None:
    """A chain of workflows that start each other for ever (one sets a field the next one's trigger watches, back
    to the first), as the names in order; None when there is none. ``workflows``: name → (trigger, steps)."""
    sets = {
        name: {f for s in steps if s.get("kind") in KINDS for f in KINDS[str(s["kind"])].fields_set(s)}
        for name, (_, steps) in workflows.items()
    }
    watches = {name: set(watched_fields(trigger)) for name, (trigger, _) in workflows.items()}
    edges = {a: sorted(b for b in workflows if sets[a] & watches[b]) for a in workflows}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for name in sorted(workflows):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


# --- planning ---------------------------------------------------------------------------------------------------


def step_key(incident_id: int, source: str, version: int, position: int, run_id: int, *, once: bool) -> str:
    """The idempotency key of a step run: (incident, workflow version, step) and the run; a step marked once
    runs once per incident whatever the run or version."""
    if once:
        return f"{incident_id}.{source}.once.{position}"
    return f"{incident_id}.{source}.v{version}.{position}.r{run_id}"
