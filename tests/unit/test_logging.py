"""Log lines: text for a person at a terminal, JSON for everything else, unless a format is set."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator

import orjson
import pytest

from tocsin.ops.logging import configure_logging, resolve_format
from tocsin.settings import ConfigError, load_settings


@pytest.fixture
def terminal() -> Iterator[io.TextIOWrapper]:
    leader, follower = os.openpty()
    stream = open(follower, "w", encoding="utf-8")  # noqa: SIM115 — closed below
    try:
        yield stream
    finally:
        stream.close()
        os.close(leader)


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_auto_is_text_on_a_terminal_and_json_elsewhere(terminal: io.TextIOWrapper) -> None:
    assert resolve_format("auto", terminal) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", terminal) == "json"
    assert resolve_format("text", io.StringIO()) == "text"


def test_json_lines_carry_the_extra_fields() -> None:
    out = io.StringIO()
    assert configure_logging("INFO", "auto", stream=out) == "json"
    logging.getLogger("tocsin.test").warning("page %s failed", "n1", extra={"incident": 7})
    entry = orjson.loads(out.getvalue().splitlines()[-1])
    assert entry["msg"] == "page n1 failed"
    assert entry["level"] == "warning"
    assert entry["incident"] == 7


def test_text_lines_read_like_sentences() -> None:
    out = io.StringIO()
    assert configure_logging("INFO", "text", stream=out) == "text"
    logging.getLogger("tocsin.test").info("serving on %s", "http://127.0.0.1:8080")
    line = out.getvalue().splitlines()[-1]
    assert line.endswith(" INFO tocsin.test: serving on http://127.0.0.1:8080")
    assert not line.startswith("{")


def test_the_setting_takes_auto_text_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOCSIN_LOG_FORMAT", raising=False)
    assert load_settings().log_format == "auto"
    monkeypatch.setenv("TOCSIN_LOG_FORMAT", "text")
    assert load_settings().log_format == "text"
    monkeypatch.setenv("TOCSIN_LOG_FORMAT", "yaml")
    with pytest.raises(ConfigError, match="TOCSIN_LOG_FORMAT"):
        load_settings()
