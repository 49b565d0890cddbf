"""The service desk in the console: the report form (signed in, and public through a service's link), the service
requests list and page, the incident page's desk card and the service page's desk settings (ADR 0024)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tocsin.access import policy as access_policy
from tocsin.access import service as access
from tocsin.core.errors import InvalidInput, NotFound, TocsinError
from tocsin.desk import flow
from tocsin.desk import service as desk
from tocsin.desk.flow import DeskMode, ReportKind, RequestStatus
from tocsin.desk.models import ServiceRequest
from tocsin.incidents.models import Incident
from tocsin.incidents.priority import URGENCIES
from tocsin.incidents.schemas import Actor
from tocsin.integrations.ratelimit import KeyedRateLimiter, retry_after_header
from tocsin.services import service as services
from tocsin.users import service as users
from tocsin.web.auth import PageError, PostedForm, WebUser, check_csrf, require_admin, require_user, runtime_of
from tocsin.web.auth_pages import client_address
from tocsin.web.forms import FormInvalid, invalid, text, values_of
from tocsin.web.scope import sees, visible_incident
from tocsin.web.templating import render

router = APIRouter()
FIELDS = ("service_id", "summary", "symptoms", "impact", "urgency", "kind", "name", "email")
IMPACTS = (("high", "High: many people or a whole service"), ("medium", "Medium: some people"), ("low", "Low: just me"))
KINDS = ((ReportKind.BROKEN.value, "Something is broken"), (ReportKind.NEED.value, "I need something"))
PUBLIC_COOKIE = "tocsin_report"


# --- the report form -------------------------------------------------------------------------------------------


def _report_form(
    request: Request, who: WebUser | None, status: int = 200, *, public: Any = None, **context: Any
) -> Response:
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        if public is None:
            assert who is not None
            viewer = who.viewer(session)
            see_all = runtime.settings.teams_see_all
            visible = desk.visible_service_ids(session, viewer, see_all=see_all)
            options = [(s.id, s.name) for s in services.list_services(session) if visible is None or s.id in visible]
        else:
            options = []
    values = {"impact": "medium", "urgency": "low", **context.pop("values", {})}
    return render(
        "web/report.html",
        status,
        who=who,
        section="report",
        services=options,
        impacts=IMPACTS,
        urgencies=[(u, u) for u in URGENCIES],
        kinds=KINDS,
        public=public,
        values=values,
        errors=context.pop("errors", {}),
        **context,
    )


def _spec(form: FormData, service_id: int, *, public: bool) -> desk.NewReport:
    kind = text(form, "kind")
    impact, urgency = text(form, "impact") or "medium", text(form, "urgency") or "low"
    errors: dict[str, str] = {}
    if kind and kind not in {k for k, _ in KINDS}:
        errors["kind"] = "choose: something is broken, or I need something"
    if impact not in {i for i, _ in IMPACTS}:
        errors["impact"] = "choose high, medium or low"
    if urgency not in URGENCIES:
        errors["urgency"] = "choose high or low"
    if not text(form, "summary"):
        errors["summary"] = "say in a line what is wrong or what you need"
    if public:
        if not text(form, "name"):
            errors["name"] = "your name is required"
        if not text(form, "email"):
            errors["email"] = "your email is required"
    if errors:
        raise FormInvalid(422, "; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
    return desk.NewReport(
        service_id=service_id,
        summary=text(form, "summary"),
        symptoms=text(form, "symptoms"),
        impact=impact,
        urgency=urgency,
        choice=ReportKind(kind) if kind else None,
        reporter_name=text(form, "name"),
        reporter_email=text(form, "email"),
    )


def _filed_notice(filed: desk.Filed) -> str:
    if filed.incident is not None:
        return f"Thank you: reported as incident #{filed.incident.number}; the team is on it"
    assert filed.request is not None
    return f"Thank you: your request is {desk.request_ref(filed.request.number)}"


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request) -> Response:
    who = require_user(request)
    chosen = request.query_params.get("service", "")[:20]
    return _report_form(
        request, who, values={"service_id": chosen}, notice=request.query_params.get("notice", "")[:200]
    )


@router.post("/report")
def report(request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        raw = text(form, "service_id")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 15:
            raise FormInvalid(422, "service_id: choose a service", {"service_id": "choose a service"})
        spec = _spec(form, int(raw), public=False)
        with runtime.db.unit_of_work() as session:
            desk.require_sees_service(
                session, who.viewer(session), spec.service_id, see_all=runtime.settings.teams_see_all
            )
            filed = desk.file_report(session, spec, actor=who.actor(), now=runtime.clock.now())
            notice = _filed_notice(filed)
    except (TocsinError, FormInvalid) as exc:
        bad = invalid(exc, FIELDS)
        return _report_form(request, who, bad.status, values=values_of(form), errors=bad.errors, error=bad.message)
    runtime.wakeup.notify()
    return RedirectResponse(f"/report?{urlencode({'notice': notice})}", status_code=303)


# --- the public report link ------------------------------------------------------------------------------------


def _limiter(request: Request) -> KeyedRateLimiter:
    state = request.app.state
    limiter: KeyedRateLimiter | None = getattr(state, "desk_report_limiter", None)
    if limiter is None:
        settings = runtime_of(request).settings
        limiter = KeyedRateLimiter(settings.desk_public_reports_per_minute / 60.0, settings.desk_public_report_burst)
        state.desk_report_limiter = limiter
    return limiter


def _public_csrf(request: Request, nonce: str) -> str:
    return hmac.new(runtime_of(request).link_secret(), b"public-report:" + nonce.encode(), hashlib.sha256).hexdigest()


def _public_service(request: Request, token: str) -> tuple[int, str]:
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            service = desk.service_of_public_token(session, token)
        except NotFound:
            raise PageError(404, "This report link does not exist, or no longer works.") from None
        return service.id, service.name


async def _bounded_form(request: Request) -> FormData:
    """The public form's body, refused (413) past its own small limit before it is parsed."""
    limit = runtime_of(request).settings.desk_public_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PageError(413, f"This report is too large (the limit is {limit:,} bytes).")
    body = await request.body()
    if len(body) > limit:
        raise PageError(413, f"This report is too large (the limit is {limit:,} bytes).")
    return await request.form()


