"""Single sign-on with OpenID Connect (ADR 0037): the "Sign in with …" button's start and the provider's callback.

The state travels in the authorization request and in a short-lived cookie of this browser; the server keeps its
hash with the nonce and the PKCE verifier, and the callback removes that row before anything else, so a state
(and with it the code it came back with) is good once. Every refusal is the sign-in page with what went wrong.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from tocsin.audit import service as audit
from tocsin.core.errors import TocsinError
from tocsin.sso import service as sso
from tocsin.sso.oidc import OidcClient, SignInRefused
from tocsin.web.auth import PageError, runtime_of, set_session_cookie
from tocsin.web.auth_pages import _safe_next, _signed_in, sso_name
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

STATE_COOKIE = "tocsin_oidc_state"
CALLBACK = "/login/oidc/callback"


def oidc_client(request: Request) -> OidcClient:
    """The process's client of the configured provider (discovery and keys cached in it); 404 without one."""
    settings = runtime_of(request).settings
    if not settings.oidc_enabled:
        raise PageError(404, "Single sign-on is not configured here.")
    client: OidcClient | None = getattr(request.app.state, "oidc_client", None)
    if client is None:
        client = OidcClient(settings)
        request.app.state.oidc_client = client
    return client


def _refused(request: Request, exc: TocsinError, *, reason: str) -> Response:
    runtime = runtime_of(request)
    with runtime.db.unit_of_work() as session:
        audit.record(session, sso.SSO_SIGN_IN_REFUSED, object_type="user", data={"reason": reason[:255]})
    message = f"Single sign-on failed: {exc.detail}"
    response = render(
        "web/login.html", exc.status_code, next="/incidents", error=message, email="", sso=sso_name(request)
    )
    response.delete_cookie(STATE_COOKIE, path="/login/oidc")
    return response


@router.get("/login/oidc")
def start(request: Request) -> Response:
    client = oidc_client(request)
    runtime = runtime_of(request)
    target = _safe_next(request.query_params.get("next"))
    try:
        # Discovery first: with the provider down, no sign-in is left in flight.
        client.metadata()
        with runtime.db.unit_of_work() as session:
            pending = sso.start(session, next_path=target, now=runtime.clock.now())
        url = client.authorization_url(state=pending.state, nonce=pending.nonce, code_verifier=pending.code_verifier)
    except TocsinError as exc:
        return _refused(request, exc, reason=exc.detail)
    response = RedirectResponse(url, status_code=303)
    secure = request.url.scheme == "https" or runtime.settings.base_url.startswith("https://")
    lifetime = int(sso.STATE_LIFETIME.total_seconds())
    # Lax: the provider's redirect back is a top-level GET, which carries it.
    response.set_cookie(
        STATE_COOKIE, pending.state, httponly=True, samesite="lax", secure=secure, path="/login/oidc", max_age=lifetime
    )
    return response


@router.get(CALLBACK)
def callback(request: Request) -> Response:
    client = oidc_client(request)
    runtime = runtime_of(request)
    params = request.query_params
    state = params.get("state") or ""
    code = params.get("code") or ""
    try:
        if params.get("error"):
            # The provider's refusal (some providers leave the state off it): shown as it is, nobody signed in.
            error = params.get("error", "")[:100]
            description = params.get("error_description", "")[:200]
            raise SignInRefused(
                f"the identity provider did not sign you in ({error}{': ' if description else ''}{description})"
            )
        if not state:
            raise SignInRefused("the identity provider's answer has no state; start again from the sign-in page")
        cookie = request.cookies.get(STATE_COOKIE) or ""
        if not hmac.compare_digest(cookie.encode(), state.encode()):
            raise SignInRefused("this sign-in was not started in this browser; start again from the sign-in page")
        with runtime.db.unit_of_work() as session:
            pending = sso.redeem(session, state, now=runtime.clock.now())
        if not code or len(code) > 2000:
            raise SignInRefused("the identity provider's answer has no authorization code")
        id_token = client.exchange(code, pending.code_verifier)
        now = runtime.clock.now()
        claims = client.verify_id_token(id_token, nonce=pending.nonce, now=now)
        try:
            with runtime.db.unit_of_work() as session:
                user = sso.sign_in(session, claims, settings=runtime.settings, now=now)
                token = _signed_in(request, session, user, now)
        except IntegrityError:
            # Two first sign-ins of one person at once: the other one made the account.
            raise SignInRefused("this account was being set up by another sign-in; sign in again") from None
    except TocsinError as exc:
        return _refused(request, exc, reason=exc.detail)
    response = RedirectResponse(_safe_next(pending.next_path), status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/login/oidc")
    set_session_cookie(response, request, token)
    return response
