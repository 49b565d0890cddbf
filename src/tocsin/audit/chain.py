"""The hash chain, pure: each entry's hash is SHA-256 over a canonical JSON of its fields and the previous hash.

Verification walks the entries in id order and names the first one whose link does not hold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

HASHED_FIELDS = (
    "id",
    "at",
    "actor_user_id",
    "actor",
    "token_id",
    "channel",
    "ip",
    "user_agent",
    "action",
    "object_type",
    "object_id",
    "data",
    "prev_hash",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | bytes):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def to_json_value(value: Any) -> Any:
    """A value as JSON will give it back (times as ISO strings): what is stored is exactly what was hashed."""
    return json.loads(json.dumps(value, default=_plain))


def canonical(fields: dict[str, Any]) -> bytes:
    picked = {name: fields.get(name) for name in HASHED_FIELDS}
    return json.dumps(picked, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain).encode()


def link_hash(fields: dict[str, Any]) -> str:
    """The hash of an entry whose fields (``prev_hash`` included) are given."""
    return hashlib.sha256(canonical(fields)).hexdigest()


@dataclass(frozen=True, slots=True)
class Break:
    entry_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Head:
    last_id: int
    last_hash: str


def verify(entries: Iterable[dict[str, Any]], head: Head | None) -> tuple[int, Break | None]:
    """How many entries were checked, and the first broken link (None when the chain holds).

    ``entries`` come in id order; ids start at 1 and follow each other, so a removed entry shows as a gap, and the
    head (the last id and hash appended) shows entries removed from the end.
    """
    expected_id = 1
    prev_hash = ""
    count = 0
    for entry in entries:
        count += 1
        entry_id = int(entry["id"])
        if entry_id != expected_id:
            return count, Break(entry_id, f"entries {expected_id}..{entry_id - 1} are missing before it")
        if entry["prev_hash"] != prev_hash:
            return count, Break(
                entry_id, f"its prev_hash does not match the hash of entry {entry_id - 1} (that entry was changed)"
            )
        if link_hash(entry) != entry["hash"]:
            return count, Break(entry_id, "its content does not match its hash (the entry was changed)")
        prev_hash = entry["hash"]
        expected_id += 1
    last_id = expected_id - 1
    if head is not None and (head.last_id != last_id or head.last_hash != prev_hash):
        return count, Break(
            head.last_id, f"the log ends at entry {last_id} but entry {head.last_id} was the last one appended"
        )
    return count, None
