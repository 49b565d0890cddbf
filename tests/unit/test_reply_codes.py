from __future__ import annotations

import pytest

from tocsin.notify.reply_codes import CARRIER_KEYWORDS, CODES, SLACK_MEMBER_ID, Reply, normalize_phone, parse_reply


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("4", Reply("acknowledge")),
        (" 6 ", Reply("resolve")),
        ("8", Reply("escalate")),
        ("4 123", Reply("acknowledge", 123)),
        ("4 #123", Reply("acknowledge", 123)),
        ("6 all", Reply("resolve", "all")),
        ("4 ALL", Reply("acknowledge", "all")),
        ("ack", Reply("acknowledge")),
        ("Resolve 7", Reply("resolve", 7)),
        ("4.", Reply("acknowledge")),
    ],
)
def test_codes(body: str, expected: Reply) -> None:
    assert parse_reply(body) == expected


@pytest.mark.parametrize("body", ["", "5", "hello", "4 some", "44", "4 12 13", "x" * 100, "4 -1"])
def test_not_codes(body: str) -> None:
    assert parse_reply(body) is None


@pytest.mark.parametrize("word", ["STOP", "unsubscribe", "End", "QUIT", "cancel", "OPTOUT", "stop "])
def test_carrier_keywords_are_never_codes(word: str) -> None:
    assert parse_reply(word) is None


def test_no_code_is_a_carrier_keyword() -> None:
    assert not set(CODES) & CARRIER_KEYWORDS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (555) 123-4567", "+15551234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1.555.123.4567", "+15551234567"),
        ("5551234567", None),
        ("+0123456789", None),
        ("+1555abc4567", None),
        ("+1234", None),
    ],
)
def test_phone_numbers(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(("value", "ok"), [("U0ALICE", True), ("W012ABC", True), ("u0alice", False), ("#ops", False)])
def test_slack_member_ids(value: str, ok: bool) -> None:
    assert bool(SLACK_MEMBER_ID.fullmatch(value)) is ok
