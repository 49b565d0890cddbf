"""Inbound email: subject and body, dedup by subject, Message-ID as delivery id, loops ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tocsin.core.errors import BadRequest
from tocsin.integrations import email_message

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "email"


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.eml").read_bytes()


def test_plain_alert_mail() -> None:
    mail = email_message.parse(sample("plain_alert"))

    assert mail.delivery_id == "20240514092001.4711@monitor.example.com"
    event = mail.event
    assert event is not None
    assert event.action == "trigger"
    assert event.summary == "** PROBLEM Service Alert: db-2/Disk /var is CRITICAL **"
    assert event.source == "nagios@monitor.example.com"
    assert event.timestamp == datetime(2024, 5, 14, 9, 20, 1, tzinfo=UTC)
    assert "DISK CRITICAL - free space: /var 812 MB (3% inode=91%) \u2013 below 5 %" in event.details["body"]
    assert event.details["from"] == "Nagios <nagios@monitor.example.com>"
    assert event.dedup_key is not None
    assert event.dedup_key.startswith("email:")


def test_replies_and_forwards_share_the_dedup_key_of_the_original_subject() -> None:
    original = email_message.parse(sample("plain_alert")).event
    forwarded = email_message.parse(sample("forwarded")).event

    assert original is not None
    assert forwarded is not None
    assert forwarded.summary == original.summary
    assert forwarded.dedup_key == original.dedup_key
    assert forwarded.details["body"] == "Still failing, see below."
    assert email_message.dedup_key_for("Backup failed") != original.dedup_key


def test_html_only_mail_becomes_text_without_markup() -> None:
    event = email_message.parse(sample("html_only")).event

    assert event is not None
    assert event.summary == 'Backup job "nightly" failed'
    assert "<" not in event.details["body"]
    assert "Job nightly ended with error 23 & wrote 0 files." in event.details["body"]
    assert "alert(1)" not in event.details["body"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("auto_reply", "Auto-Submitted: auto-replied"), ("own_notification", "a notification sent by Tocsin")],
)
def test_automatic_replies_and_our_own_mail_are_ignored(name: str, reason: str) -> None:
    mail = email_message.parse(sample(name))
    assert mail.event is None
    assert mail.ignored_because == reason


def test_mail_from_our_own_address_is_ignored() -> None:
    raw = sample("plain_alert").replace(b"From: Nagios <nagios@monitor.example.com>", b"From: Tocsin <tocsin@x.test>")
    mail = email_message.parse(raw, own_address="Tocsin <tocsin@x.test>")
    assert mail.ignored_because == "sent from Tocsin's own address"


def test_no_subject_uses_the_first_line_and_missing_headers_are_tolerated() -> None:
    mail = email_message.parse(b"To: k@x\r\n\r\n\r\n  Disk full on db-9\r\nmore\r\n")

    assert mail.delivery_id is None
    assert mail.event is not None
    assert mail.event.summary == "Disk full on db-9"
    assert mail.event.timestamp is None
    assert email_message.parse(b"\r\n").event.summary == "(no subject)"  # type: ignore[union-attr]


def test_garbage_is_a_bad_request_or_an_empty_alert_never_a_crash() -> None:
    for raw in (b"\xff\xfe\x00garbage", b"Subject: =?utf-8?q?broken\r\nDate: yesterday\r\n\r\nbody"):
        try:
            mail = email_message.parse(raw)
        except BadRequest:
            continue
        assert mail.event is not None
