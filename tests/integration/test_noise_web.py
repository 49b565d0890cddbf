"""The /noise page through the real app: sign-in required, counts from stored data, silences listed, escaped."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ApiHarness
from tests.factories import make_service
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

PASSWORD = "correct horse battery staple"


def test_noise_page_shows_the_funnel_noisiest_alerts_and_silences(api: ApiHarness) -> None:
    client: TestClient = api.client
    with api.runtime.db.unit_of_work() as s:
        users.create_user(
            s,
            email="olga@example.com",
            name="Olga",
            role="observer",
            now=api.clock.now(),
            password_hash=hash_password(PASSWORD),
        )
        _, integration = make_service(s, api.clock.now(), name="checkout-api")
    events = [NormalizedEvent(action="trigger", dedup_key="k", summary="<b>Load</b> high") for _ in range(3)]
    api.runtime.committer.submit_sync(Submission(integration_key=integration.key, events=events))
    r = api.post(
        "/api/v1/silences",
        json={
            "matchers": [{"field": "labels.a", "value": "b"}],
            "ends_at": "2026-11-02T10:00:00Z",
            "comment": "db upgrade",
        },
    )
    assert r.status_code == 201
    first = client.get("/noise", follow_redirects=False)
    assert first.status_code == 303
    login = client.post("/login", data={"email": "olga@example.com", "password": PASSWORD}, follow_redirects=False)
    assert login.status_code == 303
    page = client.get("/noise?period=1d")
    assert page.status_code == 200
    assert "checkout-api" in page.text
    assert "&lt;b&gt;Load&lt;/b&gt; high" in page.text
    assert "<b>Load</b>" not in page.text
    assert "3 events, 1 alerts" in page.text
    assert "db upgrade" in page.text
