"""Backoff on password attempts: free attempts, then doubling waits per address and per account."""

from __future__ import annotations

import pytest

from tocsin.auth.attempts import AttemptLimiter, TooManyAttempts, require_admission


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _limiter(clock: Ticker, *, per_address: int = 20, per_account: int = 3) -> AttemptLimiter:
    return AttemptLimiter(free_per_address=per_address, free_per_account=per_account, max_wait=60, clock=clock)


def test_an_account_gets_its_free_attempts_then_doubling_waits() -> None:
    clock = Ticker()
    limiter = _limiter(clock)
    for _ in range(3):
        assert limiter.admit(address="10.0.0.1", account="ann@example.com") == 0
    assert limiter.admit(address="10.0.0.2", account="ANN@example.com ") == pytest.approx(1.0)
    clock.now += 1
    assert limiter.admit(address="10.0.0.3", account="ann@example.com") == 0
    assert limiter.admit(address="10.0.0.3", account="ann@example.com") == pytest.approx(2.0)
    clock.now += 2
    assert limiter.admit(address="10.0.0.3", account="ann@example.com") == 0
    assert limiter.admit(address="10.0.0.3", account="ann@example.com") == pytest.approx(4.0)


def test_waits_are_capped_and_fade_after_a_quiet_spell() -> None:
    clock = Ticker()
    limiter = _limiter(clock, per_account=1)
    for _ in range(12):
        limiter.admit(address="a", account="ann@example.com")
        clock.now += 60
    assert limiter.admit(address="a", account="ann@example.com") == 0
    assert limiter.admit(address="a", account="ann@example.com") <= 60
    clock.now += 61
    assert limiter.admit(address="a", account="ann@example.com") == 0


def test_one_address_spraying_accounts_is_held_back() -> None:
    clock = Ticker()
    limiter = _limiter(clock, per_address=5)
    for n in range(5):
        assert limiter.admit(address="10.0.0.9", account=f"user{n}@example.com") == 0
    with pytest.raises(TooManyAttempts) as refused:
        require_admission(limiter, address="10.0.0.9", account="user99@example.com")
    assert refused.value.status_code == 429
    assert refused.value.extra["retry_after"] == "1"
    # Another address trying the same accounts is not held back by it.
    assert limiter.admit(address="10.0.0.10", account="user99@example.com") == 0


def test_a_successful_sign_in_clears_the_account() -> None:
    clock = Ticker()
    limiter = _limiter(clock)
    for _ in range(3):
        limiter.admit(address="a", account="ann@example.com")
    limiter.succeeded("ann@example.com")
    assert limiter.admit(address="a", account="ann@example.com") == 0


def test_memory_stays_bounded_under_address_spraying() -> None:
    clock = Ticker()
    limiter = AttemptLimiter(free_per_address=5, free_per_account=5, max_wait=60, clock=clock, max_keys=100)
    for n in range(1000):
        limiter.admit(address=f"10.0.{n // 256}.{n % 256}", account=f"u{n}@example.com")
    assert len(limiter._records) <= 100


def test_right_passwords_do_not_use_up_an_address() -> None:
    clock = Ticker()
    limiter = _limiter(clock, per_address=3, per_account=3)
    for n in range(50):
        account = f"user{n}@example.com"
        assert limiter.admit(address="office", account=account) == 0
        limiter.succeeded(account, "office")
    assert limiter.admit(address="office", account="late@example.com") == 0
