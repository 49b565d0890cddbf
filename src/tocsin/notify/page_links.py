"""Links the domains above add to a page about an incident (the matching runbooks, ADR 0030), registered from
``wiring.py``: each is given the incident's id and number and the console's base URL and returns (label, URL)
pairs. It runs in the send batch, so it should cost nothing when it has nothing to add."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

PageLink = Callable[[Session, int, int, str], list[tuple[str, str]]]
PAGE_LINKS: list[PageLink] = []


def links_for(session: Session, incident_id: int, number: int, base_url: str) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for link in PAGE_LINKS:
        found += link(session, incident_id, number, base_url)
    return tuple(found)
