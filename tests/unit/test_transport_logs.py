"""The redaction applied to the HTTP libraries' log records."""

from __future__ import annotations

import logging

import pytest

from tocsin.notify.providers.transport_logs import FILTER, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "HTTP Request: POST https://hooks.slack.test/services/T0/B0/XyZ?x=1",
            "HTTP Request: POST https://hooks.slack.test/…",
        ),
        ("http://user:pw@10.0.0.1:8080/a/b#frag", "http://10.0.0.1:8080/…"),
        (
            'http://127.0.0.1:9 "POST /hook/secret?token=abc HTTP/1.1" 200 2',
            'http://127.0.0.1:9/… "POST /… HTTP/1.1" 200 2',
        ),
        ("Retry: /hook/secret", "Retry: /…"),
        ("tgram://123456:bot-token/chat", "tgram://…"),
        ("[Errno 111] Connection refused", "[Errno 111] Connection refused"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def record(level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("urllib3.connectionpool", level, __file__, 1, msg, args, None)


def test_records_below_warning_are_dropped_whatever_the_level() -> None:
    assert FILTER.filter(record(logging.DEBUG, "%s", "https://h.test/secret")) is False
    assert FILTER.filter(record(logging.INFO, "%s", "https://h.test/secret")) is False


def test_warnings_are_kept_without_their_paths() -> None:
    kept = record(logging.WARNING, "Failed to parse headers (url=%s): %s", "http://1.2.3.4/secret?k=v", "bad")
    assert FILTER.filter(kept) is True
    # Everything up to the next space goes with the URL: a secret may hold any character a URL may.
    assert kept.getMessage() == "Failed to parse headers (url=http://1.2.3.4/… bad"


def test_tracebacks_are_cleaned() -> None:
    try:
        raise ValueError("could not post to https://h.test/secret-path")
    except ValueError:
        import sys

        kept = logging.LogRecord("httpx", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    assert FILTER.filter(kept) is True
    assert kept.exc_info is None
    assert kept.exc_text is not None
    assert "secret-path" not in kept.exc_text
    assert "ValueError" in kept.exc_text


def test_a_record_that_cannot_be_formatted_is_dropped() -> None:
    assert FILTER.filter(record(logging.WARNING, "%d", "not a number")) is False