BoundedForm = Annotated[FormData, Depends(_bounded_form)]


def _public_page(request: Request, token: str, status: int = 200, **context: Any) -> Response:
    service_id, name = _public_service(request, token)
    nonce = request.cookies.get(PUBLIC_COOKIE) or ""
    fresh = not (nonce and len(nonce) < 100)
    if fresh:
        nonce = secrets.token_urlsafe(18)
    public = {"token": token, "service": name, "csrf": _public_csrf(request, nonce)}
    response = _report_form(request, None, status, public=public, **context)
    if fresh:
        secure = request.url.scheme == "https" or runtime_of(request).settings.base_url.startswith("https://")
        response.set_cookie(
            PUBLIC_COOKIE, nonce, httponly=True, samesite="strict", secure=secure, path="/report/s/", max_age=86400
        )
    del service_id
    return response


@router.get("/report/s/{token}", response_class=HTMLResponse)
def public_report_form(token: str, request: Request) -> Response:
    return _public_page(request, token, notice=request.query_params.get("notice", "")[:200])


@router.post("/report/s/{token}")
def public_report(token: str, request: Request, form: BoundedForm) -> Response:
    runtime = runtime_of(request)
    service_id, _ = _public_service(request, token)
    wait = _limiter(request).acquire(client_address(request))
    if wait > 0:
        return _too_many(request, wait)
    nonce = request.cookies.get(PUBLIC_COOKIE) or ""
    field = form.get("csrf")
    presented = field if isinstance(field, str) else ""
    if not nonce or not hmac.compare_digest(_public_csrf(request, nonce), presented):
        raise PageError(403, "This form expired or came from another site. Reload the page and try again.")
    try:
        spec = _spec(form, service_id, public=True)
        name = spec.reporter_name[:200]
        actor = Actor(label=f"{name} (public report)", source="web")
        with runtime.db.unit_of_work() as session:
            filed = desk.file_report(session, spec, actor=actor, now=runtime.clock.now(), public=True)
            notice = _filed_notice(filed)
    except (TocsinError, FormInvalid) as exc:
        bad = invalid(exc, FIELDS)
        return _public_page(request, token, bad.status, values=values_of(form), errors=bad.errors, error=bad.message)
    runtime.wakeup.notify()
    return RedirectResponse(f"/report/s/{token}?{urlencode({'notice': notice})}", status_code=303)


