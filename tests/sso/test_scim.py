"""SCIM 2.0 Users under /scim/v2 with an admin's API token, on SQLite and PostgreSQL: finding people by userName,
the resource's shape, deactivation by PatchOp (with and without a path) and by DELETE, which signs the person out,
revokes their API tokens and takes them off schedules as the administrators' deactivation does; SCIM error bodies
for bad input, other callers and the last admin. And end to end: a person signed in through the real provider is
signed out by the deactivation and cannot sign in again."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import ok
from tests.conftest import ApiHarness
from tests.sso.conftest import Sso, person
from tocsin.audit.models import AuditEntry
from tocsin.auth import accounts, sessions
from tocsin.users import service as users

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    assert body.get("scimType") == scim_type
    return body


def _ann(api: ApiHarness) -> tuple[int, str, str]:
    """Ann: an API token, a signed-in browser session and the only place in a schedule's rotation."""
    token = api.token_for("ann@example.com")
    with api.runtime.db.unit_of_work() as s:
        ann = users.get_user(s, "ann@example.com")
        cookie = sessions.new_session(s, user_id=ann.id, now=api.clock.now())
        ann_id = ann.id
    start = api.clock.now().isoformat()
    body = {"name": "solo", "layers": [{"rotation": "daily", "start": start, "users": ["ann@example.com"]}]}
    ok(api.post("/api/v1/schedules", json=body), 201)
    assert ok(api.get("/api/v1/schedules/solo"))["on_call_now"]
    return ann_id, token, cookie


def _is_cut_off(api: ApiHarness, ann_id: int, token: str, cookie: str) -> None:
    refused = api.get("/api/v1/users/me", token=token)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    with api.runtime.db.reader() as s:
        assert all(t.revoked_at is not None for t in users.list_tokens(s, ann_id))
        assert accounts.sessions_of(s, ann_id, now=api.clock.now()) == []
        assert sessions.user_of(s, cookie, now=api.clock.now()) is None
    assert ok(api.get("/api/v1/schedules/solo"))["on_call_now"] == []
    assert ok(api.get("/api/v1/schedules/solo"))["has_gaps"] is True


def test_a_user_is_found_by_user_name_in_scim_shape(api: ApiHarness) -> None:
    ann_id, _, _ = _ann(api)
    found = ok(api.get('/scim/v2/Users?filter=userName eq "Ann@example.com"'))
    assert found["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (found["totalResults"], found["startIndex"], found["itemsPerPage"]) == (1, 1, 1)
    (user,) = found["Resources"]
    assert user["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:User"]
    assert user["id"] == str(ann_id)
    assert user["userName"] == "ann@example.com"
    assert user["name"] == {"formatted": "ann@example.com"}
    assert user["emails"] == [{"value": "ann@example.com", "type": "work", "primary": True}]
    assert user["active"] is True
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["location"] == f"http://tocsin.test/scim/v2/Users/{ann_id}"
    assert ok(api.get(f"/scim/v2/Users/{ann_id}")) == user
    assert ok(api.get('/scim/v2/Users?filter=userName eq "nobody@example.com"'))["totalResults"] == 0
    listed = ok(api.get("/scim/v2/Users?startIndex=2&count=1"))
    assert (listed["totalResults"], listed["itemsPerPage"], listed["startIndex"]) == (2, 1, 2)
    assert [r["userName"] for r in listed["Resources"]] == ["ann@example.com"]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "value": {"active": False}},
        {"op": "Replace", "path": "active", "value": "False"},
    ],
    ids=["path", "no-path", "string-value"],
)
def test_patch_active_false_deactivates_signs_out_and_revokes_tokens(api: ApiHarness, operation: Any) -> None:
    ann_id, token, cookie = _ann(api)
    body = {"schemas": [PATCH], "Operations": [operation]}
    done = ok(api.patch(f"/scim/v2/Users/{ann_id}", json=body))
    assert done["active"] is False
    assert done["id"] == str(ann_id)
    _is_cut_off(api, ann_id, token, cookie)
    # Again: nothing more to do, the same answer.
    assert ok(api.patch(f"/scim/v2/Users/{ann_id}", json=body))["active"] is False
    # Active again: the person may sign in; the revoked tokens stay revoked.
    again = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": True}]}
    assert ok(api.patch(f"/scim/v2/Users/{ann_id}", json=again))["active"] is True
    assert api.get("/api/v1/users/me", token=token).status_code == 401


def test_delete_deactivates_and_never_deletes(api: ApiHarness) -> None:
    ann_id, token, cookie = _ann(api)
    assert api.delete(f"/scim/v2/Users/{ann_id}").status_code == 204
    _is_cut_off(api, ann_id, token, cookie)
    with api.runtime.db.reader() as s:
        stmt = select(AuditEntry).where(AuditEntry.object_type == "user", AuditEntry.object_id == str(ann_id))
        entries = {e.action: e.data for e in s.scalars(stmt)}
    assert entries["auth.sso_deactivated"] == {"tokens_revoked": 1}
    assert ok(api.get(f"/scim/v2/Users/{ann_id}"))["active"] is False


