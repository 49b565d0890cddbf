"""Escalation planner: what to do next, from a policy snapshot, the stored state and ``now``.

Pure: no I/O, no clock reads. The caller (the escalation service or the engine) loads the snapshot and the
state row, calls one of the functions below, then in one transaction writes the returned state, one
notification row per user in each ``NotifyTargets``, and a timeline entry per action.

State
    ``EscalationState(step_index, cycle, next_fire_at, done)``. While not done, ``(step_index, cycle)`` is
    the step that fires next, at ``next_fire_at``; the engine claims rows with ``next_fire_at <= now``.
    Once done, ``next_fire_at`` is None and ``(step_index, cycle)`` is the last step that was processed.

Timing (PagerDuty semantics)
    Step 0 fires when the escalation starts. ``steps[i].delay`` is the wait after step i fires before step
    i+1 fires; the last step's delay is the wait before the next cycle's step 0. After the last step of
    the last cycle the escalation is done: its delay is not waited out.

Contract the caller can rely on
    After every call, either ``done`` is true or ``next_fire_at > now``: one call processes everything that
    is due at ``now`` (zero delays and empty steps are chained inside the call), so calling ``due`` again
    with the same ``now`` and the returned state does nothing.

Lateness
    ``due`` fires the pending step once, however late it is called, and schedules the following step
    relative to the actual fire time ``now``, not to the missed due time. A worker that was down for an hour
    therefore pages the step that was due, once, and the policy then runs at its normal pace; it does not
    burst through the steps that would have fired during the outage. The price is that an outage stretches
    the escalation by its own length; paging several levels at the same instant, with the first of them given
    no time to answer, was judged worse.

Empty steps
    A step whose targets resolve to nobody (an empty schedule, a team without members) yields ``EmptyStep``
    and falls through to the next step at once, without waiting its delay. When a full pass of consecutive
    steps resolves to nobody the escalation stops (done) instead of looping: the caller's timeline then shows
    one ``EmptyStep`` per step, which is the signal that the policy reaches no one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tocsin.escalation.snapshot import PolicySnapshot, Step, Target

# Users on call for a target at a given time; for a "user" target usually the user itself (or nobody when
# that user has been disabled). Ids are strings so the planner does not care how users are keyed.
ResolveTargets = Callable[[Target, datetime], tuple[str, ...]]


class EscalationFinished(ValueError):
    """Raised by ``escalate_now`` when there is no further step to escalate to."""


@dataclass(frozen=True, slots=True)
class EscalationState:
    step_index: int
    cycle: int
    next_fire_at: datetime | None
    done: bool

    def __post_init__(self) -> None:
        if self.step_index < 0 or self.cycle < 0:
            raise ValueError("step_index and cycle must be zero or more")
        if self.done != (self.next_fire_at is None):
            raise ValueError("next_fire_at must be set while the escalation runs and None once it is done")
        if self.next_fire_at is not None:
            _require_aware(self.next_fire_at, "next_fire_at")


@dataclass(frozen=True, slots=True)
class NotifyTargets:
    """Page these users for this step. ``targets`` are the step's targets as configured, for the timeline."""

    step_index: int
    cycle: int
    targets: tuple[Target, ...]
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EmptyStep:
    """This step resolved to nobody and was passed over; ``reason`` is meant for the timeline."""

    step_index: int
    cycle: int
    reason: str


Action = NotifyTargets | EmptyStep


def initial_state(now: datetime) -> EscalationState:
    """State of an escalation whose step 0 is due at ``now`` but has not fired yet.

    For a caller that prefers to leave the first page to the engine (keeping on-call lookups off the ingest
    path): store this, and the engine's ``due`` call fires step 0.
    """
    _require_aware(now, "now")
    return EscalationState(step_index=0, cycle=0, next_fire_at=now, done=False)


def start(
    snapshot: PolicySnapshot, now: datetime, resolve_targets: ResolveTargets
) -> tuple[EscalationState, list[Action]]:
    """Start an escalation: step 0 fires at once."""
    return _fire_from(snapshot, 0, 0, now, resolve_targets)


