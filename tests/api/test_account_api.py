"""/api/v1/me: changing one's password (which ends every console session) and listing and ending sessions;
API token expiry and scopes, checked by walking every write route of the app."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import ApiHarness
from tocsin.auth import sessions
from tocsin.core.errors import Unauthorized
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

OLD = "an old but long passphrase 1"
NEW = "a brand new passphrase, 2026"


@pytest.fixture(scope="module")
def old_hash() -> str:
    return hash_password(OLD)


def _with_password(api: ApiHarness, old_hash: str, browsers: int = 2) -> list[str]:
    """Give the admin a password and some signed-in browsers; returns their cookie tokens."""
    with api.runtime.db.unit_of_work() as s:
        users.get_user(s, api.admin_id).password_hash = old_hash
        return [sessions.new_session(s, user_id=api.admin_id, now=api.clock.now()) for _ in range(browsers)]


def _change(api: ApiHarness, current: str, new: str) -> tuple[int, str]:
    r = api.post("/api/v1/me/password", json={"current_password": current, "new_password": new})
    return r.status_code, r.text


def test_changing_the_password_needs_the_current_one_and_ends_every_session(api: ApiHarness, old_hash: str) -> None:
    tokens = _with_password(api, old_hash)
    status, text = _change(api, "not my password at all", NEW)
    assert status == 422
    assert "current password is not right" in text
    assert len(api.get("/api/v1/me/sessions").json()) == 2

    assert _change(api, OLD, NEW)[0] == 204
    assert api.get("/api/v1/me/sessions").json() == []
    with api.runtime.db.reader() as s:
        assert all(sessions.user_of(s, t, now=api.clock.now()) is None for t in tokens)
    with api.runtime.db.unit_of_work() as s:
        with pytest.raises(Unauthorized):
            sessions.sign_in(s, email="admin@example.com", password=OLD, now=api.clock.now())
        sessions.sign_in(s, email="admin@example.com", password=NEW, now=api.clock.now())


@pytest.mark.parametrize(
    ("new", "says"),
    [
        ("short1", "at least 12 characters"),
        ("admin@example.com", "not be your name or email"),
        ("password1234", "commonly used"),
        ("QwertyUiop123", "commonly used"),
    ],
)
def test_the_password_policy_names_what_is_wrong(api: ApiHarness, old_hash: str, new: str, says: str) -> None:
    _with_password(api, old_hash, browsers=0)
    status, text = _change(api, OLD, new)
    assert status == 422, text
    assert says in text


def test_a_bigger_blocklist_file_can_be_added(api: ApiHarness, old_hash: str, tmp_path: object) -> None:
    from pathlib import Path

    listed = Path(str(tmp_path)) / "more.txt"
    listed.write_text("# ours\ncorrect-horse-battery\n")
    api.runtime.settings = api.runtime.settings.model_copy(update={"password_blocklist_file": str(listed)})
    _with_password(api, old_hash, browsers=0)
    status, text = _change(api, OLD, "Correct-Horse-Battery")
    assert status == 422
    assert "commonly used" in text


def test_wrong_current_passwords_back_off(api: ApiHarness, old_hash: str) -> None:
    _with_password(api, old_hash, browsers=0)
    statuses = [_change(api, f"guess number {n}", NEW)[0] for n in range(7)]
    assert statuses[:5] == [422] * 5
    assert 429 in statuses[5:]
    r = api.post("/api/v1/me/password", json={"current_password": OLD, "new_password": NEW})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1


def test_sessions_are_listed_and_ended_one_by_one(api: ApiHarness, old_hash: str) -> None:
    _with_password(api, old_hash, browsers=2)
    listed = api.get("/api/v1/me/sessions").json()
    assert len(listed) == 2
    assert api.delete(f"/api/v1/me/sessions/{listed[0]['id']}").status_code == 204
    assert [s["id"] for s in api.get("/api/v1/me/sessions").json()] == [listed[1]["id"]]
    # Another person's session is not the caller's to end.
    bob = api.token_for("bob@example.com")
    r = api.delete(f"/api/v1/me/sessions/{listed[1]['id']}", token=bob)
    assert r.status_code == 404
    assert len(api.get("/api/v1/me/sessions").json()) == 1


# --- API tokens: expiry and scopes ---------------------------------------------------------------------------------


def _token(api: ApiHarness, **fields: object) -> str:
    r = api.post("/api/v1/tokens", json={"name": "scoped", **fields})
    assert r.status_code == 201, r.text
    assert r.json()["scope"] == fields.get("scope", "admin")
    return str(r.json()["token"])


def test_an_expired_token_gets_401_saying_so(api: ApiHarness) -> None:
    past = (api.clock.now() - timedelta(minutes=1)).isoformat()
    r = api.post("/api/v1/tokens", json={"name": "late", "expires_at": past})
    assert r.status_code == 422
    assert "in the future" in r.text
    r = api.post("/api/v1/tokens", json={"name": "naive", "expires_at": "2030-01-01T00:00:00"})
    assert r.status_code == 422
    assert "time zone" in r.text

    soon = _token(api, expires_at=(api.clock.now() + timedelta(hours=1)).isoformat())
    assert api.get("/api/v1/services", token=soon).status_code == 200
    api.clock.advance(timedelta(hours=1, seconds=1))
    r = api.get("/api/v1/services", token=soon)
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


def _write_routes(api: ApiHarness) -> list[tuple[str, str]]:
    paths = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return sorted(
        (method.upper(), path)
        for path, ops in paths.items()
        if path.startswith("/api/v1/")
        for method in ops
        if method in ("post", "put", "patch", "delete")
    )


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_scopes_hold_on_every_write_route(api: ApiHarness) -> None:
    read_only = _token(api, scope="read-only")
    incidents = _token(api, scope="incidents")
    routes = _write_routes(api)
    assert len(routes) > 40
    for method, path in routes:
        url = _filled(path)
        r = api.client.request(method, url, json={}, headers=api.headers(read_only))
        assert r.status_code == 403, f"read-only token: {method} {path} -> {r.status_code}"
        assert "read-only" in r.json()["detail"]
        r = api.client.request(method, url, json={}, headers=api.headers(incidents))
        if path.startswith("/api/v1/incidents"):
            assert r.status_code != 403, f"incidents token refused on {method} {path}: {r.text}"
        else:
            assert r.status_code == 403, f"incidents token: {method} {path} -> {r.status_code}"
    # Reads stay open to both.
    for token in (read_only, incidents):
        assert api.get("/api/v1/services", token=token).status_code == 200
        assert api.get("/api/v1/incidents", token=token).status_code == 200


def test_an_incidents_token_acts_on_incidents(api: ApiHarness) -> None:
    incidents = _token(api, scope="incidents")
    with api.runtime.db.unit_of_work() as s:
        from tocsin.services import service as services

        service_id = services.create_service(s, name="shop", now=api.clock.now()).id
    r = api.post("/api/v1/incidents", json={"title": "checkout down", "service_id": service_id}, token=incidents)
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    assert api.post(f"/api/v1/incidents/{number}/acknowledge", token=incidents).status_code == 200
    assert api.post("/api/v1/services", json={"name": "other"}, token=incidents).status_code == 403


def test_tokens_made_before_scopes_keep_their_full_power(api: ApiHarness) -> None:
    # The harness's token is made without a scope, as every token before this change was.
    tokens = api.get("/api/v1/tokens").json()
    assert {t["scope"] for t in tokens} == {"admin"}
    assert api.post("/api/v1/services", json={"name": "still-allowed"}).status_code == 201


def test_an_admin_reset_gives_a_temporary_password_and_ends_every_session(api: ApiHarness, old_hash: str) -> None:
    bob = api.token_for("bob@example.com")
    with api.runtime.db.unit_of_work() as s:
        bob_id = users.get_user(s, "bob@example.com").id
        users.get_user(s, bob_id).password_hash = old_hash
        cookie = sessions.new_session(s, user_id=bob_id, now=api.clock.now())
    assert api.post("/api/v1/users/admin@example.com/password-reset", token=bob).status_code == 403

    r = api.post("/api/v1/users/bob@example.com/password-reset")
    assert r.status_code == 200, r.text
    temporary = r.json()["temporary_password"]
    assert r.json()["sessions_ended"] == 1
    with api.runtime.db.unit_of_work() as s:
        assert sessions.user_of(s, cookie, now=api.clock.now()) is None
        with pytest.raises(Unauthorized):
            sessions.sign_in(s, email="bob@example.com", password=OLD, now=api.clock.now())
        sessions.sign_in(s, email="bob@example.com", password=temporary, now=api.clock.now())


def test_an_admin_can_mail_a_reset_link_instead(api: ApiHarness) -> None:
    from tocsin.mailbox import service as mailbox

    api.token_for("bob@example.com")
    r = api.post("/api/v1/users/bob@example.com/password-reset", json={"send_link": True})
    assert r.status_code == 200, r.text
    assert r.json() == {"temporary_password": None, "sessions_ended": 0, "link_sent": True}
    with api.runtime.db.reader() as s:
        (mail,) = mailbox.newest(s, addresses=["bob@example.com"])
    assert "Password reset" in mail.subject
    assert "/reset/" not in mail.subject
