"""A sign-in in flight is good once, on SQLite and PostgreSQL: of concurrent callbacks with one state exactly one
redeems it, only its hash is stored, and an expired one is refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from tocsin.core.clock import FakeClock
from tocsin.core.errors import TocsinError
from tocsin.db.session import Database
from tocsin.sso import service as sso
from tocsin.sso.models import OidcSignInState
from tocsin.sso.oidc import SignInRefused


def test_concurrent_callbacks_with_one_state_redeem_it_once(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        pending = sso.start(s, next_path="/services", now=clock.now())
    with db.reader() as s:
        (row,) = s.scalars(select(OidcSignInState)).all()
        assert pending.state not in (row.state_hash, row.nonce, row.code_verifier)
        assert row.nonce == pending.nonce
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    lock = threading.Lock()

    def callback() -> None:
        barrier.wait()
        try:
            with db.unit_of_work() as s:
                found = sso.redeem(s, pending.state, now=clock.now())
            outcome = f"redeemed {found.next_path} {found.code_verifier == pending.code_verifier}"
        except TocsinError as exc:
            outcome = f"refused {exc.status_code}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=callback) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["redeemed /services True", "refused 400", "refused 400", "refused 400"]
    with db.reader() as s:
        assert s.scalars(select(OidcSignInState)).all() == []


def test_an_expired_or_unknown_state_is_refused(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        pending = sso.start(s, next_path="/incidents", now=clock.now())
    clock.advance(sso.STATE_LIFETIME + timedelta(seconds=1))
    with pytest.raises(SignInRefused, match="expired"), db.unit_of_work() as s:
        sso.redeem(s, pending.state, now=clock.now())
    for state in ("", "x" * 201, "never-issued"):
        with pytest.raises(SignInRefused), db.unit_of_work() as s:
            sso.redeem(s, state, now=clock.now())
    # Starting the next sign-in clears those that expired.
    with db.unit_of_work() as s:
        sso.start(s, next_path="/incidents", now=clock.now())
    with db.reader() as s:
        assert len(s.scalars(select(OidcSignInState)).all()) == 1