def due(
    snapshot: PolicySnapshot, state: EscalationState, now: datetime, resolve_targets: ResolveTargets
) -> tuple[EscalationState, list[Action]]:
    """Fire the pending step if it is due. Not due yet, or already done: returns ``(state, [])`` unchanged.

    The no-op case is deliberate: it is the stale-run guard for a worker whose claim raced another one, and
    it means nothing ever fires early whatever the caller's polling does.
    """
    _require_aware(now, "now")
    _check_state(snapshot, state)
    if state.done or state.next_fire_at is None or state.next_fire_at > now:
        return state, []
    return _fire_from(snapshot, state.step_index, state.cycle, now, resolve_targets)


def escalate_now(
    snapshot: PolicySnapshot, state: EscalationState, now: datetime, resolve_targets: ResolveTargets
) -> tuple[EscalationState, list[Action]]:
    """Fire the pending step immediately (a responder asked to escalate), then continue from ``now``.

    Raises EscalationFinished when the escalation is done; the caller turns that into a 409-style answer.
    """
    _require_aware(now, "now")
    _check_state(snapshot, state)
    if state.done:
        raise EscalationFinished("the escalation policy has run out of steps")
    return _fire_from(snapshot, state.step_index, state.cycle, now, resolve_targets)


def _fire_from(
    snapshot: PolicySnapshot, step_index: int, cycle: int, now: datetime, resolve: ResolveTargets
) -> tuple[EscalationState, list[Action]]:
    _require_aware(now, "now")
    actions: list[Action] = []
    empty_in_a_row = 0
    # Terminates: every iteration moves one position forward through a finite walk of
    # len(steps) * cycles positions, and the empty-pass guard stops earlier still.
    while True:
        step = snapshot.steps[step_index]
        users = _resolve_step(step, now, resolve)
        if users:
            actions.append(NotifyTargets(step_index, cycle, step.targets, users))
            empty_in_a_row = 0
            wait = step.delay
        else:
            actions.append(EmptyStep(step_index, cycle, _empty_reason(step)))
            empty_in_a_row += 1
            wait = timedelta(0)
        following = _successor(snapshot, step_index, cycle)
        if following is None or empty_in_a_row >= len(snapshot.steps):
            return EscalationState(step_index, cycle, next_fire_at=None, done=True), actions
        step_index, cycle = following
        if wait > timedelta(0):
            return EscalationState(step_index, cycle, next_fire_at=now + wait, done=False), actions


def _successor(snapshot: PolicySnapshot, step_index: int, cycle: int) -> tuple[int, int] | None:
    if step_index + 1 < len(snapshot.steps):
        return step_index + 1, cycle
    if cycle < snapshot.repeat:
        return 0, cycle + 1
    return None


def _resolve_step(step: Step, now: datetime, resolve: ResolveTargets) -> tuple[str, ...]:
    # A user reachable through two targets (on call and also in the team) is paged once per step.
    return tuple(dict.fromkeys(user for target in step.targets for user in resolve(target, now)))


def _empty_reason(step: Step) -> str:
    listed = ", ".join(str(t) for t in step.targets)
    return f"no one to notify: {listed} resolved to no users"


def _check_state(snapshot: PolicySnapshot, state: EscalationState) -> None:
    # A state that does not fit its snapshot means a corrupt row; paging from it would page the wrong step.
    if state.step_index >= len(snapshot.steps) or state.cycle > snapshot.repeat:
        raise ValueError(
            f"state (step {state.step_index}, cycle {state.cycle}) is outside the snapshot "
            f"({len(snapshot.steps)} steps, {snapshot.cycles} cycles)"
        )


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


__all__ = [
    "Action",
    "EmptyStep",
    "EscalationFinished",
    "EscalationState",
    "NotifyTargets",
    "ResolveTargets",
    "due",
    "escalate_now",
    "initial_state",
    "start",
]
