"""Per-user notification rules: when a paged user hears about it, and on which contact method.

A rule says "for incidents of this urgency, notify this contact method ``delay`` after I am paged". When
an escalation step pages a user, ``plan_notifications`` turns that user's rules into timed sends; the caller
stores one notification row per send, keyed by ``idempotency_key`` (unique in the database), so a retried
transaction or a second worker can never create the same send twice.

Fallback when a user has no rule for the incident's urgency
    * high urgency, no high rules: the user's low-urgency rules are used instead. A high-urgency page that
      reaches someone by their quieter route beats one that reaches nobody.
    * low urgency, no low rules: nothing is sent. Low urgency is opt-in, as in PagerDuty.
    * no rules at all: nothing is sent.
    Each of these comes back with a ``fallback`` marker so the caller can write a timeline entry ("user X has
    no low-urgency rules; not notified") instead of failing silently.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

from tocsin.notify._time import require_aware

Urgency = Literal["high", "low"]
URGENCIES: Final[tuple[str, ...]] = get_args(Urgency)
Fallback = Literal["high_used_low_rules", "no_low_rules", "no_rules"]

KEY_PREFIX: Final = "n1"
MAX_KEY_LENGTH: Final = 200
_MAX_ID: Final = 2**63 - 1  # BIGINT, the widest id the database can hold
_PLAIN_USER = re.compile(r"[A-Za-z0-9._@-]{1,64}")


@dataclass(frozen=True, slots=True)
class Rule:
    urgency: Urgency
    contact_method_id: int
    delay: timedelta

    def __post_init__(self) -> None:
        if self.urgency not in URGENCIES:
            raise ValueError(f"rule urgency must be 'high' or 'low', not {self.urgency!r}")
        _check_id(self.contact_method_id, "contact_method_id")
        if not isinstance(self.delay, timedelta) or self.delay < timedelta(0):
            raise ValueError("rule delay must be a timedelta of zero or more")


@dataclass(frozen=True, slots=True)
class PlannedSend:
    """Send to ``contact_method_id`` at ``due_at``; ``rule_index`` is the rule's index in the user's rules."""

    contact_method_id: int
    due_at: datetime
    rule_index: int


@dataclass(frozen=True, slots=True)
class NotificationPlan:
    """The sends for one paged user, earliest first, and why the list may be unusual (``fallback``)."""

    sends: tuple[PlannedSend, ...]
    fallback: Fallback | None = None


def plan_notifications(rules: Sequence[Rule], urgency: Urgency, started_at: datetime) -> NotificationPlan:
    """Plan one user's sends for a page that happened at ``started_at``.

    ``rule_index`` refers to ``rules`` as passed in, so the caller must pass the rules in a stable order
    (e.g. by rule id) for idempotency keys to stay stable across retries.
    """
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be 'high' or 'low', not {urgency!r}")
    require_aware(started_at, "started_at")
    fallback: Fallback | None = None
    chosen = [(i, r) for i, r in enumerate(rules) if r.urgency == urgency]
    if not chosen:
        if not rules:
            fallback = "no_rules"
        elif urgency == "high":
            fallback = "high_used_low_rules"
            chosen = list(enumerate(rules))
        else:
            fallback = "no_low_rules"
    sends: dict[tuple[int, timedelta], PlannedSend] = {}
    for index, rule in chosen:
        # Two identical rules would otherwise make two keys and so two messages for one intent.
        sends.setdefault(
            (rule.contact_method_id, rule.delay),
            PlannedSend(rule.contact_method_id, started_at + rule.delay, index),
        )
    ordered = sorted(sends.values(), key=lambda s: (s.due_at, s.rule_index))
    return NotificationPlan(sends=tuple(ordered), fallback=fallback)


def idempotency_key(
    incident_id: int,
    step_index: int,
    cycle: int,
    user_id: int | str,
    contact_method_id: int,
    rule_index: int,
) -> str:
    """A stable key for one send, unique across distinct argument tuples, at most 200 characters.

    Shape: ``n1:<incident>:<step>:<cycle>:<contact method>:<rule>:<user>``. The numbers are decimal and
    never contain ``:``, and the user part comes last, so the key parses back unambiguously. A user id made
    only of ``[A-Za-z0-9._@-]`` and at most 64 characters is kept as ``u<id>`` for readable rows; any other
    is replaced by ``h<sha256 hex>``, the distinct prefix keeping the two forms apart. Integer user ids
    give the same key as their decimal string, because they name the same user.
    """
    for value, name in (
        (incident_id, "incident_id"),
        (step_index, "step_index"),
        (cycle, "cycle"),
        (contact_method_id, "contact_method_id"),
        (rule_index, "rule_index"),
    ):
        _check_id(value, name)
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        raise ValueError("user_id must be an int or a str")
    if isinstance(user_id, int):
        _check_id(user_id, "user_id")
    user = str(user_id)
    if not user:
        raise ValueError("user_id must not be empty")
    user_part = f"u{user}" if _PLAIN_USER.fullmatch(user) else "h" + hashlib.sha256(user.encode()).hexdigest()
    key = f"{KEY_PREFIX}:{incident_id}:{step_index}:{cycle}:{contact_method_id}:{rule_index}:{user_part}"
    # Five 19-digit numbers plus the longest user part come to 168 characters; this guards future edits.
    assert len(key) <= MAX_KEY_LENGTH
    return key


def _check_id(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
        raise ValueError(f"{name} must be an integer between 0 and {_MAX_ID}, not {value!r}")


__all__ = [
    "MAX_KEY_LENGTH",
    "URGENCIES",
    "Fallback",
    "NotificationPlan",
    "PlannedSend",
    "Rule",
    "Urgency",
    "idempotency_key",
    "plan_notifications",
]
