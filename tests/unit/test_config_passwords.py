"""Password hashing for the accounts the demo (and later the login page) creates."""

from __future__ import annotations

import pytest

from tocsin.users.passwords import hash_password, needs_rehash, verify_password


def test_a_hash_verifies_its_password_and_nothing_else() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapler")
    assert not verify_password(stored, "")
    assert not needs_rehash(stored)
    # Salted: the same password never gives the same hash twice.
    assert hash_password("correct horse battery staple") != stored


def test_garbage_hash_and_empty_password() -> None:
    assert not verify_password("not-a-hash", "x")
    with pytest.raises(ValueError, match="empty"):
        hash_password("")
