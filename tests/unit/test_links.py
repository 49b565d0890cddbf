"""Signed one-click links: genuine tokens read back; altered, expired, foreign and malformed ones do not."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.auth.links import link_secret, make_token, new_nonce, read_token
from tocsin.core.errors import Unauthorized
from tocsin.settings import ConfigError, load_settings

SECRET = b"k" * 32
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def token(**kw: object) -> str:
    args: dict[str, object] = {
        "incident_id": 12,
        "user_id": 7,
        "action": "acknowledge",
        "expires_at": NOW + timedelta(hours=24),
        "nonce": "n0nce-abc",
    }
    args.update(kw)
    return make_token(SECRET, **args)  # type: ignore[arg-type]


def test_round_trip() -> None:
    claims = read_token(SECRET, token(action="resolve"), now=NOW)
    assert (claims.incident_id, claims.user_id, claims.action, claims.nonce) == (
        12,
        7,
        "resolve",
        "n0nce-abc",
    )
    assert claims.expires_at == NOW + timedelta(hours=24)


def test_token_is_url_safe_and_compact() -> None:
    t = token(nonce=new_nonce())
    assert len(t) < 100
    assert all(c.isalnum() or c in "-_" for c in t)


def test_every_altered_character_is_refused() -> None:
    t = token()
    for i in range(len(t)):
        swapped = t[:i] + ("A" if t[i] != "A" else "B") + t[i + 1 :]
        with pytest.raises(Unauthorized):
            read_token(SECRET, swapped, now=NOW)


def test_altered_claims_are_refused() -> None:
    raw = bytearray(base64.urlsafe_b64decode(token() + "=="))
    raw[8] ^= 1  # inside the incident id
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="not valid"):
        read_token(SECRET, forged, now=NOW)


def test_expired() -> None:
    t = token(expires_at=NOW + timedelta(minutes=5))
    read_token(SECRET, t, now=NOW + timedelta(minutes=4, seconds=59))
    with pytest.raises(Unauthorized, match="expired"):
        read_token(SECRET, t, now=NOW + timedelta(minutes=5))


def test_wrong_secret() -> None:
    with pytest.raises(Unauthorized, match="not valid"):
        read_token(b"x" * 32, token(), now=NOW)


@pytest.mark.parametrize("bad", ["", "abc", "!!!!", "é" * 10, "A" * 600, token()[:-3], token() + "AAAA"])
def test_malformed(bad: str) -> None:
    with pytest.raises(Unauthorized):
        read_token(SECRET, bad, now=NOW)


def test_make_token_validates_input() -> None:
    with pytest.raises(ValueError, match="action"):
        token(action="delete")
    with pytest.raises(ValueError, match="nonce"):
        token(nonce="")
    with pytest.raises(ValueError, match="timezone"):
        token(expires_at=datetime(2026, 1, 1))


def test_link_secret_needs_the_secret_key() -> None:
    with pytest.raises(ConfigError, match="TOCSIN_SECRET_KEY"):
        link_secret(load_settings(secret_key=None))
    a = link_secret(load_settings(secret_key="one"))
    assert a == link_secret(load_settings(secret_key="one"))
    assert a != link_secret(load_settings(secret_key="two"))
    assert a != b"one"
