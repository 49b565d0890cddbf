"""Escalation use cases: arm a timer when an incident opens, fire due steps, escalate by hand, restart.

The pure planner decides what happens; this module loads what it needs, writes notification rows, the timeline
and the new timer in the caller's transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.numbers import is_ascii_digits
from tocsin.db.claims import Claim
from tocsin.db.session import ESCALATION_WORK, note_new_work
from tocsin.escalation import planner
from tocsin.escalation import repository as repo
from tocsin.escalation.models import Escalation, EscalationPolicy, EscalationStatus, EscalationStep
from tocsin.escalation.snapshot import PolicySnapshot, Step, Target
from tocsin.incidents import repository as incident_repo
from tocsin.incidents import service as incident_service
from tocsin.incidents.hooks import StatusChange
from tocsin.incidents.lifecycle import IncidentStatus
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.incidents.timeline import TimelineKind, timeline_row
from tocsin.notify import paging
from tocsin.notify import service as notify
from tocsin.oncall import repository as oncall_repo
from tocsin.oncall import service as oncall
from tocsin.teams import repository as team_repo
from tocsin.teams import service as teams
from tocsin.users import repository as user_repo
from tocsin.users import service as users

ENGINE = Actor(label="escalation", source="engine")
TARGET_KINDS = ("user", "schedule", "team")


def snapshot_of(policy: EscalationPolicy, steps: Sequence[EscalationStep]) -> PolicySnapshot:
    return _snapshot(policy.id, policy.name, policy.repeat, [(s.targets, s.delay_seconds) for s in steps])


def _snapshot(
    policy_id: int, name: str, repeat: int, steps: Sequence[tuple[Sequence[dict[str, Any]], int]]
) -> PolicySnapshot:
    return PolicySnapshot(
        policy_id=policy_id,
        name=name,
        repeat=repeat,
        steps=tuple(
            Step(
                targets=tuple(Target(kind=t["kind"], ref=str(t["ref"])) for t in targets),
                delay=timedelta(seconds=delay_seconds),
            )
            for targets, delay_seconds in steps
        ),
    )


def arm(session: Session, incidents: Sequence[Incident | incident_repo.OpenedIncident], *, now: datetime) -> None:
    """Freeze each incident's service policy into a snapshot and set its first timer to ``now``.

    Step 0 is left to the engine, which is woken by the commit: this keeps on-call lookups off the ingest path.
    """
    if not incidents:
        return
    # The policies are read as plain rows, which sees no unflushed change (a service given a policy just now).
    session.flush()
    snapshots: dict[int, dict[str, Any]] = {}
    of_service: dict[int, dict[str, Any]] = {}
    for service_id, p in repo.policies_of_services(session, {i.service_id for i in incidents}).items():
        if p.policy_id not in snapshots:
            snapshots[p.policy_id] = _snapshot(p.policy_id, p.name, p.repeat, p.steps).to_dict()
        of_service[service_id] = snapshots[p.policy_id]
    rows: list[dict[str, object]] = []
    for incident in incidents:
        snapshot = of_service.get(incident.service_id)
        if snapshot is None:
            continue
        rows.append(
            {
                "incident_id": incident.id,
                "snapshot": snapshot,
                "status": EscalationStatus.ACTIVE,
                "step_index": 0,
                "cycle": 0,
                "run": 0,
                "next_fire_at": now,
                "fence": 0,
                "updated_at": now,
            }
        )
    repo.add_escalations(session, rows)


class Targets:
    """Who a target means at an instant: a user, whoever is on call in a schedule, or a team's members.

    One instance serves a whole batch of fires: each user, team and (schedule, instant) is looked up once, and
    ``prefetch`` loads many of them with one query per kind. Answers are only valid within one transaction.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._active: dict[int, bool] = {}
        self._deactivated: set[int] | None = None
        self._on_call: dict[tuple[int, datetime], tuple[str, ...]] = {}
        self._members: dict[int, tuple[str, ...]] = {}

    def prefetch(self, targets: Iterable[Target], at: datetime) -> None:
        users: set[int] = set()
        schedules: set[int] = set()
        teams: set[int] = set()
        for t in targets:
            if t.kind == "user":
                users.add(int(t.ref))
            elif t.kind == "schedule":
                schedules.add(int(t.ref))
            elif t.kind == "team":
                teams.add(int(t.ref))
        users -= self._active.keys()
        schedules = {sid for sid in schedules if (sid, at) not in self._on_call}
        if users or (schedules and self._deactivated is None):
            # One statement answers both: which user targets may be paged, and who is absent from schedules.
            active, self._deactivated = user_repo.activity(self._session, users)
            self._active.update((u, u in active) for u in users)
        if schedules:
            on_call = oncall.users_on_call_many(self._session, schedules, at, absent=self._deactivated)
            for sid, who in on_call.items():
                self._on_call[(sid, at)] = who
        teams -= self._members.keys()
        if teams:
            for tid, members in team_repo.active_member_ids(self._session, teams).items():
                self._members[tid] = tuple(str(u) for u in members)

    def __call__(self, target: Target, at: datetime) -> tuple[str, ...]:
        if target.kind not in TARGET_KINDS:
            return ()
        self.prefetch((target,), at)
        ref = int(target.ref)
        if target.kind == "user":
            return (str(ref),) if self._active[ref] else ()
        if target.kind == "schedule":
            return self._on_call[(ref, at)]
        return self._members[ref]


