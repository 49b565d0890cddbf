"""/api/v1/search, /api/v1/runbooks, and an incident's similar incidents, runbooks, summary and model assistance
(ADR 0030)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import AdminDep, PrincipalDep, ResponderDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.api.scope import require_act_on_incident, visible_incident
from tocsin.core.errors import Forbidden
from tocsin.knowledge import assist, runbooks, search, similar, summary
from tocsin.knowledge.models import Runbook, RunbookVersion
from tocsin.knowledge.search import QUERY_MAX
from tocsin.response import types as incident_types

router = APIRouter(prefix="/api/v1", tags=["knowledge"], responses=PROBLEM_RESPONSES)


class SearchResultOut(BaseModel):
    kind: str
    label: str
    ref_id: int
    title: str
    snippet: str
    url: str
    score: float
    changed_at: datetime


@router.get("/search", response_model=list[SearchResultOut], summary="Search incidents, alerts, notes and runbooks")
def search_all(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=QUERY_MAX, description="words to find", examples=["disk full"])],
    kind: Annotated[list[str] | None, Query(max_length=10, description="only these kinds of document")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[SearchResultOut]:
    with runtime.db.reader() as session:
        found = search.search(
            session,
            q,
            principal.viewer(session),
            see_all=runtime.settings.teams_see_all,
            kinds=kind or (),
            limit=limit,
        )
        return [
            SearchResultOut(
                kind=r.kind,
                label=r.label,
                ref_id=r.ref_id,
                title=r.title,
                snippet=r.snippet,
                url=r.url,
                score=r.score,
                changed_at=r.changed_at,
            )
            for r in found
        ]


class SimilarOut(BaseModel):
    number: int
    title: str
    status: str
    service: str
    created_at: datetime
    resolved_at: datetime | None
    score: float
    reasons: list[str]
    resolution: str
    extra: dict[str, Any]


@router.get(
    "/incidents/{ref}/similar", response_model=list[SimilarOut], summary="Similar past incidents, with the reasons"
)
def similar_of(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[SimilarOut]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        rows = similar.similar_incidents(
            session, incident, principal.viewer(session), see_all=runtime.settings.teams_see_all
        )
        return [
            SimilarOut(
                number=s.number,
                title=s.title,
                status=s.status,
                service=s.service,
                created_at=s.created_at,
                resolved_at=s.resolved_at,
                score=s.score,
                reasons=s.reasons,
                resolution=s.resolution,
                extra=s.extra,
            )
            for s in rows
        ]


class SummaryOut(BaseModel):
    number: int
    title: str
    service: str
    status: str
    response_status: str
    severity: str
    priority: str
    opened_at: datetime
    resolved_at: datetime | None
    what_happened: list[str]
    roles: dict[str, str]
    last_update: str | None
    last_update_at: datetime | None
    open_tasks: list[str]
    generated: bool
    text: str

    @classmethod
    def of(cls, s: summary.Summary) -> SummaryOut:
        return cls(**{k: getattr(s, k) for k in cls.model_fields})


@router.get(
    "/incidents/{ref}/summary", response_model=SummaryOut, summary="A catch-up summary, built from the incident's data"
)
def summary_of(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> SummaryOut:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return SummaryOut.of(summary.catch_up(session, incident))


class AssistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Literal["summary", "postmortem", "next_steps"] = "summary"


class AssistOut(BaseModel):
    purpose: str
    generated: bool
    text: str


@router.post(
    "/incidents/{ref}/assist",
    response_model=AssistOut,
    summary="Ask the configured model for a summary, a postmortem draft or next steps (falls back to the data)",
)
def assist_incident(ref: str, body: AssistIn, runtime: RuntimeDep, principal: ResponderDep) -> AssistOut:
    with runtime.db.unit_of_work() as session:
        incident = visible_incident(session, principal, runtime, ref)
        # Asking costs a call out and is kept: it is acting on the incident, as its team does.
        require_act_on_incident(session, principal, incident)
        now, user_id = runtime.clock.now(), principal.user.id
        if body.purpose == "summary":
            s = assist.summary(session, incident, user_id=user_id, now=now)
            return AssistOut(purpose=body.purpose, generated=s.generated, text=s.text)
        if body.purpose == "postmortem":
            text = assist.draft_postmortem(session, incident, user_id=user_id, now=now)
            return AssistOut(purpose=body.purpose, generated=text.startswith("> "), text=text)
        steps = assist.next_steps(
            session,
            incident,
            principal.viewer(session),
            see_all=runtime.settings.teams_see_all,
            user_id=user_id,
            now=now,
        )
        return AssistOut(purpose=body.purpose, generated=steps is not None, text=steps or "")


@router.get(
    "/incidents/{ref}/assist-requests",
    response_model=list[dict[str, Any]],
    summary="What was sent to the model about this incident, and what came back (admins)",
)
def assist_requests(ref: str, runtime: RuntimeDep, principal: AdminDep) -> list[dict[str, Any]]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return [assist.describe(r) for r in assist.requests_of(session, incident.id)]


class TypePolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    private_allowed: bool


class TypePolicyOut(BaseModel):
    type_name: str
    private_allowed: bool


@router.put(
    "/assist/type-policies/{type_name}",
    response_model=TypePolicyOut,
    summary="Whether private incidents of this type may be sent to the model",
)
def put_type_policy(type_name: str, body: TypePolicyIn, runtime: RuntimeDep, _: AdminDep) -> TypePolicyOut:
    with runtime.db.unit_of_work() as session:
        known = incident_types.get_type(session, type_name)
        row = assist.set_type_policy(session, known.name, private_allowed=body.private_allowed, now=runtime.clock.now())
        return TypePolicyOut(type_name=row.type_name, private_allowed=row.private_allowed)


# --- runbooks ---------------------------------------------------------------------------------------------------


class RunbookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=runbooks.TITLE_MAX)
    body: str = Field(default="", max_length=runbooks.BODY_MAX, description="Markdown")
    slug: str | None = Field(default=None, max_length=200)
    services: list[str] = Field(default_factory=list, max_length=200, description="service names or ids")
    matchers: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=50,
        description='alert matchers, as event rules write them: {"field": "labels.env", "op": "=", "value": "prod"}',
    )
    types: list[str] = Field(default_factory=list, max_length=100, description="incident type names")
    base_version: int | None = Field(default=None, ge=1, description="the version this edit started from")

    def spec(self) -> runbooks.RunbookSpec:
        return runbooks.RunbookSpec(
            title=self.title,
            body=self.body,
            slug=self.slug,
            services=list(self.services),
            matchers=list(self.matchers),
            types=list(self.types),
        )


class RunbookOut(BaseModel):
    id: int
    slug: str
    title: str
    body: str
    services: list[str]
    matchers: list[dict[str, Any]]
    types: list[str]
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, book: Runbook, names: dict[int, str]) -> RunbookOut:
        return cls(
            id=book.id,
            slug=book.slug,
            title=book.title,
            body=book.body,
            services=[names.get(i, str(i)) for i in book.service_ids],
            matchers=list(book.matchers),
            types=list(book.type_names),
            version=book.version,
            updated_at=book.updated_at,
        )


class RunbookVersionOut(BaseModel):
    version: int
    title: str
    body: str
    links: dict[str, Any]
    saved_at: datetime
    saved_by_user_id: int | None

    @classmethod
    def of(cls, row: RunbookVersion) -> RunbookVersionOut:
        return cls(
            version=row.version,
            title=row.title,
            body=row.body,
            links=dict(row.links),
            saved_at=row.saved_at,
            saved_by_user_id=row.saved_by_user_id,
        )


class MatchOut(BaseModel):
    slug: str
    title: str
    url: str
    reasons: list[str]


def _book_out(session: Any, book: Runbook) -> RunbookOut:
    return RunbookOut.of(book, runbooks.names_of(session, book.service_ids))


@router.get("/runbooks", response_model=list[RunbookOut], summary="Runbooks")
def list_runbooks(runtime: RuntimeDep, _: PrincipalDep) -> list[RunbookOut]:
    with runtime.db.reader() as session:
        return [_book_out(session, b) for b in runbooks.list_runbooks(session)]


@router.post("/runbooks", response_model=RunbookOut, status_code=status.HTTP_201_CREATED, summary="Write a runbook")
def create_runbook(body: RunbookIn, runtime: RuntimeDep, principal: ResponderDep) -> RunbookOut:
    with runtime.db.unit_of_work() as session:
        book = runbooks.create(session, body.spec(), user_id=principal.user.id, now=runtime.clock.now())
        return _book_out(session, book)


@router.get("/runbooks/{ref}", response_model=RunbookOut, summary="A runbook (id or slug)")
def get_runbook(ref: str, runtime: RuntimeDep, _: PrincipalDep) -> RunbookOut:
    with runtime.db.reader() as session:
        return _book_out(session, runbooks.get(session, ref))


@router.put("/runbooks/{ref}", response_model=RunbookOut, summary="Save a new version of a runbook")
def put_runbook(ref: str, body: RunbookIn, runtime: RuntimeDep, principal: ResponderDep) -> RunbookOut:
    with runtime.db.unit_of_work() as session:
        book = runbooks.get(session, ref)
        saved = runbooks.update(
            session,
            book,
            body.spec(),
            user_id=principal.user.id,
            now=runtime.clock.now(),
            base_version=body.base_version,
        )
        return _book_out(session, saved)


@router.delete("/runbooks/{ref}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_runbook(ref: str, runtime: RuntimeDep, principal: ResponderDep) -> Response:
    if not principal.is_admin:
        raise Forbidden("only admins delete runbooks (their history goes with them)")
    with runtime.db.unit_of_work() as session:
        runbooks.delete(session, runbooks.get(session, ref))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/runbooks/{ref}/versions", response_model=list[RunbookVersionOut], summary="A runbook's versions")
def runbook_versions(ref: str, runtime: RuntimeDep, _: PrincipalDep) -> list[RunbookVersionOut]:
    with runtime.db.reader() as session:
        return [RunbookVersionOut.of(v) for v in runbooks.versions(session, runbooks.get(session, ref))]


@router.get("/runbooks/{ref}/versions/{number}", response_model=RunbookVersionOut, summary="One version")
def runbook_version(ref: str, number: int, runtime: RuntimeDep, _: PrincipalDep) -> RunbookVersionOut:
    with runtime.db.reader() as session:
        return RunbookVersionOut.of(runbooks.version(session, runbooks.get(session, ref), number))


@router.get("/incidents/{ref}/runbooks", response_model=list[MatchOut], summary="The runbooks this incident matches")
def incident_runbooks(ref: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[MatchOut]:
    with runtime.db.reader() as session:
        incident = visible_incident(session, principal, runtime, ref)
        return [
            MatchOut(slug=m.runbook.slug, title=m.runbook.title, url=f"/runbooks/{m.runbook.slug}", reasons=m.reasons)
            for m in runbooks.matching(session, incident)
        ]
