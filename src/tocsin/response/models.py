from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType, vocabulary


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


class IncidentTask(Base):
    """One thing to do during an incident: who does it, by when, and who closed it when."""

    __tablename__ = "incident_tasks"
    __table_args__ = (
        Index("ix_incident_tasks_incident", "incident_id", "position"),
        Index("ix_incident_tasks_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(500))
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None]
    status: Mapped[TaskStatus] = mapped_column(vocabulary(TaskStatus, 8), default=TaskStatus.OPEN)
    # The checklist it came from, by name (a template may change or go later; the task stays as it was added).
    checklist: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]
    closed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the assignee was reminded that it is overdue (once per due time).
    reminded_at: Mapped[datetime | None]


class ChecklistTemplate(Base):
    """A named list of task titles added to an incident in one action."""

    __tablename__ = "checklist_templates"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"title": str, "due_minutes": int | None}]
    items: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IncidentRole(Base):
    """A role people hold during an incident (Incident Commander, Scribe …), with what its holder is to do."""

    __tablename__ = "incident_roles"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Sent to whoever is given the role, through their contact methods.
    instructions: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RoleAssignment(Base):
    """Who held a role on an incident, from when until when (``ended_at`` null: holds it now)."""

    __tablename__ = "incident_role_assignments"
    __table_args__ = (Index("ix_role_assignments_incident", "incident_id", "role_id", "ended_at"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    # RESTRICT: a role with history is kept (its holders' history names it).
    role_id: Mapped[int] = mapped_column(ForeignKey("incident_roles.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    assigned_at: Mapped[datetime]
    assigned_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ended_at: Mapped[datetime | None]


class ResponderStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELED = "canceled"


class ResponderVia(StrEnum):
    """How the person was chosen: named, on call in a schedule, a policy's first step, or by a skill."""

    USER = "user"
    SCHEDULE = "schedule"
    POLICY = "policy"
    SKILL = "skill"


class ResponderRequest(Base):
    """A person paged *into* an incident that is already being worked, and their answer.

    Queryable by (incident, user): whoever accepted is a participant of the incident.
    """

    __tablename__ = "responder_requests"
    __table_args__ = (
        Index("ix_responder_requests_incident_user", "incident_id", "user_id"),
        Index("ix_responder_requests_user_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    # RESTRICT: who was asked stays in the incident's history (ADR 0012: deactivate instead).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    via: Mapped[ResponderVia] = mapped_column(vocabulary(ResponderVia, 16), default=ResponderVia.USER)
    # The schedule, policy or skill the person was found through (its name), empty when named directly.
    via_ref: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ResponderStatus] = mapped_column(vocabulary(ResponderStatus, 16), default=ResponderStatus.REQUESTED)
    requested_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    # The channel the answer came through: web, api, cli, link, email, sms, voice, slack, teams.
    answered_via: Mapped[str | None] = mapped_column(String(16))


class UserSkill(Base):
    """A skill a person carries (``postgres``, ``networking``, ``forensics``): a lowercase slug."""

    __tablename__ = "user_skills"
    __table_args__ = (Index("ix_user_skills_skill", "skill"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(50), primary_key=True)


class IncidentType(Base):
    """What kind of incident this is, and what follows from it when one opens (ADR 0021)."""

    __tablename__ = "incident_types"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(8), default="SEV3")
    phase_model: Mapped[str] = mapped_column(String(16), default="default")
    major: Mapped[bool] = mapped_column(default=False)
    # Names of incident roles; each one nobody holds gets an "Assign <role>" task when an incident opens.
    required_roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    private: Mapped[bool] = mapped_column(default=False)
    # The team that may see its private incidents (besides participants and admins).
    private_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    pages: Mapped[bool] = mapped_column(default=True)
    # Stored for the playbooks to come; nothing runs it yet.
    playbook: Mapped[str] = mapped_column(String(200), default="")
    # May contain {number}: the incident's number.
    conference_url: Mapped[str] = mapped_column(String(2000), default="")
    update_cadence_minutes: Mapped[int | None]
    # Names of checklist templates added when an incident of this type opens.
    checklists: Mapped[list[str]] = mapped_column(JSONType, default=list)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
