"""The public side of status pages, under ``/status/{slug}`` (or at the root of the page's custom domain):

- the page (server-rendered, no JavaScript), its history by month, one incident or maintenance;
- Atlassian Statuspage's public v2 API: ``/api/v2/summary.json``, ``status.json``, ``components.json``,
  ``incidents.json``, ``incidents/unresolved.json``, ``scheduled-maintenances.json`` and its ``upcoming`` and
  ``active`` lists, with CORS open (read only);
- Atom and RSS feeds (``/history.atom``, ``/history.rss``) with every update;
- email subscription (double opt-in, signed links) and one-click unsubscribe (RFC 8058).

An internal page is served only to someone signed in to the console; to anyone else it does not exist (404) on
every route. The page and the JSON documents are cached in process and invalidated when the page changes.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from tocsin.core.errors import NotFound, RateLimited
from tocsin.runtime import Runtime
from tocsin.statuspages import cache, feeds, public, ratelimit, service, tokens, uptime
from tocsin.statuspages.models import StatusPage, Visibility
from tocsin.web.auth import runtime_of, signed_in
from tocsin.web.forms import text
from tocsin.web.templating import SECURITY_HEADERS, env

router = APIRouter(include_in_schema=False)
JSON_DOCUMENTS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}
PUBLIC_HEADERS = {
    **SECURITY_HEADERS,
    # Logos live elsewhere; the rest as everywhere. The page is public: it may be cached for a little while.
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "img-src 'self'", "img-src 'self' https: data:"
    ),
    "Cache-Control": "public, max-age=10",
}
INTERNAL_HEADERS = {**PUBLIC_HEADERS, "Cache-Control": "private, no-store"}
# The class of a day's bar by its worst status (short: a page holds 90 of them per component).
SHORT = {
    "operational": "o",
    "degraded_performance": "d",
    "partial_outage": "p",
    "major_outage": "m",
    "under_maintenance": "u",
}
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
STATUS_LABELS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "under_maintenance": "Under maintenance",
}


# --- finding the page ------------------------------------------------------------------------------------------------
def _page(request: Request, slug: str) -> tuple[StatusPage, str]:
    """The page and its public URL; 404 for an unknown page and for an internal one to someone not signed in."""
    runtime = runtime_of(request)

    def lookup() -> StatusPage | None:
        with runtime.db.reader() as session:
            found = service.page_by_slug(session, slug)
            if found is not None:
                session.expunge(found)
            return found

    # Only pages that exist are kept: a stream of made-up slugs does not fill the cache.
    page = cache.get(cache.ANY_PAGE, f"slug:{slug}", lookup, keep=lambda p: p is not None)
    if page is None or (page.visibility == Visibility.INTERNAL and signed_in(request) is None):
        raise NotFound(f"status page {slug!r} not found")
    return page, page_url(request, runtime, page)


def page_url(request: Request, runtime: Runtime, page: StatusPage) -> str:
    if page.custom_domain and request.scope.get("statuspage_domain") == page.custom_domain:
        return f"{request.url.scheme}://{page.custom_domain}"
    return f"{runtime.settings.base_url}/status/{page.slug}"


def _headers(page: StatusPage) -> dict[str, str]:
    return INTERNAL_HEADERS if page.visibility == Visibility.INTERNAL else PUBLIC_HEADERS


def _view(request: Request, page: StatusPage, url: str) -> public.View:
    runtime = runtime_of(request)

    def build() -> public.View:
        with runtime.db.reader() as session:
            fresh = service.get_page(session, page.id)
            view = public.build(session, fresh, url=url, now=runtime.clock.now())
            session.expunge_all()
            return view

    return cache.get(page.id, f"view:{url}", build)


def _html_not_found(handler: Callable[..., Response]) -> Callable[..., Response]:
    """A page people open in a browser answers an unknown (or, to outsiders, internal) page with an HTML 404 that
    names nothing, rather than the API's problem+json."""

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        try:
            return handler(*args, **kwargs)
        except NotFound:
            html = env.get_template("statuspage/not_found.html").render()
            return HTMLResponse(html, status_code=404, headers=PUBLIC_HEADERS | {"Cache-Control": "no-store"})

    return wrapped


def _render(template: str, page: StatusPage, status: int = 200, **context: Any) -> HTMLResponse:
    html = env.get_template(template).render(page=page, labels=STATUS_LABELS, **context)
    return HTMLResponse(html, status_code=status, headers=_headers(page))