def _too_many(request: Request, wait: float) -> Response:
    response = render(
        "web/error.html", 429, who=None, message="Too many reports from your address. Please try again in a minute."
    )
    response.headers["Retry-After"] = retry_after_header(wait)
    return response


# --- service requests ------------------------------------------------------------------------------------------


def _visible_request(session: Session, request: Request, who: WebUser, number: int) -> ServiceRequest:
    found = desk.get_request(session, number)
    desk.require_sees(session, who.viewer(session), found, see_all=runtime_of(request).settings.teams_see_all)
    return found


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    wanted = request.query_params.get("status", "open")
    if wanted == "open":
        statuses: tuple[RequestStatus, ...] = flow.OPEN
    elif wanted == "all":
        statuses = ()
    else:
        try:
            statuses = (flow.parse_status(wanted),)
        except InvalidInput:
            statuses, wanted = flow.OPEN, "open"
    with runtime.db.reader() as session:
        viewer = who.viewer(session)
        visible = desk.visible_service_ids(session, viewer, see_all=runtime.settings.teams_see_all)
        rows = desk.list_requests(
            session, statuses=statuses, service_ids=visible, requester_user_id=who.user.id, limit=200
        )
        names = {s.id: s.name for s in services.list_services(session, include_archived=True)}
        people = users.names_of(session, [r.assignee_user_id for r in rows if r.assignee_user_id])
    filters = [("open", "Open"), ("all", "All"), *[(s.value, s.value.replace("_", " ")) for s in RequestStatus]]
    return render(
        "web/requests.html",
        who=who,
        section="requests",
        rows=rows,
        service_names=names,
        people=people,
        filters=filters,
        wanted=wanted,
        ref=desk.request_ref,
    )


