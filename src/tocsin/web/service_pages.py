"""Services: the list with open-incident counts, and a service's page with paste-ready integration URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tocsin.access import policy as access_policy
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.api.services import mask
from tocsin.core.errors import Forbidden, NotFound
from tocsin.escalation import service as escalation
from tocsin.incidents import service as incidents
from tocsin.services import service as services
from tocsin.services.models import Integration
from tocsin.teams import service as teams
from tocsin.web import desk_pages
from tocsin.web.auth import PageError, PostedForm, check_csrf, require_responder, require_user, runtime_of
from tocsin.web.scope import require_act_on_service, sees
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


def sender_snippet(integration: Integration, url: str) -> str:
    """What to paste into the sender's configuration, for this integration's type."""
    if integration.type == "pagerduty_v2":
        return (
            "# Alertmanager\nreceivers:\n  - name: tocsin\n    pagerduty_configs:\n"
            f"      - routing_key: {integration.key}\n        url: {url}\n"
        )
    if integration.type == "alertmanager":
        return f"receivers:\n  - name: tocsin\n    webhook_configs:\n      - url: {url}\n"
    if integration.type == "grafana":
        return f"Contact point → Webhook → URL: {url}"
    return f"curl -d summary='backup failed' -d severity=error {url}"


@router.get("/services", response_class=HTMLResponse)
def service_list(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        see_all = runtime.settings.teams_see_all
        rows = [s for s in services.list_services(session) if sees(session, who, s.team_id, see_all=see_all)]
        counts = incidents.open_counts_by_service(session, who.viewer(session))
        team_names = {t.id: t.name for t in teams.list_teams(session)}
    return render("web/services.html", who=who, section="services", rows=rows, counts=counts, team_names=team_names)


@router.get("/services/{service_id}", response_class=HTMLResponse)
def service_page(service_id: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    base = runtime.settings.base_url
    with runtime.db.reader() as session:
        try:
            service = services.get_service(session, service_id)
            if not sees(session, who, service.team_id, see_all=runtime.settings.teams_see_all):
                raise NotFound(f"service {service_id} not found")
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Service {service_id}")
        integrations: list[dict[str, Any]] = []
        # Keys are credentials (anyone holding one opens incidents, most URLs carry it): admins and the managers of
        # the service's team read them whole, everyone else a masked form, in the URL too.
        full = access_policy.can_read_integration_key(who.viewer(session), service.team_id)
        # Admins also see archived integrations, to restore them.
        for integration in services.list_integrations(session, service.id, include_archived=who.is_admin):
            url = services.integration_url(base, integration, email_domain=runtime.settings.email_domain)
            if not full:
                url = url.replace(integration.key, mask(integration.key))
            integrations.append(
                {
                    "row": integration,
                    "url": url,
                    "key": integration.key if full else mask(integration.key),
                    "snippet": sender_snippet(integration, url) if full else "",
                }
            )
        policy = escalation.get_policy(session, service.escalation_policy_id) if service.escalation_policy_id else None
        team = teams.get_team(session, service.team_id) if service.team_id else None
        open_count = incidents.open_counts_by_service(session, who.viewer(session)).get(service.id, 0)
        desk_card = desk_pages.service_card(session, service.id)
    return render(
        "web/service.html",
        who=who,
        section="services",
        service=service,
        integrations=integrations,
        policy=policy,
        team=team,
        open_count=open_count,
        notice=request.query_params.get("notice", "")[:200],
        error=request.query_params.get("error", "")[:300],
        **desk_card,
    )


@router.post("/services/{service_id}/integrations/{integration_id}/test")
def send_test_event(service_id: int, integration_id: int, request: Request, form: PostedForm) -> Response:
    """Push a real event through the same ingest path a sender uses, so the whole chain is exercised."""
    who = require_responder(request)
    check_csrf(request, who, form)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        integration = services.get_integration(session, integration_id)
        if integration.service_id != service_id:
            raise NotFound(f"integration {integration_id} not found")
        # A test event opens a real incident and pages: as declaring one, it takes the service's team.
        try:
            require_act_on_service(session, who, service_id)
        except Forbidden as exc:
            raise PageError(403, exc.detail) from None
    event = NormalizedEvent(
        action="trigger",
        dedup_key=None,
        summary=f"Test event from {who.user.name} via {integration.name}",
        severity="info",
        source="tocsin-console",
    )
    result = runtime.committer.submit_sync(Submission(integration_key=integration.key, events=[event]))
    notice = f"Test event sent (dedup key {result.dedup_keys[0]})" if result.dedup_keys else "Test event sent"
    return RedirectResponse(f"/services/{service_id}?{urlencode({'notice': notice})}", status_code=303)
