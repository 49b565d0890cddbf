"""Decoding of JSON request bodies, shared by every JSON inbound format."""

from __future__ import annotations

from typing import Any

import orjson

from tocsin.core.errors import BadRequest, PayloadTooLarge

# PagerDuty's documented limit; every JSON format gets the same one so that senders meet one rule.
MAX_BODY_BYTES = 512 * 1024


def parse_body(raw: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Decode a request body that must hold one JSON object."""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"body is {len(raw)} bytes, the limit is {max_bytes}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"body must be a JSON object, not {json_type(data)}")
    return data


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages a sender understands."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
