"""Assistance (ADR 0030) against a fake OpenAI-compatible endpoint on 127.0.0.1 that speaks the chat-completions
wire format and records any unexpected call: the model-free summary, the generated text labelled, a private
incident never sent unless its type allows it, prompts kept for admins, timeouts and errors falling back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ApiHarness
from tests.fakes.chat_completions import FakeChat
from tests.fakes.fixtures import running
from tests.knowledge.conftest import declare, org
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.knowledge import assist
from tocsin.users import service as users


@pytest.fixture
def chat() -> Iterator[FakeChat]:
    fake = FakeChat()
    yield from running(fake)
    assert fake.unexpected == []


@pytest.fixture
def assisted(db: Database, clock: FakeClock, chat: FakeChat) -> Iterator[ApiHarness]:
    from tocsin.app import create_app
    from tocsin.settings import load_settings

    settings = load_settings(
        database_url=db.url,
        run_worker=False,
        public_url="http://tocsin.test",
        assist_url=chat.url,
        assist_model="local-model",
        assist_api_key="sk-test",
        assist_timeout_seconds=1.0,
        outbound_allowlist="127.0.0.1",
    )
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, secret = users.create_token(s, admin, name="test", now=clock.now())
    with TestClient(app) as client:
        yield ApiHarness(client=client, runtime=app.state.runtime, clock=clock, token=secret, admin_id=admin.id)
    assist.configure(None)


def test_the_summary_without_a_model_is_built_from_the_data(api: ApiHarness) -> None:
    o = org(api)
    made = declare(api, o.service_id, "Checkout slow")
    api.post(f"/api/v1/incidents/{made['number']}/notes", json={"text": "Looking at the pool"})
    api.post(f"/api/v1/incidents/{made['number']}/tasks", json={"title": "Page the DBA"})
    body = api.get(f"/api/v1/incidents/{made['number']}/summary").json()
    assert body["generated"] is False
    assert body["status"] == "triggered"
    assert body["open_tasks"] == ["Page the DBA"]
    assert any("Looking at the pool" in line for line in body["what_happened"])
    # Asking with no model configured answers from the data, never calling out.
    r = api.post(f"/api/v1/incidents/{made['number']}/assist", json={"purpose": "postmortem"})
    assert r.status_code == 200, r.text
    assert r.json()["generated"] is False
    assert r.json()["text"].startswith("# Postmortem: #")


def test_a_model_writes_labelled_text_and_admins_read_what_it_was_sent(assisted: ApiHarness, chat: FakeChat) -> None:
    o = org(assisted)
    made = declare(assisted, o.service_id, "Checkout slow")
    chat.script("The checkout is slow; the pool is saturated.", "# Postmortem\n\nDraft.")
    r = assisted.post(f"/api/v1/incidents/{made['number']}/assist", json={"purpose": "summary"})
    assert r.status_code == 200, r.text
    assert r.json()["generated"] is True
    assert r.json()["text"].startswith(f"> {assist.GENERATED}")
    assert "pool is saturated" in r.json()["text"]
    r = assisted.post(f"/api/v1/incidents/{made['number']}/assist", json={"purpose": "postmortem"})
    assert "Draft." in r.json()["text"]
    call = chat.calls[0]
    assert call["body"]["model"] == "local-model"
    assert call["headers"]["authorization"] == "Bearer sk-test"
    assert "Checkout slow" in call["body"]["messages"][-1]["content"]
    kept = assisted.get(f"/api/v1/incidents/{made['number']}/assist-requests").json()
    assert [k["purpose"] for k in kept] == ["postmortem", "summary"]
    assert kept[1]["prompt"] == call["body"]["messages"]
    # Responders do not read the prompts.
    token = o.tokens["max"]
    assert assisted.get(f"/api/v1/incidents/{made['number']}/assist-requests", token=token).status_code == 403


def test_private_incidents_are_sent_only_when_their_type_allows(assisted: ApiHarness, chat: FakeChat) -> None:
    o = org(assisted)
    assert assisted.client.put(
        "/api/v1/incident-types/Security", headers=assisted.headers(), json={"severity": "SEV2"}
    ).status_code in (200, 201)
    secret = declare(assisted, o.service_id, "Token leak", private=True, private_team="sec", type="Security")
    r = assisted.post(f"/api/v1/incidents/{secret['number']}/assist", json={"purpose": "summary"})
    assert r.json()["generated"] is False
    assert chat.calls == []
    r = assisted.client.put(
        "/api/v1/assist/type-policies/Security", headers=assisted.headers(), json={"private_allowed": True}
    )
    assert r.status_code == 200, r.text
    chat.script("Generated for a private incident its type allows.")
    r = assisted.post(f"/api/v1/incidents/{secret['number']}/assist", json={"purpose": "summary"})
    assert r.json()["generated"] is True
    assert len(chat.calls) == 1
    unknown = assisted.client.put(
        "/api/v1/assist/type-policies/Nope", headers=assisted.headers(), json={"private_allowed": True}
    )
    assert unknown.status_code == 404


def test_errors_and_timeouts_fall_back_to_the_data(assisted: ApiHarness, chat: FakeChat) -> None:
    o = org(assisted)
    made = declare(assisted, o.service_id, "Checkout slow")
    chat.script(500, 1.5)
    for _ in range(2):
        r = assisted.post(f"/api/v1/incidents/{made['number']}/assist", json={"purpose": "summary"})
        assert r.status_code == 200, r.text
        assert r.json()["generated"] is False
        assert "Checkout slow" in r.json()["text"]
    kept = assisted.get(f"/api/v1/incidents/{made['number']}/assist-requests").json()
    assert [k["error"] for k in kept] == ["timed out after 1 s", "HTTP 500"]
    assert assisted.post(f"/api/v1/incidents/{made['number']}/assist", json={"purpose": "x"}).status_code == 422
