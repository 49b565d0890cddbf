"""The console harness: a real app on SQLite and PostgreSQL with two users who can sign in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tocsin.app import create_app
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.services import service as services
from tocsin.settings import load_settings
from tocsin.users import service as users
from tocsin.users.passwords import hash_password

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def password_hash() -> str:
    # argon2 is deliberately slow: hash once for the whole run.
    return hash_password(PASSWORD)


@dataclass
class Console:
    client: TestClient
    db: Database
    clock: FakeClock
    key: str

    def login(self, email: str = "alice@example.com", password: str = PASSWORD) -> None:
        r = self.client.post("/login", data={"email": email, "password": password}, follow_redirects=False)
        assert r.status_code == 303, r.text

    def csrf(self, path: str = "/incidents") -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text)
        assert match, f"no CSRF field on {path}"
        return match.group(1)

    def trigger(self, summary: str, **extra: object) -> None:
        body = {
            "routing_key": self.key,
            "event_action": "trigger",
            "payload": {"summary": summary, "source": "db1", "severity": "critical"},
            **extra,
        }
        assert self.client.post("/v2/enqueue", json=body).status_code == 202

    def status_of(self, number: int) -> str:
        with self.db.reader() as s:
            return incidents.get(s, f"#{number}").status


@pytest.fixture
def console(db: Database, clock: FakeClock, password_hash: str) -> Iterator[Console]:
    settings = load_settings(database_url=db.url, run_worker=False, public_url="http://tocsin.test")
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        for email, role in (("alice@example.com", "admin"), ("olga@example.com", "observer")):
            users.create_user(
                s,
                email=email,
                name=email.split("@")[0].title(),
                role=role,
                now=clock.now(),
                password_hash=password_hash,
            )
        svc = services.create_service(s, name="checkout-api", now=clock.now())
        key = services.add_integration(s, svc, name="events", type="pagerduty_v2", now=clock.now()).key
    with TestClient(app, base_url="http://tocsin.test") as client:
        yield Console(client=client, db=db, clock=clock, key=key)
