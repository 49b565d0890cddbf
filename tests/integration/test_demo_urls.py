"""``tocsin demo`` prints the URLs ``tocsin serve`` will answer on: same settings, same options."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from tocsin.cli import app
from tocsin.db import migrate


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("demo") / "tocsin.db"
    migrate.upgrade(f"sqlite:///{path}")
    return f"sqlite:///{path}"


def _env(url: str, **extra: str | None) -> dict[str, str | None]:
    unset: dict[str, str | None] = {
        k: None
        for k in ("TOCSIN_PUBLIC_URL", "TOCSIN_HOST", "TOCSIN_PORT", "TOCSIN_SMTP_HOST", "TOCSIN_OUTBOX_SMTP_LISTEN")
    }
    return {**unset, "TOCSIN_DATABASE_URL": url, **extra}


def _urls(output: str) -> set[str]:
    return set(re.findall(r"https?://[^\s/]+", output))


def test_the_port_option_is_the_port_of_every_printed_url(url: str) -> None:
    result = CliRunner(env=_env(url)).invoke(app, ["demo", "--host", "127.0.0.1", "--port", "9123"])
    assert result.exit_code == 0, result.output
    assert _urls(result.stdout) == {"http://127.0.0.1:9123"}
    assert "http://127.0.0.1:9123/v2/enqueue" in result.stdout
    assert "Sign in at http://127.0.0.1:9123/login" in result.stdout
    assert "email pages are kept in the outbox, http://127.0.0.1:9123/outbox" in result.stdout


def test_the_port_setting_serve_reads_is_the_port_of_every_printed_url(url: str) -> None:
    env = _env(url, TOCSIN_PORT="9124", TOCSIN_OUTBOX_SMTP_LISTEN="127.0.0.1:1026")
    result = CliRunner(env=env).invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert _urls(result.stdout) == {"http://127.0.0.1:9124"}
    assert "(and whatever is sent to SMTP 127.0.0.1:1026)" in result.stdout


def test_a_public_url_wins_and_a_bad_port_is_named(url: str) -> None:
    env = _env(url, TOCSIN_PUBLIC_URL="https://tocsin.example.com")
    result = CliRunner(env=env).invoke(app, ["demo", "--port", "9125"])
    assert result.exit_code == 0, result.output
    assert _urls(result.stdout) == {"https://tocsin.example.com"}
    bad = CliRunner(env=_env(url)).invoke(app, ["demo", "--port", "70000"])
    assert bad.exit_code == 2
    assert "TOCSIN_PORT" in bad.stderr
