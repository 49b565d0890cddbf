"""The knowledge base in the console (ADR 0030): the search page, runbooks (list, read, history, write), an
incident's runbooks, and the incident page's Knowledge card (matching runbooks, similar incidents, catch-up)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput, NotFound, TocsinError
from tocsin.core.numbers import is_ascii_digits
from tocsin.incidents.models import Incident
from tocsin.knowledge import runbooks, search, similar, summary
from tocsin.knowledge.models import Runbook
from tocsin.knowledge.search import QUERY_MAX
from tocsin.knowledge.sources import SOURCES
from tocsin.web.auth import PostedForm, WebUser, check_csrf, require_responder, require_user, runtime_of
from tocsin.web.forms import text
from tocsin.web.scope import visible_incident
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def _see_all(who: WebUser) -> bool:
    return who.runtime.settings.teams_see_all if who.runtime is not None else True


def incident_context(session: Session, incident: Incident, who: WebUser, now: datetime) -> dict[str, Any]:
    """The incident page's Knowledge card."""
    viewer = who.viewer(session)
    return {
        "knowledge_runbooks": runbooks.matching(session, incident),
        "knowledge_similar": similar.similar_incidents(session, incident, viewer, see_all=_see_all(who)),
        "knowledge_summary": summary.catch_up(session, incident).text,
    }


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    q = request.query_params.get("q", "")
    kind = request.query_params.get("kind", "")
    results: list[search.Result] = []
    error = ""
    status = 200
    if q.strip():
        try:
            with runtime.db.reader() as session:
                results = search.search(
                    session,
                    q,
                    who.viewer(session),
                    see_all=runtime.settings.teams_see_all,
                    kinds=[kind] if kind else (),
                    limit=50,
                )
        except TocsinError as exc:
            error, status = exc.detail, 422
    return render(
        "web/search.html",
        status,
        who=who,
        section="search",
        q=q[: QUERY_MAX * 2],
        kind=kind,
        kinds=[(s.kind, s.label) for s in SOURCES.items],
        results=results,
        searched=bool(q.strip()),
        error=error,
        query_max=QUERY_MAX,
    )


@router.get("/runbooks", response_class=HTMLResponse)
def runbooks_page(request: Request) -> Response:
    who = require_user(request)
    with runtime_of(request).db.reader() as session:
        rows = runbooks.list_runbooks(session)
    return render(
        "web/runbooks.html",
        who=who,
        section="runbooks",
        rows=rows,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
    )


def _form_page(request: Request, who: WebUser, status: int = 200, **extra: Any) -> Response:
    return render("web/runbook_edit.html", status, who=who, section="runbooks", **extra)


@router.get("/runbooks/new", response_class=HTMLResponse)
def new_runbook_page(request: Request) -> Response:
    who = require_responder(request)
    return _form_page(request, who, values={"title": "", "body": "", "services": "", "types": "", "matchers": "[]"})


def _values_of(session: Session, book: Runbook) -> dict[str, str]:
    spec = runbooks.as_spec(book, runbooks.names_of(session, book.service_ids))
    return {
        "title": spec.title,
        "body": spec.body,
        "slug": book.slug,
        "services": ", ".join(spec.services),
        "types": ", ".join(spec.types),
        "matchers": json.dumps(spec.matchers, indent=2),
        "base_version": str(book.version),
    }


@router.get("/runbooks/{slug}", response_class=HTMLResponse)
def runbook_page(slug: str, request: Request) -> Response:
    who = require_user(request)
    try:
        with runtime_of(request).db.reader() as session:
            book = runbooks.get(session, slug)
            names = runbooks.names_of(session, book.service_ids)
            versions = runbooks.versions(session, book)
            values = _values_of(session, book)
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Runbook {slug}")
    return render(
        "web/runbook.html",
        who=who,
        section="runbooks",
        book=book,
        services=[names.get(i, str(i)) for i in book.service_ids],
        versions=versions,
        shown=None,
        values=values,
        notice=request.query_params.get("notice", "")[:200],
    )


@router.get("/runbooks/{slug}/versions/{number}", response_class=HTMLResponse)
def runbook_version_page(slug: str, number: int, request: Request) -> Response:
    who = require_user(request)
    try:
        with runtime_of(request).db.reader() as session:
            book = runbooks.get(session, slug)
            shown = runbooks.version(session, book, number)
            versions = runbooks.versions(session, book)
    except NotFound:
        return render("web/not_found.html", 404, who=who, what=f"Runbook {slug} version {number}")
    return render(
        "web/runbook.html", who=who, section="runbooks", book=book, services=[], versions=versions, shown=shown
    )


def _spec(form: PostedForm) -> runbooks.RunbookSpec:
    raw = text(form, "matchers").strip() or "[]"
    try:
        matchers = json.loads(raw)
    except ValueError:
        matchers = None
    if not isinstance(matchers, list):
        raise InvalidInput("matchers: a JSON list of {field, op, value}", errors=["matchers: not a JSON list"])
    split = [p.strip() for p in text(form, "services").split(",") if p.strip()]
    types = [p.strip() for p in text(form, "types").split(",") if p.strip()]
    return runbooks.RunbookSpec(
        title=text(form, "title"),
        body=str(form.get("body") or ""),
        slug=text(form, "slug") or None,
        services=split,
        matchers=matchers,
        types=types,
    )


@router.post("/runbooks")
def save_runbook(request: Request, form: PostedForm) -> Response:
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    existing = text(form, "id")
    try:
        with runtime.db.unit_of_work() as session:
            spec = _spec(form)
            if existing:
                base = text(form, "base_version")
                book = runbooks.update(
                    session,
                    runbooks.get(session, existing),
                    spec,
                    user_id=who.user.id,
                    now=runtime.clock.now(),
                    base_version=int(base) if is_ascii_digits(base) else None,
                )
            else:
                book = runbooks.create(session, spec, user_id=who.user.id, now=runtime.clock.now())
            slug, version = book.slug, book.version
    except TocsinError as exc:
        typed = {k: text(form, k) for k in ("title", "slug", "services", "types", "matchers", "base_version")}
        typed["body"] = str(form.get("body") or "")
        return _form_page(
            request,
            who,
            409 if "changed meanwhile" in exc.detail else 422,
            error=exc.detail,
            values=typed,
            editing=existing,
        )
    notice = urlencode({"notice": f"Saved as version {version}"})
    return RedirectResponse(f"/runbooks/{slug}?{notice}", status_code=303)


@router.get("/incidents/{number}/runbooks", response_class=HTMLResponse)
def incident_runbooks_page(number: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            incident = visible_incident(session, who, f"#{number}", see_all=runtime.settings.teams_see_all)
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Incident #{number}")
        matches = runbooks.matching(session, incident)
    return render("web/incident_runbooks.html", who=who, section="incidents", incident=incident, matches=matches)