def test_bad_input_gets_scim_errors_and_changes_nothing(api: ApiHarness) -> None:
    ann_id, token, _ = _ann(api)
    url = f"/scim/v2/Users/{ann_id}"
    headers = {**api.headers(), "Content-Type": "application/scim+json"}
    scim_error(api.client.patch(url, content=b"{not json", headers=headers), 400, "invalidSyntax")
    cases = [
        ({"Operations": [{"op": "replace", "path": "name.givenName", "value": "X"}]}, "invalidPath"),
        ({"Operations": [{"op": "replace", "value": {"active": False, "userName": "x@example.com"}}]}, "invalidPath"),
        ({"Operations": [{"op": "remove", "path": "active"}]}, "invalidSyntax"),
        ({"Operations": [{"op": "replace", "path": "active", "value": "maybe"}]}, "invalidValue"),
        ({"Operations": [{"op": "replace", "path": "active"}]}, "invalidValue"),
        ({"Operations": []}, "invalidSyntax"),
        (
            {"schemas": ["urn:example:other"], "Operations": [{"op": "replace", "value": {"active": False}}]},
            "invalidSyntax",
        ),
        ([1, 2], "invalidSyntax"),
    ]
    for body, scim_type in cases:
        scim_error(api.patch(url, json=body), 400, scim_type)
    scim_error(api.get('/scim/v2/Users?filter=emails co "ann"'), 400, "invalidFilter")
    scim_error(api.get("/scim/v2/Users?count=lots"), 400, "invalidValue")
    for ref in ("999999", "٣", "abc", "99999999999999999999999"):
        scim_error(api.get(f"/scim/v2/Users/{ref}"), 404)
        scim_error(api.delete(f"/scim/v2/Users/{ref}"), 404)
    assert api.get("/api/v1/users/me", token=token).status_code == 200
    assert ok(api.get(url))["active"] is True


def test_only_an_admins_token_may_use_scim(api: ApiHarness) -> None:
    ann_id, token, _ = _ann(api)
    assert scim_error(api.client.get("/scim/v2/Users"), 401)["detail"].startswith("send 'Authorization: Bearer")
    assert api.client.get("/scim/v2/Users").headers["www-authenticate"] == "Bearer"
    # A token in the URL is refused even where it would otherwise do.
    scim_error(api.client.get(f"/scim/v2/Users?access_token={api.token}", headers=api.headers()), 401)
    scim_error(api.client.get("/scim/v2/Users", headers={"Authorization": "Bearer tocsin_nope"}), 401)
    scim_error(api.get("/scim/v2/Users", token=token), 403)
    scim_error(api.delete(f"/scim/v2/Users/{ann_id}", token=token), 403)
    with api.runtime.db.unit_of_work() as s:
        admin = users.get_user(s, "admin@example.com")
        _, read_only = users.create_token(s, admin, name="ro", now=api.clock.now(), scope="read-only")
    assert ok(api.get(f"/scim/v2/Users/{ann_id}", token=read_only))["active"] is True
    scim_error(api.delete(f"/scim/v2/Users/{ann_id}", token=read_only), 403)
    assert ok(api.get(f"/scim/v2/Users/{ann_id}"))["active"] is True


def test_the_last_admin_is_not_deactivated(api: ApiHarness) -> None:
    scim_error(api.delete(f"/scim/v2/Users/{api.admin_id}"), 409)
    assert ok(api.get(f"/scim/v2/Users/{api.admin_id}"))["active"] is True


def test_a_person_signed_in_through_the_provider_is_signed_out_and_kept_out(sso: Sso) -> None:
    browser = sso.browser()
    done = sso.sign_in("sub-nia", person("nia@example.com", groups=["grp-a"]), browser=browser)
    assert done.response.status_code == 303, done.response.text
    assert browser.get(f"{sso.url}/incidents").status_code == 200
    user_id = sso.user("nia@example.com").id
    found = httpx.get(
        f"{sso.url}/scim/v2/Users", params={"filter": 'userName eq "nia@example.com"'}, headers=sso.admin(), timeout=10
    ).json()
    assert found["Resources"][0]["id"] == str(user_id)
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    r = httpx.patch(f"{sso.url}/scim/v2/Users/{user_id}", json=body, headers=sso.admin(), timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert browser.get(f"{sso.url}/incidents").status_code == 303, "the console session ended"
    again = sso.sign_in("sub-nia", person("nia@example.com", groups=["grp-a"]))
    assert again.response.status_code == 403
    assert "deactivated" in again.response.text
