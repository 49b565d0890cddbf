"""Numbers read from text: ASCII digits only.

``str.isdigit`` is also true of superscripts and of other scripts' digits ("²", "٣"), which ``int`` then refuses or
reads as a number nobody typed; every id and count that comes from outside goes through these instead.
"""

from __future__ import annotations


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty string of the characters 0-9 only."""
    return text.isascii() and text.isdigit()


def ascii_int(value: object) -> int | None:
    """An int given as such or as ASCII digits; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_ascii_digits(value):
        return int(value)
    return None
