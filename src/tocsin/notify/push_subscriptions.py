"""Browser push subscriptions, stored as contact methods of type ``webpush`` of the person whose browser it is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.notify import contacts
from tocsin.notify.models import ContactMethod
from tocsin.notify.push_keys import TYPE, check_keys


def add_subscription(
    session: Session,
    *,
    user_id: int,
    endpoint: str,
    p256dh: str,
    auth: str,
    name: str,
    now: datetime,
    with_rules: bool = False,
) -> ContactMethod:
    """Store a browser's push subscription as a contact method of this user. The same endpoint again (a browser
    that subscribes anew) updates the keys of the one already stored and enables it again.

    ``with_rules``: also page this device at once for both urgencies (what "Enable notifications on this device"
    in the console means), unless rules for it exist already."""
    keys = check_keys(p256dh, auth)
    endpoint = contacts.check_contact_address(TYPE, endpoint)
    existing = next(
        (cm for cm in contacts.contact_methods(session, user_id) if cm.type == TYPE and cm.address == endpoint),
        None,
    )
    if existing is not None:
        existing.secret = keys.to_secret()
        existing.disabled = False
        if name.strip():
            existing.name = name.strip()[:100]
        cm = existing
        session.flush()
    else:
        cm = contacts.add_contact_method(
            session,
            user_id=user_id,
            name=name.strip()[:100] or "This device",
            type=TYPE,
            address=endpoint,
            secret=keys.to_secret(),
            now=now,
        )
    if with_rules and not any(r.contact_method_id == cm.id for r in contacts.rules(session, user_id)):
        for urgency in ("high", "low"):
            contacts.add_rule(session, user_id=user_id, urgency=urgency, contact_method_id=cm.id, delay_seconds=0)
    return cm
