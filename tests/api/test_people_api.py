"""/api/v1/users, teams and tokens through the real application."""

from __future__ import annotations

import hashlib

from tests.api.conftest import ok, problem
from tests.conftest import ApiHarness


def test_users_create_get_list_patch(api: ApiHarness) -> None:
    created = ok(
        api.post(
            "/api/v1/users",
            json={"email": "Bob@Example.com", "name": "Bob", "role": "observer", "timezone": "Europe/Berlin"},
        ),
        201,
    )
    assert (created["email"], created["role"], created["timezone"]) == ("bob@example.com", "observer", "Europe/Berlin")
    assert ok(api.get(f"/api/v1/users/{created['id']}")) == created
    assert ok(api.get("/api/v1/users/bob@example.com")) == created
    assert ok(api.get("/api/v1/users/me"))["email"] == "admin@example.com"
    assert {u["email"] for u in ok(api.get("/api/v1/users"))} == {"admin@example.com", "bob@example.com"}

    patched = ok(api.patch("/api/v1/users/bob@example.com", json={"role": "responder", "name": "Robert"}))
    assert (patched["role"], patched["name"]) == ("responder", "Robert")
    moved = ok(api.patch("/api/v1/users/bob@example.com", json={"email": "Robert@Example.com"}))
    assert moved["email"] == "robert@example.com"
    assert (
        "already exists"
        in problem(api.patch(f"/api/v1/users/{created['id']}", json={"email": "admin@example.com"}), 409)["detail"]
    )
    assert (
        "not an email" in problem(api.patch(f"/api/v1/users/{created['id']}", json={"email": "nobody"}), 422)["detail"]
    )


def test_user_errors_name_the_field(api: ApiHarness) -> None:
    ok(api.post("/api/v1/users", json={"email": "bob@example.com"}), 201)
    assert "already exists" in problem(api.post("/api/v1/users", json={"email": "BOB@example.com"}), 409)["detail"]
    assert "email" in problem(api.post("/api/v1/users", json={"email": "not an address"}), 422)["detail"]
    assert "role" in problem(api.post("/api/v1/users", json={"email": "c@example.com", "role": "god"}), 422)["detail"]
    body = problem(api.post("/api/v1/users", json={"email": "c@example.com", "timezone": "Mars/Olympus"}), 422)
    assert "Mars/Olympus" in body["detail"]
    problem(api.get("/api/v1/users/nobody@example.com"), 404)
    problem(api.get("/api/v1/users/424242"), 404)
    problem(api.patch("/api/v1/users/me", json={"timezone": "Nowhere/Else"}), 422)


def test_people_change_their_own_profile_but_not_roles(api: ApiHarness) -> None:
    token = api.token_for("carol@example.com", "responder")
    mine = ok(api.patch("/api/v1/users/me", json={"name": "Carol", "timezone": "Asia/Tokyo"}, token=token))
    assert (mine["name"], mine["timezone"]) == ("Carol", "Asia/Tokyo")
    assert "admin" in problem(api.patch("/api/v1/users/me", json={"role": "admin"}, token=token), 403)["detail"]
    problem(api.patch(f"/api/v1/users/{api.admin_id}", json={"name": "Mallory"}, token=token), 403)
    assert (
        "email" in problem(api.patch("/api/v1/users/me", json={"email": "c2@example.com"}, token=token), 403)["detail"]
    )
    problem(api.post("/api/v1/users", json={"email": "x@example.com"}, token=token), 403)
    assert ok(api.get("/api/v1/users/me", token=token))["role"] == "responder"
    assert ok(api.get(f"/api/v1/users/{api.admin_id}"))["name"] == "Admin"


def test_the_last_admin_cannot_be_demoted(api: ApiHarness) -> None:
    problem(api.patch("/api/v1/users/me", json={"role": "responder"}), 409)
    ok(api.post("/api/v1/users", json={"email": "second@example.com", "role": "admin"}), 201)
    assert ok(api.patch("/api/v1/users/me", json={"role": "responder"}))["role"] == "responder"


def test_teams_and_members(api: ApiHarness) -> None:
    ok(api.post("/api/v1/users", json={"email": "dan@example.com"}), 201)
    team = ok(api.post("/api/v1/teams", json={"name": "payments", "description": "money"}), 201)
    assert team["members"] == []
    assert ok(api.get("/api/v1/teams/payments")) == ok(api.get(f"/api/v1/teams/{team['id']}"))

    with_dan = ok(api.client.put("/api/v1/teams/payments/members/dan@example.com", headers=api.headers()))
    assert [(m["email"], m["role"]) for m in with_dan["members"]] == [("dan@example.com", "member")]
    promoted = ok(
        api.client.put(
            "/api/v1/teams/payments/members/dan@example.com", json={"role": "manager"}, headers=api.headers()
        )
    )
    assert [m["role"] for m in promoted["members"]] == ["manager"]
    me_too = ok(api.client.put("/api/v1/teams/payments/members/me", headers=api.headers()))
    assert {m["email"] for m in me_too["members"]} == {"dan@example.com", "admin@example.com"}

    removed = ok(api.delete("/api/v1/teams/payments/members/dan@example.com"))
    assert [m["email"] for m in removed["members"]] == ["admin@example.com"]
    assert "not a member" in problem(api.delete("/api/v1/teams/payments/members/dan@example.com"), 404)["detail"]

    renamed = ok(api.patch("/api/v1/teams/payments", json={"name": "billing"}))
    assert (renamed["name"], renamed["description"]) == ("billing", "money")
    assert [t["name"] for t in ok(api.get("/api/v1/teams"))] == ["billing"]

    ok(api.post("/api/v1/services", json={"name": "invoices", "team": "billing"}), 201)
    ok(api.delete("/api/v1/teams/billing"), 204)
    problem(api.get("/api/v1/teams/billing"), 404)
    assert ok(api.get("/api/v1/services/invoices"))["team"] is None, "a service outlives its team"


