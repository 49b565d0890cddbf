"""Every query on playbooks, workflows, their runs and remediation actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.db.claims import Claim, DueRows, lock_if_fenced
from tocsin.db.tables import table_of
from tocsin.workflows.models import (
    ActionRun,
    IncidentPlaybook,
    Playbook,
    RemediationAction,
    Workflow,
    WorkflowChannel,
    WorkflowRun,
    WorkflowStepRun,
)

_RUNS = table_of(WorkflowRun)
RUN_CLAIMS = DueRows(
    _RUNS, due_column=_RUNS.c.due_at, ready=and_(_RUNS.c.status.in_(("pending", "running", "waiting")))
)


def workflows(session: Session, *, enabled_only: bool = False) -> list[Workflow]:
    stmt = select(Workflow).order_by(Workflow.name)
    if enabled_only:
        stmt = stmt.where(Workflow.enabled.is_(True))
    return list(session.scalars(stmt))


def workflow(session: Session, ref: int | str) -> Workflow | None:
    if isinstance(ref, int):
        return session.get(Workflow, ref)
    return session.scalars(select(Workflow).where(Workflow.name == ref)).first()


def playbooks(session: Session) -> list[Playbook]:
    return list(session.scalars(select(Playbook).order_by(Playbook.name)))


def any_playbook(session: Session) -> bool:
    return session.scalars(select(Playbook.id).limit(1)).first() is not None


def playbook(session: Session, ref: int | str) -> Playbook | None:
    if isinstance(ref, int):
        return session.get(Playbook, ref)
    return session.scalars(select(Playbook).where(Playbook.name == ref)).first()


def channels(session: Session) -> list[WorkflowChannel]:
    return list(session.scalars(select(WorkflowChannel).order_by(WorkflowChannel.name)))


def channel_names(session: Session) -> list[str]:
    return list(session.scalars(select(WorkflowChannel.name)))


def channel(session: Session, ref: int | str) -> WorkflowChannel | None:
    if isinstance(ref, int):
        return session.get(WorkflowChannel, ref)
    return session.scalars(select(WorkflowChannel).where(WorkflowChannel.name == ref)).first()


def actions(session: Session) -> list[RemediationAction]:
    return list(session.scalars(select(RemediationAction).order_by(RemediationAction.name)))


def action(session: Session, ref: int | str) -> RemediationAction | None:
    if isinstance(ref, int):
        return session.get(RemediationAction, ref)
    return session.scalars(select(RemediationAction).where(RemediationAction.name == ref)).first()


def incident_playbooks(session: Session, incident_id: int) -> list[IncidentPlaybook]:
    stmt = select(IncidentPlaybook).where(IncidentPlaybook.incident_id == incident_id).order_by(IncidentPlaybook.id)
    return list(session.scalars(stmt))


def labels_of(session: Session, incident_id: int) -> dict[str, Any]:
    """The labels of the incident's alerts, merged (the first alert's value wins)."""
    merged: dict[str, Any] = {}
    for labels in session.scalars(select(Alert.labels).where(Alert.incident_id == incident_id).order_by(Alert.id)):
        for key, value in (labels or {}).items():
            merged.setdefault(key, value)
    return merged


def add(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def run(session: Session, run_id: int) -> WorkflowRun | None:
    return session.get(WorkflowRun, run_id)


def runs_of(session: Session, incident_id: int) -> list[WorkflowRun]:
    stmt = select(WorkflowRun).where(WorkflowRun.incident_id == incident_id).order_by(WorkflowRun.id)
    return list(session.scalars(stmt))


def step_run(session: Session, step_id: int) -> WorkflowStepRun | None:
    return session.get(WorkflowStepRun, step_id)


def step_runs(session: Session, run_ids: Sequence[int]) -> list[WorkflowStepRun]:
    if not run_ids:
        return []
    stmt = (
        select(WorkflowStepRun)
        .where(WorkflowStepRun.run_id.in_(run_ids))
        .order_by(WorkflowStepRun.run_id, WorkflowStepRun.position)
    )
    return list(session.scalars(stmt))


def step_runs_by_keys(session: Session, keys: Sequence[str]) -> dict[str, WorkflowStepRun]:
    if not keys:
        return {}
    stmt = select(WorkflowStepRun).where(WorkflowStepRun.idempotency_key.in_(keys))
    return {x.idempotency_key: x for x in session.scalars(stmt)}


def step_run_by_key(session: Session, key: str) -> WorkflowStepRun | None:
    return session.scalars(select(WorkflowStepRun).where(WorkflowStepRun.idempotency_key == key)).first()


def claim_runs(session: Session, *, now: datetime, owner: str, lease_until: datetime, limit: int) -> list[Claim]:
    return RUN_CLAIMS.claim(session, now=now, owner=owner, lease=lease_until - now, limit=limit)


def lock_run(session: Session, claim: Claim) -> WorkflowRun | None:
    found: WorkflowRun | None = lock_if_fenced(session, WorkflowRun, claim)
    return found


def next_due(session: Session) -> datetime | None:
    return RUN_CLAIMS.next_due(session)


def release_owned(session: Session, owner: str) -> int:
    return RUN_CLAIMS.release_owned(session, owner=owner)


def action_runs_of(session: Session, incident_id: int) -> list[ActionRun]:
    stmt = select(ActionRun).where(ActionRun.incident_id == incident_id).order_by(ActionRun.id)
    return list(session.scalars(stmt))


def action_run(session: Session, run_id: int, *, for_update: bool = False) -> ActionRun | None:
    stmt = select(ActionRun).where(ActionRun.id == run_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def action_run_by_callback(session: Session, digest: str) -> ActionRun | None:
    stmt = select(ActionRun).where(ActionRun.callback_hash == digest).with_for_update()
    return session.scalars(stmt).first()


def action_run_of_step(session: Session, step_run_id: int) -> ActionRun | None:
    return session.scalars(select(ActionRun).where(ActionRun.step_run_id == step_run_id)).first()


def expired_callbacks(session: Session, now: datetime, limit: int) -> list[ActionRun]:
    stmt = (
        select(ActionRun)
        .where(ActionRun.status == "awaiting_callback", ActionRun.callback_until < now)
        .order_by(ActionRun.callback_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def next_callback_deadline(session: Session) -> datetime | None:
    stmt = (
        select(ActionRun.callback_until)
        .where(ActionRun.status == "awaiting_callback", ActionRun.callback_until.is_not(None))
        .order_by(ActionRun.callback_until)
        .limit(1)
    )
    value: datetime | None = session.scalars(stmt).first()
    return value
