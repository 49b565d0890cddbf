"""Postmortems (one per incident, written in sections that are saved independently), their review meetings,
action items, problems (ITIL) and recurrences, with the rules that say which incidents need a postmortem and the
templates a postmortem starts from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, BigID, JSONType


class PostmortemRule(Base):
    """Incidents of this type (any when null) at or above this severity (any when null) need a postmortem, which
    is created when they are resolved."""

    __tablename__ = "postmortem_rules"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    type_id: Mapped[int | None] = mapped_column(ForeignKey("incident_types.id", ondelete="CASCADE"))
    min_severity: Mapped[str | None] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(100), default="blameless")
    created_at: Mapped[datetime]


class PostmortemTemplate(Base):
    __tablename__ = "postmortem_templates"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"key": "summary", "title": "Summary", "hint": "..."}]
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Postmortem(Base):
    __tablename__ = "postmortems"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    template: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewer_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    approved_by: Mapped[list[int]] = mapped_column(JSONType, default=list)
    require_approval: Mapped[bool] = mapped_column(default=True)
    due_at: Mapped[datetime | None]
    automatic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class PostmortemSection(Base):
    """One section, saved on its own: ``version`` grows with each save, and a save names the version it edits."""

    __tablename__ = "postmortem_sections"
    __table_args__ = (UniqueConstraint("postmortem_id", "key"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortems.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    body: Mapped[str] = mapped_column(Text, default="")
    # Structured content: the five whys ([{"why", "answer"}]) and the curated timeline ([{"entry_id", "at",
    # "message", "note"}]).
    data: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    version: Mapped[int] = mapped_column(default=1)
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]


class SectionRevision(Base):
    __tablename__ = "postmortem_section_revisions"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("postmortem_sections.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime]


class ReviewMeeting(Base):
    __tablename__ = "postmortem_meetings"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortems.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True)
    starts_at: Mapped[datetime]
    minutes: Mapped[int] = mapped_column(default=60)
    location: Mapped[str] = mapped_column(String(2000), default="")
    participant_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    attended_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    decisions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class MeetingInvite(Base):
    """One invitation to one address: pending until the engine mails it (claimed once, like stakeholder mail)."""

    __tablename__ = "postmortem_invites"
    __table_args__ = (UniqueConstraint("meeting_id", "address"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("postmortem_meetings.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Problem(Base):
    __tablename__ = "problems"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    workaround: Mapped[str] = mapped_column(Text, default="")
    # The match rule of a known error: one of these services and, when set, the pattern in the title or a label.
    service_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    pattern: Mapped[str] = mapped_column(String(200), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class ProblemIncident(Base):
    __tablename__ = "problem_incidents"

    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime]


class ActionItem(Base):
    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    success_criterion: Mapped[str] = mapped_column(Text, default="")
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    due_at: Mapped[datetime | None]
    priority: Mapped[str] = mapped_column(String(8), default="medium")
    kind: Mapped[str] = mapped_column(String(16), default="prevent")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class Recurrence(Base):
    """``incident_id`` recurred ``earlier_incident_id``: the earlier one's action items were all done."""

    __tablename__ = "incident_recurrences"
    __table_args__ = (UniqueConstraint("incident_id", "earlier_incident_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    earlier_incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
