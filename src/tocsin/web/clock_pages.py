"""Regulatory clocks in the console (ADR 0032): the incident page's Regulatory clocks card (classify, record a
submission, open the printable draft; its forms post here and redirect back), the compliance view of every running
clock at /compliance, and the printable report draft."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from tocsin.compliance import service as compliance
from tocsin.core.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.incidents.models import Incident
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_responder, require_user, runtime_of
from tocsin.web.forms import text
from tocsin.web.scope import require_act_on_incident, visible_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def incident_context(session: Session, incident: Incident, who: WebUser, now: datetime) -> dict[str, Any]:
    """The incident page's Regulatory clocks card: the clocks running, the regimes one may classify under."""
    return {
        "clock_sets": compliance.clocks_of(session, incident, now=now),
        "clock_regimes": [(r.key, r.name) for r in compliance.list_regimes(session) if r.enabled],
    }


def _back(number: int, **params: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{number}?{urlencode(params)}#clocks", status_code=303)


def _moment(form: PostedForm, name: str) -> datetime | None:
    """A datetime-local field, read as UTC (the console shows every time in UTC)."""
    raw = text(form, name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not a date and time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _act(request: Request, number: int, form: PostedForm, work: Any) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            try:
                incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            except NotFound:
                return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
            require_act_on_incident(session, who, incident)
            notice = work(session, incident, who, runtime.clock.now())
    except Forbidden as exc:
        raise PageError(403, exc.detail) from None
    except TocsinError as exc:
        return _back(number, error=exc.detail)
    runtime.wakeup.notify()
    return _back(number, notice=notice)


@router.post("/incidents/{number}/clocks")
def classify(number: int, request: Request, form: PostedForm) -> Response:
    def work(session: Session, incident: Incident, who: WebUser, now: datetime) -> str:
        row = compliance.classify(
            session,
            incident,
            text(form, "regime"),
            awareness_at=_moment(form, "awareness_at"),
            classified_at=_moment(form, "classified_at"),
            determined_at=_moment(form, "determined_at"),
            detected_at=_moment(form, "detected_at"),
            note=text(form, "note"),
            actor=who.actor(),
            now=now,
        )
        return f"Classified: the clocks of {compliance.get_regime(session, row.regime_id).name} run"

    return _act(request, number, form, work)


@router.post("/incidents/{number}/clocks/{regime}/submissions")
def submit(number: int, regime: str, request: Request, form: PostedForm) -> Response:
    upload = form.get("attachment")
    file = None
    if isinstance(upload, UploadFile):
        # Closed here: the spooled file of a form read by hand is not closed by the framework.
        with upload.file:
            if upload.filename:
                data = upload.file.read(compliance.ATTACHMENT_LIMIT + 1)
                file = compliance.Attachment(
                    name=upload.filename, content_type=upload.content_type or "application/octet-stream", data=data
                )
    return _submit(number, regime, request, form, file)


def _submit(
    number: int, regime: str, request: Request, form: PostedForm, file: compliance.Attachment | None
) -> Response:
    def work(session: Session, incident: Incident, who: WebUser, now: datetime) -> str:
        row = compliance.submit(
            session,
            incident,
            regime,
            text(form, "deadline"),
            summary=text(form, "summary"),
            reference=text(form, "reference"),
            submitted_at=_moment(form, "submitted_at"),
            late_reason=text(form, "late_reason"),
            attachment=file,
            actor=who.actor(),
            now=now,
        )
        return "Submission recorded" + (" (late)" if row.late else "")

    return _act(request, number, form, work)


@router.get("/incidents/{number}/clocks/{regime}/draft", response_class=HTMLResponse)
def draft_page(number: int, regime: str, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            made = compliance.draft_of(session, incident, regime, now=runtime.clock.now())
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"A report draft of incident #{number}")
    return render("web/clock_draft.html", 200, who=who, draft=made, number=number)


@router.get("/compliance", response_class=HTMLResponse)
def compliance_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    with runtime.db.reader() as session:
        sets = compliance.running_clocks(session, who.viewer(session), see_all=runtime.settings.teams_see_all, now=now)
    return render(
        "web/compliance.html",
        200,
        who=who,
        section="compliance",
        sets=sets,
        now=now,
        counts=compliance.summary(sets, now),
    )