# --- the page --------------------------------------------------------------------------------------------------------
@router.get("/status/{slug}", response_class=HTMLResponse)
async def status_page(slug: str, request: Request) -> Response:
    if not request.query_params:
        # The refresh is handed to a background thread (a partial, not a call made here on the loop).
        hit = _cached_public(request, slug, "html", functools.partial(_status_page, slug, request))
        if hit is not None:
            return Response(hit[1], media_type="text/html; charset=utf-8", headers=_headers(hit[0]), background=hit[2])
    return await run_in_threadpool(_status_page, slug, request)


@_html_not_found
def _status_page(slug: str, request: Request) -> Response:
    page, url = _page(request, slug)

    def build() -> bytes:
        view = _view(request, page, url)
        html = env.get_template("statuspage/page.html").render(
            page=page,
            view=view,
            url=url,
            labels=STATUS_LABELS,
            short=SHORT,
            down=sorted(s.value for s in uptime.DOWN),
            zone=_zone(page.time_zone),
            notice="",
        )
        return html.encode()

    notice = request.query_params.get("notice", "")
    if notice:
        view = _view(request, page, url)
        return _render(
            "statuspage/page.html",
            page,
            view=view,
            url=url,
            short=SHORT,
            down=sorted(s.value for s in uptime.DOWN),
            zone=_zone(page.time_zone),
            notice=notice[:200],
        )
    body = cache.get(page.id, f"html:{url}", build)
    return Response(body, media_type="text/html; charset=utf-8", headers=_headers(page))


@router.get("/status/{slug}/theme.css")
def theme(slug: str, request: Request) -> Response:
    page, _ = _page(request, slug)
    css = f":root{{--brand:{page.brand_color};--brand-text:{page.text_color}}}\n"
    return Response(css, media_type="text/css", headers={**_headers(page), "Cache-Control": "public, max-age=60"})


@router.get("/status/{slug}/history", response_class=HTMLResponse)
@_html_not_found
def history(slug: str, request: Request) -> Response:
    page, url = _page(request, slug)
    runtime = runtime_of(request)
    zone = _zone(page.time_zone)
    today = runtime.clock.now().astimezone(zone).date()
    first = today.replace(day=1)
    raw = request.query_params.get("month", "")
    found = MONTH.match(raw)
    if found and 1 <= int(found.group(2)) <= 12 and 1970 <= int(found.group(1)) <= 9999:
        first = date(int(found.group(1)), int(found.group(2)), 1)
    with runtime.db.reader() as session:
        month = public.month(session, page, first)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return _render(
        "statuspage/history.html",
        page,
        url=url,
        month=month,
        previous=previous,
        following=following if following <= today else None,
        zone=zone,
    )


@router.get("/status/{slug}/incidents/{incident_id}", response_class=HTMLResponse)
@_html_not_found
def incident_page(slug: str, incident_id: int, request: Request) -> Response:
    page, url = _page(request, slug)
    with runtime_of(request).db.reader() as session:
        found = public.incident_of(session, page, incident_id)
    if found is None:
        raise NotFound(f"incident {incident_id} not found on this page")
    row, updates = found
    return _render("statuspage/incident.html", page, url=url, incident=row, updates=updates, zone=_zone(page.time_zone))


@router.get("/status/{slug}/maintenances/{maintenance_id}", response_class=HTMLResponse)
@_html_not_found
def maintenance_page(slug: str, maintenance_id: int, request: Request) -> Response:
    page, url = _page(request, slug)
    view = _view(request, page, url)
    found = next((m for m in view.maintenances if m.id == maintenance_id), None)
    if found is None:
        raise NotFound(f"maintenance {maintenance_id} not found on this page")
    return _render(
        "statuspage/maintenance.html",
        page,
        url=url,
        maintenance=found,
        updates=view.maintenance_updates.get(found.id, []),
        zone=_zone(page.time_zone),
    )


# --- the Statuspage-compatible API -----------------------------------------------------------------------------------
def _json(request: Request, slug: str, name: str) -> Response:
    page, url = _page(request, slug)

    def build() -> bytes:
        return orjson.dumps(_view(request, page, url).documents[name])

    body = cache.get(page.id, f"json:{name}:{url}", build)
    return Response(body, media_type="application/json", headers=_json_headers(page))