def resolver(session: Session) -> planner.ResolveTargets:
    """Who a target means at an instant (see ``Targets``)."""
    return Targets(session)


def _state(esc: Escalation | repo.EscalationRow) -> planner.EscalationState:
    done = esc.status != EscalationStatus.ACTIVE or esc.next_fire_at is None
    return planner.EscalationState(
        step_index=esc.step_index, cycle=esc.cycle, next_fire_at=None if done else esc.next_fire_at, done=done
    )


@dataclass(frozen=True, slots=True)
class _Fired:
    esc: Escalation | repo.EscalationRow
    incident: Incident | incident_repo.LockedIncident
    state: planner.EscalationState
    actions: list[planner.Action]


def _apply(session: Session, fired: Sequence[_Fired], now: datetime) -> None:
    """Write what the planner decided for each escalation: its pages, its timeline and its next timer. Names,
    rules, notification rows and timeline rows go in one statement each, whatever the number of escalations."""
    paged = [int(u) for f in fired for a in f.actions if isinstance(a, planner.NotifyTargets) for u in a.user_ids]
    names = user_repo.names(session, paged)
    pages = [
        paging.Page(
            incident_id=f.incident.id,
            urgency=f.incident.urgency,
            user_ids=tuple(int(u) for u in a.user_ids),
            step_index=a.step_index,
            cycle=a.cycle,
            run=f.esc.run,
        )
        for f in fired
        for a in f.actions
        if isinstance(a, planner.NotifyTargets)
    ]
    fallbacks = iter(paging.page_all(session, pages, now=now, names=names))
    timeline: list[dict[str, Any]] = []
    for f in fired:
        esc, incident, state = f.esc, f.incident, f.state
        for action in f.actions:
            if isinstance(action, planner.EmptyStep):
                timeline.append(
                    timeline_row(
                        incident.id,
                        TimelineKind.ESCALATION_EMPTY,
                        ENGINE,
                        now,
                        f"Step {action.step_index + 1}: {action.reason}; moving on",
                        step=action.step_index,
                        cycle=action.cycle,
                    )
                )
                continue
            user_ids = [int(u) for u in action.user_ids]
            listed = ", ".join(names.get(u, f"user {u}") for u in user_ids)
            timeline.append(
                timeline_row(
                    incident.id,
                    TimelineKind.ESCALATED,
                    ENGINE,
                    now,
                    f"Step {action.step_index + 1}"
                    + (f" (repeat {action.cycle})" if action.cycle else "")
                    + f": notifying {listed}",
                    step=action.step_index,
                    cycle=action.cycle,
                    users=user_ids,
                )
            )
            timeline.extend(next(fallbacks))
        if state.done and esc.status == EscalationStatus.ACTIVE:
            timeline.append(
                timeline_row(incident.id, TimelineKind.ESCALATION_DONE, ENGINE, now, "Escalation policy finished")
            )
        esc.step_index = state.step_index
        esc.cycle = state.cycle
        esc.next_fire_at = state.next_fire_at
        esc.status = EscalationStatus.DONE if state.done else EscalationStatus.ACTIVE
        esc.lease_owner = None
        esc.lease_until = None
        esc.updated_at = now
    incident_repo.add_timeline(session, timeline)


