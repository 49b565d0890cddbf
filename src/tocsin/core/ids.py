"""Secrets and identifiers. Every secret comes from the OS CSPRNG and is at least 128 bits."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "tocsin_"  # noqa: S105 — a public prefix that lets secret scanners spot leaked tokens


def new_integration_key() -> str:
    """32 hex characters (128 bits), the same shape as a PagerDuty routing key."""
    return secrets.token_hex(16)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """API tokens are high-entropy, so a fast unsalted hash is enough and allows an indexed lookup."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_dedup_key() -> str:
    return secrets.token_hex(16)
