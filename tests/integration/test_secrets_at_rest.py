"""Secrets at rest (ADR 0017): what a copy of the database shows, the key's rotation, a wrong or missing key."""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from tests.conftest import _wipe
from tests.factories import make_user
from tocsin.auth.secrets import check_key, instance_secret
from tocsin.cli import app
from tocsin.core.clock import FakeClock
from tocsin.db import migrate
from tocsin.db.encrypted import PREFIX, KeyMismatch, Keyring, reseal_all
from tocsin.db.keys import keyring_from_settings
from tocsin.db.session import Database
from tocsin.notify import contacts, verification
from tocsin.registry import metadata
from tocsin.settings import ConfigError, load_settings
from tocsin.webhooks.models import WebhookSubscription

OLD_KEY = "the-old-key-" + "o" * 30
NEW_KEY = "the-new-key-" + "n" * 30
HOOK = "https://discord.com/api/webhooks/123/capability-token-abc"
HOOK_SECRET = "per-method-signing-secret-xyz"


@pytest.fixture
def url(db: Database) -> str:
    return db.url


def _open(url: str, *keys: str) -> Database:
    return Database(url, keyring=Keyring(keys[0], keys[1:]))


@pytest.fixture
def old_db(url: str) -> Iterator[Database]:
    """The test database (wiped) opened with a key of its own; wiped again after, so that no row under that key
    is left for the next test."""
    db = _open(url, OLD_KEY)
    yield db
    _wipe(db)
    db.dispose()


