"""What a new password must be: long enough, not the account's own name or email, not a well-known password.

The list shipped with Tocsin (``common_passwords.txt``) holds the passwords every guessing tool tries first; a
bigger list (one password a line) can be added with ``TOCSIN_PASSWORD_BLOCKLIST_FILE``.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from tocsin.core.errors import InvalidInput

MAX_LENGTH = 1024


def _words(text: str) -> frozenset[str]:
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


@functools.cache
def _shipped() -> frozenset[str]:
    return _words(resources.files("tocsin.users").joinpath("common_passwords.txt").read_text(encoding="utf-8"))


@functools.cache
def _from_file(path: str) -> frozenset[str]:
    return _words(Path(path).read_text(encoding="utf-8", errors="replace"))


def is_common(password: str, extra_file: str | None = None) -> bool:
    folded = password.strip().lower()
    return folded in _shipped() or (extra_file is not None and folded in _from_file(extra_file))


def check_new_password(
    password: str, *, email: str, name: str, min_length: int, blocklist_file: str | None = None
) -> None:
    """InvalidInput (422) naming what is wrong with ``password``; nothing when it may be used."""
    if len(password) < min_length:
        raise InvalidInput(f"the password must be at least {min_length} characters long (it has {len(password)})")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"the password must be at most {MAX_LENGTH} characters long")
    folded = password.strip().lower()
    local = email.partition("@")[0].lower()
    if folded in {email.lower(), name.strip().lower(), local}:
        raise InvalidInput("the password must not be your name or email address")
    if is_common(password, blocklist_file):
        raise InvalidInput("this password is on a list of commonly used passwords; choose another")
