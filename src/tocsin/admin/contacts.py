"""Editing and removing contact methods and notification rules.

A contact method that was paged is part of the paging history (its notifications name it): it is disabled
rather than deleted, so that the record of who was told what, and how, stays whole (ADR 0012).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tocsin.admin import repository as repo
from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.notify import contacts
from tocsin.notify import repository as notify_repo
from tocsin.notify.models import ContactMethod, NotificationRule
from tocsin.notify.reply_codes import PHONE_TYPES


def get_contact_method(session: Session, cm_id: int) -> ContactMethod:
    cm = notify_repo.contact_method(session, cm_id)
    if cm is None:
        raise NotFound(f"contact method {cm_id} not found")
    return cm


def update_contact_method(
    session: Session,
    cm: ContactMethod,
    *,
    name: str | None = None,
    address: str | None = None,
    disabled: bool | None = None,
    confirmed: bool = True,
) -> ContactMethod:
    """``confirmed``: whether a new phone number counts as proven (an admin set it) or must be confirmed again
    with a code before it is paged (its owner set it), as when it was added."""
    if name is not None:
        if not name.strip():
            raise InvalidInput("a contact method needs a name")
        cm.name = name.strip()
    if address is not None:
        before = cm.address
        contacts.update_contact_method(session, cm, address=address)
        if cm.type in PHONE_TYPES and cm.address != before and not confirmed:
            cm.verified = False
    if disabled is not None:
        cm.disabled = disabled
    session.flush()
    return cm


def delete_contact_method(session: Session, cm: ContactMethod) -> None:
    sent = repo.notification_count_of_contact_method(session, cm.id)
    if sent:
        raise Conflict(
            f"contact method {cm.name!r} was paged {sent} time(s); disable it instead of deleting it "
            '(PATCH {"disabled": true})'
        )
    for rule in repo.rules_of_contact_method(session, cm.id):
        session.delete(rule)
    session.delete(cm)
    session.flush()


def was_paged(session: Session, cm: ContactMethod) -> bool:
    return repo.notification_count_of_contact_method(session, cm.id) > 0


def retire_contact_method(session: Session, cm: ContactMethod) -> None:
    """Remove a contact method as far as history allows: disabled if it was paged, deleted (rules too) if not."""
    if was_paged(session, cm):
        update_contact_method(session, cm, disabled=True)
    else:
        delete_contact_method(session, cm)


def get_rule(session: Session, rule_id: int) -> NotificationRule:
    rule = repo.notification_rule(session, rule_id)
    if rule is None:
        raise NotFound(f"notification rule {rule_id} not found")
    return rule


def update_rule(
    session: Session,
    rule: NotificationRule,
    *,
    urgency: str | None = None,
    contact_method_id: int | None = None,
    delay_seconds: int | None = None,
) -> NotificationRule:
    if urgency is not None:
        if urgency not in ("high", "low"):
            raise InvalidInput("urgency must be high or low")
        rule.urgency = urgency
    if contact_method_id is not None:
        cm = notify_repo.contact_method(session, contact_method_id)
        if cm is None or cm.user_id != rule.user_id:
            raise InvalidInput(f"contact method {contact_method_id} does not belong to user {rule.user_id}")
        rule.contact_method_id = cm.id
    if delay_seconds is not None:
        if delay_seconds < 0:
            raise InvalidInput("delay must not be negative")
        rule.delay_seconds = delay_seconds
    session.flush()
    return rule


def delete_rule(session: Session, rule: NotificationRule) -> None:
    session.delete(rule)
    session.flush()
