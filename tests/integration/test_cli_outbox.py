"""``tocsin outbox list`` and ``show`` against a SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from typer.testing import CliRunner

from tocsin.cli import app
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.mailbox import service as mailbox


def test_list_filters_by_recipient_and_show_prints_the_text_part(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tocsin.db'}"
    migrate.upgrade(url)
    db = Database(url)
    try:
        for to in ("ana@tocsin.local", "ben@tocsin.local"):
            mail = EmailMessage()
            mail["Subject"] = f"[Tocsin] #1 for {to}"
            mail["From"] = "tocsin@localhost"
            mail["To"] = to
            mail.set_content(f"Acknowledge: http://127.0.0.1:8080/a/token-{to}\n")
            with db.unit_of_work() as s:
                mailbox.keep(
                    s,
                    raw=mail.as_bytes(),
                    sender="tocsin@localhost",
                    recipients=[to],
                    now=datetime.now(UTC),
                    source="tocsin",
                )
    finally:
        db.dispose()
    runner = CliRunner(env={"TOCSIN_DATABASE_URL": url, "COLUMNS": "200"})

    listed = runner.invoke(app, ["outbox", "list", "--to", "Ana@tocsin.local"])
    assert listed.exit_code == 0, listed.output
    assert "[Tocsin] #1 for ana@tocsin.local" in listed.stdout
    assert "ben@" not in listed.stdout
    as_json = runner.invoke(app, ["outbox", "list", "--json"])
    assert [m["to"] for m in json.loads(as_json.stdout)] == ["ben@tocsin.local", "ana@tocsin.local"]

    shown = runner.invoke(app, ["outbox", "show", "1"])
    assert shown.exit_code == 0, shown.output
    assert "Subject: [Tocsin] #1 for ana@tocsin.local" in shown.stdout
    assert "Acknowledge: http://127.0.0.1:8080/a/token-ana@tocsin.local" in shown.stdout
    raw = runner.invoke(app, ["outbox", "show", "2", "--raw"])
    assert "Content-Type: text/plain" in raw.stdout

    missing = runner.invoke(app, ["outbox", "show", "99"])
    assert missing.exit_code == 1
    assert "no mail 99 in the outbox" in missing.stderr