def _cached_public(
    request: Request, slug: str, entry: str, refresh: Callable[[], object]
) -> tuple[StatusPage, bytes, BackgroundTask | None] | None:
    """A public page's entry straight from the cache, without the database: the fast path of the hot routes, run
    on the event loop (anything missing or internal goes the ordinary way, in the thread pool). An aged entry is
    served once more and rebuilt after the answer is sent (``refresh`` in the background)."""
    page, stale_page = cache.peek(cache.ANY_PAGE, f"slug:{slug}")
    if page is cache.MISSING or page is None or page.visibility != Visibility.PUBLIC:
        return None
    if page.custom_domain and request.scope.get("statuspage_domain") == page.custom_domain:
        return None
    body, stale_body = cache.peek(page.id, f"{entry}:{runtime_of(request).settings.base_url}/status/{page.slug}")
    if body is cache.MISSING:
        return None
    return page, body, BackgroundTask(refresh) if stale_page or stale_body else None


def _json_headers(page: StatusPage) -> dict[str, str]:
    headers = {**CORS, "Cache-Control": _headers(page)["Cache-Control"], "X-Content-Type-Options": "nosniff"}
    if page.visibility == Visibility.INTERNAL:
        headers.pop("Access-Control-Allow-Origin")
    return headers


def _json_route(name: str) -> Callable[[str, Request], Awaitable[Response]]:
    async def handler(slug: str, request: Request) -> Response:
        hit = _cached_public(request, slug, f"json:{name}", functools.partial(_json, request, slug, name))
        if hit is not None:
            return Response(hit[1], media_type="application/json", headers=_json_headers(hit[0]), background=hit[2])
        return await run_in_threadpool(_json, request, slug, name)

    handler.__name__ = "statuspage_" + re.sub(r"\W", "_", name)
    return handler


for _name in JSON_DOCUMENTS:
    router.add_api_route(f"/status/{{slug}}/api/v2/{_name}", _json_route(_name), methods=["GET"])


@router.options("/status/{slug}/api/v2/{rest:path}")
def preflight(slug: str, rest: str) -> Response:
    return Response(status_code=204, headers=CORS)


# --- feeds -----------------------------------------------------------------------------------------------------------
def _feed(request: Request, slug: str, kind: str) -> Response:
    page, url = _page(request, slug)
    runtime = runtime_of(request)

    def build() -> bytes:
        with runtime.db.reader() as session:
            entries = public.feed_entries(session, page, url)
        updated = entries[0].at if entries else page.updated_at
        make = feeds.atom if kind == "atom" else feeds.rss
        return make(title=page.name, page_url=url, feed_url=f"{url}/history.{kind}", updated=updated, entries=entries)

    body = cache.get(page.id, f"feed:{kind}:{url}", build)
    media = "application/atom+xml" if kind == "atom" else "application/rss+xml"
    return Response(
        body, media_type=f"{media}; charset=utf-8", headers={"Cache-Control": _headers(page)["Cache-Control"]}
    )


@router.get("/status/{slug}/history.atom")
def atom(slug: str, request: Request) -> Response:
    return _feed(request, slug, "atom")


@router.get("/status/{slug}/history.rss")
def rss(slug: str, request: Request) -> Response:
    return _feed(request, slug, "rss")


# --- subscribers -----------------------------------------------------------------------------------------------------
def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/status/{slug}/subscribe", response_class=HTMLResponse)
async def subscribe(slug: str, request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_subscribe, slug, request, form)


def _subscribe(slug: str, request: Request, form: Any) -> Response:
    page, url = _page(request, slug)
    runtime = runtime_of(request)
    address = text(form, "email").strip().lower()
    if page.visibility == Visibility.INTERNAL:
        # Only for oneself: a forged form could otherwise subscribe someone else's address to internal news.
        who = signed_in(request)
        if who is None:
            raise NotFound(f"status page {slug!r} not found")
        address = who.user.email.lower()
    components = [v for v in form.getlist("components") if isinstance(v, str) and v]
    limits = (
        (f"ip:{page.id}:{_client(request)}", runtime.settings.statuspage_subscribe_per_ip_hour),
        (f"address:{page.id}:{address}", runtime.settings.statuspage_subscribe_per_address_hour),
    )
    with runtime.db.unit_of_work() as session:
        wait = ratelimit.admit(session, limits, now=runtime.clock.now(), window=timedelta(hours=1))
    if wait is not None:
        raise RateLimited(
            f"too many subscription requests: try again in {wait // 60 + 1} minutes", retry_after=str(wait)
        )
    with runtime.db.unit_of_work() as session:
        fresh = service.get_page(session, page.id)
        row, queued = service.subscribe_email(
            session, fresh, address, now=runtime.clock.now(), component_ids=components, ip=_client(request)
        )
        if queued:
            link = runtime.subscriber_link("confirm", row.id, page.slug)
            service.queue_confirmation(
                session,
                row,
                subject=f"Confirm your subscription to {page.name}",
                body=(
                    f"Someone (we hope you) asked to receive status updates of {page.name} at this address.\n\n"
                    f"Confirm: {link}\n\nIf it was not you, ignore this mail: nothing will be sent."
                ),
                now=runtime.clock.now(),
            )
    return _render(
        "statuspage/message.html",
        page,
        url=url,
        title="Check your mail",
        message=f"If {address} can receive mail, a confirmation link is on its way. Updates start once you follow it.",
    )


