from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.db.claims import Claim, DueRows, fenced_rows, lock_fenced, lock_if_fenced
from tocsin.db.rows import RowWriter
from tocsin.db.session import NOTIFICATION_WORK, note_new_work
from tocsin.db.tables import table_of
from tocsin.incidents.models import Incident
from tocsin.notify.models import ContactMethod, Notification, NotificationRule
from tocsin.users.models import User

_NOTIFICATIONS = table_of(Notification)
# Due for sending: new or retrying rows, and interrupted sends waiting for their one resend.
SENDABLE = _NOTIFICATIONS.c.status.in_(("pending", "ambiguous"))
# What goes out first: the one resend of an interrupted message (it may never have left), then incidents' first
# pages (step 0 of the first pass), then any backlog of later steps and repeats.
SEND_ORDER = case(
    (_NOTIFICATIONS.c.status == "ambiguous", 0),
    (and_(_NOTIFICATIONS.c.kind == "page", _NOTIFICATIONS.c.step_index == 0, _NOTIFICATIONS.c.cycle == 0), 1),
    else_=2,
)
DUE = DueRows(_NOTIFICATIONS, due_column=_NOTIFICATIONS.c.next_attempt_at, ready=SENDABLE, first=SEND_ORDER)


def contact_methods_of(session: Session, user_ids: Iterable[int]) -> dict[int, list[ContactMethod]]:
    wanted = list(set(user_ids))
    found: dict[int, list[ContactMethod]] = {u: [] for u in wanted}
    if not wanted:
        return found
    stmt = select(ContactMethod).where(ContactMethod.user_id.in_(wanted)).order_by(ContactMethod.id)
    for cm in session.execute(stmt).scalars():
        found[cm.user_id].append(cm)
    return found


def rules_of(session: Session, user_ids: Iterable[int]) -> dict[int, list[NotificationRule]]:
    wanted = list(set(user_ids))
    found: dict[int, list[NotificationRule]] = {u: [] for u in wanted}
    if not wanted:
        return found
    stmt = select(NotificationRule).where(NotificationRule.user_id.in_(wanted)).order_by(NotificationRule.id)
    for rule in session.execute(stmt).scalars():
        found[rule.user_id].append(rule)
    return found


def contact_method(session: Session, cm_id: int) -> ContactMethod | None:
    return session.get(ContactMethod, cm_id)


def disable_contact_method(session: Session, cm_id: int) -> bool:
    """Disable a contact method whose address no longer exists and remove its notification rules, so that no
    later page is planned to it; False when it was disabled already."""
    done = session.execute(
        update(ContactMethod)
        .where(ContactMethod.id == cm_id, ContactMethod.disabled.is_(False))
        .values(disabled=True)
        .execution_options(synchronize_session=False)
    )
    if not getattr(done, "rowcount", 0):
        return False
    session.execute(
        delete(NotificationRule)
        .where(NotificationRule.contact_method_id == cm_id)
        .execution_options(synchronize_session=False)
    )
    return True


