"""What single sign-on refuses, each against the real provider on SQLite and PostgreSQL: an ID token of another
issuer or for another client, a missing, altered or foreign state, a wrong nonce, a replayed callback or
authorization code, an expired ID token, an unverified email, a deactivated account, an unknown person without
just-in-time accounts, a domain not allowed, a provider that says no or is down. Each answers the sign-in page with
what went wrong (400, 403 or 502), signs nobody in, creates no account and changes nothing."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.sso.conftest import (
    Provider,
    Sso,
    Wsgi,
    _free_port,
    person,
    run_provider,
    run_tocsin,
    sso_harness,
    with_query,
)
from tocsin.audit.models import AuditEntry
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.users import service as users


def refused(response: httpx.Response, status: int, words: str) -> str:
    assert response.status_code == status, response.text
    assert "Single sign-on failed" in response.text
    assert words in response.text, response.text
    assert "tocsin_session" not in response.headers.get("set-cookie", "")
    return response.text


def nobody_signed_in(sso: Sso, browser: httpx.Client) -> None:
    assert "tocsin_session" not in browser.cookies
    assert browser.get(f"{sso.url}/incidents").status_code == 303  # to the sign-in page
    assert sso.user_count() == 1  # the admin alone


def test_an_id_token_from_another_issuer_is_refused(db: Database, real_clock: FakeClock) -> None:
    def other_issuer(app: Wsgi) -> Wsgi:
        # The provider names itself after the host it is asked as: asked for tokens as "localhost", it signs ID
        # tokens of another issuer than the one configured (and discovered) as 127.0.0.1.
        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO") == "/oauth2/token":
                environ["HTTP_HOST"] = f"localhost:{environ['SERVER_PORT']}"
            return app(environ, start_response)

        return wsgi

    with run_provider(other_issuer) as provider, sso_harness(db, real_clock, provider) as sso:
        browser = sso.browser()
        done = sso.sign_in("sub-eve", person("eve@example.com", groups=["grp-a"]), browser=browser)
        refused(done.response, 400, "issued by")
        assert "localhost" in done.response.text
        nobody_signed_in(sso, browser)


def test_an_id_token_for_another_client_is_refused(db: Database, real_clock: FakeClock) -> None:
    def other_client(app: Wsgi) -> Wsgi:
        # The token request is presented to the provider as another client's (the authorization request below is
        # too): the provider then signs an ID token whose audience is that client, not Tocsin.
        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("PATH_INFO") == "/oauth2/token":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(size).replace(b"client_id=tocsin-console", b"client_id=another-app")
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
                credentials = base64.b64encode(b"another-app:provider-shared-secret").decode()
                environ["HTTP_AUTHORIZATION"] = f"Basic {credentials}"
            return app(environ, start_response)

        return wsgi

    with run_provider(other_client) as provider, sso_harness(db, real_clock, provider) as sso:
        browser = sso.browser()
        done = sso.sign_in(
            "sub-uma",
            person("uma@example.com", groups=["grp-a"]),
            browser=browser,
            tamper=lambda url: with_query(url, client_id="another-app"),
        )
        text = refused(done.response, 400, "claim is not right")
        assert "aud" in text.split("claim is not right", 1)[1][:40]
        nobody_signed_in(sso, browser)


def test_a_missing_altered_or_foreign_state_is_refused(sso: Sso) -> None:
    sso.provider.set_user("sub-fay", person("fay@example.com"))
    browser = sso.browser()
    callback = sso.authorize(browser, sso.to_provider(browser), "sub-fay")
    code = httpx.URL(callback).params["code"]
    base = f"{sso.url}/login/oidc/callback"
    refused(browser.get(base, params={"code": code}), 400, "has no state")
    refused(browser.get(base, params={"code": code, "state": "made-up-state"}), 400, "not started in this browser")
    # Another browser (no state cookie) cannot finish this one's sign-in.
    stranger = sso.browser()
    refused(stranger.get(callback), 400, "not started in this browser")
    # The same state in the cookie, but unknown to the server.
    stranger.cookies.set("tocsin_oidc_state", "made-up-state", path="/login/oidc")
    refused(stranger.get(base, params={"code": code, "state": "made-up-state"}), 400, "unknown or was already used")
    nobody_signed_in(sso, stranger)
    nobody_signed_in(sso, browser)


def test_a_wrong_nonce_is_refused(sso: Sso) -> None:
    browser = sso.browser()
    done = sso.sign_in(
        "sub-gus",
        person("gus@example.com"),
        browser=browser,
        tamper=lambda url: with_query(url, nonce="a-nonce-this-sign-in-never-made"),
    )
    refused(done.response, 400, "nonce")
    nobody_signed_in(sso, browser)
    with sso.db.reader() as s:
        stmt = select(AuditEntry).where(AuditEntry.action == "auth.sso_sign_in_refused")
        reasons = [str(e.data["reason"]) for e in s.scalars(stmt)]
    assert len(reasons) == 1
    assert "nonce" in reasons[0]


def test_a_replayed_callback_or_authorization_code_is_refused(sso: Sso) -> None:
    browser = sso.browser()
    first = sso.sign_in("sub-hal", person("hal@example.com", groups=["grp-a"]), browser=browser)
    assert first.response.status_code == 303, first.response.text
    state = httpx.URL(first.callback).params["state"]
    code = httpx.URL(first.callback).params["code"]

    # The same callback again, from a browser still holding the state: used once already.
    replay = sso.browser()
    replay.cookies.set("tocsin_oidc_state", state, path="/login/oidc")
    refused(replay.get(first.callback), 400, "unknown or was already used")
    # The used code with a fresh, genuine state: the provider refuses it.
    fresh = sso.browser()
    fresh_state = httpx.URL(sso.to_provider(fresh)).params["state"]
    again = fresh.get(f"{sso.url}/login/oidc/callback", params={"code": code, "state": fresh_state})
    refused(again, 400, "refused the authorization code")
    for other in (replay, fresh):
        assert "tocsin_session" not in other.cookies
        assert other.get(f"{sso.url}/incidents").status_code == 303
    with sso.db.reader() as s:
        assert len(users.list_users(s)) == 2


def test_an_expired_id_token_is_refused(sso: Sso) -> None:
    browser = sso.browser()
    # The provider's ID tokens last an hour: the callback arrives (by Tocsin's clock) two hours later.
    done = sso.sign_in(
        "sub-ida",
        person("ida@example.com"),
        browser=browser,
        before_callback=lambda: sso.clock.advance(timedelta(hours=2)),
    )
    refused(done.response, 400, "expired")
    nobody_signed_in(sso, browser)


def test_an_unverified_email_neither_creates_nor_matches_an_account(sso: Sso) -> None:
    with sso.db.unit_of_work() as s:
        users.create_user(s, email="jo@example.com", name="Jo", role="observer", now=sso.clock.now())
    for email in ("new@example.com", "jo@example.com"):
        browser = sso.browser()
        done = sso.sign_in(f"sub-{email}", person(email, groups=["grp-admins"], verified=False), browser=browser)
        refused(done.response, 400, "has not verified the email address")
        assert "tocsin_session" not in browser.cookies
    assert sso.user("new@example.com") is None
    assert sso.user("jo@example.com").role == "observer"
    assert sso.user_count() == 2


def test_a_deactivated_account_is_refused(sso: Sso) -> None:
    assert sso.sign_in("sub-kim", person("kim@example.com", groups=["grp-a"])).response.status_code == 303
    with sso.db.unit_of_work() as s:
        users.deactivate_user(s, users.get_user(s, "kim@example.com"), now=sso.clock.now())
    browser = sso.browser()
    done = sso.sign_in("sub-kim", person("kim@example.com", groups=["grp-b"]), browser=browser)
    refused(done.response, 403, "deactivated")
    assert "tocsin_session" not in browser.cookies
    assert sso.teams_of("kim@example.com") == {"team-a": "member"}, "a refused sign-in changes no team"


def test_the_provider_saying_no_is_shown(sso: Sso) -> None:
    browser = sso.browser()
    authorize_url = sso.to_provider(browser)
    assert browser.get(authorize_url).status_code == 200
    denied = browser.post(authorize_url, data={"action": "deny"})
    assert denied.status_code == 302
    refused(browser.get(denied.headers["location"]), 400, "access_denied")
    nobody_signed_in(sso, browser)


@pytest.fixture
def strict(db: Database, real_clock: FakeClock, provider: Provider) -> Iterator[Sso]:
    options = {"oidc_create_accounts": False, "oidc_allowed_domains": "example.com, corp.example"}
    with sso_harness(db, real_clock, provider, **options) as harness:
        yield harness


def test_without_just_in_time_accounts_an_unknown_person_is_refused(strict: Sso) -> None:
    browser = strict.browser()
    done = strict.sign_in("sub-lee", person("lee@example.com", groups=["grp-a"]), browser=browser)
    refused(done.response, 403, "there is no account for lee@example.com")
    nobody_signed_in(strict, browser)
    with strict.db.unit_of_work() as s:
        users.create_user(s, email="lee@corp.example", name="Lee", role="observer", now=strict.clock.now())
    done = strict.sign_in("sub-lee2", person("lee@corp.example", groups=["grp-a"]))
    assert done.response.status_code == 303, done.response.text
    assert strict.teams_of("lee@corp.example") == {"team-a": "member"}


def test_an_email_domain_not_allowed_is_refused(strict: Sso) -> None:
    with strict.db.unit_of_work() as s:
        users.create_user(s, email="mo@elsewhere.example", name="Mo", role="observer", now=strict.clock.now())
    browser = strict.browser()
    done = strict.sign_in("sub-mo", person("mo@elsewhere.example", groups=["grp-admins"]), browser=browser)
    refused(done.response, 403, "may not sign in here")
    assert strict.user("mo@elsewhere.example").role == "observer"
    assert "tocsin_session" not in browser.cookies


def test_a_provider_that_is_down_is_a_502_and_leaves_nothing_in_flight(db: Database, real_clock: FakeClock) -> None:
    nowhere = f"http://127.0.0.1:{_free_port()}"
    with run_tocsin(db, real_clock, nowhere) as (url, _), httpx.Client(timeout=15) as browser:
        r = browser.get(f"{url}/login/oidc")
        refused(r, 502, "could not be reached")
        assert "tocsin_oidc_state" not in browser.cookies
        assert "Sign in with Example ID" in r.text
        # The password form still works as before.
        assert browser.get(f"{url}/login").status_code == 200
    with db.reader() as s:
        assert len(users.list_users(s)) == 1
