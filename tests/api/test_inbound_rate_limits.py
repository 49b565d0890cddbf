"""Every inbound route takes a token from the key's bucket before it reads the body or touches the database.

Walked from the application's route table: a new inbound route without a limit fails here. The flood is sent
with an unknown key and a body that is not even JSON, so a route that read the body (400) or looked the key up
(404) before its limit would answer something other than 429.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.api.test_inbound_key_binding import inbound_routes
from tests.conftest import ApiHarness
from tests.integration.sources import integration_key, stored
from tests.integration.test_source_email import DOMAIN, free_port, mail, send
from tocsin.integrations.ratelimit import KeyedRateLimiter
from tocsin.integrations.smtp_listener import SmtpListener

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples"


def exhausted_limiter(keys: list[str]) -> KeyedRateLimiter:
    """A limiter in which each of these keys has just spent its only token (and gets one back in 1000 s)."""
    limiter = KeyedRateLimiter(rate=0.001, burst=1, clock=lambda: 0.0)
    for key in keys:
        assert limiter.acquire(key) == 0.0
    return limiter


def test_every_inbound_route_answers_429_before_reading_the_body(api: ApiHarness) -> None:
    routes = inbound_routes(api, keyed_only=False)
    assert any(path.startswith("/hooks/trackers/") for _, path in routes)
    # A tracker webhook's bucket is its connection's: the connection id in the path.
    keys = {
        route: f"tracker:{n}" if route[1].startswith("/hooks/") else f"flood{n:02d}-" + "k" * 20
        for n, route in enumerate(routes)
    }
    app: FastAPI = api.client.app  # type: ignore[assignment]
    app.state.ingest_limiter = exhausted_limiter(list(keys.values()))

    for (method, path), key in keys.items():
        url = path.replace("{key}", key).replace("{signal}", "fail").replace("{connection_id}", key.split(":")[-1])
        if path.startswith("/v2/"):
            # PagerDuty's key is in the body, which must be read to find it: still before any database work.
            response = api.client.request(method, url, json={"routing_key": key, "event_action": "trigger"})
        else:
            response = api.client.request(method, url, content=b"\x00 not json", headers={"Content-Type": "text/plain"})
        assert response.status_code == 429, (method, path, response.status_code, response.text)
        assert int(response.headers["Retry-After"]) >= 1, (method, path)
    assert stored(api).events == 0


def test_the_limit_is_per_key(api: ApiHarness) -> None:
    """A flooded key does not hold up another key's events on the same route."""
    flooded = integration_key(api, "sentry", name="noisy")
    quiet = integration_key(api, "sentry", name="quiet")
    app: FastAPI = api.client.app  # type: ignore[assignment]
    app.state.ingest_limiter = exhausted_limiter([flooded])
    body = (SAMPLES / "sentry" / "event_alert.json").read_bytes()
    headers = {"Content-Type": "application/json", "Sentry-Hook-Resource": "event_alert"}

    assert api.client.post(f"/integrations/{flooded}/sentry", content=body, headers=headers).status_code == 429
    assert api.client.post(f"/integrations/{quiet}/sentry", content=body, headers=headers).status_code == 202


@pytest.fixture
def listener(api: ApiHarness) -> Iterator[SmtpListener]:
    smtp = SmtpListener(api.runtime, "127.0.0.1", free_port(), DOMAIN)
    smtp.start()
    try:
        yield smtp
    finally:
        smtp.stop()


def test_email_intake_is_limited_per_key_at_rcpt(api: ApiHarness, listener: SmtpListener) -> None:
    key = integration_key(api, "email")
    listener.handler.limiter = KeyedRateLimiter(rate=0.001, burst=1, clock=lambda: 0.0)
    address = f"{key}@{DOMAIN}"
    port = listener.controller.port

    assert send(port, [address], mail("plain_alert", key)) == {}
    with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        send(port, [address], mail("forwarded", key))
    code, reply = caught.value.recipients[address]
    assert code == 452, reply  # temporary: the sending server keeps the message and retries
    assert b"too many messages" in reply
    assert stored(api).events == 1
