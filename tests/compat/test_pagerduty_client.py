"""PagerDuty's official Python client against a running Tocsin: trigger, acknowledge and resolve follow the
incident, a change event is recorded, and invalid events come back as the client's own errors.

The client (version 6 and later) only accepts an https base URL, so it gets one, with a transport that carries
its requests to the local server over plain HTTP on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
from pagerduty import EventsApiV2Client, HttpError
from sqlalchemy import create_engine, text

from tests.servers import TocsinServer, fresh_database, new_key, running_server, seed_service

pytestmark = pytest.mark.compat


class LoopbackTransport(httpx2.BaseTransport):
    """Sends every request to ``port`` on 127.0.0.1 over HTTP, whatever host and scheme it names."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TocsinServer, str]]:
    tmp: Path = tmp_path_factory.mktemp("pd")
    key = new_key()
    with fresh_database("sqlite", tmp) as url:
        seed_service(url, name="payments", keys={"pagerduty_v2": key})
        with running_server(url, tmp) as server:
            yield server, key


@contextmanager
def client_for(server: TocsinServer, key: str) -> Iterator[EventsApiV2Client]:
    with EventsApiV2Client(
        key, base_url="https://events.tocsin.test", transport=LoopbackTransport(server.port)
    ) as client:
        # Fail fast instead of the client's patient default retries.
        client.max_network_attempts = 1
        yield client


def state(url: str, dedup_key: str) -> list[tuple[str, str]]:
    """(alert status, incident status) of every alert with this dedup key."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.status, i.status FROM alerts a JOIN incidents i ON i.id = a.incident_id "
                    "WHERE a.dedup_key = :k ORDER BY a.id"
                ),
                {"k": dedup_key},
            ).all()
    finally:
        engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_trigger_acknowledge_resolve(served: tuple[TocsinServer, str]) -> None:
    server, key = served
    with client_for(server, key) as client:
        follow_the_incident(server, client)


def follow_the_incident(server: TocsinServer, client: EventsApiV2Client) -> None:
    dedup = client.trigger("Payment API error rate above 5%", "payments-1", severity="error")
    assert dedup  # Tocsin generated one, and the client got it back
    assert state(server.database_url, dedup) == [("triggered", "triggered")]
    assert client.trigger("Payment API error rate above 5%", "payments-1", dedup_key=dedup) == dedup
    assert state(server.database_url, dedup) == [("triggered", "triggered")]  # deduplicated
    assert client.acknowledge(dedup) == dedup
    assert state(server.database_url, dedup) == [("acknowledged", "acknowledged")]
    assert client.resolve(dedup) == dedup
    assert state(server.database_url, dedup) == [("resolved", "resolved")]
    # After the resolve, the same key opens a new incident.
    client.trigger("Payment API error rate above 5% again", "payments-1", dedup_key=dedup)
    assert state(server.database_url, dedup) == [("resolved", "resolved"), ("triggered", "triggered")]


def test_change_event_is_recorded(served: tuple[TocsinServer, str]) -> None:
    server, key = served
    with client_for(server, key) as client:
        client.submit(
            "Deployed payments v2.4.1",
            source="ci",
            custom_details={"build": 4411},
            links=[{"href": "https://ci.example.com/4411", "text": "Build"}],
            timestamp=datetime.now(UTC).isoformat(),
        )
    engine = create_engine(server.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT summary, source, details FROM change_events")).all()
    engine.dispose()
    assert [(r[0], r[1]) for r in rows] == [("Deployed payments v2.4.1", "ci")]


def test_invalid_event_raises_the_clients_error(served: tuple[TocsinServer, str]) -> None:
    server, key = served
    with client_for(server, key) as client, pytest.raises(HttpError) as caught:
        client.trigger("Bad severity", "payments-1", severity="fatal")
    assert caught.value.response.status_code == 400
    assert any("severity" in e for e in caught.value.response.json()["errors"])
    with client_for(server, new_key()) as wrong, pytest.raises(HttpError) as unknown:
        wrong.trigger("Unknown routing key", "payments-1")
    assert unknown.value.response.status_code == 404
