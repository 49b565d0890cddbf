"""Limits on the inbound path: bodies over 512 KB get 413 and store nothing; each integration key has a token
bucket, a noisy key gets 429 with Retry-After and does not slow the others down."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, func, select, text

from tests.conftest import ApiHarness
from tests.servers import fresh_database, new_key, running_server, seed_service
from tocsin.alerts.models import AlertEvent, ChangeEvent
from tocsin.integrations.ratelimit import KeyedRateLimiter, retry_after_header
from tocsin.services import service as services

LIMIT = 512 * 1024


def _keys(api: ApiHarness) -> dict[str, str]:
    keys = {t: new_key() for t in ("pagerduty_v2", "alertmanager", "grafana", "generic")}
    with api.runtime.db.unit_of_work() as s:
        service = services.create_service(s, name="limits", now=api.clock.now())
        for type_, key in keys.items():
            services.add_integration(s, service, name=type_, type=type_, now=api.clock.now(), key=key)
    return keys


def _padded(body: dict[str, Any], size: int, pad: Any) -> bytes:
    """``body`` with a filler string set by ``pad`` so that the JSON is exactly ``size`` bytes."""
    pad(body, "")
    base = len(orjson.dumps(body))
    pad(body, "x" * (size - base))
    raw = orjson.dumps(body)
    assert len(raw) == size
    return raw


def _bodies(keys: dict[str, str], size: int) -> dict[str, bytes]:
    def pd_details(b: dict[str, Any], v: str) -> None:
        b["payload"]["custom_details"] = {"pad": v}

    def am_annotation(b: dict[str, Any], v: str) -> None:
        b["alerts"][0]["annotations"] = {"pad": v}

    def field(b: dict[str, Any], v: str) -> None:
        b["pad"] = v

    pd = {
        "routing_key": keys["pagerduty_v2"],
        "event_action": "trigger",
        "payload": {"summary": "big", "source": "limits", "severity": "error"},
    }
    change = {"routing_key": keys["pagerduty_v2"], "payload": {"summary": "deploy", "source": "ci"}}
    am = {
        "version": "4",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "Big"}, "startsAt": "2026-11-02T08:00:00Z"}],
    }
    generic = {"summary": "big"}
    return {
        "/v2/enqueue": _padded(pd, size, pd_details),
        "/v2/change/enqueue": _padded(change, size, field),
        f"/integrations/{keys['alertmanager']}/alertmanager": _padded(am, size, am_annotation),
        f"/integrations/{keys['grafana']}/grafana": _padded({**am, "version": "1"}, size, am_annotation),
        f"/integrations/{keys['generic']}/generic": _padded(generic, size, field),
    }


def _stored(api: ApiHarness) -> tuple[int, int]:
    with api.runtime.db.reader() as s:
        events = s.execute(select(func.count()).select_from(AlertEvent)).scalar_one()
        changes = s.execute(select(func.count()).select_from(ChangeEvent)).scalar_one()
    return events, changes


def _chunks(raw: bytes) -> Iterator[bytes]:
    for i in range(0, len(raw), 64 * 1024):
        yield raw[i : i + 64 * 1024]


def test_bodies_over_512_kb_are_refused_and_nothing_is_stored(api: ApiHarness) -> None:
    keys = _keys(api)
    for path, raw in _bodies(keys, LIMIT + 1).items():
        declared = api.client.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert declared.status_code == 413, (path, declared.text)
        assert "limit" in declared.json()["message"]
        # Without Content-Length (chunked), the server counts while reading and stops at the limit.
        streamed = api.client.post(path, content=_chunks(raw), headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413, (path, streamed.text)
    assert _stored(api) == (0, 0)


def test_a_body_of_exactly_512_kb_is_accepted(api: ApiHarness) -> None:
    keys = _keys(api)
    for path, raw in _bodies(keys, LIMIT).items():
        response = api.client.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 202, (path, response.text)
    assert _stored(api) == (4, 1)


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [100.0]
    limiter = KeyedRateLimiter(rate=2, burst=3, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("a")
    assert wait == pytest.approx(0.5)
    assert retry_after_header(wait) == "1"
    assert limiter.acquire("b") == 0.0  # another key has its own bucket
    now[0] += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    now[0] += 60  # refills up to the burst, not beyond
    assert [limiter.acquire("a") for _ in range(4)][-1] > 0


def test_token_bucket_forgets_idle_keys_and_can_be_turned_off() -> None:
    now = [0.0]
    limiter = KeyedRateLimiter(rate=1, burst=1, clock=lambda: now[0], max_keys=10)
    for i in range(10):
        limiter.acquire(f"k{i}")
    now[0] += 5
    limiter.acquire("fresh")
    assert len(limiter._buckets) == 1
    off = KeyedRateLimiter(rate=0, burst=1)
    assert all(off.acquire("a") == 0.0 for _ in range(1000))


@pytest.mark.slow
def test_a_noisy_key_gets_429_and_does_not_slow_a_quiet_one(tmp_path: Path) -> None:
    rate, burst = 20, 20
    noisy, quiet = new_key(), new_key()
    with fresh_database("sqlite", tmp_path) as url:
        seed_service(url, name="noisy", keys={"pagerduty_v2": noisy})
        seed_service(url, name="quiet", keys={"alertmanager": quiet})
        env = {"TOCSIN_INGEST_RATE_PER_KEY": str(rate), "TOCSIN_INGEST_BURST_PER_KEY": str(burst)}
        with running_server(url, tmp_path, **env) as server:
            codes: list[int] = []
            retry_afters: list[str] = []
            stop = threading.Event()

            def flood() -> None:
                with httpx.Client(base_url=server.base_url, timeout=30) as client:
                    i = 0
                    while not stop.is_set():
                        i += 1
                        event = {
                            "routing_key": noisy,
                            "event_action": "trigger",
                            "dedup_key": f"{threading.get_ident()}-{i}",
                            "payload": {"summary": "flood", "source": "loop", "severity": "info"},
                        }
                        r = client.post("/v2/enqueue", json=event)
                        codes.append(r.status_code)
                        if r.status_code == 429:
                            retry_afters.append(r.headers.get("retry-after", ""))
                            assert r.json()["status"] == "throttle event"

            started = time.monotonic()
            flooders = [threading.Thread(target=flood, daemon=True) for _ in range(3)]
            for t in flooders:
                t.start()
            latencies = []
            with httpx.Client(base_url=server.base_url, timeout=30) as client:
                for i in range(15):  # 15 requests at 10 per second: within the quiet key's own limit
                    body = {
                        "version": "4",
                        "status": "firing",
                        "alerts": [
                            {"status": "firing", "labels": {"alertname": f"Quiet{i}"}, "fingerprint": f"{i:016x}"}
                        ],
                    }
                    t0 = time.monotonic()
                    r = client.post(f"/integrations/{quiet}/alertmanager", json=body)
                    latencies.append(time.monotonic() - t0)
                    assert r.status_code == 202, r.text
                    time.sleep(0.1)
            stop.set()
            for t in flooders:
                t.join(30)
            elapsed = time.monotonic() - started

        accepted = codes.count(202)
        assert set(codes) <= {202, 429}
        assert codes.count(429) > 0
        assert retry_afters
        assert all(v.isdigit() and int(v) >= 1 for v in retry_afters)
        # The bucket lets the burst through, then the rate; a little slack for timing at the edges.
        assert accepted <= burst + rate * elapsed + 5, (accepted, elapsed)
        # Generous bound (loaded CI machine): the quiet key is not queued behind the flood.
        assert max(latencies) < 2.0, latencies
        engine = create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(
                text(
                    "SELECT count(*) FROM alert_events e JOIN integrations i ON i.id = e.integration_id "
                    "WHERE i.key = :k"
                ),
                {"k": noisy},
            ).scalar_one()
        engine.dispose()
        assert stored == accepted  # refused requests left nothing behind
