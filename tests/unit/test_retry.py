from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.notify.retry import RetryPolicy, classify

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy()


def one() -> float:
    return 1.0


def half() -> float:
    return 0.5


def test_defaults() -> None:
    assert RetryPolicy(max_attempts=5, base=timedelta(seconds=2), cap=timedelta(minutes=5)) == POLICY


@pytest.mark.parametrize(
    ("status", "kind", "outcome"),
    [
        (200, None, "delivered"),
        (202, None, "delivered"),
        (204, None, "delivered"),
        (429, None, "retry"),
        (500, None, "retry"),
        (503, None, "retry"),
        (599, None, "retry"),
        (400, None, "failed"),
        (401, None, "failed"),
        (404, None, "failed"),
        (410, None, "failed"),
        (302, None, "failed"),
        (None, "timeout", "retry"),
        (None, "connection", "retry"),
    ],
)
def test_classify(status: int | None, kind: str | None, outcome: str) -> None:
    assert classify(status, kind) == outcome  # type: ignore[arg-type]


def test_classify_needs_something() -> None:
    with pytest.raises(ValueError, match="status or an error kind"):
        classify(None, None)
    with pytest.raises(ValueError, match="unknown error kind"):
        classify(None, "dns")  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 200])
def test_no_retry_on_client_errors_or_success(status: int) -> None:
    assert POLICY.next_attempt(1, T0, status=status, retry_after="1", rand=one) is None


@pytest.mark.parametrize("status", [None, 429, 500, 502, 503])
def test_retry_on_server_errors_rate_limits_and_no_response(status: int | None) -> None:
    assert POLICY.next_attempt(1, T0, status=status, retry_after=None, rand=one) == T0 + timedelta(seconds=2)


def test_exponential_ceiling_with_full_jitter() -> None:
    waits = [POLICY.next_attempt(n, T0, status=503, retry_after=None, rand=one) for n in range(1, 5)]
    assert waits == [T0 + timedelta(seconds=s) for s in (2, 4, 8, 16)]
    assert POLICY.next_attempt(3, T0, status=503, retry_after=None, rand=half) == T0 + timedelta(seconds=4)
    assert POLICY.next_attempt(3, T0, status=503, retry_after=None, rand=lambda: 0.0) == T0


def test_attempts_exhausted() -> None:
    assert POLICY.next_attempt(4, T0, status=500, retry_after=None, rand=one) is not None
    assert POLICY.next_attempt(5, T0, status=500, retry_after=None, rand=one) is None
    assert RetryPolicy(max_attempts=1).next_attempt(1, T0, status=500, retry_after=None, rand=one) is None


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(max_attempts=100)
    assert policy.next_attempt(20, T0, status=500, retry_after=None, rand=one) == T0 + timedelta(minutes=5)
    assert policy.next_attempt(99, T0, status=500, retry_after=None, rand=one) == T0 + timedelta(minutes=5)


@given(attempt=st.integers(1, 4), fraction=st.floats(0.0, 1.0))
def test_jitter_stays_within_zero_and_the_ceiling(attempt: int, fraction: float) -> None:
    at = POLICY.next_attempt(attempt, T0, status=500, retry_after=None, rand=lambda: fraction)
    assert at is not None
    assert T0 <= at <= T0 + min(timedelta(minutes=5), timedelta(seconds=2 * 2 ** (attempt - 1)))


def test_rand_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="rand"):
        POLICY.next_attempt(1, T0, status=500, retry_after=None, rand=lambda: 1.5)


def test_retry_after_seconds_replaces_the_backoff() -> None:
    assert POLICY.next_attempt(1, T0, status=429, retry_after="30", rand=one) == T0 + timedelta(seconds=30)
    assert POLICY.next_attempt(1, T0, status=503, retry_after=" 0 ", rand=one) == T0


def test_retry_after_http_date() -> None:
    at = POLICY.next_attempt(1, T0, status=503, retry_after="Mon, 05 Jan 2026 09:01:30 GMT", rand=one)
    assert at == T0 + timedelta(seconds=90)


def test_retry_after_http_date_with_unknown_zone_is_read_as_gmt() -> None:
    at = POLICY.next_attempt(1, T0, status=503, retry_after="Mon, 05 Jan 2026 09:00:10 -0000", rand=one)
    assert at == T0 + timedelta(seconds=10)


def test_retry_after_in_the_past_means_now() -> None:
    at = POLICY.next_attempt(1, T0, status=503, retry_after="Mon, 05 Jan 2026 08:00:00 GMT", rand=one)
    assert at == T0


@pytest.mark.parametrize("header", ["3600", "Tue, 06 Jan 2026 09:00:00 GMT", "9" * 5000])
def test_retry_after_is_capped(header: str) -> None:
    assert POLICY.next_attempt(1, T0, status=429, retry_after=header, rand=one) == T0 + timedelta(minutes=5)


@pytest.mark.parametrize("header", ["soon", "-5", "1.5", "", "٣"])
def test_unreadable_retry_after_falls_back_to_backoff(header: str) -> None:
    assert POLICY.next_attempt(2, T0, status=429, retry_after=header, rand=one) == T0 + timedelta(seconds=4)


def test_validation() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        POLICY.next_attempt(0, T0, status=500, retry_after=None, rand=one)
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="base <= cap"):
        RetryPolicy(base=timedelta(minutes=10))
    with pytest.raises(ValueError, match="timezone-aware"):
        POLICY.next_attempt(1, datetime(2026, 1, 5), status=500, retry_after=None, rand=one)
