"""Backoff on password attempts: free attempts, then doubling waits per address and per account, counted in the
database so that every node of an installation sees the same attempts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tocsin.auth.attempts import AttemptLimiter, TooManyAttempts, key_hash, require_admission
from tocsin.auth.models import SignInAttempt
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database


def _limiter(db: Database, clock: FakeClock, *, per_address: int = 20, per_account: int = 3) -> AttemptLimiter:
    return AttemptLimiter(db, clock, free_per_address=per_address, free_per_account=per_account, max_wait=60)


def test_an_account_gets_its_free_attempts_then_doubling_waits(db: Database, clock: FakeClock) -> None:
    limiter = _limiter(db, clock)
    for _ in range(3):
        assert limiter.admit(address="10.0.0.1", account="ann@example.com") == 0
    assert limiter.admit(address="10.0.0.2", account="ANN@example.com ") == pytest.approx(1.0)
    clock.advance(1)
    assert limiter.admit(address="10.0.0.3", account="ann@example.com") == 0
    assert limiter.admit(address="10.0.0.3", account="ann@example.com") == pytest.approx(2.0)
    clock.advance(2)
    assert limiter.admit(address="10.0.0.3", account="ann@example.com") == 0
    assert limiter.admit(address="10.0.0.3", account="ann@example.com") == pytest.approx(4.0)


def test_every_node_counts_the_same_attempts(db: Database, clock: FakeClock) -> None:
    # Two processes of one installation: two limiters on one database.
    first, second = _limiter(db, clock), _limiter(db, clock)
    for limiter in (first, second, first):
        assert limiter.admit(address="10.0.0.1", account="ann@example.com") == 0
    assert second.admit(address="10.0.0.1", account="ann@example.com") == pytest.approx(1.0)


def test_a_burst_of_concurrent_guesses_is_counted_before_any_is_checked(db: Database, clock: FakeClock) -> None:
    limiter = _limiter(db, clock, per_account=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda n: limiter.admit(address=f"10.1.0.{n}", account="ann@example.com"), range(16)))
    assert sum(1 for w in waits if w == 0) == 3
    assert all(w == pytest.approx(1.0) for w in waits if w != 0)


def test_waits_are_capped_and_fade_after_a_quiet_spell(db: Database, clock: FakeClock) -> None:
    limiter = _limiter(db, clock, per_account=1)
    for _ in range(12):
        limiter.admit(address="a", account="ann@example.com")
        clock.advance(60)
    assert limiter.admit(address="a", account="ann@example.com") == 0
    assert 0 < limiter.admit(address="a", account="ann@example.com") <= 60
    clock.advance(61)
    assert limiter.admit(address="a", account="ann@example.com") == 0


def test_one_address_spraying_accounts_is_held_back(db: Database, clock: FakeClock) -> None:
    limiter = _limiter(db, clock, per_address=5)
    for n in range(5):
        assert limiter.admit(address="10.0.0.9", account=f"user{n}@example.com") == 0
    with pytest.raises(TooManyAttempts) as refused:
        require_admission(limiter, address="10.0.0.9", account="user99@example.com")
    assert refused.value.status_code == 429
    assert refused.value.extra["retry_after"] == "1"
    # Another address trying the same accounts is not held back by it.
    assert limiter.admit(address="10.0.0.10", account="user99@example.com") == 0


def test_a_successful_sign_in_clears_the_account(db: Database, clock: FakeClock) -> None:
    limiter = _limiter(db, clock)
    for _ in range(3):
        limiter.admit(address="a", account="ann@example.com")
    limiter.succeeded("ann@example.com")
    assert limiter.admit(address="a", account="ann@example.com") == 0


def test_quiet_rows_are_deleted_and_what_was_typed_is_not_kept(db: Database, clock: FakeClock) -> None:
    limiter = _limiter(db, clock)
    for n in range(50):
        limiter.admit(address=f"10.0.{n // 256}.{n % 256}", account=f"hunter{n}-password")
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(SignInAttempt)) == 100
        stored = set(s.scalars(select(SignInAttempt.key_hash)))
    assert key_hash("account", "hunter7-password") in stored
    assert not any("hunter" in k for k in stored)
    clock.advance(timedelta(seconds=61))
    assert limiter.forget_before(clock.now() - timedelta(seconds=60)) == 100


def test_right_passwords_do_not_use_up_an_address(db: Database, clock: FakeClock) -> None:
    limiter = _limiter(db, clock, per_address=3, per_account=3)
    for n in range(50):
        account = f"user{n}@example.com"
        assert limiter.admit(address="office", account=account) == 0
        limiter.succeeded(account, "office")
    assert limiter.admit(address="office", account="late@example.com") == 0
