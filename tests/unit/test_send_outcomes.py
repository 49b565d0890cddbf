"""What a provider's answer does to a row marked sending (notify/outcomes.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.unit.test_send_pipeline import ALICE_SMS, NOW, row
from tocsin.notify.outcomes import Recorded, record_outcome
from tocsin.notify.providers.base import SendResult
from tocsin.notify.repository import OutboxRow, Recipient
from tocsin.notify.retry import RetryPolicy

RETRY = RetryPolicy(max_attempts=3, base=timedelta(seconds=10), cap=timedelta(minutes=5))


def sending(**changes: object) -> OutboxRow:
    return row(**{"status": "sending", "attempts": 1, **changes})


def answer(r: OutboxRow, result: SendResult, recipient: Recipient | None = ALICE_SMS) -> Recorded | None:
    return record_outcome(r, result, recipient, fence=r.fence, now=NOW, retry=RETRY, rand=lambda: 1.0)


def test_a_delivered_message_is_sent_and_released() -> None:
    r = sending()
    assert answer(r, SendResult("delivered", provider_ref="SM1")) == Recorded("notified", "Notified sms to Alice")
    assert (r.status, r.sent_at, r.provider_ref, r.next_attempt_at, r.lease_owner, r.lease_until) == (
        "sent",
        NOW,
        "SM1",
        None,
        None,
        None,
    )


def test_a_delivered_chat_page_may_need_editing_and_an_edit_is_noted_as_one() -> None:
    slack = replace(ALICE_SMS, type="slack")
    assert answer(sending(), SendResult("delivered"), slack) == Recorded(
        "notified", "Notified slack to Alice", edits=True
    )
    edit = sending(kind="status", payload={"ref": "D0:1.0"})
    assert answer(edit, SendResult("delivered"), slack) == Recorded(
        "notify_updated", "Updated the message: slack to Alice"
    )


def test_a_retryable_failure_waits_for_its_backoff() -> None:
    r = sending()
    recorded = answer(r, SendResult("retry", status_code=503))
    assert recorded == Recorded("notify_retry", "sms to Alice failed (HTTP 503); retrying at 09:30:10 UTC")
    assert (r.status, r.next_attempt_at, r.last_error) == ("pending", NOW + timedelta(seconds=10), "HTTP 503")


def test_a_failure_for_good_brings_the_next_page_forward_but_only_for_a_page() -> None:
    r = sending()
    recorded = answer(r, SendResult("failed", status_code=400, error="bad number"))
    assert recorded == Recorded("notify_failed", "sms to Alice failed (bad number); giving up", falls_back=True)
    assert (r.status, r.next_attempt_at, r.last_error) == ("failed", None, "bad number")
    # Retries used up: failed for good as well.
    assert answer(sending(attempts=3), SendResult("retry", status_code=503)) == Recorded(
        "notify_failed", "sms to Alice failed (HTTP 503); giving up", falls_back=True
    )
    notice = sending(kind="status")
    assert answer(notice, SendResult("failed")) == Recorded("notify_failed", "sms to Alice failed (); giving up")
    test = sending(kind="test", incident_id=None)
    assert answer(test, SendResult("failed")) == Recorded("notify_failed", "sms to Alice failed (); giving up")


def test_a_verification_code_is_dropped_once_it_arrived_or_never_will() -> None:
    for result, status in ((SendResult("delivered"), "sent"), (SendResult("failed"), "failed")):
        code = sending(kind="verify", incident_id=None, payload={"text": "123456", "hash": "h"})
        answer(code, result)
        assert (code.status, code.payload) == (status, {"hash": "h"})
    retried = sending(kind="verify", incident_id=None, payload={"text": "123456", "hash": "h"})
    answer(retried, SendResult("retry", status_code=503))
    assert retried.payload == {"text": "123456", "hash": "h"}


def test_a_late_outcome_on_a_row_no_longer_ours_only_notes_what_happened() -> None:
    r = row(status="ambiguous", fence=5, lease_owner=None)
    assert (
        record_outcome(r, SendResult("delivered"), ALICE_SMS, fence=4, now=NOW, retry=RETRY, rand=lambda: 1.0) is None
    )
    assert (r.status, r.last_error) == ("ambiguous", "late outcome after lease expiry: delivered")


def test_a_removed_contact_method_is_named_by_its_user() -> None:
    assert answer(sending(), SendResult("delivered"), None) == Recorded("notified", "Notified contact to 3")