@router.get("/requests/{number}", response_class=HTMLResponse)
def request_page(number: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            row = _visible_request(session, request, who, number)
        except (NotFound, InvalidInput):
            return render("web/not_found.html", 404, who=who, what=f"Request REQ-{number}")
        service = services.get_service(session, row.service_id)
        linked = desk.incident_numbers(session, [i for i in (row.incident_id, row.from_incident_id) if i is not None])
        can_act = who.can_act and access_policy.can_act(who.viewer(session), [service.team_id])
        context: dict[str, Any] = {
            "row": row,
            "ref": desk.request_ref(row.number),
            "service": service,
            "entries": desk.timeline(session, row),
            "assignee": users.names_of(session, [row.assignee_user_id])[row.assignee_user_id]
            if row.assignee_user_id
            else None,
            "incident_number": linked.get(row.incident_id) if row.incident_id else None,
            "from_incident_number": linked.get(row.from_incident_id) if row.from_incident_id else None,
            "targets": [t for (c, t) in sorted(flow.ALLOWED) if c == row.status],
            "is_open": row.status in flow.OPEN,
            "can_act": can_act,
            "users": [u for u in users.list_users(session) if u.deactivated_at is None] if can_act else [],
        }
    return render(
        "web/request.html",
        who=who,
        section="requests",
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
        **context,
    )


@router.post("/requests/{number}")
def request_action(number: int, request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    action = text(form, "action")
    now, actor = runtime.clock.now(), who.actor()
    target = f"/requests/{number}"
    try:
        with runtime.db.unit_of_work() as session:
            row = desk.get_request(session, number, for_update=True)
            desk.require_acts(session, who.viewer(session), row, see_all=runtime.settings.teams_see_all)
            if action == "move":
                desk.move(
                    session,
                    number,
                    flow.parse_status(text(form, "status")),
                    actor=actor,
                    now=now,
                    message=text(form, "message"),
                )
                notice = "Moved"
            elif action == "assign":
                desk.update_request(session, number, assignee=text(form, "assignee") or None, actor=actor, now=now)
                notice = "Assigned"
            elif action == "page":
                paged = desk.page_on_call(session, number, actor=actor, now=now, message=text(form, "message"))
                notice = f"Paged {len(paged)} on call"
            elif action == "convert":
                incident = desk.convert_to_incident(session, number, actor=actor, now=now)
                notice = f"Converted into incident #{incident.number}"
                target = f"/incidents/{incident.number}"
            else:
                raise InvalidInput(f"unknown action {action[:40]!r}")
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Request REQ-{number}")
    except TocsinError as exc:
        if exc.status_code == 403:
            raise PageError(403, exc.detail) from None
        return RedirectResponse(f"/requests/{number}?{urlencode({'error': exc.detail[:300]})}", status_code=303)
    runtime.wakeup.notify()
    return RedirectResponse(f"{target}?{urlencode({'notice': notice})}", status_code=303)


# --- the incident page's card ----------------------------------------------------------------------------------


def incident_card(session: Session, incident: Incident) -> dict[str, Any]:
    """What the incident page's desk card shows: the request it came from or became, and the reporter."""
    links = desk.links_of_incident(session, incident.id)
    return {
        "desk": links,
        "desk_ref": desk.request_ref,
        "desk_convertible": links.became is None and incident.response_status in desk.CONVERTIBLE_INCIDENT,
    }


@router.post("/incidents/{number}/desk")
def incident_to_request(number: int, request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    try:
        with runtime.db.unit_of_work() as session:
            incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
            service = services.get_service(session, incident.service_id)
            access.require_act(
                session, who.viewer(session), [service.team_id], f"incidents of service {service.name!r}"
            )
            row = desk.incident_to_request(
                session, incident.id, actor=who.actor(), now=runtime.clock.now(), message=text(form, "message")
            )
            ref = desk.request_ref(row.number)
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
    except TocsinError as exc:
        if exc.status_code == 403:
            raise PageError(403, exc.detail) from None
        return RedirectResponse(f"/incidents/{number}?{urlencode({'error': exc.detail[:300]})}", status_code=303)
    runtime.wakeup.notify()
    return RedirectResponse(f"/requests/{row.number}?{urlencode({'notice': f'Converted into {ref}'})}", status_code=303)


# --- the service page's desk settings --------------------------------------------------------------------------


def service_card(session: Session, service_id: int) -> dict[str, Any]:
    found = desk.settings_of(session, service_id)
    return {"desk_settings": found, "desk_modes": [m.value for m in DeskMode]}


@router.post("/services/{service_id}/desk")
def service_desk(service_id: int, request: Request, form: PostedForm) -> Response:
    who = require_user(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    action = text(form, "action")
    back = f"/services/{service_id}"
    token = ""
    try:
        with runtime.db.unit_of_work() as session:
            service = services.get_service(session, service_id)
            if not sees(session, who, service.team_id, see_all=runtime.settings.teams_see_all):
                raise NotFound(f"service {service_id} not found")
            now = runtime.clock.now()
            if action == "mode":
                access.require_manage(session, who.viewer(session), [service.team_id], "the services of a team")
                desk.set_mode(session, service, desk.parse_mode(text(form, "desk_mode")), now=now)
                notice = "Desk mode saved"
            elif action in ("rotate", "revoke"):
                require_admin(request, "public report links")
                if action == "rotate":
                    token = desk.rotate_public_link(session, service, now=now)
                    notice = ""
                else:
                    desk.revoke_public_link(session, service, now=now)
                    notice = "Public report link revoked"
            else:
                raise InvalidInput(f"unknown action {action[:40]!r}")
            name = service.name
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Service {service_id}")
    except TocsinError as exc:
        if exc.status_code == 403:
            raise PageError(403, exc.detail) from None
        return RedirectResponse(f"{back}?{urlencode({'error': exc.detail[:300]})}", status_code=303)
    if token:
        url = f"{runtime.settings.base_url.rstrip('/')}/report/s/{token}"
        return render("web/desk_link.html", who=who, section="services", url=url, service_id=service_id, name=name)
    return RedirectResponse(f"{back}?{urlencode({'notice': notice})}", status_code=303)
