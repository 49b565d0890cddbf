"""The installable web app and pages on the phone: the manifest, the service worker at the root scope, the icons,
and the console's "Enable notifications on this device", which stores the browser's push subscription as a
contact method of the signed-in person (ADR 0034)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from tocsin.core.errors import InvalidInput, TocsinError
from tocsin.notify.push_subscriptions import add_subscription
from tocsin.web import STATIC, app_icons
from tocsin.web.auth import check_csrf, require_user, runtime_of
from tocsin.web.templating import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)

MAX_BODY = 4096
_STATIC_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=3600"}


def manifest() -> dict[str, Any]:
    return {
        "name": "Tocsin",
        "short_name": "Tocsin",
        "description": "Incidents, pages and on-call",
        "id": "/",
        "start_url": "/me",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f4f2",
        "theme_color": app_icons.THEME_COLOUR,
        "icons": [
            *(
                {"src": f"/icons/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
                for size in app_icons.SIZES
            ),
            {"src": "/icons/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
    }


@router.get("/manifest.webmanifest")
def web_manifest() -> Response:
    return Response(orjson.dumps(manifest()), media_type="application/manifest+json", headers=_STATIC_HEADERS)


@router.get("/sw.js")
def service_worker() -> Response:
    """At the root so that its scope is the whole console; never cached long, so a new version is picked up."""
    return Response(
        (STATIC / "sw.js").read_bytes(),
        media_type="text/javascript",
        headers={
            "Service-Worker-Allowed": "/",
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; connect-src 'self'; img-src 'self'",
        },
    )


@router.get("/icons/icon-192.png")
def icon_192() -> Response:
    return Response(app_icons.png(192), media_type="image/png", headers=_STATIC_HEADERS)


@router.get("/icons/icon-512.png")
def icon_512() -> Response:
    return Response(app_icons.png(512), media_type="image/png", headers=_STATIC_HEADERS)


@router.get("/icons/icon.svg")
def icon_svg() -> Response:
    return Response(app_icons.svg(), media_type="image/svg+xml", headers=_STATIC_HEADERS)


async def _body(request: Request) -> bytes:
    # Read on the event loop; the handler that uses it runs in the thread pool.
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            break
    return body


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=SECURITY_HEADERS)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be text")
    if len(value) > 2048:
        raise InvalidInput(f"{key} is too long")
    return value


@router.post("/me/push-subscriptions")
def subscribe(request: Request, body: Annotated[bytes, Depends(_body)]) -> JSONResponse:
    """``{"endpoint", "keys": {"p256dh", "auth"}, "name"}`` as the browser's ``PushSubscription.toJSON()`` gives it,
    with the CSRF token in ``X-CSRF-Token``; 201 with the contact method's id."""
    who = require_user(request)
    # The token comes in the X-CSRF-Token header (the body is JSON).
    check_csrf(request, who, FormData())
    if len(body) > MAX_BODY:
        return _problem(413, "the subscription is too large")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _problem(400, "the body must be JSON")
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        return _problem(400, "expected the browser's push subscription: endpoint and keys")
    runtime = runtime_of(request)
    try:
        name = data.get("name") if isinstance(data.get("name"), str) else ""
        with runtime.db.unit_of_work() as session:
            cm = add_subscription(
                session,
                user_id=who.user.id,
                endpoint=_text(data, "endpoint"),
                p256dh=_text(data["keys"], "p256dh"),
                auth=_text(data["keys"], "auth"),
                name=str(name or "This device"),
                now=runtime.clock.now(),
                with_rules=True,
            )
            created = {"id": cm.id, "name": cm.name, "type": cm.type}
    except TocsinError as exc:
        return _problem(exc.status_code, exc.detail)
    return JSONResponse(created, status_code=201, headers=SECURITY_HEADERS)
