"""The recording provider used by behavioural tests."""

from __future__ import annotations

import threading

import pytest

from tocsin.notify.providers.base import OutboundMessage, SendResult
from tocsin.notify.providers.fake import RecordingProvider


def msg(i: int, address: str = "a@example.com") -> OutboundMessage:
    return OutboundMessage(
        notification_id=i,
        message_id=f"m{i}",
        kind="page",
        contact_type="email",
        address=address,
        user_name="A",
        incident=None,
    )


def test_scripted_outcomes_then_delivered() -> None:
    p = RecordingProvider("email", [SendResult("retry", retry_after="30"), SendResult("failed", error="x")])
    assert p.send(msg(1)).outcome == "retry"
    assert p.send(msg(2)).outcome == "failed"
    third = p.send(msg(3))
    assert third.outcome == "delivered"
    assert third.provider_ref == "fake-m3"
    assert [m.message_id for m in p.sent] == ["m1", "m2", "m3"]


def test_expect_consumes_each_message_once() -> None:
    p = RecordingProvider("email")
    for i, addr in enumerate(["a@example.com", "b@example.com", "a@example.com"]):
        p.send(msg(i, addr))
    got = p.expect(2, lambda m: m.address == "a@example.com")
    assert [m.message_id for m in got] == ["m0", "m2"]
    with pytest.raises(AssertionError, match="expected 1"):
        p.expect(1, lambda m: m.address == "a@example.com")
    with pytest.raises(AssertionError, match="1 unexpected"):
        p.assert_nothing_more()
    p.expect(1)
    p.assert_nothing_more()


def test_expect_waits_for_other_threads() -> None:
    p = RecordingProvider("sms")
    timer = threading.Timer(0.05, lambda: p.send(msg(1)))
    timer.start()
    assert p.expect(1, timeout=2.0)[0].message_id == "m1"
    timer.join()
    p.assert_nothing_more()


def test_thread_safe_recording() -> None:
    p = RecordingProvider("webhook")
    threads = [threading.Thread(target=lambda i=i: [p.send(msg(i * 100 + j)) for j in range(100)]) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(p.expect(800)) == 800
    p.assert_nothing_more()
