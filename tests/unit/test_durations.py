"""Durations in configuration and API bodies: "30s", "5m", "1h", "1h30m", "2d", or seconds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.oncall.durations import MAX_SECONDS, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 15M ", timedelta(minutes=15)),
        ("0s", timedelta(0)),
        ("90", timedelta(seconds=90)),
        (300, timedelta(minutes=5)),
    ],
)
def test_accepted_forms(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a duration: ''"),
        ("   ", "not a duration"),
        ("5x", "not a duration: '5x'"),
        ("h", "not a duration: 'h'"),
        ("1.5h", "not a duration: '1.5h'"),
        ("-5m", "not a duration: '-5m'"),
        ("30m1h", "not a duration: '30m1h'"),
        ("1h1h", "not a duration"),
        ("1h 30m", "not a duration"),
        ("five minutes", "not a duration"),
        (-1, "must not be negative"),
        (True, "not a duration"),
        ("99999999999d", "too long"),
        (MAX_SECONDS + 1, "too long"),
    ],
)
def test_bad_input_is_a_clear_error(text: str | int, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")) as caught:
        parse_duration(text)
    assert "30s" in str(caught.value) or "negative" in message or "long" in message


@given(st.integers(0, MAX_SECONDS))
def test_format_and_parse_round_trip(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


def test_format_is_compact() -> None:
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert format_duration(timedelta(days=2)) == "2d"
    assert format_duration(timedelta(0)) == "0s"
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))
