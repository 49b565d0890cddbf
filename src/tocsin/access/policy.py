"""Team-scoped access decisions (pure): given a viewer and the teams owning an object, may they see it, act on it,
administer it, read its secrets?

Objects are owned by at most one team (services, schedules, escalation policies); silences and overrides belong
to the team of the service or schedule they are about. An object of no team is the organisation's: everyone may
see it and responders may act on it (its incidents, its overrides), but only admins administer it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tocsin.audit.catalog import CREDENTIAL_ADDRESS_TYPES, mask
from tocsin.core.errors import Forbidden, InvalidInput

ADMIN = "admin"
RESPONDER = "responder"
MANAGER = "manager"


@dataclass(frozen=True)
class Viewer:
    """A signed-in person as access decisions see them: their role and their teams (team id -> team role)."""

    user_id: int
    role: str
    teams: Mapping[int, str] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def can_write(self) -> bool:
        # The organisation role caps the team role: an observer who manages a team still only reads.
        return self.role in (ADMIN, RESPONDER)

    def manages(self, team_id: int | None) -> bool:
        return team_id is not None and self.teams.get(team_id) == MANAGER

    def member_of(self, team_id: int | None) -> bool:
        return team_id is not None and team_id in self.teams


def _owners(team_ids: Iterable[int | None]) -> set[int]:
    return {t for t in team_ids if t is not None}


def can_manage(viewer: Viewer, team_ids: Iterable[int | None]) -> bool:
    """Administer objects owned by these teams: their configuration, archive, delete."""
    if viewer.is_admin:
        return True
    owners = _owners(team_ids)
    return viewer.can_write and bool(owners) and all(viewer.manages(t) for t in owners)


def can_act(viewer: Viewer, team_ids: Iterable[int | None]) -> bool:
    """Respond on objects owned by these teams: incidents of their services, silences, overrides."""
    if viewer.is_admin:
        return True
    if not viewer.can_write:
        return False
    owners = _owners(team_ids)
    return all(viewer.member_of(t) for t in owners)


def can_see(viewer: Viewer, team_ids: Iterable[int | None], *, see_all: bool) -> bool:
    """Read objects owned by these teams; with ``see_all`` (the default) everyone signed in reads everything."""
    if see_all or viewer.is_admin:
        return True
    owners = _owners(team_ids)
    return not owners or any(viewer.member_of(t) for t in owners)


def can_read_contact_secret(viewer: Viewer, owner_user_id: int) -> bool:
    """Webhook URLs of contact methods are credentials: only their owner and admins read them in full."""
    return viewer.is_admin or viewer.user_id == owner_user_id


def shown_contact_address(viewer: Viewer, owner_user_id: int, type: str, address: str) -> str:
    """A contact method's address as this viewer reads it. Emails and phone numbers are for colleagues to read (as
    in a company directory); webhook, chat and ntfy URLs work as credentials and are masked but for their owner
    and admins."""
    if type not in CREDENTIAL_ADDRESS_TYPES or can_read_contact_secret(viewer, owner_user_id):
        return address
    return str(mask(address, "tail"))


def shown_webhook_url(viewer: Viewer, owner_user_id: int | None, url: str) -> str:
    """A webhook subscription's URL (chat webhooks carry their credential in the path): whole for its owner and
    admins, its origin only for everyone else."""
    if viewer.is_admin or (owner_user_id is not None and viewer.user_id == owner_user_id):
        return url
    return str(mask(url, "origin"))


def can_read_integration_key(viewer: Viewer, team_id: int | None) -> bool:
    """An integration key lets anyone open incidents on the service: admins and managers of its team read it."""
    return viewer.is_admin or (viewer.can_write and viewer.manages(team_id))


def needs_notice(viewer: Viewer, team_id: int | None) -> bool:
    """A silence or override set by someone who does not manage the owning team is announced to that team."""
    return team_id is not None and not viewer.manages(team_id)


def _team_words(team_names: Iterable[str]) -> str:
    names = sorted(set(team_names))
    return "team " + ", ".join(repr(n) for n in names) if names else "no team"


def require_manage(viewer: Viewer, team_ids: Iterable[int | None], what: str, team_names: Iterable[str] = ()) -> None:
    if not can_manage(viewer, list(team_ids)):
        owned = _team_words(team_names)
        raise Forbidden(f"only admins and managers of {owned} can change {what}")


def require_act(viewer: Viewer, team_ids: Iterable[int | None], what: str, team_names: Iterable[str] = ()) -> None:
    ids = list(team_ids)
    if not viewer.can_write:
        raise Forbidden("observers can read but not act")
    if not can_act(viewer, ids):
        raise Forbidden(f"only members of {_team_words(team_names)} and admins can act on {what}")


def require_admin(viewer: Viewer, what: str) -> None:
    if not viewer.is_admin:
        raise Forbidden(f"only admins can change {what}")


def check_duration(
    viewer: Viewer, start: datetime, end: datetime, *, limit: timedelta, what: str, now: datetime
) -> None:
    """Someone who is not an admin may not mute or reroute paging for longer than ``limit`` (counted from when it
    takes effect, or from now for one already running)."""
    if viewer.is_admin:
        return
    if end - max(start, now) > limit:
        days = limit.total_seconds() / 86400
        shown = f"{days:g} day(s)"
        raise InvalidInput(f"{what} may last at most {shown} (ask an admin for longer)", errors=[f"ends_at: > {shown}"])
