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
