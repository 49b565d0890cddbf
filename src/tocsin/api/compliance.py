"""Regulatory reporting clocks (ADR 0032): /api/v1/regimes (admins edit), /api/v1/clocks (every running clock the
caller may see), and on an incident its classification, clocks, submissions (with an attachment) and report
draft."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.compliance import drafts, regimes
from tocsin.compliance import service as compliance
from tocsin.compliance.clocks import Clock
from tocsin.compliance.models import Submission
from tocsin.core.errors import InvalidInput, PayloadTooLarge

router = APIRouter(prefix="/api/v1", tags=["compliance"], responses=PROBLEM_RESPONSES)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: str = Field(max_length=32, description="PT4H, P1M, P4BD (business days) …", examples=["PT4H"])
    anchor: str = Field(
        max_length=80,
        description="detection, awareness, classification, determination, or submission:<deadline key>",
        examples=["classification"],
    )


class DeadlineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=64, examples=["initial"])
    title: str = Field(default="", max_length=200)
    rules: list[RuleIn] = Field(max_length=5, description="the earliest wins")


class HeadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=300)
    fill: str = Field(default="", max_length=16, description="summary, times, impact, services, actions, contact")


class RegimeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    timezone: str = Field(default="UTC", max_length=64)
    holidays: list[str] = Field(default_factory=list, max_length=1000, description="YYYY-MM-DD")
    deadlines: list[DeadlineIn] = Field(min_length=1, max_length=20)
    reminders: list[str] = Field(default_factory=lambda: ["50%", "PT1H", "overdue"], max_length=10)
    contacts: list[str] = Field(default_factory=list, max_length=500, description="user ids or emails")
    contact_teams: list[str] = Field(default_factory=list, max_length=100, description="team ids or names")
    headings: list[HeadingIn] = Field(default_factory=list, max_length=50)
    enabled: bool = True

    def spec(self, key: str) -> regimes.RegimeSpec:
        data = self.model_dump()
        return regimes.RegimeSpec(key=key, **data)


class RegimeOut(BaseModel):
    id: int
    key: str
    name: str
    description: str
    timezone: str
    holidays: list[str]
    deadlines: list[dict[str, Any]]
    reminders: list[str]
    contacts: list[str]
    contact_teams: list[str]
    headings: list[dict[str, Any]]
    enabled: bool


class ClassifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regime: str = Field(max_length=64, examples=["gdpr-33"])
    awareness_at: datetime | None = Field(default=None, description="omitted: now")
    classified_at: datetime | None = Field(default=None, description="omitted: now")
    determined_at: datetime | None = Field(default=None, description="omitted: now")
    detected_at: datetime | None = Field(default=None, description="omitted: the incident's detection, else opening")
    note: str = Field(default="", max_length=20_000)


class ClockOut(BaseModel):
    key: str
    title: str
    due_at: datetime | None
    started_at: datetime | None
    anchor: str
    status: Literal["waiting", "running", "overdue", "met", "late"]
    submitted_at: datetime | None
    seconds_left: float | None

    @classmethod
    def of(cls, c: Clock, now: datetime) -> ClockOut:
        return cls(
            key=c.key,
            title=c.title,
            due_at=c.due_at,
            started_at=c.started_at,
            anchor=c.anchor,
            status=c.status,
            submitted_at=c.submitted_at,
            seconds_left=c.remaining(now) if c.status in ("running", "overdue") else None,
        )


class SubmissionOut(BaseModel):
    id: int
    deadline: str
    submitted_at: datetime
    summary: str
    reference: str
    due_at: datetime | None
    late: bool
    late_reason: str
    submitted_by: str
    attachment_name: str
    attachment_size: int

    @classmethod
    def of(cls, s: Submission) -> SubmissionOut:
        return cls(
            id=s.id,
            deadline=s.deadline_key,
            submitted_at=s.submitted_at,
            summary=s.summary,
            reference=s.reference,
            due_at=s.due_at,
            late=s.late,
            late_reason=s.late_reason,
            submitted_by=s.submitted_by,
            attachment_name=s.attachment_name,
            attachment_size=s.attachment_size,
        )


class ClockSetOut(BaseModel):
    incident: int
    incident_title: str
    regime: str
    regime_name: str
    awareness_at: datetime | None
    classified_at: datetime | None
    determined_at: datetime | None
    detected_at: datetime
    classified_by: str
    completed_at: datetime | None
    clocks: list[ClockOut]
    submissions: list[SubmissionOut]

    @classmethod
    def of(cls, s: compliance.ClockSet, now: datetime) -> ClockSetOut:
        c = s.classification
        return cls(
            incident=s.incident.number,
            incident_title=s.incident.title,
            regime=s.regime.key,
            regime_name=s.regime.name,
            awareness_at=c.awareness_at,
            classified_at=c.classified_at,
            determined_at=c.determined_at,
            detected_at=c.detected_at,
            classified_by=c.classified_by,
            completed_at=c.completed_at,
            clocks=[ClockOut.of(k, now) for k in s.clocks],
            submissions=[SubmissionOut.of(x) for x in s.submissions],
        )


def _regime_out(session: Any, row: Any) -> RegimeOut:
    return RegimeOut(id=row.id, **compliance.as_spec(session, row))


@router.get("/regimes", response_model=list[RegimeOut], summary="Regulatory regimes and their deadlines")
def list_regimes(runtime: RuntimeDep, _: PrincipalDep) -> list[RegimeOut]:
    with runtime.db.reader() as session:
        return [_regime_out(session, r) for r in compliance.list_regimes(session)]


@router.get("/regimes/{key}", response_model=RegimeOut, summary="A regulatory regime")
def get_regime(key: str, runtime: RuntimeDep, _: PrincipalDep) -> RegimeOut:
    with runtime.db.reader() as session:
        return _regime_out(session, compliance.get_regime(session, key))


@router.put("/regimes/{key}", response_model=RegimeOut, summary="Create or replace a regulatory regime")
def put_regime(key: str, body: RegimeIn, runtime: RuntimeDep, _: AdminDep) -> RegimeOut:
    with runtime.db.unit_of_work() as session:
        row = compliance.save_regime(session, body.spec(key), now=runtime.clock.now())
        return _regime_out(session, row)


@router.get("/clocks", response_model=list[ClockSetOut], summary="Every running regulatory clock you may see")
def list_clocks(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    regime: Annotated[str | None, Query(max_length=64)] = None,
) -> list[ClockSetOut]:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        sets = compliance.running_clocks(
            session, principal.viewer(session), see_all=runtime.settings.teams_see_all, now=now, regime=regime
        )
        return [ClockSetOut.of(s, now) for s in sets]


@router.get("/incidents/{ref}/clocks", response_model=list[ClockSetOut], summary="An incident's regulatory clocks")
def incident_clocks(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[ClockSetOut]:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return [ClockSetOut.of(s, now) for s in compliance.clocks_of(session, incident, now=now)]


@router.post(
    "/incidents/{ref}/clocks",
    response_model=ClockSetOut,
    status_code=status.HTTP_201_CREATED,
    summary="Classify the incident under a regime: its reporting clocks start",
)
def classify(ref: str, body: ClassifyIn, runtime: RuntimeDep, principal: ResponderDep) -> ClockSetOut:
    now = runtime.clock.now()
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = compliance.classify(
            session,
            incident,
            body.regime,
            awareness_at=body.awareness_at,
            classified_at=body.classified_at,
            determined_at=body.determined_at,
            detected_at=body.detected_at,
            note=body.note,
            actor=principal.actor(),
            now=now,
        )
        found = next(s for s in compliance.clocks_of(session, incident, now=now) if s.classification.id == row.id)
        out = ClockSetOut.of(found, now)
    runtime.wakeup.notify()
    return out


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, examples=["initial-notification.pdf"])
    content_type: str = Field(default="application/octet-stream", max_length=100)
    data: str = Field(
        min_length=1,
        max_length=(compliance.ATTACHMENT_LIMIT * 4) // 3 + 4,
        description=f"the file, base64; at most {compliance.ATTACHMENT_LIMIT} bytes once decoded",
    )

    def file(self) -> compliance.Attachment:
        try:
            data = base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("attachment.data: not base64") from None
        if len(data) > compliance.ATTACHMENT_LIMIT:
            raise PayloadTooLarge(f"attachment: at most {compliance.ATTACHMENT_LIMIT} bytes")
        return compliance.Attachment(name=self.name, content_type=self.content_type, data=data)


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: str = Field(max_length=64, description="the deadline's key", examples=["notification"])
    summary: str = Field(min_length=1, max_length=20_000, description="what was sent", examples=["Notified"])
    reference: str = Field(default="", max_length=200, description="the regulator's reference")
    submitted_at: datetime | None = Field(default=None, description="omitted: now")
    late_reason: str = Field(default="", max_length=20_000, description="required when past the deadline")
    attachment: AttachmentIn | None = None


@router.post(
    "/incidents/{ref}/clocks/{regime}/submissions",
    response_model=SubmissionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a submission to the regulator (late ones with their reason); it may start the next deadline",
)
def submit(ref: str, regime: str, body: SubmissionIn, runtime: RuntimeDep, principal: ResponderDep) -> SubmissionOut:
    file = body.attachment.file() if body.attachment is not None else None
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        require_act_on_incident(session, principal, incident)
        row = compliance.submit(
            session,
            incident,
            regime,
            body.deadline,
            summary=body.summary,
            reference=body.reference,
            submitted_at=body.submitted_at,
            late_reason=body.late_reason,
            attachment=file,
            actor=principal.actor(),
            now=runtime.clock.now(),
        )
        return SubmissionOut.of(row)


@router.get(
    "/incidents/{ref}/submissions/{submission_id}/attachment",
    summary="The file attached to a submission",
    response_class=Response,
)
def attachment(ref: str, submission_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        row = compliance.get_submission(session, incident, submission_id)
        if row.attachment is None:
            return Response(status_code=status.HTTP_404_NOT_FOUND)
        safe = "".join(ch for ch in row.attachment_name if ch.isalnum() or ch in "._- ") or "attachment"
        return Response(
            content=row.attachment,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{safe}"', "X-Content-Type-Options": "nosniff"},
        )


@router.get(
    "/incidents/{ref}/clocks/{regime}/draft",
    summary="A report draft pre-filled from the incident, under the regime's headings (JSON or Markdown)",
    response_model=None,
)
def draft(
    ref: str,
    regime: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    format: Annotated[Literal["json", "markdown"], Query()] = "json",
) -> Any:
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        made = compliance.draft_of(session, incident, regime, now=now)
    if format == "markdown":
        return Response(content=drafts.as_markdown(made), media_type="text/markdown; charset=utf-8")
    return drafts.as_json(made)