# Locks the incidents of a batch of escalations (parameter ``ids``).
_LOCK_INCIDENTS = incident_repo.locking(repo.INCIDENT_IDS)


@functools.lru_cache(maxsize=1024)
def _parsed_snapshot(text: str) -> PolicySnapshot:
    """Snapshots are immutable and the escalations of one policy share theirs: each is parsed once."""
    return PolicySnapshot.from_json(text)


def fire_claimed(session: Session, claim: Claim, *, now: datetime) -> bool:
    """Fire a claimed escalation if it is still ours and its incident still pages. Returns whether it ran."""
    return fire_claimed_batch(session, [claim], now=now) > 0


def fire_claimed_batch(session: Session, claims: Sequence[Claim], *, now: datetime) -> int:
    """Fire several claimed escalations in the caller's transaction (one commit for a batch instead of one per
    escalation); each is still checked against its own fence and its incident's status. Returns how many ran.

    Loading is set-wise: the batch's incidents in one statement, its escalations in another, each target once.
    """
    if not claims:
        return 0
    # Incidents before escalations, in the order an acknowledgement takes them (incident, then its escalation):
    # the opposite order deadlocks with an ack of the same incident on PostgreSQL.
    incidents = incident_repo.lock_many(session, _LOCK_INCIDENTS, {"ids": [c.id for c in claims]})
    escalations = repo.lock_claimed_rows(session, claims)
    ran = 0
    due: list[tuple[repo.EscalationRow, incident_repo.LockedIncident, PolicySnapshot]] = []
    for c in claims:
        esc = escalations.get(c.id)
        if esc is None:
            continue  # Another worker took it over after our lease ran out: its run is the valid one.
        ran += 1
        incident = incidents.get(esc.incident_id)
        if incident is None or incident.status != IncidentStatus.TRIGGERED:
            esc.status = EscalationStatus.STOPPED
            esc.next_fire_at = None
            esc.lease_until = None
            esc.updated_at = now
            continue
        due.append((esc, incident, _parsed_snapshot(esc.snapshot)))
    targets = Targets(session)
    # The steps now due, loaded together; a step reached by falling through an empty one is looked up on its own.
    targets.prefetch(
        (t for esc, _, snap in due if esc.step_index < len(snap.steps) for t in snap.steps[esc.step_index].targets),
        now,
    )
    fired = []
    for esc, incident, snapshot in due:
        state, actions = planner.due(snapshot, _state(esc), now, targets)
        fired.append(_Fired(esc, incident, state, actions))
    _apply(session, fired, now)
    repo.save_rows(session, escalations.values())
    return ran


def fire_now(session: Session, incident: Incident, *, actor: Actor, now: datetime) -> None:
    """Fire the pending step at once (the caller has made sure the incident pages)."""
    esc = repo.of_incident(session, incident.id, for_update=True)
    if esc is None:
        raise Conflict("this incident's service has no escalation policy")
    if esc.status != EscalationStatus.ACTIVE:
        esc.status = EscalationStatus.ACTIVE
        esc.next_fire_at = now
    incident_repo.add_timeline(
        session, [timeline_row(incident.id, TimelineKind.ESCALATE_NOW, actor, now, "Escalated by hand")]
    )
    snapshot = PolicySnapshot.from_dict(esc.snapshot)
    try:
        state, actions = planner.escalate_now(snapshot, _state(esc), now, resolver(session))
    except planner.EscalationFinished:
        raise Conflict("the escalation policy has no further step") from None
    esc.fence += 1  # A worker holding a claim on the old timer must not act on it.
    _apply(session, [_Fired(esc, incident, state, actions)], now)


