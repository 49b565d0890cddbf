"""Playbooks (what people follow), workflows (what runs by itself), their durable runs, and remediation actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType
from tocsin.db.encrypted import CapabilityText, EncryptedText


class Playbook(Base):
    """A named procedure: Markdown guidance and ordered steps (manual, or automatic: a workflow step), for the
    incidents its match conditions select. ``version`` goes up on every change; incidents keep theirs."""

    __tablename__ = "playbooks"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    guidance: Mapped[str] = mapped_column(Text, default="")
    # Matchers over the incident field table (response/fields.py): [{"field", "op", "value"}].
    match: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # [{"title": str, "automatic": bool, "step": {workflow step} | None}]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IncidentPlaybook(Base):
    """The version of a playbook an incident started with, frozen (as escalation snapshots are), and the state of
    its manual steps: {"<index>": {"done": bool, "by": user id, "at": iso time}}."""

    __tablename__ = "incident_playbooks"
    __table_args__ = (UniqueConstraint("incident_id", "playbook_name"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    playbook_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ticks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The run executing its automatic steps, if it has any.
    run_id: Mapped[int | None] = mapped_column(BigID)
    created_at: Mapped[datetime]


class Workflow(Base):
    """A trigger, conditions over incident fields, and steps; ``version`` goes up on every change."""

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    # {"event": trigger kind, "field": for field_changed, "minutes": for timers, "after": event kind for timers}
    trigger: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WorkflowRun(Base):
    """One run of a workflow (or of a playbook's automatic steps) on one incident: a durable row the engine claims
    (lease and fence, db/claims.py) whenever ``due_at`` comes."""

    __tablename__ = "workflow_runs"
    __table_args__ = (
        Index("ix_workflow_runs_due", "status", "due_at"),
        Index("ix_workflow_runs_incident", "incident_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    workflow_id: Mapped[int | None] = mapped_column(ForeignKey("workflows.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(220))
    version: Mapped[int]
    trigger: Mapped[str] = mapped_column(String(64))
    # The steps as they were when the run started (a later edit changes later runs only).
    steps: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # pending | running | waiting | done | failed | canceled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    position: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    fence: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class WorkflowStepRun(Base):
    """One step of a run: its state and result. ``idempotency_key`` is unique: (incident, workflow, version,
    step), plus the run unless the step runs once per incident."""

    __tablename__ = "workflow_step_runs"
    __table_args__ = (Index("ix_workflow_step_runs_run", "run_id", "position"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # running | waiting | done | failed | skipped | ambiguous
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class RemediationAction(Base):
    """A named call to automation a team already runs: an HTTP request (or, where enabled, a local command)."""

    __tablename__ = "remediation_actions"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(8), default="http")  # http | script
    method: Mapped[str] = mapped_column(String(8), default="POST")
    # Encrypted at rest: a URL may carry a token.
    url: Mapped[str] = mapped_column(EncryptedText(), default="")
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body_template: Mapped[str] = mapped_column(Text, default="")
    secret: Mapped[str] = mapped_column(EncryptedText(), default="")
    timeout_seconds: Mapped[float] = mapped_column(default=10.0)
    # Minutes a result callback is accepted for; 0: no callback.
    callback_minutes: Mapped[int] = mapped_column(default=0)
    # Roles (viewer, responder, admin … as users.role) allowed to run it by hand; empty: responders and admins.
    allowed_roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    approval: Mapped[bool] = mapped_column(default=False)
    # For kind "script": the argv, the first entry one of the allowlisted commands.
    command: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ActionRun(Base):
    """One run of a remediation action: who or what asked, when, the request and response excerpts, how long it
    took and how it ended."""

    __tablename__ = "action_runs"
    __table_args__ = (Index("ix_action_runs_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("remediation_actions.id", ondelete="SET NULL"))
    action_name: Mapped[str] = mapped_column(String(200))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    step_run_id: Mapped[int | None] = mapped_column(BigID)
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_by: Mapped[str] = mapped_column(String(255), default="")
    approved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # awaiting_approval | running | awaiting_callback | succeeded | failed | ambiguous
    status: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(100), unique=True)
    request_excerpt: Mapped[str] = mapped_column(Text, default="")
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    status_code: Mapped[int | None]
    duration_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    # sha256 of the one-shot callback token; the token itself is only ever in the request sent.
    callback_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    callback_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class WorkflowChannel(Base):
    """A named chat channel workflow steps post to, through a chat provider Tocsin pages through: a Slack channel
    (its id or #name, posted with the bot token) or an incoming webhook (Teams Workflows, Mattermost, Discord)."""

    __tablename__ = "workflow_channels"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(16))
    # A webhook URL is a credential (whoever has it can post): encrypted; a Slack channel id stays readable.
    address: Mapped[str] = mapped_column(CapabilityText())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
