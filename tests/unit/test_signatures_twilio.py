"""Twilio request signing against the example in twilio-python's own tests, and how our URL is computed."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from tests.fakes.twilio import AUTH_TOKEN, FakeTwilio

# twilio-python tests/unit/test_request_validator.py
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_documented_example_is_accepted() -> None:
    validator = RequestValidator(TOKEN)
    assert validator.compute_signature(URL, PARAMS) == EXPECTED
    assert validator.validate(URL, PARAMS, EXPECTED)


def test_a_changed_parameter_is_refused() -> None:
    assert not RequestValidator(TOKEN).validate(URL, {**PARAMS, "Digits": "4"}, EXPECTED)


def test_another_url_is_refused() -> None:
    assert not RequestValidator(TOKEN).validate(URL.replace("bar=2", "bar=3"), PARAMS, EXPECTED)


def test_wrong_token_is_refused() -> None:
    assert not RequestValidator("54321").validate(URL, PARAMS, EXPECTED)


def test_our_fake_signs_like_twilio() -> None:
    fake = FakeTwilio(auth_token=TOKEN)
    assert fake.sign(URL, PARAMS) == EXPECTED
    assert FakeTwilio().sign(URL, PARAMS) == RequestValidator(AUTH_TOKEN).compute_signature(URL, PARAMS)