def restart(session: Session, incident: Incident, *, now: datetime) -> None:
    """Start the policy over (a re-triggered incident): a new run, so its pages are new messages."""
    esc = repo.of_incident(session, incident.id, for_update=True)
    if esc is None:
        arm(session, [incident], now=now)
        return
    esc.status = EscalationStatus.ACTIVE
    esc.run += 1
    esc.step_index = 0
    esc.cycle = 0
    esc.next_fire_at = now
    note_new_work(session, ESCALATION_WORK)
    esc.lease_owner = None
    esc.lease_until = None
    esc.fence += 1
    esc.updated_at = now


def _retarget(session: Session, incident: Incident, snapshot: PolicySnapshot, now: datetime) -> None:
    esc = repo.of_incident(session, incident.id, for_update=True)
    if esc is None:
        repo.add_escalations(
            session,
            [
                {
                    "incident_id": incident.id,
                    "snapshot": snapshot.to_dict(),
                    "status": EscalationStatus.STOPPED,
                    "step_index": 0,
                    "cycle": 0,
                    "run": 0,
                    "next_fire_at": None,
                    "fence": 0,
                    "updated_at": now,
                }
            ],
        )
        return
    esc.snapshot = snapshot.to_dict()


def retarget_to_user(session: Session, incident: Incident, user_id: int, *, now: datetime) -> None:
    """From now on the incident pages this one person (the caller restarts the escalation)."""
    snapshot = PolicySnapshot(
        policy_id=None,
        name="direct assignment",
        repeat=0,
        steps=(Step(targets=(Target(kind="user", ref=str(user_id)),), delay=timedelta(0)),),
    )
    _retarget(session, incident, snapshot, now)


def retarget_to_policy(session: Session, incident: Incident, policy_id: int, *, now: datetime) -> str:
    policy = repo.policy(session, policy_id)
    if policy is None:
        raise InvalidInput(f"escalation policy {policy_id} does not exist")
    steps = repo.steps_of(session, [policy.id])[policy.id]
    if not steps:
        raise InvalidInput(f"escalation policy {policy.name!r} has no steps")
    _retarget(session, incident, snapshot_of(policy, steps), now)
    return policy.name


def stop(session: Session, incident_id: int, *, now: datetime) -> None:
    repo.stop(session, incident_id, now)
    notify.cancel_pending_pages(session, incident_id)


def follow_status(session: Session, change: StatusChange) -> None:
    """Paging follows the status (an incident hook): acknowledging or resolving stops it; re-triggering starts the
    policy over, unless the incident is being escalated by hand (``fire_now`` pages its next step)."""
    if change.target in (IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED):
        stop(session, change.incident.id, now=change.now)
    elif not change.escalating_by_hand:
        restart(session, change.incident, now=change.now)


def arm_opened(session: Session, incidents: Sequence[incident_repo.OpenedIncident], now: datetime) -> None:
    """Arm the escalations of incidents just opened (an incident hook, called once per batch)."""
    arm(session, incidents, now=now)


def recover_worker(session: Session, owner: str) -> int:
    """A worker restarting under the same name releases the timers its previous life had claimed, so that they
    fire now rather than when those leases would have run out."""
    return repo.release_claims_of(session, owner)


def rearm_lost(session: Session, *, now: datetime) -> int:
    """The auditor: incidents that should be escalating and have no timer get one, and the timeline says so."""
    fixed = 0
    unarmed = repo.unarmed_incidents(session, silent_types=incident_service.silent_type_ids(session))
    if unarmed:
        arm(session, unarmed, now=now)
        fixed += len(unarmed)
    for esc in repo.stalled(session):
        esc.next_fire_at = now
        esc.updated_at = now
        fixed += 1
    incident_ids = [i.id for i in unarmed]
    incident_repo.add_timeline(
        session,
        [
            timeline_row(
                i,
                TimelineKind.ESCALATION_REARMED,
                Actor("auditor", "engine"),
                now,
                "Escalation timer was missing; re-armed",
            )
            for i in incident_ids
        ],
    )
    return fixed


# --- configuration -------------------------------------------------------------------------------------------


