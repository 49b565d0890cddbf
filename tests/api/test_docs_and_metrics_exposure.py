"""/docs serves Swagger UI from this process under a strict Content-Security-Policy (no CDN, no inline
script), can be switched off, and /metrics can require a bearer token."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tocsin.app import create_app
from tocsin.settings import load_settings

METRICS_TOKEN = "metrics-scraper-secret-7f3a"


Builder = Callable[..., TestClient]


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tocsin.db import migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('exposure') / 'tocsin.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def make_client(database_url: str) -> Iterator[Builder]:
    """A client for an app with the given settings (on one migrated SQLite file)."""
    clients: list[tuple[TestClient, FastAPI]] = []

    def build(**settings: object) -> TestClient:
        app = create_app(load_settings(database_url=database_url, run_worker=False, **settings))
        client = TestClient(app)
        client.__enter__()
        clients.append((client, app))
        return client

    yield build
    for client, app in clients:
        client.__exit__(None, None, None)
        app.state.runtime.db.dispose()


def policy(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_docs_page_loads_only_same_origin_files_under_a_strict_policy(make_client: Builder) -> None:
    client = make_client()
    page = client.get("/docs")
    assert page.status_code == 200
    csp = policy(page.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["default-src"] == ["'none'"]
    assert all("'unsafe-inline'" not in values and "'unsafe-eval'" not in values for values in csp.values())
    # Every script is a file of this origin: no inline code, nothing from a CDN.
    assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert "cdn" not in page.text.lower()
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100, source
    init = client.get("/docs/swagger-init.js")
    assert "SwaggerUIBundle(" in init.text
    assert init.headers["content-type"].startswith("text/javascript")
    # The page names the OpenAPI document the init script loads, and that document is served.
    assert 'data-openapi-url="/openapi.json"' in page.text
    assert client.get("/openapi.json").status_code == 200


def test_fastapi_cdn_pages_are_gone(make_client: Builder) -> None:
    client = make_client()
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404


def test_docs_can_be_switched_off(make_client: Builder) -> None:
    client = make_client(api_docs=False)
    assert client.get("/docs").status_code == 404
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def test_metrics_are_open_without_a_token_setting(make_client: Builder) -> None:
    client = make_client()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "tocsin_http_request_duration_seconds" in response.text


WRONG_AUTHORIZATIONS = [
    None,
    "",
    "Bearer",
    "Bearer wrong",
    f"Bearer {METRICS_TOKEN}x",
    f"Bearer {METRICS_TOKEN[:-1]}",
    f"Basic {METRICS_TOKEN}",
    METRICS_TOKEN,
]


def test_metrics_token_is_required_when_set(make_client: Builder) -> None:
    client = make_client(metrics_token=METRICS_TOKEN)
    for authorization in WRONG_AUTHORIZATIONS:
        headers = {} if authorization is None else {"Authorization": authorization}
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, authorization
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "TOCSIN_METRICS_TOKEN" in response.json()["detail"]
        assert "tocsin_" not in response.text


def test_metrics_with_the_token(make_client: Builder) -> None:
    client = make_client(metrics_token=METRICS_TOKEN)
    for scheme in ("Bearer", "bearer"):
        response = client.get("/metrics", headers={"Authorization": f"{scheme} {METRICS_TOKEN}"})
        assert response.status_code == 200
        assert "tocsin_http_request_duration_seconds" in response.text
    # Health checks stay open: only the metrics carry the token.
    assert client.get("/healthz").status_code == 200


def test_metrics_token_is_not_shown_in_the_settings_repr() -> None:
    settings = load_settings(database_url="sqlite:///:memory:", run_worker=False, metrics_token=METRICS_TOKEN)
    assert METRICS_TOKEN not in repr(settings)
