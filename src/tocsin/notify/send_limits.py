"""Limits that keep Tocsin from being turned against a phone: messages people ask for (verification codes, test
messages) are counted per address and per person, contact methods per person, and text messages and calls per
hour for the whole organisation.

Pages are never held back by these limits: over the organisation's budget they still go out, and admins are told
(once an hour) that the budget is spent; only verification and test messages are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.core.errors import InvalidInput, RateLimited
from tocsin.db.encrypted import CapabilityText
from tocsin.notify import notices
from tocsin.notify import repository as repo
from tocsin.notify.models import ContactMethod
from tocsin.notify.reply_codes import PHONE_TYPES
from tocsin.settings import Settings

HOUR = timedelta(hours=1)
_ADDRESS_KIND = CapabilityText()


@dataclass(frozen=True, slots=True)
class SendLimits:
    """The settings of the same names (``TOCSIN_CONTACT_METHODS_PER_USER``, …)."""

    contact_methods_per_user: int = 20
    contact_methods_per_address: int = 2
    verify_messages_per_address_hour: int = 5
    verify_messages_per_user_hour: int = 10
    paid_sends_per_hour: int = 500

    @classmethod
    def of(cls, settings: Settings) -> SendLimits:
        return cls(
            contact_methods_per_user=settings.contact_methods_per_user,
            contact_methods_per_address=settings.contact_methods_per_address,
            verify_messages_per_address_hour=settings.verify_messages_per_address_hour,
            verify_messages_per_user_hour=settings.verify_messages_per_user_hour,
            paid_sends_per_hour=settings.paid_sends_per_hour,
        )


DEFAULT = SendLimits()


def check_new_method(
    session: Session, *, user_id: int, address: str, limits: SendLimits, replacing: int | None = None
) -> None:
    """Refuse one more contact method to someone who has as many as allowed, or one more with the same address
    (twenty SMS methods to one number would turn each page or test into twenty texts). ``replacing``: the id of
    a method being changed, which does not count against itself."""
    mine = [cm for cm in repo.contact_methods_of(session, [user_id])[user_id] if cm.id != replacing]
    if replacing is None and len(mine) >= limits.contact_methods_per_user:
        raise InvalidInput(
            f"a person has at most {limits.contact_methods_per_user} contact methods; delete one to add another"
        )
    same = [cm for cm in mine if cm.address == address]
    if len(same) >= limits.contact_methods_per_address:
        raise InvalidInput(
            f"a person has at most {limits.contact_methods_per_address} contact methods with the address "
            f"{_shown(address)} (for example a text and a call method for one phone)"
        )


def check_on_demand(session: Session, cm: ContactMethod, *, now: datetime, limits: SendLimits) -> None:
    """Refuse a verification or test message over the hourly limits (``RateLimited``, with when to try again)."""
    since = now - HOUR
    targets = _same_address(session, cm)
    to_address = repo.on_demand_times(session, since=since, contact_method_ids=targets)
    if len(to_address) >= limits.verify_messages_per_address_hour:
        raise _limited(
            f"at most {limits.verify_messages_per_address_hour} verification and test messages an hour go to "
            f"{_shown(cm.address)}",
            to_address,
            limits.verify_messages_per_address_hour,
            now,
        )
    by_user = repo.on_demand_times(session, since=since, user_id=cm.user_id)
    if len(by_user) >= limits.verify_messages_per_user_hour:
        raise _limited(
            f"at most {limits.verify_messages_per_user_hour} verification and test messages an hour go to one "
            "person's contact methods",
            by_user,
            limits.verify_messages_per_user_hour,
            now,
        )
    if cm.type in repo.PAID_TYPES:
        paid = repo.paid_times(session, since=since)
        if len(paid) >= limits.paid_sends_per_hour:
            # Admins hear of it from the engine, which sent what spent the budget (note_paid_sends).
            raise _limited(
                f"the organisation's budget of {limits.paid_sends_per_hour} text messages and calls an hour is "
                "spent; verification and test messages wait (pages still go out)",
                paid,
                limits.paid_sends_per_hour,
                now,
            )


def note_paid_sends(session: Session, *, now: datetime, limits: SendLimits) -> bool:
    """After text messages or calls were sent: tell the admins once an hour when the budget is reached. True when
    it is. Pages are not held back."""
    if len(repo.paid_times(session, since=now - HOUR)) < limits.paid_sends_per_hour:
        return False
    tell_admins(session, now=now, limits=limits)
    return True


def tell_admins(session: Session, *, now: datetime, limits: SendLimits) -> int:
    """A notice to every admin, at most one per clock hour; returns how many were queued now."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    text = (
        f"Tocsin sent {limits.paid_sends_per_hour} or more text messages and calls in the last hour (the "
        "TOCSIN_PAID_SENDS_PER_HOUR budget). Pages still go out; verification and test messages are refused until "
        "the count falls below the budget."
    )
    return sum(
        notices.notify_user(session, user_id=admin, key=f"paid-budget:{hour.isoformat()}:{admin}", text=text, now=now)
        for admin in repo.active_admins(session)
    )


def _same_address(session: Session, cm: ContactMethod) -> list[int]:
    if _ADDRESS_KIND.seals(cm.address):
        # A URL is kept encrypted, so it cannot be looked up: it is counted by its own contact method.
        return [cm.id]
    types = PHONE_TYPES if cm.type in PHONE_TYPES else (cm.type,)
    return [cm.id, *repo.same_address_ids(session, types, cm.address)]


def _limited(reason: str, times: Sequence[datetime], limit: int, now: datetime) -> RateLimited:
    # The oldest message that counts leaves the hour's window first; then one more may go.
    frees_at = times[len(times) - limit] + HOUR
    wait = max(1, math.ceil((frees_at - now).total_seconds()))
    minutes = max(1, math.ceil(wait / 60))
    return RateLimited(f"{reason}; try again in {minutes} minute{'s' if minutes != 1 else ''}", retry_after=wait)


def _shown(address: str) -> str:
    return "this URL" if _ADDRESS_KIND.seals(address) else address
