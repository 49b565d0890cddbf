"""Message times as the platforms send them, read for captures and exports: Slack's ``ts`` (seconds, a dot, a
sequence) and Graph's ``createdDateTime`` (ISO 8601 with up to seven fractional digits and ``Z``); anything
unreadable is the epoch, never an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.chat.platforms.graph import graph_time
from tocsin.chat.platforms.slack import slack_time


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("1700000999.000100", datetime(2023, 11, 14, 22, 29, 59, 100, tzinfo=UTC)),
        ("1700000999", datetime(2023, 11, 14, 22, 29, 59, tzinfo=UTC)),
        ("١٧٠٠٠٠٠٩٩٩.000100", datetime(1970, 1, 1, 0, 0, 0, 100, tzinfo=UTC)),
        ("", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_slack_ts(ts: str, expected: datetime) -> None:
    assert slack_time(ts) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-10-19T10:37:00.1234567Z", datetime(2016, 10, 19, 10, 37, 0, 123456, tzinfo=UTC)),
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("yesterday", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_graph_created_date_time(value: str, expected: datetime) -> None:
    assert graph_time(value) == expected