# Inserting outbox rows, skipping those whose idempotency key exists already, per dialect; built once each.
_ADD_NOTIFICATIONS = {
    name: insert(table_of(Notification))
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(table_of(Notification).c.id)
    for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def add_notifications(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert, skipping rows whose idempotency key exists already; returns how many were new."""
    if not rows:
        return 0
    stmt = _ADD_NOTIFICATIONS[session.get_bind().dialect.name]
    # One batched statement for all rows; RETURNING lists only the rows that went in.
    added = len(session.execute(stmt, rows).all())
    if added:
        note_new_work(session, NOTIFICATION_WORK)
    return added


def cancel_pending_by_key_prefix(session: Session, prefix: str) -> None:
    session.execute(
        update(Notification)
        .where(Notification.idempotency_key.startswith(prefix, autoescape=True), Notification.status == "pending")
        .values(status="cancelled", next_attempt_at=None, fence=Notification.fence + 1)
        .execution_options(synchronize_session=False)
    )


def cancel_pending_pages(session: Session, incident_id: int) -> None:
    session.execute(
        update(Notification)
        .where(
            Notification.incident_id == incident_id,
            Notification.kind == "page",
            Notification.status == "pending",
        )
        .values(status="cancelled", next_attempt_at=None, fence=Notification.fence + 1)
        .execution_options(synchronize_session=False)
    )


def claim(session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
    return DUE.claim(session, now=now, owner=owner, lease=lease, limit=limit)


def release_claims_of(session: Session, owner: str) -> int:
    """Unsent rows a named worker had claimed, made claimable again at once."""
    return DUE.release_owned(session, owner=owner)


def sending_of(session: Session, owner: str) -> list[Notification]:
    """Rows a named worker left in 'sending'."""
    stmt = (
        select(Notification)
        .where(Notification.status == "sending", Notification.lease_owner == owner)
        .order_by(Notification.id)
        .with_for_update()
    )
    return list(session.execute(stmt).scalars())


# The incidents of some notifications (parameter ``ids``): the services lock them with ``incidents.repository``.
INCIDENT_IDS = select(_NOTIFICATIONS.c.incident_id).where(
    _NOTIFICATIONS.c.id.in_(bindparam("ids", expanding=True)), _NOTIFICATIONS.c.incident_id.is_not(None)
)


_CONTACT_METHODS = table_of(ContactMethod)
_USERS = table_of(User)
_INCIDENTS = table_of(Incident)
# What the send path changes of a row; the fence is changed only by claims and by declaring a send ambiguous.
_CHANGEABLE = (
    "status",
    "attempts",
    "next_attempt_at",
    "lease_owner",
    "lease_until",
    "held_since",
    "provider_ref",
    "last_error",
    "sent_at",
    "payload",
)


@dataclass(slots=True)
class OutboxRow:
    """A notification as the send path reads and changes it, without a mapped object (a tenth of the cost to
    load and to write back); ``save_rows`` writes what changed."""

    id: int
    kind: str
    incident_id: int | None
    user_id: int
    contact_method_id: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    fence: int
    held_since: datetime | None
    provider_ref: str | None
    last_error: str | None
    sent_at: datetime | None
    payload: dict[str, Any]
    loaded: tuple[Any, ...] = field(default=(), repr=False, compare=False)


_OUTBOX_COLUMNS = [_NOTIFICATIONS.c[name] for name in OutboxRow.__dataclass_fields__ if name != "loaded"]
_CLAIMED_ROWS = fenced_rows(_NOTIFICATIONS, _OUTBOX_COLUMNS)
_ROWS = select(*_OUTBOX_COLUMNS).where(_NOTIFICATIONS.c.id.in_(bindparam("ids", expanding=True)))
_OUTBOX_WRITER = RowWriter(_NOTIFICATIONS, _CHANGEABLE)


def _outbox_row(values: Any) -> OutboxRow:
    return _OUTBOX_WRITER.remember(OutboxRow(*values))


def lock_claimed_rows(session: Session, claims: Iterable[Claim]) -> dict[int, OutboxRow]:
    """Those of the claimed rows whose fence is still the claimer's, locked for this transaction, by id."""
    return {r.id: r for r in map(_outbox_row, lock_fenced(session, _CLAIMED_ROWS, claims))}


def rows_of(session: Session, notification_ids: Iterable[int]) -> dict[int, OutboxRow]:
    wanted = list(set(notification_ids))
    if not wanted:
        return {}
    return {r.id: r for r in map(_outbox_row, session.execute(_ROWS, {"ids": wanted}))}


def save_rows(session: Session, rows: Iterable[OutboxRow]) -> None:
    """Write back what changed in these rows since they were read, and only that (``RowWriter``)."""
    _OUTBOX_WRITER.save(session, rows)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A contact method with what a message needs of its user."""

    id: int
    type: str
    address: str
    secret: str | None
    verified: bool
    disabled: bool
    user_id: int
    user_name: str


_RECIPIENTS = (
    select(
        _CONTACT_METHODS.c.id,
        _CONTACT_METHODS.c.type,
        _CONTACT_METHODS.c.address,
        _CONTACT_METHODS.c.secret,
        _CONTACT_METHODS.c.verified,
        _CONTACT_METHODS.c.disabled,
        _USERS.c.id,
        _USERS.c.name,
    )
    .join(_USERS, _USERS.c.id == _CONTACT_METHODS.c.user_id)
    .where(_CONTACT_METHODS.c.id.in_(bindparam("ids", expanding=True)))
)


def recipients(session: Session, contact_method_ids: Iterable[int]) -> dict[int, Recipient]:
    """Each contact method with the user it belongs to."""
    wanted = list(set(contact_method_ids))
    if not wanted:
        return {}
    return {row[0]: Recipient(*row) for row in session.execute(_RECIPIENTS, {"ids": wanted})}


_SENDING_STATES = (
    select(
        _NOTIFICATIONS.c.id,
        _NOTIFICATIONS.c.fence,
        _NOTIFICATIONS.c.status,
        _NOTIFICATIONS.c.kind,
        _INCIDENTS.c.status,
    )
    .outerjoin(_INCIDENTS, _INCIDENTS.c.id == _NOTIFICATIONS.c.incident_id)
    .where(_NOTIFICATIONS.c.id.in_(bindparam("ids", expanding=True)))
)


def sending_states(session: Session, notification_ids: Iterable[int]) -> dict[int, tuple[int, str, str, str | None]]:
    """Per notification: fence, status, kind and its incident's status (None without an incident), read in one
    statement right before the provider calls."""
    wanted = list(set(notification_ids))
    if not wanted:
        return {}
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in session.execute(_SENDING_STATES, {"ids": wanted})}


def lock_claimed(session: Session, c: Claim) -> Notification | None:
    row: Notification | None = lock_if_fenced(session, Notification, c)
    return row


def get(session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def next_attempt(session: Session) -> datetime | None:
    return DUE.next_due(session)


_SENT_TIMES = select(_NOTIFICATIONS.c.contact_method_id, _NOTIFICATIONS.c.sent_at).where(
    _NOTIFICATIONS.c.contact_method_id.in_(bindparam("ids", expanding=True)),
    _NOTIFICATIONS.c.sent_at.is_not(None),
    _NOTIFICATIONS.c.sent_at >= bindparam("since", type_=_NOTIFICATIONS.c.sent_at.type),
)


def sent_times_many(session: Session, contact_method_ids: Iterable[int], since: datetime) -> dict[int, list[datetime]]:
    wanted = list(set(contact_method_ids))
    found: dict[int, list[datetime]] = {cm: [] for cm in wanted}
    if not wanted:
        return found
    for cm_id, at in session.execute(_SENT_TIMES, {"ids": wanted, "since": since}):
        if at is not None:
            found[cm_id].append(at)
    return found


_HELD_BACK = (
    select(*_OUTBOX_COLUMNS)
    .where(
        _NOTIFICATIONS.c.contact_method_id == bindparam("contact_method_id"),
        _NOTIFICATIONS.c.status == "pending",
        _NOTIFICATIONS.c.id != bindparam("excluding"),
        _NOTIFICATIONS.c.kind == "page",
        _NOTIFICATIONS.c.held_since.is_not(None),
    )
    .order_by(_NOTIFICATIONS.c.id)
    .with_for_update()
)


def held_back(session: Session, contact_method_id: int, excluding: int) -> list[OutboxRow]:
    """Pages to the same contact method that a throttle is holding back, to be bundled into one message."""
    params = {"contact_method_id": contact_method_id, "excluding": excluding}
    return [_outbox_row(values) for values in session.execute(_HELD_BACK, params)]


def stuck_sending(session: Session, now: datetime, limit: int = 100) -> list[Notification]:
    """Rows left in 'sending' by a worker that died or stalled mid-send (their lease ran out)."""
    stmt = (
        select(Notification)
        .where(
            Notification.status == "sending",
            and_(Notification.lease_until.is_not(None), Notification.lease_until < now),
        )
        .limit(limit)
        .with_for_update()
    )
    return list(session.execute(stmt).scalars())


def of_incident(session: Session, incident_id: int) -> list[Notification]:
    stmt = select(Notification).where(Notification.incident_id == incident_id).order_by(Notification.id)
    return list(session.execute(stmt).scalars())


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all()
    return {s: n for s, n in rows}


def verified_methods_at(session: Session, types: Iterable[str], address: str) -> list[ContactMethod]:
    """Enabled, verified contact methods of these types with exactly this address (a phone number, a Slack id)."""
    stmt = (
        select(ContactMethod)
        .where(
            ContactMethod.type.in_(list(types)),
            ContactMethod.address == address,
            ContactMethod.verified.is_(True),
            ContactMethod.disabled.is_(False),
        )
        .order_by(ContactMethod.id)
    )
    return list(session.execute(stmt).scalars())


def paged_incident_ids(session: Session, user_id: int, limit: int = 200) -> list[int]:
    """Incidents this user was paged about, the most recently paged first."""
    last = func.max(Notification.id)
    stmt = (
        select(Notification.incident_id)
        .where(Notification.user_id == user_id, Notification.kind == "page", Notification.incident_id.is_not(None))
        .group_by(Notification.incident_id)
        .order_by(last.desc())
        .limit(limit)
    )
    return [i for i in session.execute(stmt).scalars() if i is not None]


def delivered_pages_on(session: Session, incident_id: int, types: Iterable[str]) -> list[Notification]:
    """Pages of an incident that reached a channel of these types and left a reference to the message sent."""
    stmt = (
        select(Notification)
        .join(ContactMethod, ContactMethod.id == Notification.contact_method_id)
        .where(
            Notification.incident_id == incident_id,
            Notification.kind == "page",
            Notification.status == "sent",
            Notification.provider_ref.is_not(None),
            ContactMethod.type.in_(list(types)),
        )
        .order_by(Notification.id)
    )
    return list(session.execute(stmt).scalars())


def latest_of_kind(session: Session, contact_method_id: int, kind: str) -> Notification | None:
    stmt = (
        select(Notification)
        .where(Notification.contact_method_id == contact_method_id, Notification.kind == kind)
        .order_by(Notification.id.desc())
        .limit(1)
        .with_for_update()
    )
    return session.execute(stmt).scalars().first()


def pending_pages_of(session: Session, incident_id: int, user_id: int, *, excluding: int) -> list[Notification]:
    """The user's pages for this incident still waiting to go out, the soonest first."""
    stmt = (
        select(Notification)
        .where(
            Notification.incident_id == incident_id,
            Notification.user_id == user_id,
            Notification.kind == "page",
            Notification.status == "pending",
            Notification.id != excluding,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .with_for_update()
    )
    return list(session.execute(stmt).scalars())


# --- batched paging ---


_NOTIFICATION_RULES = table_of(NotificationRule)
_RULE_ROWS = (
    select(
        _NOTIFICATION_RULES.c.user_id,
        _NOTIFICATION_RULES.c.urgency,
        _NOTIFICATION_RULES.c.contact_method_id,
        _NOTIFICATION_RULES.c.delay_seconds,
    )
    .where(_NOTIFICATION_RULES.c.user_id.in_(bindparam("ids", expanding=True)))
    .order_by(_NOTIFICATION_RULES.c.id)
)


def rule_rows_of(session: Session, user_ids: Iterable[int]) -> dict[int, list[tuple[str, int, int]]]:
    """Per user, ``(urgency, contact method id, delay seconds)`` of each rule in rule id order: what planning a
    page reads of ``rules_of``, without building a mapped object per rule."""
    wanted = list(set(user_ids))
    found: dict[int, list[tuple[str, int, int]]] = {u: [] for u in wanted}
    if not wanted:
        return found
    for user_id, urgency, cm_id, delay in session.execute(_RULE_ROWS, {"ids": wanted}):
        found[user_id].append((urgency, cm_id, delay))
    return found


# --- the console's page feed ---


def delivered_pages_of(
    session: Session, user_id: int, *, since: datetime, limit: int
) -> list[tuple[Notification, str, Incident]]:
    """A person's pages delivered since ``since`` (newest first), each with its channel and incident."""
    stmt = (
        select(Notification, ContactMethod.type, Incident)
        .join(ContactMethod, ContactMethod.id == Notification.contact_method_id)
        .join(Incident, Incident.id == Notification.incident_id)
        .where(
            Notification.user_id == user_id,
            Notification.kind == "page",
            Notification.status == "sent",
            Notification.sent_at >= since,
        )
        .order_by(Notification.sent_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


# --- limits on messages people ask for (notify/send_limits.py) ------------------------------------------------------
ON_DEMAND_KINDS = ("verify", "test")
PAID_TYPES = ("sms", "voice")


def on_demand_times(
    session: Session, *, since: datetime, user_id: int | None = None, contact_method_ids: Iterable[int] = ()
) -> list[datetime]:
    """When verification and test messages were queued after ``since``: a user's, or those to some contact methods."""
    stmt = select(Notification.created_at).where(
        Notification.kind.in_(ON_DEMAND_KINDS), Notification.created_at > since
    )
    if user_id is not None:
        stmt = stmt.where(Notification.user_id == user_id)
    else:
        stmt = stmt.where(Notification.contact_method_id.in_(list(contact_method_ids)))
    return sorted(session.execute(stmt).scalars())


def same_address_ids(session: Session, types: Iterable[str], address: str) -> list[int]:
    """Every contact method, whoever's, of these types with exactly this (clear, searchable) address."""
    stmt = select(ContactMethod.id).where(ContactMethod.type.in_(list(types)), ContactMethod.address == address)
    return list(session.execute(stmt).scalars())


def paid_times(session: Session, *, since: datetime) -> list[datetime]:
    """When text messages and calls were queued after ``since`` (verification codes always go by text), except
    those that never went out (cancelled, or folded into another message)."""
    stmt = (
        select(Notification.created_at)
        .join(ContactMethod, ContactMethod.id == Notification.contact_method_id)
        .where(
            Notification.created_at > since,
            Notification.status.not_in(["cancelled", "bundled"]),
            (ContactMethod.type.in_(PAID_TYPES)) | (Notification.kind == "verify"),
        )
    )
    return sorted(session.execute(stmt).scalars())


def active_admins(session: Session) -> list[int]:
    stmt = select(User.id).where(User.role == "admin", User.deactivated_at.is_(None)).order_by(User.id)
    return list(session.execute(stmt).scalars())
