"""Single sign-on against a real OpenID Connect provider (``oidc-provider-mock``, a Flask app built on Authlib's
server side) served on 127.0.0.1 in a thread, and a real Tocsin served by uvicorn in another, on SQLite and
PostgreSQL. A test drives a browser's part with httpx over real HTTP: the button, the provider's authorization
form (the person's claims are set at the provider before), the redirect back.

Tocsin's clock is a FakeClock starting at the real time (the provider stamps its tokens with the real time), so a
test can move past an ID token's expiry without waiting."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
import werkzeug.serving

from tocsin.app import create_app
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.settings import load_settings
from tocsin.teams import service as teams
from tocsin.users import service as users

CLIENT_ID = "tocsin-console"
CLIENT_SECRET = "provider-shared-secret"
GROUP_TEAMS = {
    "grp-a": {"team": "team-a", "role": "member"},
    "grp-a-leads": {"team": "team-a", "role": "manager"},
    "grp-b": {"team": "team-b", "role": "member"},
    "grp-ghost": {"team": "a team nobody made", "role": "manager"},
}
GROUP_ROLES = {"grp-admins": "admin", "grp-a": "responder", "grp-b": "responder"}

Wsgi = Callable[..., Any]

# The provider runs on Authlib's older server-side interfaces, which warn about themselves on every token issued
# (in the provider's thread, under the test's warning filters).
PROVIDER_WARNINGS = ("ignore:get_jwt_config:DeprecationWarning", "ignore::DeprecationWarning:authlib")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/sso/" in item.nodeid:
            for spec in PROVIDER_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Provider:
    issuer: str

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        r = httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10)
        assert r.status_code == 204, r.text


@contextmanager
def run_provider(wrap: Callable[[Wsgi], Wsgi] | None = None) -> Iterator[Provider]:
    with warnings.catch_warnings():
        # The provider still imports Authlib's older JOSE module, which warns about it.
        warnings.simplefilter("ignore", DeprecationWarning)
        import oidc_provider_mock

        app = oidc_provider_mock.app(require_nonce=True)
    wsgi: Wsgi = app if wrap is None else wrap(app)
    server = werkzeug.serving.make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Provider(issuer=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@dataclass
class SignIn:
    """One trip through the provider: the callback URL it sent the browser to, and Tocsin's answer to it."""

    callback: str
    response: httpx.Response


@dataclass
class Sso:
    provider: Provider
    url: str
    db: Database
    clock: FakeClock
    admin_token: str
    browsers: list[httpx.Client] = field(default_factory=list)

    def browser(self) -> httpx.Client:
        client = httpx.Client(timeout=15)
        self.browsers.append(client)
        return client

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def to_provider(self, browser: httpx.Client, next_path: str = "/incidents") -> str:
        """Press the button: the provider's authorization URL Tocsin redirects to."""
        r = browser.get(f"{self.url}/login/oidc", params={"next": next_path})
        assert r.status_code == 303, r.text
        location = r.headers["location"]
        assert location.startswith(self.provider.issuer + "/oauth2/authorize?"), location
        return str(location)

    def authorize(self, browser: httpx.Client, authorize_url: str, sub: str) -> str:
        """At the provider: open its form, sign in as ``sub``; the callback URL it redirects to."""
        form = browser.get(authorize_url)
        assert form.status_code == 200, form.text
        assert 'name="sub"' in form.text
        r = browser.post(authorize_url, data={"sub": sub})
        assert r.status_code == 302, r.text
        callback = str(r.headers["location"])
        assert callback.startswith(f"{self.url}/login/oidc/callback?"), callback
        return callback

    def sign_in(
        self,
        sub: str,
        claims: dict[str, Any] | None = None,
        *,
        browser: httpx.Client | None = None,
        tamper: Callable[[str], str] | None = None,
        before_callback: Callable[[], None] | None = None,
    ) -> SignIn:
        if claims is not None:
            self.provider.set_user(sub, claims)
        browser = browser or self.browser()
        authorize_url = self.to_provider(browser)
        if tamper is not None:
            authorize_url = tamper(authorize_url)
        callback = self.authorize(browser, authorize_url, sub)
        if before_callback is not None:
            before_callback()
        return SignIn(callback=callback, response=browser.get(callback))

    def user(self, email: str) -> Any:
        with self.db.reader() as s:
            try:
                return users.get_user(s, email)
            except Exception:
                return None

    def user_count(self) -> int:
        with self.db.reader() as s:
            return len(users.list_users(s))

    def teams_of(self, email: str) -> dict[str, str]:
        with self.db.reader() as s:
            user = users.get_user(s, email)
            found = {}
            for team in teams.list_teams(s):
                for member, role in teams.members(s, team):
                    if member.id == user.id:
                        found[team.name] = role
            return found


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def person(email: str, *, groups: list[str] | None = None, verified: bool = True, name: str = "") -> dict[str, Any]:
    claims: dict[str, Any] = {"email": email, "email_verified": verified, "name": name or email.split("@")[0].title()}
    if groups is not None:
        claims["groups"] = groups
    return claims


@contextmanager
def run_tocsin(db: Database, clock: FakeClock, issuer: str, **overrides: Any) -> Iterator[tuple[str, str]]:
    """Tocsin on ``db`` with single sign-on at ``issuer``; yields its URL and an admin's API token."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    options: dict[str, Any] = {
        "database_url": db.url,
        "run_worker": False,
        "host": "127.0.0.1",
        "port": port,
        "public_url": url,
        "teams_see_all": False,
        "oidc_issuer": issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_display_name": "Example ID",
        "oidc_group_teams": GROUP_TEAMS,
        "oidc_group_roles": GROUP_ROLES,
        "oidc_create_accounts": True,
        "oidc_timeout_seconds": 5,
    }
    options.update(overrides)
    settings = load_settings(**options)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, token = users.create_token(s, admin, name="test", now=clock.now())
        for name in ("team-a", "team-b"):
            teams.create_team(s, name=name, now=clock.now())
    app = create_app(settings, clock=clock, db=db)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "Tocsin stopped during start-up"
        assert time.monotonic() < deadline, "Tocsin did not start within 30 s"
        time.sleep(0.02)
    try:
        yield url, token
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def real_clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def provider() -> Iterator[Provider]:
    with run_provider() as found:
        yield found


@contextmanager
def sso_harness(db: Database, clock: FakeClock, provider: Provider, **overrides: Any) -> Iterator[Sso]:
    with run_tocsin(db, clock, provider.issuer, **overrides) as (url, token):
        harness = Sso(provider=provider, url=url, db=db, clock=clock, admin_token=token)
        try:
            yield harness
        finally:
            for browser in harness.browsers:
                browser.close()


@pytest.fixture
def sso(db: Database, real_clock: FakeClock, provider: Provider) -> Iterator[Sso]:
    with sso_harness(db, real_clock, provider) as harness:
        yield harness