def _validate_targets(session: Session, targets: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    clean: list[dict[str, Any]] = []
    for t in targets:
        kind, ref = t.get("kind"), t.get("ref")
        if kind not in TARGET_KINDS:
            raise InvalidInput(f"target kind must be one of {', '.join(TARGET_KINDS)}")
        try:
            ident = int(str(ref))
        except ValueError:
            raise InvalidInput(f"target ref must be an id, not {ref!r}") from None
        exists: object | None
        if kind == "user":
            exists = user_repo.get(session, ident)
        elif kind == "schedule":
            exists = oncall_repo.schedule(session, ident)
        else:
            exists = team_repo.get(session, ident)
        if exists is None:
            raise InvalidInput(f"{kind} {ident} does not exist")
        clean.append({"kind": kind, "ref": str(ident)})
    if not clean:
        raise InvalidInput("each step needs at least one target")
    return clean


def resolve_targets(session: Session, targets: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Targets named the way people write them (a user's id or email, a schedule's or team's id or name) as the
    ``{"kind", "ref"}`` rows a step stores."""
    resolved: list[dict[str, Any]] = []
    for kind, ref in targets:
        if kind == "user":
            ident = users.get_user(session, ref).id
        elif kind == "schedule":
            ident = oncall.get_schedule(session, ref).id
        elif kind == "team":
            ident = teams.get_team(session, ref).id
        else:
            raise InvalidInput(f"target kind must be one of {', '.join(TARGET_KINDS)}")
        resolved.append({"kind": kind, "ref": ident})
    return resolved


def create_policy(
    session: Session,
    *,
    name: str,
    steps: Sequence[tuple[Sequence[dict[str, Any]], int]],
    now: datetime,
    repeat: int = 0,
    team_id: int | None = None,
    description: str = "",
) -> EscalationPolicy:
    if repo.policy_by_name(session, name.strip()) is not None:
        raise Conflict(f"an escalation policy named {name!r} already exists")
    policy = EscalationPolicy(name=name.strip(), repeat=0, team_id=team_id, description=description, created_at=now)
    session.add(policy)
    session.flush()
    set_steps(session, policy, steps=steps, repeat=repeat)
    return policy


def set_steps(
    session: Session,
    policy: EscalationPolicy,
    *,
    steps: Sequence[tuple[Sequence[dict[str, Any]], int]],
    repeat: int,
) -> None:
    """Replace a policy's steps. Running escalations keep their snapshot; new incidents get the new steps."""
    if not steps:
        raise InvalidInput("an escalation policy needs at least one step")
    if not 0 <= repeat <= 9:
        raise InvalidInput("repeat must be between 0 and 9")
    rows = []
    for position, (targets, delay) in enumerate(steps):
        if delay < 0:
            raise InvalidInput(f"step {position + 1}: delay must not be negative")
        rows.append(
            EscalationStep(
                policy_id=policy.id,
                position=position,
                delay_seconds=delay,
                targets=_validate_targets(session, targets),
            )
        )
    for old in repo.steps_of(session, [policy.id])[policy.id]:
        session.delete(old)
    session.flush()
    session.add_all(rows)
    policy.repeat = repeat
    session.flush()


def get_policy(session: Session, ref: int | str) -> EscalationPolicy:
    policy = repo.policy(session, int(ref)) if is_ascii_digits(str(ref)) else repo.policy_by_name(session, str(ref))
    if policy is None:
        raise NotFound(f"escalation policy {ref} not found")
    return policy


def list_policies(session: Session, *, include_archived: bool = False) -> list[EscalationPolicy]:
    return repo.all_policies(session, include_archived=include_archived)


def steps_of(session: Session, policy: EscalationPolicy) -> list[EscalationStep]:
    return repo.steps_of(session, [policy.id])[policy.id]


def escalation_of(session: Session, incident_id: int) -> Escalation | None:
    return repo.of_incident(session, incident_id)


def first_responders(session: Session, policy: EscalationPolicy, at: datetime) -> tuple[str, ...]:
    """Who the policy's first step would page at ``at`` (the policy's "on call now")."""
    steps = repo.steps_of(session, [policy.id])[policy.id]
    if not steps:
        return ()
    resolve = resolver(session)
    first = snapshot_of(policy, steps[:1]).steps[0]
    return tuple(dict.fromkeys(u for t in first.targets for u in resolve(t, at)))


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return repo.claim(session, now=now, owner=owner, lease=lease, limit=limit)


def next_fire(session: Session) -> datetime | None:
    return repo.next_fire(session)
