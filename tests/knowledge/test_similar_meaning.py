"""Similar incidents by meaning (ADR 0039), on SQLite and PostgreSQL: with the packaged model configured, an
incident worded with none of the same words is found and says why; without it, it is not; the model is loaded from
its package with the network out of reach."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ApiHarness
from tests.knowledge.conftest import declare, index, org, resolve
from tocsin.knowledge import embeddings, repository, similar


@pytest.fixture(scope="module")
def model() -> embeddings.Embedder:
    loaded = embeddings.load("wordllama")
    assert loaded is not None
    return loaded


@pytest.fixture
def by_meaning(model: embeddings.Embedder) -> Iterator[None]:
    similar.configure(model)
    try:
        yield
    finally:
        similar.configure(None)


def _similar(api: ApiHarness, number: int) -> dict[int, dict[str, Any]]:
    r = api.get(f"/api/v1/incidents/{number}/similar")
    assert r.status_code == 200, r.text
    return {row["number"]: row for row in r.json()}


def _history(api: ApiHarness) -> tuple[int, int, int]:
    o = org(api)
    reworded = declare(api, o.service_id, "Storage exhausted on main DB")["number"]
    resolve(api, reworded, "Grew the volume and purged old snapshots")
    unrelated = declare(api, o.service_id, "Certificate expired on the CDN")["number"]
    resolve(api, unrelated, "Renewed")
    current = declare(api, o.service_id, "Disk full on the primary database")["number"]
    index(api)
    return reworded, unrelated, current


def test_a_reworded_incident_is_found_by_meaning(api: ApiHarness, by_meaning: None) -> None:
    reworded, unrelated, current = _history(api)
    found = _similar(api, current)
    assert next(iter(found)) == reworded, found
    assert "similar meaning" in found[reworded]["reasons"]
    assert found[reworded]["resolution"] == "Grew the volume and purged old snapshots"
    assert "similar meaning" not in found.get(unrelated, {"reasons": []})["reasons"]


def test_without_the_model_only_words_and_structure_count(api: ApiHarness) -> None:
    reworded, _, current = _history(api)
    found = _similar(api, current)
    # Found at most as a recent incident of the same service, never for its meaning.
    assert "similar meaning" not in found.get(reworded, {"reasons": []})["reasons"]


def test_the_model_is_loaded_from_its_package_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the model tried to download: {args}")

    monkeypatch.setattr(requests, "get", no_network)
    loaded = embeddings.load("wordllama")
    assert loaded is not None
    close, far = loaded.similarities(
        "Disk full on the primary database", ["Storage exhausted on main DB", "Login slow"]
    )
    assert close > similar.MEANING_MIN > far
    assert embeddings.load("") is None
    with pytest.raises(ValueError, match="unknown similar-incidents model"):
        embeddings.load("gpt")


def test_on_postgresql_common_words_narrow_nothing_but_rank_the_rare_matches(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With statistics saying which words are common (a large index), the words of a title are first narrowed to
    the rare ones, then the documents they find are ranked by every word."""
    if api.runtime.db.url.startswith("sqlite"):
        pytest.skip("bm25 on SQLite weighs words by their rarity itself")
    o = org(api)
    for n in range(30):
        declare(api, o.service_id, f"Checkout latency spike {n}")
    twin = declare(api, o.service_id, "Ledger replica lag on checkout")["number"]
    half = declare(api, o.service_id, "Ledger export failed")["number"]
    current = declare(api, o.service_id, "Checkout ledger replica lag")["number"]
    index(api)
    with api.runtime.db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE knowledge_documents")
        conn.commit()
    monkeypatch.setattr(repository, "COMMON_FROM_DOCUMENTS", 0)
    monkeypatch.setattr(repository, "_stats", {})
    with api.runtime.db.reader() as s:
        shares = repository._lexeme_shares(s)
        assert shares.get("checkout", 0) > repository.COMMON_SHARE
        split = repository._split_lexemes(s, ["checkout", "ledger", "replica", "lag"])
        assert split is not None
        everything, rare = split
        assert "checkout" in everything
        assert "checkout" not in rare
        assert {"replica", "lag"} <= set(rare)
    found = _similar(api, current)
    assert next(iter(found)) == twin
    assert "similar text" in found[twin]["reasons"]
    assert half in found
