"""Field readers shared by the inbound formats.

Every reader records what is wrong in a ``Problems`` and returns a neutral value instead of raising, so that
one rejected request tells the sender about every bad field at once, each message naming the field's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tocsin.core.errors import BadRequest
from tocsin.integrations._json import json_type

# A payload with thousands of bad alerts must not produce a megabyte of error text.
MAX_REPORTED_PROBLEMS = 50


class Problems:
    """The problems found in one payload, raised together as a single BadRequest."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def raise_if_any(self, detail: str) -> None:
        if not self.messages:
            return
        shown = self.messages[:MAX_REPORTED_PROBLEMS]
        hidden = len(self.messages) - len(shown)
        if hidden:
            shown = [*shown, f"... and {hidden} more problems"]
        raise BadRequest(detail, errors=shown)

    def string(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        max_len: int | None = None,
        truncate: int | None = None,
    ) -> str | None:
        """A string or None when absent; ``max_len`` rejects longer values, ``truncate`` cuts them."""
        value = obj.get(key)
        if value is None:
            if required:
                self.add(f"'{path}' is required")
            return None
        if not isinstance(value, str):
            self.add(f"'{path}' must be a string, not {json_type(value)}")
            return None
        if required and not value.strip():
            self.add(f"'{path}' must not be blank")
            return None
        if max_len is not None and len(value) > max_len:
            self.add(f"'{path}' must be at most {max_len} characters, got {len(value)}")
            return None
        return value[:truncate] if truncate is not None else value

    def choice(self, obj: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...]) -> str | None:
        """A required string that must be one of ``allowed``."""
        value = self.string(obj, key, path, required=True)
        if value is None:
            return None
        if value not in allowed:
            self.add(f"'{path}' must be one of {', '.join(allowed)}")
            return None
        return value

    def mapping(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> dict[str, Any] | None:
        """An object field: None when absent, null or of the wrong type (the last one is reported)."""
        value = obj.get(key)
        if value is None:
            if required:
                self.add(f"'{path}' is required")
            return None
        if not isinstance(value, dict):
            self.add(f"'{path}' must be an object, not {json_type(value)}")
            return None
        return value

    def timestamp(self, obj: Mapping[str, Any], key: str, path: str) -> datetime | None:
        text = self.string(obj, key, path)
        if text is None:
            return None
        parsed = parse_timestamp(text)
        if parsed is None:
            self.add(f"'{path}' must be an ISO 8601 timestamp, got {text[:64]!r}")
        return parsed

    def links(
        self, obj: Mapping[str, Any], key: str, path: str, *, allow_plain_urls: bool = False
    ) -> list[dict[str, Any]]:
        """``[{href, text?}]``; with ``allow_plain_urls`` an item may also be the URL string itself."""
        items = self._array(obj, key, path)
        links: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            item_path = f"{path}[{index}]"
            if allow_plain_urls and isinstance(item, str):
                if item.strip():
                    links.append({"href": item})
                else:
                    self.add(f"'{item_path}' must not be blank")
                continue
            if not isinstance(item, dict):
                self.add(f"'{item_path}' must be an object, not {json_type(item)}")
                continue
            href = self.string(item, "href", f"{item_path}.href", required=True)
            text = self.string(item, "text", f"{item_path}.text")
            if href is not None:
                links.append({"href": href} if text is None else {"href": href, "text": text})
        return links

    def images(self, obj: Mapping[str, Any], key: str, path: str) -> list[dict[str, Any]]:
        """``[{src, href?, alt?}]``."""
        images: list[dict[str, Any]] = []
        for index, item in enumerate(self._array(obj, key, path)):
            item_path = f"{path}[{index}]"
            if not isinstance(item, dict):
                self.add(f"'{item_path}' must be an object, not {json_type(item)}")
                continue
            src = self.string(item, "src", f"{item_path}.src", required=True)
            href = self.string(item, "href", f"{item_path}.href")
            alt = self.string(item, "alt", f"{item_path}.alt")
            if src is not None:
                image: dict[str, Any] = {"src": src}
                if href is not None:
                    image["href"] = href
                if alt is not None:
                    image["alt"] = alt
                images.append(image)
        return images

    def _array(self, obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(f"'{path}' must be an array, not {json_type(value)}")
            return []
        return value


def require_object(data: object, what: str, detail: str) -> dict[str, Any]:
    """The payload itself must be an object before any field can be read."""
    if not isinstance(data, dict):
        raise BadRequest(detail, errors=[f"{what} must be a JSON object, not {json_type(data)}"])
    return data


def parse_timestamp(text: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp as an aware UTC datetime; None when unreadable.

    A timestamp without an offset is taken as UTC: a sender that omits it almost always means UTC, and an
    event must never carry a naive datetime past this point.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def wrap_details(value: object) -> dict[str, Any]:
    """Free-form details as an object: a bare value (string, number, list) is kept under ``details``."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    return {"details": value}
