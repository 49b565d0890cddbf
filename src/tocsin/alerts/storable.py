"""What an accepted event may hold, checked before it joins a group commit (pure).

Both databases must store, and every view must render, whatever a 2xx accepted. A string with a NUL character is
refused by PostgreSQL's text and JSON types, and a detail nested hundreds of levels deep cannot be encoded again
for display; such an event is refused with a 400 naming the field, before it can fail or slow the batch it would
have joined.
"""

from __future__ import annotations

from typing import Any

import orjson

from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.core.errors import BadRequest

# Deeper than any monitoring payload seen in the wild (Alertmanager and Datadog stay under 10 levels), and far
# below the encoders' own recursion limits.
MAX_DEPTH = 32
# Stored details (labels, details, links, images) of one event, as encoded JSON: above the HTTP body limit, so
# it bounds the paths that have none of their own (email).
MAX_DETAILS_BYTES = 1024 * 1024

_STRING_FIELDS = ("dedup_key", "summary", "severity", "source", "component", "group", "class_", "client", "client_url")
_TREE_FIELDS = ("labels", "details", "links", "images")


def check_submission(submission: Submission) -> None:
    """Raise BadRequest naming the first field that cannot be stored as it is."""
    _check_string(submission.integration_key, "integration key")
    _check_string(submission.delivery_id, "delivery id")
    for i, event in enumerate(submission.events):
        where = f"events[{i}]" if len(submission.events) > 1 else "event"
        if not _plainly_storable(event):
            _check_event(event, where)
    for i, change in enumerate(submission.changes):
        where = f"changes[{i}]" if len(submission.changes) > 1 else "change"
        _check_string(change.summary, f"{where}.summary")
        _check_string(change.source, f"{where}.source")
        _check_tree(change.details, f"{where}.details", 1)
        _check_tree(change.links, f"{where}.links", 1)


def _plainly_storable(event: NormalizedEvent) -> bool:
    """The common case, decided in C: the encoded event holds no NUL, fewer brackets than the depth limit (so it
    cannot nest deeper) and fits the size limit. Anything else is walked to name the field at fault."""
    try:
        encoded = orjson.dumps(
            (
                event.dedup_key,
                event.summary,
                event.source,
                event.component,
                event.group,
                event.class_,
                event.client,
                event.client_url,
                event.severity,
                event.labels,
                event.details,
                event.links,
                event.images,
            ),
            default=str,
        )
    except TypeError:  # nested deeper than the encoder goes
        return False
    return (
        b"\\u0000" not in encoded
        and encoded.count(b"{") + encoded.count(b"[") <= MAX_DEPTH
        and len(encoded) <= MAX_DETAILS_BYTES
    )


def _check_event(event: NormalizedEvent, where: str) -> None:
    for name in _STRING_FIELDS:
        _check_string(getattr(event, name), f"{where}.{name.rstrip('_')}")
    size = 0
    for name in _TREE_FIELDS:
        size += _check_tree(getattr(event, name), f"{where}.{name}", 1)
    if size > MAX_DETAILS_BYTES:
        raise BadRequest(f"{where}: labels and details take {size} bytes, the limit is {MAX_DETAILS_BYTES}")


def _check_string(value: object, path: str) -> int:
    if isinstance(value, str):
        if "\x00" in value:
            raise BadRequest(f"{path} contains a NUL character (\\u0000), which cannot be stored")
        return len(value) + 2
    return 8


def _check_tree(value: Any, path: str, depth: int) -> int:
    """Walk a decoded JSON value; return roughly its encoded size."""
    if isinstance(value, dict):
        if depth > MAX_DEPTH:
            raise BadRequest(f"{path} is nested deeper than {MAX_DEPTH} levels")
        size = 2
        for key, item in value.items():
            size += _check_string(key, f"{path} (a key)") + 1
            size += _check_tree(item, f"{path}.{key}", depth + 1)
        return size
    if isinstance(value, list):
        if depth > MAX_DEPTH:
            raise BadRequest(f"{path} is nested deeper than {MAX_DEPTH} levels")
        return 2 + sum(_check_tree(item, f"{path}[{j}]", depth + 1) + 1 for j, item in enumerate(value))
    return _check_string(value, path)
