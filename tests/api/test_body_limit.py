"""Bodies over the limit are refused with 413 on the JSON API and the console, declared or streamed."""

from __future__ import annotations

from collections.abc import Iterator

from tests.conftest import ApiHarness

LIMIT = 512 * 1024


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    yield b'{"name": "'
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def test_declared_body_over_the_limit_is_refused_before_parsing(api: ApiHarness) -> None:
    r = api.client.post(
        "/api/v1/teams",
        content=b"{" + b" " * (LIMIT + 10) + b"}",
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert str(LIMIT) in r.json()["detail"]


def test_streamed_body_over_the_limit_is_refused_and_nothing_is_created(api: ApiHarness) -> None:
    r = api.client.post(
        "/api/v1/teams",
        content=_chunks(LIMIT + 1),
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["status"] == 413
    assert api.get("/api/v1/teams").json() == []


def test_bodies_under_the_limit_pass(api: ApiHarness) -> None:
    r = api.post("/api/v1/teams", json={"name": "Payments", "description": "x" * 1000})
    assert r.status_code == 201
