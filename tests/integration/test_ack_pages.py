"""One-click acknowledge pages through a real app and database: GET shows, POST acts once, as "link".

The pages are mounted on a small app of their own around a real Runtime and database (the main app's wiring is
not this router's concern).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import make_service, make_user
from tocsin.auth.links import Action, link_secret, make_token, new_nonce
from tocsin.core.clock import FakeClock
from tocsin.core.errors import Conflict, Unauthorized
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.notify.service_links import use_link
from tocsin.runtime import Runtime
from tocsin.settings import load_settings
from tocsin.web.ack_pages import router

TITLE = '<script>alert("x")</script><img src=x onerror=alert(1)> CPU high'


@dataclasses.dataclass
class Pages:
    client: TestClient
    runtime: Runtime
    clock: FakeClock
    user_id: int
    incident_id: int

    def token(self, action: Action = "acknowledge", *, ttl: timedelta = timedelta(hours=1), **kw: object) -> str:
        args: dict[str, object] = {
            "incident_id": self.incident_id,
            "user_id": self.user_id,
            "action": action,
            "expires_at": self.clock.now() + ttl,
            "nonce": new_nonce(),
        }
        args.update(kw)
        return make_token(link_secret(self.runtime.settings), **args)  # type: ignore[arg-type]

    def status(self) -> str:
        with self.runtime.db.reader() as s:
            return incidents.get(s, self.incident_id).status

    def timeline(self) -> list[tuple[str, str, int | None]]:
        with self.runtime.db.reader() as s:
            return [(e.kind, e.source, e.actor_user_id) for e in incidents.timeline(s, self.incident_id)]


@pytest.fixture
def pages(db: Database, clock: FakeClock) -> Iterator[Pages]:
    settings = load_settings(
        database_url=db.url,
        run_worker=False,
        public_url="http://tocsin.test",
        secret_key="test-secret-for-links",
    )
    runtime = Runtime.build(settings, clock=clock, db=db)
    app = FastAPI()
    app.include_router(router)
    app.state.runtime = runtime
    now = clock.now()
    with db.unit_of_work() as s:
        user = make_user(s, now, "admin@example.com")
        service, _ = make_service(s, now)
        incident = incidents.declare(
            s, service_id=service.id, title=TITLE, actor=Actor("Admin", "api", user.id), now=now
        )
    with TestClient(app) as client:
        yield Pages(client, runtime, clock, user.id, incident.id)


def assert_hardened(headers: object) -> None:
    h = dict(headers)  # type: ignore[call-overload]
    assert h["content-security-policy"] == "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-store"
    assert h["content-type"].startswith("text/html")


def test_get_shows_a_confirmation_and_does_not_act(pages: Pages) -> None:
    token = pages.token()
    for _ in range(3):  # scanners and previews may fetch it several times
        r = pages.client.get(f"/a/{token}")
        assert r.status_code == 200
        assert_hardened(r.headers)
        assert '<form method="post">' in r.text
        assert "Acknowledge #1" in r.text
        assert "&lt;script&gt;" in r.text
        assert "<script>" not in r.text
        assert "<img" not in r.text
    assert pages.status() == "triggered"
    assert [k for k, _, _ in pages.timeline()] == ["triggered"]


def test_post_acknowledges_once(pages: Pages) -> None:
    token = pages.token()
    r = pages.client.post(f"/a/{token}")
    assert r.status_code == 200
    assert_hardened(r.headers)
    assert "acknowledged" in r.text
    assert pages.status() == "acknowledged"
    assert pages.timeline()[-1] == ("acknowledged", "link", pages.user_id)

    again = pages.client.post(f"/a/{token}")
    assert again.status_code == 409
    assert "already used" in again.text
    assert_hardened(again.headers)
    assert [k for k, _, _ in pages.timeline()] == ["triggered", "acknowledged"]


def test_resolve_link(pages: Pages) -> None:
    r = pages.client.post(f"/a/{pages.token('resolve')}")
    assert r.status_code == 200
    assert pages.status() == "resolved"
    assert pages.timeline()[-1] == ("resolved", "link", pages.user_id)


def test_already_acknowledged_says_who_and_when(pages: Pages) -> None:
    with pages.runtime.db.unit_of_work() as s:
        bob = make_user(s, pages.clock.now(), "bob@example.com")
        incidents.acknowledge(s, pages.incident_id, actor=Actor(bob.name, "api", bob.id), now=pages.clock.now())
    token = pages.token()
    shown = pages.client.get(f"/a/{token}")
    assert shown.status_code == 200
    assert "Already acknowledged" in shown.text
    assert "Bob acknowledged this incident at 2026-11-02 08:00 UTC" in shown.text
    posted = pages.client.post(f"/a/{token}")
    assert posted.status_code == 200
    assert "Bob acknowledged" in posted.text
    assert [k for k, _, _ in pages.timeline()] == ["triggered", "acknowledged"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_expired_link(pages: Pages, method: str) -> None:
    token = pages.token(ttl=timedelta(minutes=10))
    pages.clock.advance(timedelta(minutes=11))
    r = getattr(pages.client, method)(f"/a/{token}")
    assert r.status_code == 401
    assert "expired" in r.text
    assert_hardened(r.headers)
    assert pages.status() == "triggered"


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_and_foreign_links(pages: Pages, method: str) -> None:
    token = pages.token()
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    foreign = make_token(
        b"another-key",
        incident_id=pages.incident_id,
        user_id=pages.user_id,
        action="acknowledge",
        expires_at=pages.clock.now() + timedelta(hours=1),
        nonce="n",
    )
    for bad in (tampered, foreign, "garbage", "x" * 700):
        r = getattr(pages.client, method)(f"/a/{bad}")
        assert r.status_code == 401, bad
        assert "cannot be used" in r.text
    assert pages.status() == "triggered"


def test_use_link_is_single_use(pages: Pages) -> None:
    secret = link_secret(pages.runtime.settings)
    token = pages.token()
    now = pages.clock.now()
    with pages.runtime.db.unit_of_work() as s:
        claims = use_link(s, secret, token, now)
        assert claims.incident_id == pages.incident_id
    with pytest.raises(Conflict, match="already used"), pages.runtime.db.unit_of_work() as s:
        use_link(s, secret, token, now)
    with pytest.raises(Unauthorized), pages.runtime.db.unit_of_work() as s:
        use_link(s, b"wrong", token, now)


def test_failed_action_leaves_the_link_usable(pages: Pages) -> None:
    """If acting fails (the incident was resolved meanwhile), the nonce is not spent."""
    secret = link_secret(pages.runtime.settings)
    token = pages.token()
    now = pages.clock.now()

    def redeem_then_fail() -> None:
        with pages.runtime.db.unit_of_work() as s:
            use_link(s, secret, token, now)
            raise RuntimeError("the caller's action failed")

    with pytest.raises(RuntimeError):
        redeem_then_fail()
    with pages.runtime.db.unit_of_work() as s:
        use_link(s, secret, token, now)
