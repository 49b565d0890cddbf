"""A user's contact methods and notification rules: adding, changing and listing them, and test messages.

Addresses are checked and stored in one form (phone numbers in E.164), so that replies and verification find
the contact method they came from. The pages themselves are planned by ``notify.paging`` from these rules and
sent by the outbox (``notify.service``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput, NotFound
from tocsin.db.session import NOTIFICATION_WORK, note_new_work
from tocsin.notify import repository as repo
from tocsin.notify.models import CONTACT_TYPES, ContactMethod, Notification, NotificationRule
from tocsin.notify.push_keys import read_keys
from tocsin.notify.reply_codes import PHONE_TYPES, SLACK_MEMBER_ID, normalize_phone
from tocsin.notify.send_limits import DEFAULT, SendLimits, check_new_method, check_on_demand


def check_contact_address(type: str, address: str) -> str:
    """The address in its stored form (phone numbers in E.164), or InvalidInput saying what is wrong."""
    if type not in CONTACT_TYPES:
        raise InvalidInput(f"contact method type must be one of {', '.join(CONTACT_TYPES)}")
    if not address.strip():
        raise InvalidInput("a contact method needs an address")
    if type == "email" and "@" not in address:
        raise InvalidInput(f"not an email address: {address!r}")
    if type in ("webhook", "teams", "mattermost", "discord", "ntfy", "webpush") and not address.startswith(
        ("http://", "https://")
    ):
        raise InvalidInput(f"a {type} contact method needs an http(s) URL")
    if type == "slack" and not (SLACK_MEMBER_ID.fullmatch(address.strip()) or "@" in address):
        raise InvalidInput("a slack contact method needs a Slack member ID (U…) or the Slack account's email")
    if type in PHONE_TYPES:
        phone = normalize_phone(address)
        if phone is None:
            raise InvalidInput(f"a {type} contact method needs a phone number in international form, e.g. +15551234567")
        return phone
    return address.strip()


def add_contact_method(
    session: Session,
    *,
    user_id: int,
    name: str,
    type: str,
    address: str,
    now: datetime,
    secret: str | None = None,
    verified: bool = True,
    limits: SendLimits = DEFAULT,
) -> ContactMethod:
    address = check_contact_address(type, address)
    if type == "webpush" and read_keys(secret) is None:
        raise InvalidInput('a webpush contact method needs its keys as its secret: {"p256dh": "…", "auth": "…"}')
    check_new_method(session, user_id=user_id, address=address.strip(), limits=limits)
    cm = ContactMethod(
        user_id=user_id,
        name=name.strip() or type,
        type=type,
        address=address.strip(),
        secret=secret,
        verified=verified,
        disabled=False,
        created_at=now,
    )
    session.add(cm)
    session.flush()
    return cm


def add_rule(
    session: Session, *, user_id: int, urgency: str, contact_method_id: int, delay_seconds: int
) -> NotificationRule:
    if urgency not in ("high", "low"):
        raise InvalidInput("urgency must be high or low")
    if delay_seconds < 0:
        raise InvalidInput("delay must not be negative")
    cm = repo.contact_method(session, contact_method_id)
    if cm is None or cm.user_id != user_id:
        raise InvalidInput(f"contact method {contact_method_id} does not belong to user {user_id}")
    rule = NotificationRule(user_id=user_id, urgency=urgency, contact_method_id=cm.id, delay_seconds=delay_seconds)
    session.add(rule)
    session.flush()
    return rule


def update_contact_method(
    session: Session,
    cm: ContactMethod,
    *,
    type: str | None = None,
    address: str | None = None,
    limits: SendLimits = DEFAULT,
) -> ContactMethod:
    new_type = type if type is not None else cm.type
    new_address = check_contact_address(new_type, address if address is not None else cm.address)
    if new_address != cm.address:
        check_new_method(session, user_id=cm.user_id, address=new_address, limits=limits, replacing=cm.id)
    cm.type = new_type
    cm.address = new_address
    return cm


def replace_rules(session: Session, *, user_id: int, rules: Sequence[tuple[str, int, int]]) -> list[NotificationRule]:
    """Make a user's rules exactly these (urgency, contact method id, delay in seconds)."""
    for old in repo.rules_of(session, [user_id])[user_id]:
        session.delete(old)
    session.flush()
    return [
        add_rule(session, user_id=user_id, urgency=urgency, contact_method_id=cm_id, delay_seconds=delay)
        for urgency, cm_id, delay in rules
    ]


def contact_methods(session: Session, user_id: int) -> list[ContactMethod]:
    return repo.contact_methods_of(session, [user_id])[user_id]


def rules(session: Session, user_id: int) -> list[NotificationRule]:
    return repo.rules_of(session, [user_id])[user_id]


def send_test(session: Session, contact_method_id: int, *, now: datetime, limits: SendLimits = DEFAULT) -> Notification:
    """Queue a test message to one contact method; the engine sends it like any other, within the hourly limits
    of messages people ask for (``send_limits``)."""
    cm = repo.contact_method(session, contact_method_id)
    if cm is None:
        raise NotFound(f"contact method {contact_method_id} not found")
    check_on_demand(session, cm, now=now, limits=limits)
    n = Notification(
        # Two tests asked for in the same microsecond are two messages, not one refused by the unique key.
        idempotency_key=f"test:{cm.id}:{now.timestamp():.6f}:{secrets.token_hex(4)}",
        kind="test",
        incident_id=None,
        user_id=cm.user_id,
        contact_method_id=cm.id,
        status="pending",
        next_attempt_at=now,
        payload={},
        created_at=now,
    )
    session.add(n)
    session.flush()
    note_new_work(session, NOTIFICATION_WORK)
    return n


def contact_method_owner(session: Session, contact_method_id: int) -> int:
    cm = repo.contact_method(session, contact_method_id)
    if cm is None:
        raise NotFound(f"contact method {contact_method_id} not found")
    return cm.user_id
