"""The console's sign-in backs off: after a few wrong passwords an account (and an address) must wait, with 429
and Retry-After, before any password is checked again; a full hashing queue is refused at once with 503."""

from __future__ import annotations

import threading

import pytest

from tests.web.conftest import PASSWORD, Console
from tocsin.auth.attempts import AttemptLimiter
from tocsin.users.hashing_pool import Busy, HashingPool


@pytest.fixture(autouse=True)
def still_clock(console: Console) -> None:
    # The console's clock stands still: waits do not run out while the slow hashes of the test go on.
    runtime = console.client.app.state.runtime  # type: ignore[attr-defined]
    runtime.attempts = AttemptLimiter(runtime.db, console.clock, free_per_address=20, free_per_account=5, max_wait=900)


def _attempt(console: Console, password: str, email: str = "alice@example.com") -> int:
    r = console.client.post("/login", data={"email": email, "password": password}, follow_redirects=False)
    if r.status_code in (429, 503):
        assert int(r.headers["retry-after"]) >= 1
        assert "try" in r.text.lower()
    return r.status_code


def test_wrong_passwords_for_one_account_lead_to_429_even_for_the_right_one(console: Console) -> None:
    for _ in range(5):
        assert _attempt(console, "wrong guess") == 401
    assert _attempt(console, PASSWORD) == 429
    # Other accounts from the same address still get their own free attempts.
    assert _attempt(console, PASSWORD, email="olga@example.com") == 303


def test_a_successful_sign_in_clears_the_account_count(console: Console) -> None:
    for _ in range(4):
        assert _attempt(console, "wrong guess") == 401
    assert _attempt(console, PASSWORD) == 303
    for _ in range(4):
        assert _attempt(console, "wrong guess") == 401


def test_the_hashing_pool_refuses_at_once_when_its_queue_is_full() -> None:
    pool = HashingPool(workers=1, queue=1)
    release = threading.Event()
    running = [pool._submit(release.wait), pool._submit(release.wait)]
    try:
        with pytest.raises(Busy) as refused:
            pool.call(lambda: None)
        assert refused.value.status_code == 503
        assert refused.value.extra["retry_after"]
    finally:
        release.set()
        for future in running:
            future.result(5)
    assert pool.call(lambda: 42) == 42
    pool.shutdown()