def _raw(db: Database, table: str, column: str) -> list[str]:
    with db.reader() as s:
        return [row[0] for row in s.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"))]  # noqa: S608


def _add_methods(db: Database, clock: FakeClock) -> tuple[int, int]:
    with db.unit_of_work() as s:
        user = make_user(s, clock.now())
        hook = contacts.add_contact_method(
            s, user_id=user.id, name="", type="discord", address=HOOK, secret=HOOK_SECRET, now=clock.now()
        )
        contacts.add_contact_method(s, user_id=user.id, name="", type="sms", address="+15551230000", now=clock.now())
        contacts.add_contact_method(
            s, user_id=user.id, name="", type="email", address="alice@example.com", now=clock.now()
        )
        instance_secret(s, "link_signing")
        return user.id, hook.id


def test_capability_urls_and_secrets_are_not_in_the_database_in_clear(old_db: Database, clock: FakeClock) -> None:
    user_id, _ = _add_methods(old_db, clock)
    with old_db.unit_of_work() as s:
        s.add(
            WebhookSubscription(
                name="sink",
                url="https://hooks.slack.com/services/T0/B0/secret-path",
                secret="whsec_c2VjcmV0",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    addresses = _raw(old_db, "contact_methods", "address")
    assert HOOK not in addresses
    assert not any("capability-token" in a for a in addresses)
    # Phone numbers and email addresses stay clear: inbound SMS replies and verification look them up.
    assert {"+15551230000", "alice@example.com"} <= set(addresses)
    assert [a.startswith(PREFIX) for a in addresses].count(True) == 1
    assert all(v.startswith(PREFIX) for v in _raw(old_db, "contact_methods", "secret"))
    assert all(v.startswith(PREFIX) for v in _raw(old_db, "instance_secrets", "value"))
    assert all(v.startswith(PREFIX) for v in _raw(old_db, "webhook_subscriptions", "url"))
    assert all(v.startswith(PREFIX) for v in _raw(old_db, "webhook_subscriptions", "secret"))
    with old_db.reader() as s:
        got = {cm.type: (cm.address, cm.secret) for cm in contacts.contact_methods(s, user_id)}
    assert got["discord"] == (HOOK, HOOK_SECRET)
    assert got["sms"] == ("+15551230000", None)


def test_clear_values_from_before_are_read_and_then_encrypted(old_db: Database, clock: FakeClock) -> None:
    user_id, hook_id = _add_methods(old_db, clock)
    with old_db.unit_of_work() as s:
        s.execute(
            text("UPDATE contact_methods SET address = :a, secret = :s WHERE id = :id"),
            {"a": HOOK, "s": HOOK_SECRET, "id": hook_id},
        )
    with old_db.reader() as s:
        assert {cm.address for cm in contacts.contact_methods(s, user_id)} >= {HOOK}
    with old_db.unit_of_work() as s:
        written = reseal_all(s.connection(), metadata, old_db.keyring)
    assert written["contact_methods.address"] >= 1
    assert HOOK not in _raw(old_db, "contact_methods", "address")
    assert HOOK_SECRET not in _raw(old_db, "contact_methods", "secret")
    with old_db.reader() as s:
        assert {cm.address for cm in contacts.contact_methods(s, user_id)} >= {HOOK, "+15551230000"}


def test_rotation_reads_with_old_and_new_keys_then_the_old_key_can_go(
    old_db: Database, url: str, clock: FakeClock
) -> None:
    user_id, _ = _add_methods(old_db, clock)
    before = _raw(old_db, "contact_methods", "secret")
    old_db.dispose()

    new_only = _open(url, NEW_KEY)
    try:
        with pytest.raises(KeyMismatch, match="TOCSIN_SECRET_KEYS_OLD"), new_only.reader() as s:
            contacts.contact_methods(s, user_id)
    finally:
        new_only.dispose()

    rotating = _open(url, NEW_KEY, OLD_KEY)
    try:
        with rotating.reader() as s:
            assert HOOK in {cm.address for cm in contacts.contact_methods(s, user_id)}
        with rotating.unit_of_work() as s:
            written = reseal_all(s.connection(), metadata, rotating.keyring)
        assert written["contact_methods.secret"] == 1
        assert written["instance_secrets.value"] == 1
    finally:
        rotating.dispose()
    after = _open(url, NEW_KEY)
    try:
        assert _raw(after, "contact_methods", "secret") != before
    finally:
        after.dispose()

    for keys, readable in (((NEW_KEY,), True), ((OLD_KEY,), False)):
        db = _open(url, *keys)
        try:
            if readable:
                with db.reader() as s:
                    got = {cm.address: cm.secret for cm in contacts.contact_methods(s, user_id)}
                assert got[HOOK] == HOOK_SECRET
            else:
                with pytest.raises(KeyMismatch, match="was encrypted with a key that"), db.unit_of_work() as s:
                    instance_secret(s, "link_signing")
        finally:
            db.dispose()


def test_tocsin_secrets_rotate_with_the_old_key_in_the_key_file(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    key_file = tmp_path / "keys"
    key_file.write_text(f"{OLD_KEY}\n")
    env = {"TOCSIN_DATABASE_URL": url, "TOCSIN_SECRET_KEY_FILE": str(key_file), "COLUMNS": "200"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        migrate.upgrade(url)
    db = _open(url, OLD_KEY)
    try:
        user_id, _ = _add_methods(db, clock)
    finally:
        db.dispose()

    key_file.write_text(f"# current first, then the older ones\n{NEW_KEY}\n{OLD_KEY}\n")
    result = CliRunner(env=env).invoke(app, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "contact_methods.address: 1 re-encrypted" in result.output

    key_file.write_text(f"{NEW_KEY}\n")
    db = Database(url, keyring=keyring_from_settings(load_settings(**_settings(env))))
    try:
        with db.reader() as s:
            assert HOOK in {cm.address for cm in contacts.contact_methods(s, user_id)}
    finally:
        db.dispose()

    key_file.write_text(f"{OLD_KEY}\n")
    refused = CliRunner(env=env).invoke(app, ["secrets", "rotate"])
    assert refused.exit_code == 2
    assert "was encrypted with a key that TOCSIN_SECRET_KEY_FILE" in refused.output


def _settings(env: dict[str, str]) -> dict[str, str]:
    return {"database_url": env["TOCSIN_DATABASE_URL"], "secret_key_file": env["TOCSIN_SECRET_KEY_FILE"]}


def test_a_server_with_the_wrong_key_refuses_to_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    migrate.upgrade(url)
    db = _open(url, OLD_KEY)
    try:
        with db.unit_of_work() as s:
            check_key(s)
    finally:
        db.dispose()
    env = {"TOCSIN_DATABASE_URL": url, "TOCSIN_SECRET_KEY": NEW_KEY, "TOCSIN_RUN_WORKER": "false"}
    result = CliRunner(env=env).invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2, result.output
    assert "was encrypted with a key that TOCSIN_SECRET_KEY does not hold" in " ".join(result.output.split())


def test_production_without_a_key_refuses_to_start_with_what_to_set() -> None:
    with pytest.raises(ConfigError, match="TOCSIN_ENV=production needs a key"):
        load_settings(env="production")
    assert load_settings(env="production", secret_key=NEW_KEY).env == "production"
    result = CliRunner(env={"TOCSIN_ENV": "production", "TOCSIN_SECRET_KEY": None}).invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "TOCSIN_SECRET_KEY_FILE" in result.output


def test_without_a_key_one_is_generated_beside_the_database_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TOCSIN_SECRET_KEY", "TOCSIN_SECRET_KEY_FILE", "TOCSIN_ENV"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with caplog.at_level(logging.WARNING, logger="tocsin.db.keys"):
        first = keyring_from_settings(load_settings(database_url=url))
    key_file = tmp_path / "demo.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "TOCSIN_SECRET_KEY is not set" in caplog.text
    assert str(key_file) in caplog.text
    again = keyring_from_settings(load_settings(database_url=url))
    assert again.open(first.seal("kept")) == "kept"


def test_an_unreadable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.key"
    with pytest.raises(ConfigError, match=f"TOCSIN_SECRET_KEY_FILE: cannot read {re.escape(str(missing))}"):
        keyring_from_settings(load_settings(secret_key_file=str(missing)))
    empty = tmp_path / "empty.key"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="holds no key"):
        keyring_from_settings(load_settings(secret_key_file=str(empty)))


def test_a_verification_code_is_in_no_stored_row(old_db: Database, clock: FakeClock) -> None:
    with old_db.unit_of_work() as s:
        user = make_user(s, clock.now())
        phone = contacts.add_contact_method(
            s, user_id=user.id, name="", type="sms", address="+15551239999", now=clock.now(), verified=False
        )
        queued = verification.start(s, phone.id, now=clock.now())
        sealed = str(queued.payload["text"])
    code = re.search(r"\b(\d{6})\b", old_db.keyring.open(sealed))
    assert code is not None
    with old_db.reader() as s:
        for table in inspect(s.connection()).get_table_names():
            for row in s.execute(text(f"SELECT * FROM {table}")):  # noqa: S608  (names from the schema)
                assert code.group(1) not in " ".join(str(v) for v in row), f"the code is in {table}"
