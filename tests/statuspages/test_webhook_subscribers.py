"""Webhook subscribers: signed as Standard Webhooks with the secret shown once, one delivery per update, only the
components they chose, never another page's updates."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.api.conftest import ok
from tests.conftest import ApiHarness
from tests.statuspages.conftest import make_component, make_page, publish
from tocsin.notify.providers.webhook import WebhookProvider, verify_standard_webhook
from tocsin.notify.ssrf import UrlGuard


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


def test_webhook_subscribers_get_each_update_signed_once(api: ApiHarness, receiver: Receiver) -> None:
    poster = WebhookProvider(guard=UrlGuard(["127.0.0.1"]), clock=api.clock, timeout=5)
    api.runtime.providers.register(poster)
    make_page(api)
    make_page(api, "other", name="Other")
    web = make_component(api, "acme", "Website")
    db = make_component(api, "acme", "Database")
    everything = ok(api.post("/api/v1/status-pages/acme/subscribers", json={"url": f"{receiver.url}/all"}), 201)
    only_db = ok(
        api.post(
            "/api/v1/status-pages/acme/subscribers", json={"url": f"{receiver.url}/db", "component_ids": [db["id"]]}
        ),
        201,
    )
    assert everything["secret"].startswith("whsec_")
    listed = ok(api.get("/api/v1/status-pages/acme/subscribers"))
    assert all(s["secret"] is None for s in listed), "the secret is shown once"

    publish(api, "acme", "Website slow", "Looking into it.", components={str(web["id"]): "degraded_performance"})
    publish(api, "other", "Elsewhere", "Not for these subscribers")
    engine = api.runtime.build_engine(owner="statuspages")
    engine.run_pass()
    engine.run_pass()
    assert [h.get("webhook-id", "") != "" for h, _ in receiver.got] == [True]
    headers, raw = receiver.got[0]
    assert verify_standard_webhook(everything["secret"], headers, raw, now=api.clock.now())
    assert not verify_standard_webhook(only_db["secret"], headers, raw, now=api.clock.now())
    body = json.loads(raw)
    assert body["incident"]["name"] == "Website slow"
    assert body["incident_update"]["body"] == "Looking into it."
    assert body["page"]["name"] == "Acme"

    publish(api, "acme", "Database failover", "Failing over.", components={str(db["id"]): "partial_outage"})
    api.clock.advance(timedelta(seconds=5))
    engine.run_pass()
    paths = sorted(h.get("webhook-id", "")[:9] for h, _ in receiver.got[1:])
    assert len(receiver.got) == 3, "the database update goes to both subscribers, once each"
    assert paths == ["statuspag", "statuspag"]
    signed_db = [
        raw for h, raw in receiver.got[1:] if verify_standard_webhook(only_db["secret"], h, raw, now=api.clock.now())
    ]
    assert len(signed_db) == 1
    poster.close()