@router.get("/status/{slug}/confirm/{token}", response_class=HTMLResponse)
@_html_not_found
def confirm(slug: str, token: str, request: Request) -> Response:
    page, url = _page(request, slug)
    runtime = runtime_of(request)
    subscriber_id = tokens.read(runtime.link_secret(), token, "confirm", runtime.clock.now())
    with runtime.db.unit_of_work() as session:
        row = service.confirm(session, subscriber_id, now=runtime.clock.now()) if subscriber_id else None
        ok = row is not None and row.page_id == page.id
        if not ok:
            session.rollback()
    if not ok:
        return _render(
            "statuspage/message.html",
            page,
            404,
            url=url,
            title="Link not valid",
            message="This confirmation link is not valid or has expired. Subscribe again to get a new one.",
        )
    return _render(
        "statuspage/message.html", page, url=url, title="Subscribed", message="You will receive updates of this page."
    )


def _unsubscribe_id(request: Request, page: StatusPage, token: str) -> int | None:
    runtime = runtime_of(request)
    found = tokens.read(runtime.link_secret(), token, "unsubscribe", runtime.clock.now())
    return found


@router.get("/status/{slug}/unsubscribe/{token}", response_class=HTMLResponse)
@_html_not_found
def unsubscribe_page(slug: str, token: str, request: Request) -> Response:
    page, url = _page(request, slug)
    if _unsubscribe_id(request, page, token) is None:
        return _render(
            "statuspage/message.html", page, 404, url=url, title="Link not valid", message="This link is not valid."
        )
    return _render("statuspage/unsubscribe.html", page, url=url, token=token)


@router.post("/status/{slug}/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(slug: str, token: str, request: Request) -> Response:
    """The one-click unsubscribe of RFC 8058 (a POST of ``List-Unsubscribe=One-Click``) and the page's button."""
    page, url = _page(request, slug)
    runtime = runtime_of(request)
    subscriber_id = _unsubscribe_id(request, page, token)
    done = False
    if subscriber_id is not None:
        with runtime.db.unit_of_work() as session:
            row = service.unsubscribe(session, subscriber_id, now=runtime.clock.now())
            done = row is not None and row.page_id == page.id
            if not done:
                session.rollback()
    if not done:
        return _render(
            "statuspage/message.html", page, 404, url=url, title="Link not valid", message="This link is not valid."
        )
    return _render(
        "statuspage/message.html", page, url=url, title="Unsubscribed", message="You will receive no more updates."
    )


# --- custom domains --------------------------------------------------------------------------------------------------
class CustomDomains:
    """A request whose Host is a page's custom domain is served that page's routes at the domain's root: the path
    is rewritten to ``/status/{slug}...`` (static files and nothing else stay as they are)."""

    def __init__(self, app: ASGIApp, runtime: Runtime, *, refresh: float = 5.0) -> None:
        self.app = app
        self.runtime = runtime
        self.refresh = refresh
        self._domains: dict[str, str] = {}
        self._read_at = -1e9

    def _lookup(self, host: str) -> str | None:
        now = time.monotonic()
        if now - self._read_at > self.refresh:
            with self.runtime.db.reader() as session:
                self._domains = service.domains(session)
            self._read_at = now
        return self._domains.get(host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = _host(scope)
            if host and host not in _local_hosts(self.runtime):
                slug = await run_in_threadpool(self._lookup, host)
                path: str = scope["path"]
                if slug is not None and not path.startswith("/static/") and not path.startswith("/status/"):
                    scope = dict(scope)
                    scope["path"] = f"/status/{slug}" + ("" if path == "/" else path)
                    scope["raw_path"] = scope["path"].encode()
                    scope["statuspage_domain"] = host
        await self.app(scope, receive, send)


def _host(scope: MutableMapping[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return str(value.decode("latin-1").split(":")[0].lower())
    return ""


def _local_hosts(runtime: Runtime) -> frozenset[str]:
    from urllib.parse import urlsplit

    return frozenset(
        {(urlsplit(runtime.settings.base_url).hostname or "").lower(), "localhost", "127.0.0.1", "testserver"}
    )


# --- helpers ---------------------------------------------------------------------------------------------------------
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%b %d, %H:%M %Z")


env.filters["sp_local"] = local