def test_team_errors_and_roles(api: ApiHarness) -> None:
    ok(api.post("/api/v1/teams", json={"name": "payments"}), 201)
    ok(api.post("/api/v1/teams", json={"name": "search"}), 201)
    problem(api.post("/api/v1/teams", json={"name": "payments"}), 409)
    problem(api.patch("/api/v1/teams/search", json={"name": "payments"}), 409)
    assert "name" in problem(api.post("/api/v1/teams", json={"name": ""}), 422)["detail"]
    problem(api.get("/api/v1/teams/missing"), 404)
    problem(api.client.put("/api/v1/teams/payments/members/nobody@example.com", headers=api.headers()), 404)
    body = problem(
        api.client.put("/api/v1/teams/payments/members/me", json={"role": "boss"}, headers=api.headers()), 422
    )
    assert "role" in body["detail"]

    responder = api.token_for("r@example.com", "responder")
    ok(api.get("/api/v1/teams", token=responder))
    problem(api.post("/api/v1/teams", json={"name": "x"}, token=responder), 403)
    problem(api.patch("/api/v1/teams/payments", json={"name": "x"}, token=responder), 403)
    problem(api.delete("/api/v1/teams/payments", token=responder), 403)
    problem(api.client.put("/api/v1/teams/payments/members/me", headers=api.headers(responder)), 403)


def test_tokens_create_list_revoke(api: ApiHarness) -> None:
    responder = api.token_for("erin@example.com", "responder")
    created = ok(api.post("/api/v1/tokens", json={"name": "laptop"}, token=responder), 201)
    secret = created["token"]
    assert secret.startswith("tocsin_")
    assert len(secret) >= len("tocsin_") + 22
    assert secret.startswith(created["prefix"])
    assert ok(api.get("/api/v1/users/me", token=secret))["email"] == "erin@example.com"

    mine = ok(api.get("/api/v1/tokens", token=responder))
    assert len(mine) == 2
    assert all("token" not in t for t in mine)
    assert secret not in str(mine)
    everyone = ok(api.get("/api/v1/tokens"))
    assert len(everyone) == 3

    ok(api.delete(f"/api/v1/tokens/{created['id']}", token=responder), 204)
    assert "revoked" in problem(api.get("/api/v1/users/me", token=secret), 401)["detail"]
    revoked = next(t for t in ok(api.get("/api/v1/tokens", token=responder)) if t["id"] == created["id"])
    assert revoked["revoked_at"] is not None


def test_tokens_for_others_need_admin(api: ApiHarness) -> None:
    responder = api.token_for("frank@example.com", "responder")
    problem(api.post("/api/v1/tokens", json={"name": "x", "user": str(api.admin_id)}, token=responder), 403)
    for_frank = ok(api.post("/api/v1/tokens", json={"name": "ci", "user": "frank@example.com"}), 201)
    assert ok(api.get("/api/v1/users/me", token=for_frank["token"]))["email"] == "frank@example.com"

    admin_tokens = [t for t in ok(api.get("/api/v1/tokens")) if t["user_id"] == api.admin_id]
    # Someone else's token is invisible to a responder, so revoking it is a 404, not a 403 that confirms it exists.
    problem(api.delete(f"/api/v1/tokens/{admin_tokens[0]['id']}", token=responder), 404)
    ok(api.get("/api/v1/users/me"))
    # Admins may revoke anyone's token.
    ok(api.delete(f"/api/v1/tokens/{for_frank['id']}"), 204)
    problem(api.get("/api/v1/users/me", token=for_frank["token"]), 401)
    assert "name" in problem(api.post("/api/v1/tokens", json={}), 422)["detail"]


def test_tokens_are_random_and_stored_only_as_a_hash(api: ApiHarness) -> None:
    from tocsin.users import service as users

    secrets = [ok(api.post("/api/v1/tokens", json={"name": f"t{n}"}), 201)["token"] for n in range(3)]
    assert len(set(secrets)) == 3
    # 32 random bytes in URL-safe base64 after the prefix: well past 128 bits.
    assert all(len(s) - len("tocsin_") >= 43 for s in secrets)
    with api.runtime.db.reader() as session:
        stored = users.list_tokens(session)
        columns = [str(v) for t in stored for v in vars(t).values()]
    for secret in secrets:
        assert not any(secret in c for c in columns), "the token itself must not be stored"
    assert {hashlib.sha256(s.encode()).hexdigest() for s in secrets} <= {t.token_hash for t in stored}
