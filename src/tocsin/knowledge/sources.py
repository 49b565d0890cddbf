"""The registry of what search indexes: each source names a kind of document, loads the rows changed since a time,
and says who may read them. Domains above this one register theirs from ``wiring.py`` (postmortems, problems …).

A source's ``load(session, since, limit)`` returns documents changed at or after ``since`` (all when None), oldest
change first, at most ``limit``. ``visibility`` is how the search decides who reads a document: ``incident`` (the
incident's rules, private incidents included, ADR 0022), ``service`` (the service's team, ADR 0016) or ``public``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

Visibility = Literal["incident", "service", "public"]


@dataclass(frozen=True, slots=True)
class Document:
    ref_id: int
    title: str
    body: str
    url: str
    changed_at: datetime
    incident_id: int | None = None
    service_id: int | None = None
    key: str | None = None


Loader = Callable[[Session, datetime | None, int], Sequence[Document]]
IncidentLoader = Callable[[Session, Sequence[int]], Sequence[Document]]


@dataclass(frozen=True, slots=True)
class DocumentSource:
    """``load`` reads changes by time (polled by the knowledge engine module, and used by a full reindex);
    ``for_incidents``, when given, reads a source's documents of some incidents: the incident events consumer
    calls it for the incidents that changed, so such a source is never polled."""

    kind: str
    label: str
    load: Loader
    visibility: Visibility
    for_incidents: IncidentLoader | None = None
    # Text fields the source reads, for documentation and the admin page (the loader builds title and body).
    fields: tuple[str, ...] = ()


class SourceRegistry:
    def __init__(self) -> None:
        self._items: dict[str, DocumentSource] = {}

    def register(self, source: DocumentSource) -> None:
        """Idempotent by kind: the last registration of a kind wins (wiring runs once per process)."""
        if not source.kind or len(source.kind) > 32 or not source.kind.replace("_", "").isalnum():
            raise ValueError(f"bad document kind {source.kind!r}")
        self._items[source.kind] = source

    def get(self, kind: str) -> DocumentSource | None:
        return self._items.get(kind)

    @property
    def kinds(self) -> list[str]:
        return sorted(self._items)

    @property
    def items(self) -> list[DocumentSource]:
        return [self._items[k] for k in self.kinds]


SOURCES = SourceRegistry()
