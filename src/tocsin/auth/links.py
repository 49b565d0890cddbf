"""Signed one-click action links (acknowledge or resolve an incident from an email or SMS).

A token is ``base64url(payload || tag)``: the payload packs a version byte, the incident id, the user id, the
action, the expiry (seconds since the epoch) and a nonce; the tag is HMAC-SHA256 of the payload truncated to
128 bits, under a key derived for this purpose only. Tokens are stateless; single use is enforced by whoever
redeems one, by recording its nonce (see ``tocsin.notify.service_links.use_link``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from tocsin.core.errors import Unauthorized
from tocsin.settings import ConfigError, Settings

Action = Literal["acknowledge", "resolve", "accept", "decline"]
# Appended only: a token stores its action's index. Accept / decline answer a request to join an incident.
ACTIONS: tuple[Action, ...] = ("acknowledge", "resolve", "accept", "decline")

_VERSION = 1
_HEAD = struct.Struct(">BQQBQB")  # version, incident id, user id, action, expires (epoch s), nonce length
_TAG_BYTES = 16
_MAX_NONCE = 64


@dataclass(frozen=True, slots=True)
class LinkClaims:
    incident_id: int
    user_id: int
    action: Action
    expires_at: datetime
    nonce: str


def link_secret(settings: Settings) -> bytes:
    """The link-signing key, derived from ``settings.secret_key`` (so rotating that key voids all links)."""
    if not settings.secret_key:
        raise ConfigError(
            "TOCSIN_SECRET_KEY is not set: one-click acknowledge links need it to be signed. "
            "Set it to a long random value, for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
    return hmac.new(settings.secret_key.encode(), b"tocsin/action-links/v1", hashlib.sha256).digest()


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _tag(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"tocsin-link." + payload, hashlib.sha256).digest()[:_TAG_BYTES]


def make_token(
    secret: bytes, *, incident_id: int, user_id: int, action: Action, expires_at: datetime, nonce: str
) -> str:
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    if not secret:
        raise ValueError("a signing secret is required")
    raw_nonce = nonce.encode()
    if not raw_nonce or len(raw_nonce) > _MAX_NONCE:
        raise ValueError(f"a nonce must be 1 to {_MAX_NONCE} bytes")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    payload = (
        _HEAD.pack(_VERSION, incident_id, user_id, ACTIONS.index(action), int(expires_at.timestamp()), len(raw_nonce))
        + raw_nonce
    )
    return base64.urlsafe_b64encode(payload + _tag(secret, payload)).rstrip(b"=").decode("ascii")


def read_token(secret: bytes, token: str, *, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired token; Unauthorized otherwise."""
    if not token or len(token) > 512 or not token.isascii():
        raise Unauthorized("this link is malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise Unauthorized("this link is malformed") from None
    if len(raw) < _HEAD.size + _TAG_BYTES:
        raise Unauthorized("this link is malformed")
    payload, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(secret, payload)):
        raise Unauthorized("this link is not valid (it was altered, or signed with another key)")
    version, incident_id, user_id, action_index, expires, nonce_len = _HEAD.unpack_from(payload)
    nonce_raw = payload[_HEAD.size :]
    if version != _VERSION or action_index >= len(ACTIONS) or len(nonce_raw) != nonce_len:
        raise Unauthorized("this link is malformed")
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        raise Unauthorized(f"this link expired at {expires_at:%Y-%m-%d %H:%M} UTC")
    try:
        nonce = nonce_raw.decode()
    except UnicodeDecodeError:
        raise Unauthorized("this link is malformed") from None
    return LinkClaims(
        incident_id=incident_id,
        user_id=user_id,
        action=cast(Action, ACTIONS[action_index]),
        expires_at=expires_at,
        nonce=nonce,
    )
