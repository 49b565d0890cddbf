"""Secrets at rest: column values encrypted with the installation's key (ADR 0017).

A stored value is ``tocsin-enc:v1:`` followed by a Fernet token (AES-128-CBC with HMAC-SHA256). Values without the
prefix are clear values written before encryption existed: they are read as they are, and ``tocsin secrets rotate``
(or migration 0013) encrypts them. The prefix carries a version so that another scheme can follow.

The keyring belongs to a database engine (``bind_keyring``), not to the process: one process may hold several
databases (tests, the demo), each with its own key.
"""

from __future__ import annotations

import base64
import weakref
from collections.abc import Callable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, MetaData, Text, bindparam, select, type_coerce, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

PREFIX = "tocsin-enc:v1:"
# The key is also used to sign action links (auth/links.py): a key of its own is derived for encryption.
_PURPOSE = b"tocsin/secrets-at-rest/v1"


class KeyMismatch(Exception):
    """A stored value was encrypted with a key this process was not given."""


class NoKeyring(Exception):
    """A database engine was used for encrypted columns before any key was bound to it."""


def fernet_key(secret: str) -> bytes:
    """The Fernet key for one secret (any string; the output of ``secrets.token_urlsafe(32)`` is a good one)."""
    if not secret.strip():
        raise ValueError("a secret key must not be empty")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret.strip().encode())
    return base64.urlsafe_b64encode(derived)


class Keyring:
    """The current key, which encrypts, and older keys, which still decrypt while a rotation is under way."""

    def __init__(self, current: str, older: Sequence[str] = (), *, source: str = "TOCSIN_SECRET_KEY") -> None:
        keys = [current, *(k for k in older if k.strip() and k.strip() != current.strip())]
        self._fernet = MultiFernet([Fernet(fernet_key(k)) for k in keys])
        self.source = source
        self.key_count = len(keys)

    def seal(self, clear: str) -> str:
        return PREFIX + self._fernet.encrypt(clear.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        """The clear value; a value stored before encryption is returned as it is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise KeyMismatch(
                f"a secret in the database was encrypted with a key that {self.source} does not hold: give the key "
                "it was written with (TOCSIN_SECRET_KEY or TOCSIN_SECRET_KEY_FILE), or list it in "
                "TOCSIN_SECRET_KEYS_OLD while `tocsin secrets rotate` re-encrypts"
            ) from exc

    def reseal(self, stored: str) -> str:
        """The value encrypted with the current key, whichever key (or none) it was stored with."""
        return self.seal(self.open(stored))


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


_KEYRINGS: weakref.WeakKeyDictionary[Dialect, Keyring] = weakref.WeakKeyDictionary()


def bind_keyring(engine: Engine, keyring: Keyring) -> None:
    """Encrypt and decrypt the encrypted columns of everything that goes through this engine with ``keyring``."""
    _KEYRINGS[engine.dialect] = keyring


def keyring_of(where: Dialect | Session | Connection) -> Keyring:
    if isinstance(where, Dialect):
        dialect = where
    elif isinstance(where, Connection):
        dialect = where.dialect
    else:
        dialect = where.get_bind().dialect
    keyring = _KEYRINGS.get(dialect)
    if keyring is None:
        raise NoKeyring("no secret key is bound to this database engine (open it through tocsin.db.session.Database)")
    return keyring


class EncryptedText(TypeDecorator[str]):
    """Text stored encrypted. Rotation and migration 0013 find every column of this type (or a subclass) in the
    metadata, so a column becomes encrypted by being given this type."""

    impl = Text
    cache_ok = True

    def seals(self, value: str) -> bool:
        """Whether this value is kept encrypted."""
        return True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or is_sealed(value) or not self.seals(value):
            return value
        return keyring_of(dialect).seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not is_sealed(value):
            return value
        return keyring_of(dialect).open(value)


class CapabilityText(EncryptedText):
    """An address that is a secret when it is a URL (a chat or ntfy webhook: whoever has it can post), and a
    searchable identifier otherwise (a phone number matched against inbound SMS, an email address, a Slack id).

    Only URLs are encrypted, so equality lookups on the other kinds keep working; no lookup is made by URL.
    """

    cache_ok = True

    def seals(self, value: str) -> bool:
        return "://" in value


def encrypted_columns(metadata: MetaData) -> list[tuple[str, str]]:
    """(table, column) of every encrypted column in the metadata, in a stable order."""
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                found.append((table.name, column.name))
    return found


Columns = Sequence[tuple[str, str]]


def reseal_all(
    connection: Connection, metadata: MetaData, keyring: Keyring, columns: Columns | None = None
) -> dict[str, int]:
    """Encrypt every encrypted column's values with the current key: values under an older key are re-encrypted,
    clear values (written before encryption, or before a column became encrypted) are encrypted. Returns the
    number of values written per ``table.column``. ``columns``: only these (table, column) pairs."""

    def change(kind: EncryptedText, value: str) -> str | None:
        return keyring.reseal(value) if is_sealed(value) or kind.seals(value) else None

    return _rewrite(connection, metadata, change, columns)


def open_all(
    connection: Connection, metadata: MetaData, keyring: Keyring, columns: Columns | None = None
) -> dict[str, int]:
    """Write every encrypted value back in clear (downgrading past encryption)."""
    return _rewrite(
        connection, metadata, lambda _kind, value: keyring.open(value) if is_sealed(value) else None, columns
    )


def _rewrite(
    connection: Connection,
    metadata: MetaData,
    change: Callable[[EncryptedText, str], str | None],
    columns: Columns | None,
) -> dict[str, int]:
    written: dict[str, int] = {}
    for table_name, column_name in encrypted_columns(metadata) if columns is None else columns:
        table = metadata.tables[table_name]
        kind = table.c[column_name].type
        assert isinstance(kind, EncryptedText)
        keys = list(table.primary_key.columns)
        # The stored text as it is, without the type's own encryption on the way in or out.
        raw = type_coerce(table.c[column_name], Text)
        rows = connection.execute(select(*keys, raw.label("stored")).where(table.c[column_name].is_not(None)))
        changes = []
        for row in rows:
            new = change(kind, row.stored)
            if new is not None and new != row.stored:
                changes.append({**{f"k_{k.name}": row._mapping[k.name] for k in keys}, "v_new": new})
        if changes:
            stmt = (
                update(table)
                .where(*(k == bindparam(f"k_{k.name}") for k in keys))
                .values({column_name: bindparam("v_new", type_=Text)})
            )
            connection.execute(stmt, changes)
        written[f"{table_name}.{column_name}"] = len(changes)
    return written
