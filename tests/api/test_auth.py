"""Bearer-token authentication across the whole /api/v1 surface."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI

from tests.api.conftest import ok, problem
from tests.conftest import ApiHarness

BODYLESS = {"GET", "DELETE", "HEAD", "OPTIONS"}


def _flat(routes: Iterable[Any]) -> Iterator[Any]:
    try:
        from fastapi.routing import iter_route_contexts  # included routers are nested in newer FastAPI
    except ImportError:
        yield from routes
    else:
        yield from iter_route_contexts(list(routes))


def api_routes(api: ApiHarness) -> list[tuple[str, str]]:
    """Every (method, path) under /api/v1, from the routes the application actually serves."""
    app: FastAPI = api.client.app  # type: ignore[assignment]
    found = []
    for route in _flat(app.routes):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path and methods and path.startswith("/api/v1"):
            found.extend((method, path) for method in sorted(methods))
    assert len(found) > 40, "the route walk found too little to be trusted"
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_route_list_matches_the_openapi_spec(api: ApiHarness) -> None:
    spec = ok(api.client.get("/openapi.json"))
    documented = {
        (method.upper(), path) for path, ops in spec["paths"].items() if path.startswith("/api/v1") for method in ops
    }
    served = set(api_routes(api))
    assert served == documented


def test_every_api_route_needs_a_token(api: ApiHarness) -> None:
    routes = api_routes(api)
    for method, path in routes:
        url = concrete(path)
        kwargs = {} if method in BODYLESS else {"json": {}}
        for headers in (
            {},
            {"Authorization": "Bearer tocsin_not-a-real-token"},
            {"Authorization": f"Basic {api.token}"},
        ):
            response = api.client.request(method, url, headers=headers, **kwargs)
            body = problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer", (method, path)
            assert body["type"] == "about:blank"
        # A valid token in the query string is refused too, even where it would otherwise work.
        response = api.client.request(method, f"{url}?token={api.token}", headers=api.headers(), **kwargs)
        problem(response, 401)


def test_missing_token_explains_the_header(api: ApiHarness) -> None:
    body = problem(api.client.get("/api/v1/incidents"), 401)
    assert "Authorization: Bearer" in body["detail"]
    assert "unknown" in problem(api.get("/api/v1/incidents", token="tocsin_nope"), 401)["detail"]


def test_tokens_in_the_url_are_refused_even_with_a_header(api: ApiHarness) -> None:
    for name in ("token", "access_token", "api_key", "TOKEN"):
        body = problem(api.get(f"/api/v1/incidents?{name}={api.token}"), 401)
        assert "header" in body["detail"]
    ok(api.get("/api/v1/incidents?q=token"))


def test_revocation_takes_effect_on_the_next_request(api: ApiHarness) -> None:
    created = ok(api.post("/api/v1/tokens", json={"name": "short-lived"}), 201)
    ok(api.get("/api/v1/incidents", token=created["token"]))
    ok(api.delete(f"/api/v1/tokens/{created['id']}", token=created["token"]), 204)
    body = problem(api.get("/api/v1/incidents", token=created["token"]), 401)
    assert "revoked" in body["detail"]
    ok(api.get("/api/v1/incidents"))


def test_last_use_is_recorded(api: ApiHarness) -> None:
    created = ok(api.post("/api/v1/tokens", json={"name": "ci"}), 201)
    assert created["last_used_at"] is None
    ok(api.get("/api/v1/users/me", token=created["token"]))
    listed = {t["id"]: t for t in ok(api.get("/api/v1/tokens"))}
    assert listed[created["id"]]["last_used_at"].startswith("2026-11-02T08:00:00")


def test_inbound_and_ops_endpoints_need_no_token(api: ApiHarness) -> None:
    assert api.client.get("/healthz").status_code == 200
    assert api.client.post("/v2/enqueue", json={}).status_code == 400, "senders authenticate with the routing key"
