"""Slack request signing (v0) against the published vector, and the checks the interactivity endpoint relies on."""

from __future__ import annotations

from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack import slack_signature
from tocsin.replies.slack import genuine

# The vector published in Slack's documentation and slackapi/python-slack-sdk's signature tests.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class At:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def now(self) -> float:
        return self.seconds


def verifier(at: float = 1531420618, secret: str = SECRET) -> SignatureVerifier:
    return SignatureVerifier(secret, clock=At(at))  # type: ignore[arg-type]


def test_published_vector_is_accepted() -> None:
    assert verifier().is_valid(BODY.encode(), TIMESTAMP, SIGNATURE)


def test_our_fake_signs_like_slack() -> None:
    assert slack_signature(SECRET, TIMESTAMP, BODY.encode()) == SIGNATURE


def test_tampered_body_is_refused() -> None:
    assert not verifier().is_valid((BODY + "&text=ack").encode(), TIMESTAMP, SIGNATURE)


def test_wrong_secret_is_refused() -> None:
    assert not verifier(secret=SECRET[:-1] + "6").is_valid(BODY.encode(), TIMESTAMP, SIGNATURE)


def test_timestamps_more_than_five_minutes_away_are_refused() -> None:
    assert verifier(at=1531420618 + 300).is_valid(BODY.encode(), TIMESTAMP, SIGNATURE)
    assert not verifier(at=1531420618 + 301).is_valid(BODY.encode(), TIMESTAMP, SIGNATURE)
    assert not verifier(at=1531420618 - 301).is_valid(BODY.encode(), TIMESTAMP, SIGNATURE)


def test_a_changed_timestamp_breaks_the_signature() -> None:
    assert not verifier(at=1531420619).is_valid(BODY.encode(), "1531420619", SIGNATURE)


def test_the_endpoint_check_accepts_the_vector_and_refuses_malformed_headers() -> None:
    now = 1531420618.0
    assert genuine(SECRET, BODY.encode(), TIMESTAMP, SIGNATURE, now=now)
    assert not genuine(SECRET, BODY.encode(), TIMESTAMP, SIGNATURE, now=now + 301)
    assert not genuine(SECRET, BODY.encode(), "", SIGNATURE, now=now)
    assert not genuine(SECRET, BODY.encode(), "not-a-number", SIGNATURE, now=now)
    assert not genuine(SECRET, BODY.encode(), "١٥٣١٤٢٠٦١٨", SIGNATURE, now=now)
    assert not genuine(SECRET, BODY.encode(), TIMESTAMP, "", now=now)
    assert not genuine(SECRET, BODY.encode(), TIMESTAMP, SIGNATURE[3:], now=now)
