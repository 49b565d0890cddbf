"""Where the key for secrets at rest comes from (ADR 0017).

In order: ``TOCSIN_SECRET_KEY``; else the first line of ``TOCSIN_SECRET_KEY_FILE`` (further lines are older keys);
else, outside production, a key generated once and kept in a file next to the database, with a warning. Older
keys of ``TOCSIN_SECRET_KEYS_OLD`` (comma-separated) still decrypt, for a rotation under way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path

from sqlalchemy import make_url

from tocsin.db.encrypted import Keyring
from tocsin.settings import ConfigError, Settings, load_settings

log = logging.getLogger(__name__)
_warned: set[str] = set()


def keyring_from_settings(settings: Settings, database_url: str | None = None) -> Keyring:
    url = database_url or settings.database_url
    older = [k.strip() for k in settings.secret_keys_old.split(",") if k.strip()]
    if settings.secret_key:
        return Keyring(settings.secret_key, older, source="TOCSIN_SECRET_KEY")
    if settings.secret_key_file:
        keys = read_key_file(Path(settings.secret_key_file))
        return Keyring(keys[0], [*keys[1:], *older], source=f"TOCSIN_SECRET_KEY_FILE ({settings.secret_key_file})")
    if settings.env == "production":
        # Settings refuse this already; kept for a Settings object built without validation.
        raise ConfigError(PRODUCTION_NEEDS_KEY)
    path = local_key_path(url)
    if path is None:
        # An in-memory database lives no longer than this process: neither does its key.
        return Keyring(secrets.token_urlsafe(32), older, source="a key generated for this in-memory database")
    key = _generated_key(path)
    if str(path) not in _warned:
        _warned.add(str(path))
        log.warning(
            "TOCSIN_SECRET_KEY is not set: secrets in the database are encrypted with a generated key kept in %s. "
            "Keep that file with the database (both are needed to read it back); in production set "
            "TOCSIN_SECRET_KEY or TOCSIN_SECRET_KEY_FILE and TOCSIN_ENV=production.",
            path,
        )
    return Keyring(key, older, source=f"the generated key file {path}")


def keyring_from_environment(database_url: str) -> Keyring:
    """The keyring the environment's settings give for this database (a ``Database`` opened without one)."""
    return keyring_from_settings(load_settings(database_url=database_url), database_url)


PRODUCTION_NEEDS_KEY = "TOCSIN_ENV=production needs TOCSIN_SECRET_KEY or TOCSIN_SECRET_KEY_FILE"


def read_key_file(path: Path) -> list[str]:
    """The keys of a key file: one per line, the current one first; blank lines and # comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"TOCSIN_SECRET_KEY_FILE: cannot read {path}: {exc.strerror or exc}") from None
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not keys:
        raise ConfigError(f"TOCSIN_SECRET_KEY_FILE: {path} holds no key (one key per line, the current one first)")
    return keys


def local_key_path(database_url: str) -> Path | None:
    """Where a generated key is kept: beside a SQLite file; for a server database, in the user's state directory
    under a name of its own; None for an in-memory database."""
    url = make_url(database_url)
    if url.drivername.startswith("sqlite"):
        from tocsin.db.session import sqlite_file_path

        path = sqlite_file_path(database_url)
        return None if path is None else Path(path + ".key")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "tocsin"
    where = f"{url.host or 'local'}:{url.port or ''}/{url.database or ''}"
    label = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{url.host}_{url.database}")[:60]
    return state / f"{label}-{hashlib.sha256(where.encode()).hexdigest()[:12]}.key"


def _generated_key(path: Path) -> str:
    """The key in ``path``, created (readable by its owner only) when missing; concurrent first starts agree."""
    try:
        return read_key_file(path)[0]
    except ConfigError:
        if path.exists():
            raise
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked into place: a reader never sees a half-written key.
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return read_key_file(path)[0]
