"""``tocsin serve`` names the setting when a mail port it should open is taken, instead of a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from tocsin.cli import app


def test_a_busy_outbox_smtp_port_is_named_with_its_setting(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            "TOCSIN_DATABASE_URL": f"sqlite:///{tmp_path / 'tocsin.db'}",
            "TOCSIN_OUTBOX_SMTP_LISTEN": f"127.0.0.1:{port}",
            "TOCSIN_SMTP_LISTEN": None,
        }
        result = CliRunner(env=env).invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2, result.output
    assert f"cannot listen for mail on 127.0.0.1:{port} (TOCSIN_OUTBOX_SMTP_LISTEN)" in result.stderr
    assert "address already in use" in result.stderr
