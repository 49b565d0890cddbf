"""The codes a paged person sends back by SMS or presses on a phone call (pure parsing, no I/O).

A reply is a code optionally followed by a target: ``4`` acknowledges the incident the person was paged about
most recently, ``4 123`` (or ``4 #123``) incident number 123, ``4 all`` every open incident they were paged about.
Words work too (``ack``, ``resolve``, ``escalate``). Carrier keywords (STOP, UNSUBSCRIBE, END, QUIT, CANCEL,
OPTOUT …) are never codes: the carrier or Twilio acts on them, and a reply to them would only confuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Action = Literal["acknowledge", "resolve", "escalate"]

CODES: Final[dict[str, Action]] = {"4": "acknowledge", "6": "resolve", "8": "escalate"}
_WORDS: Final[dict[str, Action]] = {
    "ack": "acknowledge",
    "acknowledge": "acknowledge",
    "resolve": "resolve",
    "res": "resolve",
    "esc": "escalate",
    "escalate": "escalate",
}
CARRIER_KEYWORDS: Final[frozenset[str]] = frozenset(
    {"stop", "stopall", "unsubscribe", "end", "quit", "cancel", "optout", "revoke", "start", "unstop", "help", "info"}
)
_REPLY = re.compile(r"^\s*([a-z0-9]+)\s*(?:#?\s*(\d{1,18})|(all))?\s*[.!]?\s*$", re.IGNORECASE)

HINT: Final = "Reply 4 to ack, 6 to resolve, 8 to escalate"


@dataclass(frozen=True, slots=True)
class Reply:
    action: Action
    # None: the most recent page; "all": every open incident the person was paged about; else an incident number.
    target: int | Literal["all"] | None = None


def is_carrier_keyword(body: str) -> bool:
    return body.strip().lower() in CARRIER_KEYWORDS


def parse_reply(body: str) -> Reply | None:
    """The reply in an SMS body or keypad input, or None when it is not one."""
    if len(body) > 64 or is_carrier_keyword(body):
        return None
    match = _REPLY.match(body)
    if match is None:
        return None
    word, number, everything = match.groups()
    action = CODES.get(word) or _WORDS.get(word.lower())
    if action is None:
        return None
    if everything:
        return Reply(action, "all")
    return Reply(action, int(number) if number else None)


AnswerAction = Literal["accept", "decline"]
_ANSWER_WORDS: Final[dict[str, AnswerAction]] = {
    "accept": "accept",
    "acc": "accept",
    "join": "accept",
    "decline": "decline",
    "dec": "decline",
}
# On a call asking someone to join an incident (never on a paging call, whose keys stay 4, 6 and 8).
ANSWER_KEYS: Final[dict[str, AnswerAction]] = {"1": "accept", "2": "decline"}


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer to a request to join an incident: ``target`` its number, or None for the latest request."""

    action: AnswerAction
    target: int | None = None


def parse_answer(body: str) -> Answer | None:
    """``accept``, ``decline 123``, ``join #123`` …; None when the text is not an answer (ack codes stay codes)."""
    if len(body) > 64 or is_carrier_keyword(body):
        return None
    match = _REPLY.match(body)
    if match is None or match.group(3):
        return None
    word, number, _ = match.groups()
    action = _ANSWER_WORDS.get(word.lower())
    if action is None:
        return None
    return Answer(action, int(number) if number else None)


def answer_hint(number: int) -> str:
    return f"Reply ACCEPT {number} or DECLINE {number}."


def sms_hint(number: int) -> str:
    return f"{HINT} (4 {number} for this one, 4 all for all)."


PHONE_TYPES: Final = ("sms", "voice")
SLACK_MEMBER_ID: Final = re.compile(r"[UW][A-Z0-9]{2,20}")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def normalize_phone(value: str) -> str | None:
    """E.164 (``+15551234567``) from a number written with spaces, dots, dashes or brackets; None if it is not
    one. A leading ``00`` is the international prefix."""
    text = _PHONE_PUNCTUATION.sub("", value.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    return text if _E164.fullmatch(text) else None
