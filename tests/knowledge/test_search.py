"""Search and similar incidents (ADR 0030), on SQLite and PostgreSQL: the index kept current by the incident
events (and filled once from what existed before), private incidents and team scope respected in search and in
similar lists, the reasons of similarity, and bad queries refused with 422, never a 500."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiHarness
from tests.knowledge.conftest import alert, declare, index, org, resolve


def _titles(api: ApiHarness, q: str, who: str, tokens: dict[str, str], **params: Any) -> list[str]:
    r = api.get("/api/v1/search", params={"q": q, **params}, token=tokens[who])
    assert r.status_code == 200, r.text
    return [row["title"] for row in r.json()]


def test_search_finds_incidents_notes_alerts_and_runbooks_as_each_reader_may(api: ApiHarness) -> None:
    o = org(api)
    # Before the index exists: filled once by the backfill.
    early = declare(api, o.service_id, "Payment gateway timeouts", token=o.tokens["max"])
    index(api)
    # After: kept by the incident events.
    secret = declare(
        api, o.service_id, "Gateway credential leak", token=o.tokens["max"], private=True, private_team="sec"
    )
    r = api.post(f"/api/v1/incidents/{early['number']}/notes", json={"text": "rolled back the gateway deploy"})
    assert r.status_code == 201
    alert(api, o.other_key, "idx-full", "Index volume full", env="prod")
    r = api.post("/api/v1/runbooks", json={"title": "Gateway timeouts", "body": "Check the *gateway* pool."})
    assert r.status_code == 201, r.text
    index(api)

    everything = _titles(api, "gateway", "admin", o.tokens)
    assert f"#{early['number']} Payment gateway timeouts" in everything
    assert f"#{secret['number']} Gateway credential leak" in everything
    assert "Gateway timeouts" in everything
    assert f"Note on #{early['number']}" in everything
    # Sue is in the private incident's team; Olly (ops) sees the public one only; Max declared it (a participant).
    assert f"#{secret['number']} Gateway credential leak" in _titles(api, "credential", "sue", o.tokens)
    assert f"#{secret['number']} Gateway credential leak" in _titles(api, "credential", "max", o.tokens)
    assert _titles(api, "credential", "olly", o.tokens) == []
    assert f"#{secret['number']} Gateway credential leak" not in _titles(api, "gateway", "olly", o.tokens)
    # The alert's incident is of a team-less service: everyone reads it; the prefix of the last word matches.
    assert "Index volume full" in _titles(api, "volu", "olly", o.tokens)
    assert _titles(api, "gateway", "admin", o.tokens, kind="runbook") == ["Gateway timeouts"]


def test_search_follows_changes_of_title_and_resolution(api: ApiHarness) -> None:
    o = org(api)
    index(api)
    made = declare(api, o.service_id, "Checkout errors")
    resolve(api, made["number"], "Restarted the stuck consumer of the orders queue")
    index(api)
    assert _titles(api, "stuck consumer", "admin", o.tokens) == [f"#{made['number']} Checkout errors"]
    r = api.patch(f"/api/v1/incidents/{made['number']}", json={"title": "Checkout 500s"})
    assert r.status_code == 200, r.text
    index(api)
    assert _titles(api, "500s", "admin", o.tokens) == [f"#{made['number']} Checkout 500s"]
    assert _titles(api, "errors", "admin", o.tokens) == []


SYNTAX = [
    '"',
    "'",
    "(",
    ")",
    "*",
    "a OR",
    "NEAR(a b)",
    "title:x",
    "{title}: x",
    "-x",
    "^x",
    "x AND (",
    "&|!:*",
    "\\",
    "%_",
    "日本語",
    "NOT",
    "x\x00y",
    "::",
    "'; DROP TABLE incidents; --",
    "probe*",
    '"probe',
]


def test_query_syntax_in_the_words_never_breaks_the_search(api: ApiHarness) -> None:
    declare(api, org(api).service_id, "Query syntax probe")
    index(api)
    for q in SYNTAX:
        r = api.get("/api/v1/search", params={"q": q})
        assert r.status_code in (200, 422), (q, r.text)
        assert r.status_code == 200 or r.json()["detail"]
    assert len(api.get("/api/v1/search", params={"q": '"probe'}).json()) == 1


def test_bad_queries_are_refused_with_422(api: ApiHarness) -> None:
    for params in (
        {"q": ""},
        {"q": "x" * 201},
        {},
        {"q": "   "},
        {"q": "x", "kind": "nonsense"},
        {"q": "x", "limit": 0},
    ):
        r = api.get("/api/v1/search", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_similar_incidents_give_their_reasons_and_resolution_and_hide_private_ones(api: ApiHarness) -> None:
    o = org(api)
    index(api)
    # Past incidents: the same fingerprint twice (one private), the same words on another service, noise.
    alert(api, o.key, "db-conn-pool", "Database connection pool exhausted on checkout-db")
    first = _only_open(api)
    resolve(api, first, "Raised the pool size to 200 and restarted the workers")
    alert(api, o.key, "db-conn-pool", "Database connection pool exhausted on checkout-db")
    hidden = _only_open(api)
    r = api.post(
        f"/api/v1/incidents/{hidden}/visibility", json={"private": True, "team": "sec", "reason": "customer data"}
    )
    assert r.status_code == 200, r.text
    resolve(api, hidden, "Pool leak in the export job")
    worded = declare(api, o.other_service_id, "Connection pool exhausted on search-db")
    resolve(api, worded["number"], "Killed long queries")
    noise = declare(api, o.other_service_id, "Certificate expiry on the CDN")
    resolve(api, noise["number"], "Renewed")
    # The incident at hand.
    alert(api, o.key, "db-conn-pool", "Database connection pool exhausted on checkout-db")
    current = _only_open(api)
    index(api)

    def similar(who: str) -> dict[int, dict[str, Any]]:
        r = api.get(f"/api/v1/incidents/{current}/similar", token=o.tokens[who])
        assert r.status_code == 200, r.text
        return {row["number"]: row for row in r.json()}

    seen = similar("admin")
    assert list(seen)[:2] in ([first, hidden], [hidden, first])
    assert "shared alert fingerprint" in seen[first]["reasons"]
    assert "same service (checkout)" in seen[first]["reasons"]
    assert seen[first]["resolution"] == "Raised the pool size to 200 and restarted the workers"
    assert worded["number"] in seen
    assert seen[worded["number"]]["reasons"] == ["similar text"]
    assert noise["number"] not in seen
    assert current not in seen
    assert len(seen) <= 5
    # Sue is in the private incident's team and reads it; Olly (ops, not a participant) never sees it.
    assert hidden in similar("sue")
    olly = similar("olly")
    assert hidden not in olly
    assert first in olly


def _only_open(api: ApiHarness) -> int:
    items = api.get("/api/v1/incidents?status=triggered").json()["items"]
    assert len(items) == 1, items
    return int(items[0]["number"])
