"""Use cases of the audit trail: append entries to the chain, read them back, verify the chain.

Changes of audited rows are recorded by the session hook (``audit/hook.py``); events that change no audited row
(sign-ins, a token used from a new address) are recorded here by the transport that sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.audit import repository as repo
from tocsin.audit.chain import Break, link_hash, to_json_value, verify
from tocsin.audit.models import AuditEntry
from tocsin.audit.origin import Origin, of_session
from tocsin.audit.repository import AuditFilter
from tocsin.core.pagination import decode_cursor, encode_cursor

SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
SIGN_OUT = "auth.sign_out"
PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 (an action name)
PASSWORD_RESET = "auth.password_reset"  # noqa: S105 (an action name)
SESSION_REVOKED = "auth.session_revoked"
SECOND_FACTOR_ON = "auth.second_factor_on"
SECOND_FACTOR_OFF = "auth.second_factor_off"
TOKEN_NEW_ADDRESS = "api_token.new_address"  # noqa: S105 (an action name)


@dataclass(frozen=True, slots=True)
class Change:
    action: str
    object_type: str
    object_id: str
    data: dict[str, Any]


def append(session: Session, changes: list[Change], origin: Origin | None = None) -> None:
    """Appends one entry per change, in order, after the chain's head (locked until the transaction ends)."""
    if not changes:
        return
    who = origin or of_session(session)
    conn = session.connection()
    head = repo.lock_head(conn)
    at = datetime.now(UTC)
    prev_id, prev_hash = head.last_id, head.last_hash
    rows: list[dict[str, Any]] = []
    for change in changes:
        row: dict[str, Any] = {
            "id": prev_id + 1,
            "at": at,
            "actor_user_id": who.user_id,
            "actor": who.actor[:255],
            "token_id": who.token_id,
            "channel": who.channel,
            "ip": who.ip[:64],
            "user_agent": who.user_agent[:255],
            "action": change.action,
            "object_type": change.object_type,
            "object_id": change.object_id[:64],
            "data": to_json_value(change.data),
            "prev_hash": prev_hash,
        }
        row["hash"] = link_hash(row)
        rows.append(row)
        prev_id, prev_hash = row["id"], row["hash"]
    repo.append(conn, rows)


def record(
    session: Session,
    action: str,
    *,
    object_type: str,
    object_id: str = "",
    data: dict[str, Any] | None = None,
    origin: Origin | None = None,
) -> None:
    append(session, [Change(action, object_type, object_id, data or {})], origin)


def record_token_use(session: Session, *, token_id: int, ip: str, now: datetime) -> bool:
    """Records the first use of an API token from an address; False when the address was seen before."""
    if not ip or not repo.add_token_address(session, token_id, ip[:64], now):
        return False
    record(session, TOKEN_NEW_ADDRESS, object_type="api_token", object_id=str(token_id), data={"ip": ip})
    return True


def list_entries(
    session: Session, flt: AuditFilter, *, limit: int, cursor: str | None = None
) -> tuple[list[AuditEntry], str | None]:
    """Newest first, a page at a time."""
    before = decode_cursor(cursor) if cursor else None
    rows = repo.newest_first(session, flt, before_id=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)


def export_page(session: Session, flt: AuditFilter, *, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """Oldest first, as plain JSON-ready records with their hashes (so that an export can be checked later)."""
    return [as_record(e) for e in repo.oldest_first(session, flt, after_id=after_id, limit=limit)]


def iter_export(
    reader: Callable[[], AbstractContextManager[Session]], flt: AuditFilter, batch: int = 500
) -> Iterator[dict[str, Any]]:
    """Every matching entry, oldest first, reading one batch per short transaction of ``reader()`` (a callable
    returning a session context)."""
    after = 0
    while True:
        with reader() as session:
            page = export_page(session, flt, after_id=after, limit=batch)
        yield from page
        if len(page) < batch:
            return
        after = int(page[-1]["id"])


def as_record(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_user_id": entry.actor_user_id,
        "actor": entry.actor,
        "token_id": entry.token_id,
        "channel": entry.channel,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def verify_chain(session: Session) -> tuple[int, Break | None]:
    """How many entries were checked, and the first broken link."""
    return verify(repo.iter_chain(session), repo.head(session))
