"""Signed subscriber links (confirm, unsubscribe): pure, the key and ``now`` are parameters.

A token is ``<action>.<subscriber id>.<expiry or 0>.<base64url HMAC-SHA256>``: nothing is stored, and changing any
part breaks the signature. Unsubscribe links never expire (a mail read years later still works)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from tocsin.core.numbers import is_ascii_digits

ACTIONS = ("confirm", "unsubscribe")


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, b"tocsin/statuspage-subscribers/v1|" + message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make(key: bytes, action: str, subscriber_id: int, expires_at: datetime | None = None) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    expiry = int(expires_at.timestamp()) if expires_at is not None else 0
    message = f"{action}.{subscriber_id}.{expiry}"
    return f"{message}.{_mac(key, message)}"


def read(key: bytes, token: str, action: str, now: datetime) -> int | None:
    """The subscriber id the token is for, or None if it is not a valid, unexpired ``action`` token."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != action or not is_ascii_digits(parts[1]) or not is_ascii_digits(parts[2]):
        return None
    if len(parts[1]) > 18 or len(parts[2]) > 12:
        return None
    message = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(key, message), parts[3]):
        return None
    expiry = int(parts[2])
    if expiry and now.timestamp() > expiry:
        return None
    return int(parts[1])
