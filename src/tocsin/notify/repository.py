from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tocsin.db.claims import Claim, DueRows, lock_if_fenced
from tocsin.db.session import NOTIFICATION_WORK, note_new_work
from tocsin.db.tables import table_of
from tocsin.incidents.models import Incident
from tocsin.notify.models import ContactMethod, Notification, NotificationRule
from tocsin.users.models import User

# Due for sending: new or retrying rows, and interrupted sends waiting for their one resend.
SENDABLE = Notification.status.in_(("pending", "ambiguous"))
# What goes out first: the one resend of an interrupted message (it may never have left), then incidents' first
# pages (step 0 of the first pass), then any backlog of later steps and repeats.
SEND_ORDER = case(
    (Notification.status == "ambiguous", 0),
    (and_(Notification.kind == "page", Notification.step_index == 0, Notification.cycle == 0), 1),
    else_=2,
)
DUE = DueRows(Notification, due_column=Notification.next_attempt_at, ready=SENDABLE, first=SEND_ORDER)


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


def add_notifications(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert, skipping rows whose idempotency key exists already; returns how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    table = table_of(Notification)
    ins = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    stmt = ins.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(table.c.id)
    # One batched statement for all rows; RETURNING lists only the rows that went in.
    added = len(session.execute(stmt, rows).all())
    if added:
        note_new_work(session, NOTIFICATION_WORK)
    return added


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


# The incidents of some notifications (parameter ``ids``), to lock them in one statement.
INCIDENT_IDS = select(Notification.incident_id).where(
    Notification.id.in_(bindparam("ids", expanding=True)), Notification.incident_id.is_not(None)
)


def lock_claimed_many(session: Session, claims: Iterable[Claim]) -> dict[int, Notification]:
    return DUE.lock_claimed_many(session, claims)


def get_many(session: Session, notification_ids: Iterable[int]) -> dict[int, Notification]:
    wanted = list(set(notification_ids))
    if not wanted:
        return {}
    stmt = select(Notification).where(Notification.id.in_(wanted))
    return {n.id: n for n in session.execute(stmt).scalars()}


def recipients(session: Session, contact_method_ids: Iterable[int]) -> dict[int, tuple[ContactMethod, User]]:
    """Each contact method with the user it belongs to."""
    wanted = list(set(contact_method_ids))
    if not wanted:
        return {}
    stmt = select(ContactMethod, User).join(User, User.id == ContactMethod.user_id).where(ContactMethod.id.in_(wanted))
    return {cm.id: (cm, user) for cm, user in session.execute(stmt)}


def sending_states(session: Session, notification_ids: Iterable[int]) -> dict[int, tuple[int, str, str, str | None]]:
    """Per notification: fence, status, kind and its incident's status (None without an incident), read in one
    statement right before the provider calls."""
    wanted = list(set(notification_ids))
    if not wanted:
        return {}
    stmt = (
        select(Notification.id, Notification.fence, Notification.status, Notification.kind, Incident.status)
        .outerjoin(Incident, Incident.id == Notification.incident_id)
        .where(Notification.id.in_(wanted))
    )
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in session.execute(stmt)}


def lock_claimed(session: Session, c: Claim) -> Notification | None:
    row: Notification | None = lock_if_fenced(session, Notification, c)
    return row


def get(session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def next_attempt(session: Session) -> datetime | None:
    return DUE.next_due(session)


def sent_times_many(session: Session, contact_method_ids: Iterable[int], since: datetime) -> dict[int, list[datetime]]:
    wanted = list(set(contact_method_ids))
    found: dict[int, list[datetime]] = {cm: [] for cm in wanted}
    if not wanted:
        return found
    stmt = select(Notification.contact_method_id, Notification.sent_at).where(
        Notification.contact_method_id.in_(wanted),
        Notification.sent_at.is_not(None),
        Notification.sent_at >= since,
    )
    for cm_id, at in session.execute(stmt):
        if at is not None:
            found[cm_id].append(at)
    return found


def held_back(session: Session, contact_method_id: int, excluding: int) -> list[Notification]:
    """Pages to the same contact method that a throttle is holding back, to be bundled into one message."""
    stmt = (
        select(Notification)
        .where(
            Notification.contact_method_id == contact_method_id,
            Notification.status == "pending",
            Notification.id != excluding,
            Notification.kind == "page",
            Notification.held_since.is_not(None),
        )
        .with_for_update()
    )
    return list(session.execute(stmt).scalars())


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


def rule_rows_of(session: Session, user_ids: Iterable[int]) -> dict[int, list[tuple[str, int, int]]]:
    """Per user, ``(urgency, contact method id, delay seconds)`` of each rule in rule id order: what planning a
    page reads of ``rules_of``, without building a mapped object per rule."""
    wanted = list(set(user_ids))
    found: dict[int, list[tuple[str, int, int]]] = {u: [] for u in wanted}
    if not wanted:
        return found
    stmt = (
        select(
            NotificationRule.user_id,
            NotificationRule.urgency,
            NotificationRule.contact_method_id,
            NotificationRule.delay_seconds,
        )
        .where(NotificationRule.user_id.in_(wanted))
        .order_by(NotificationRule.id)
    )
    for user_id, urgency, cm_id, delay in session.execute(stmt).all():
        found[user_id].append((urgency, cm_id, delay))
    return found
