"""Severity levels and incident categories: the configurable vocabularies an incident is described with.

Both live here, below the domains that set them (the ingest path, the response), so that the incident use cases can
check a name themselves. A database whose list is empty (never seeded, or every entry deleted) falls back to the
shipped defaults: an incident always has severities to choose from.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.incidents import repository as repo
from tocsin.incidents.models import IncidentCategory, SeverityLevel
from tocsin.incidents.priority import SEVERITIES

DEFAULT_SEVERITIES: tuple[tuple[str, str], ...] = (
    ("SEV1", "Critical: the service is down or data is at risk for many customers; all hands."),
    ("SEV2", "Major: a core function is broken or badly degraded for many customers."),
    ("SEV3", "Minor: a function is degraded or broken for some customers; a workaround exists."),
    ("SEV4", "Low: little customer impact; fix in working hours."),
    ("SEV5", "Cosmetic or one user affected; no urgency."),
)
DEFAULT_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("hardware", "Servers, disks, devices and the data centre."),
    ("software", "Applications and their deployments."),
    ("network", "Connectivity, DNS, load balancers, CDN."),
    ("database", "Databases, replication, storage engines."),
    ("security", "Attacks, breaches, vulnerabilities, suspicious activity."),
    ("access", "Accounts, permissions and sign-in."),
)
assert tuple(n for n, _ in DEFAULT_SEVERITIES) == SEVERITIES


def seed_defaults(session: Session, *, first: bool) -> None:
    """The shipped severities and categories (``first``: this database's first start); deleting them sticks."""
    if not first:
        return
    for position, (name, description) in enumerate(DEFAULT_SEVERITIES):
        if _severity(session, name) is None:
            session.add(SeverityLevel(name=name, description=description, position=position))
    for name, description in DEFAULT_CATEGORIES:
        if _category(session, name) is None:
            session.add(IncidentCategory(name=name, description=description))
    session.flush()


# --- severities ----------------------------------------------------------------------------------------------


def _severity(session: Session, name: str) -> SeverityLevel | None:
    return repo.severity(session, name)


def stored_severities(session: Session) -> list[SeverityLevel]:
    """The severities stored, in order (none when the list was never seeded)."""
    return repo.severities(session)


def severities(session: Session) -> list[SeverityLevel]:
    """The defined severities in order (the shipped ones when none are stored)."""
    rows = stored_severities(session)
    if rows:
        return rows
    return [SeverityLevel(name=n, description=d, position=i) for i, (n, d) in enumerate(DEFAULT_SEVERITIES)]


def severity_names(session: Session) -> list[str]:
    return [s.name for s in severities(session)]


def check_severity(session: Session, name: str) -> str:
    """The name when it is a defined severity; otherwise a 422 listing the defined ones."""
    known = severity_names(session)
    if name not in known:
        raise InvalidInput(f"severity must be one of {', '.join(known)}, not {name!r}")
    return name


def save_severity(session: Session, name: str, *, description: str = "", position: int = 0) -> SeverityLevel:
    clean = name.strip()
    if not clean or len(clean) > 8 or not clean.isprintable() or " " in clean:
        raise InvalidInput("a severity needs a name of 1 to 8 characters without spaces (such as SEV1)")
    found = _severity(session, clean)
    if found is None:
        found = SeverityLevel(name=clean)
        session.add(found)
    found.description, found.position = description, position
    session.flush()
    return found


def delete_severity(session: Session, name: str) -> None:
    found = _severity(session, name)
    if found is None:
        raise NotFound(f"no severity {name!r} (defined: {', '.join(severity_names(session))})")
    used = repo.count_with(session, severity=found.name)
    if used:
        raise Conflict(f"severity {found.name!r} is used by {used} incident(s)")
    session.delete(found)
    session.flush()


# --- categories ----------------------------------------------------------------------------------------------


def _category(session: Session, name: str) -> IncidentCategory | None:
    return repo.category(session, name)


def categories(session: Session) -> list[IncidentCategory]:
    return repo.categories(session)


def check_category(session: Session, name: str) -> str:
    """The name when it is a defined category ("" means none); otherwise a 422 listing the defined ones."""
    if name == "":
        return name
    known = [c.name for c in categories(session)]
    if name not in known:
        raise InvalidInput(f"category must be one of {', '.join(known) or '(none defined)'}, not {name!r}")
    return name


def save_category(session: Session, name: str, *, description: str = "") -> IncidentCategory:
    clean = name.strip()
    if not clean or len(clean) > 100:
        raise InvalidInput("a category needs a name of at most 100 characters")
    found = _category(session, clean)
    if found is None:
        found = IncidentCategory(name=clean)
        session.add(found)
    found.description = description
    session.flush()
    return found


def delete_category(session: Session, name: str) -> None:
    found = _category(session, name)
    if found is None:
        raise NotFound(f"no category {name!r}")
    used = repo.count_with(session, category=found.name)
    if used:
        raise Conflict(f"category {found.name!r} is used by {used} incident(s)")
    session.delete(found)
    session.flush()
