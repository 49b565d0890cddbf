"""When to try a failed delivery again, and whether to try at all.

Outcomes
    * ``delivered``: any 2xx.
    * ``retry``: no response at all (timeout, connection error), 429, or any 5xx — the provider may succeed
      later.
    * ``failed``: every other status. A 4xx other than 429 means our request is wrong (bad number, revoked
      token, unknown channel); sending it again would fail the same way and only add load. 1xx and 3xx are
      unexpected from a provider API (redirects are not followed, for SSRF reasons) and fail too.

Backoff is exponential with full jitter: before attempt n+1 the wait is uniform in
``[0, min(cap, base * 2**(n-1))]``, which spreads the retries of a provider outage instead of synchronising
them. A ``Retry-After`` header (seconds or HTTP-date) replaces the backoff, capped at ``cap`` so a provider
cannot park our pages for an hour; a past date means "now". Escalation does not wait for any of this: the
next step is timed by the planner whatever happens to this send.

A caveat the caller owns: a timeout after the request was written may mean the message went out. For a
provider without idempotency keys, the engine should record such a send as ambiguous rather than retry it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

from tocsin.notify._time import require_aware

Outcome = Literal["delivered", "retry", "failed"]
ErrorKind = Literal["timeout", "connection"]


def classify(status: int | None, error_kind: ErrorKind | None = None) -> Outcome:
    """Classify one delivery attempt from its HTTP status, or from the error when there was no response."""
    if error_kind is not None:
        if error_kind not in ("timeout", "connection"):
            raise ValueError(f"unknown error kind {error_kind!r}")
        return "retry"
    if status is None:
        raise ValueError("classify needs a status or an error kind")
    if 200 <= status <= 299:
        return "delivered"
    if status == 429 or 500 <= status <= 599:
        return "retry"
    return "failed"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("backoff needs 0 < base <= cap")

    def next_attempt(
        self,
        attempt: int,
        now: datetime,
        *,
        status: int | None,
        retry_after: str | None,
        rand: Callable[[], float],
    ) -> datetime | None:
        """When to make attempt ``attempt + 1``, given that attempt number ``attempt`` (1-based) just ended.

        ``status`` None means there was no response (timeout or connection error). Returns None when the
        outcome is not retryable or ``max_attempts`` attempts have been made. ``rand`` returns a float in
        [0, 1]; it is a parameter so tests, and the caller's seeding, control the jitter.
        """
        require_aware(now, "now")
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        outcome = classify(status, "connection" if status is None else None)
        if outcome != "retry" or attempt >= self.max_attempts:
            return None
        honoured = _parse_retry_after(retry_after, now)
        if honoured is not None:
            return now + min(self.cap, max(timedelta(0), honoured))
        fraction = rand()
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"rand() must return a value in [0, 1], not {fraction}")
        # Clamp the exponent first: 2**attempt for a large attempt would overflow timedelta.
        ceiling = self.cap if attempt > 40 else min(self.cap, self.base * 2 ** (attempt - 1))
        return now + ceiling * fraction


def _parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Seconds or HTTP-date; None when absent or unreadable, in which case the normal backoff applies."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        # Bound before building a timedelta: the header is untrusted and may hold absurd numbers.
        return timedelta(seconds=10**9 if len(text) > 9 else int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # "-0000" parses as naive; HTTP-dates are GMT by definition.
        when = when.replace(tzinfo=UTC)
    return when - now


__all__ = ["ErrorKind", "Outcome", "RetryPolicy", "classify"]
