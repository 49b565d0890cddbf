"""The send pipeline's rules, one by one, then in their order (notify/pipeline.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tocsin.incidents.repository import LockedIncident
from tocsin.notify import pipeline
from tocsin.notify.outgoing import incident_view, message_for
from tocsin.notify.pipeline import CANCEL, SKIP, Cancel, Defer, Fail, Hold, Skip
from tocsin.notify.repository import OutboxRow, Recipient
from tocsin.notify.throttle import Throttle, Window

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
THROTTLE = Throttle([Window(2, timedelta(minutes=10))])
ALICE_SMS = Recipient(
    id=7, type="sms", address="+15551230000", secret=None, verified=True, disabled=False, user_id=3, user_name="Alice"
)


def row(**changes: Any) -> OutboxRow:
    values: dict[str, Any] = {
        "id": 11,
        "kind": "page",
        "incident_id": 5,
        "user_id": 3,
        "contact_method_id": 7,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": NOW,
        "lease_owner": "w1",
        "lease_until": NOW + timedelta(seconds=30),
        "fence": 4,
        "held_since": None,
        "provider_ref": None,
        "last_error": None,
        "sent_at": None,
        "payload": {},
    }
    values.update(changes)
    return OutboxRow(**values)


def incident(status: str = "triggered") -> LockedIncident:
    return LockedIncident(
        id=5,
        number=42,
        title="Disk full",
        service_id=1,
        status=status,
        urgency="high",
        severity="critical",
        priority="P1",
        created_at=NOW - timedelta(minutes=3),
    )


def decide(
    r: OutboxRow,
    *,
    inc: LockedIncident | None = None,
    recipient: Recipient | None = ALICE_SMS,
    sent_times: Sequence[datetime] = (),
    busy: Collection[int] = (),
    avoid: Collection[int] = (),
    batch_started: bool = False,
) -> pipeline.Verdict | None:
    return pipeline.decide(
        r,
        incident=inc if inc is not None else incident(),
        recipient=recipient,
        sent_times=sent_times,
        busy=busy,
        avoid=avoid,
        batch_started=batch_started,
        throttle=THROTTLE,
        now=NOW,
    )


# --- 1. still ours ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "ambiguous"])
def test_a_due_row_is_still_ours(status: str) -> None:
    assert pipeline.still_ours(row(status=status)) is None


@pytest.mark.parametrize("status", ["sending", "sent", "cancelled", "failed", "bundled"])
def test_a_row_no_longer_due_is_left_alone(status: str) -> None:
    assert pipeline.still_ours(row(status=status)) == SKIP


# --- 2. one message per contact method -------------------------------------------------------------------------


def test_a_second_message_to_a_contact_method_in_the_batch_waits_behind_what_is_due() -> None:
    verdict = pipeline.one_per_contact_method(row(), busy={7}, avoid=(), batch_started=True, now=NOW)
    assert verdict == Defer(NOW)


def test_a_contact_method_whose_call_still_runs_gets_a_moment_before_the_next_look() -> None:
    verdict = pipeline.one_per_contact_method(row(), busy={7}, avoid={7}, batch_started=False, now=NOW)
    assert verdict == Defer(NOW + pipeline.AVOIDED_RETRY)


def test_the_resend_of_an_interrupted_message_goes_out_alone() -> None:
    resend = row(status="ambiguous")
    assert pipeline.one_per_contact_method(resend, busy=(), avoid=(), batch_started=False, now=NOW) is None
    assert pipeline.one_per_contact_method(resend, busy=(), avoid=(), batch_started=True, now=NOW) == Defer(NOW)


def test_a_first_message_to_a_free_contact_method_passes() -> None:
    assert pipeline.one_per_contact_method(row(), busy={8}, avoid=(), batch_started=True, now=NOW) is None


# --- 3. incident still triggered -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["acknowledged", "resolved"])
def test_a_page_of_a_settled_incident_is_cancelled(status: str) -> None:
    assert pipeline.incident_still_triggered(row(), incident(status)) == CANCEL


def test_a_page_of_a_vanished_incident_is_cancelled() -> None:
    assert pipeline.incident_still_triggered(row(), None) == CANCEL


def test_a_page_of_a_triggered_incident_and_other_kinds_of_message_pass() -> None:
    assert pipeline.incident_still_triggered(row(), incident()) is None
    assert pipeline.incident_still_triggered(row(kind="status"), incident("resolved")) is None
    assert pipeline.incident_still_triggered(row(kind="test", incident_id=None), None) is None


# --- 4. contact method usable ----------------------------------------------------------------------------------


def test_a_removed_or_disabled_contact_method_fails_the_message() -> None:
    expected = Fail("contact method removed or disabled")
    assert pipeline.contact_method_usable(None) == expected
    assert pipeline.contact_method_usable(replace(ALICE_SMS, disabled=True)) == expected
    assert pipeline.contact_method_usable(ALICE_SMS) is None


# --- 5. verified only ------------------------------------------------------------------------------------------


def test_an_unverified_contact_method_gets_nothing_but_its_code() -> None:
    unverified = replace(ALICE_SMS, verified=False)
    verdict = pipeline.verified_only(row(), unverified)
    assert verdict == Fail("contact method not verified", "sms to Alice not sent: the contact method is not verified")
    assert pipeline.verified_only(row(kind="verify", incident_id=None), unverified) is None
    assert pipeline.verified_only(row(), ALICE_SMS) is None


# --- 6. throttle -----------------------------------------------------------------------------------------------

FULL = [NOW - timedelta(minutes=8), NOW - timedelta(minutes=2)]


def test_a_page_over_the_rate_limit_is_held_until_the_window_opens_and_noted_once() -> None:
    first = pipeline.within_throttle(row(), ALICE_SMS, FULL, THROTTLE, NOW)
    note = "sms to Alice held back by the rate limit; it will go out bundled"
    assert first == Hold(NOW + timedelta(minutes=2), NOW, note)
    held_earlier = NOW - timedelta(minutes=1)
    again = pipeline.within_throttle(row(held_since=held_earlier), ALICE_SMS, FULL, THROTTLE, NOW)
    assert again == Hold(NOW + timedelta(minutes=2), held_earlier)


def test_the_throttle_lets_through_what_it_does_not_count() -> None:
    assert pipeline.within_throttle(row(), ALICE_SMS, FULL[:1], THROTTLE, NOW) is None
    # A resend was counted when it first started; only pages count.
    assert pipeline.within_throttle(row(status="ambiguous"), ALICE_SMS, FULL, THROTTLE, NOW) is None
    assert pipeline.within_throttle(row(kind="test"), ALICE_SMS, FULL, THROTTLE, NOW) is None


# --- the rules in their order ----------------------------------------------------------------------------------


def test_a_row_no_rule_keeps_back_goes_out() -> None:
    assert decide(row()) is None


def test_the_first_rule_that_keeps_a_row_back_decides() -> None:
    settled = incident("acknowledged")
    # Deferred before cancelled: a later pass decides afresh.
    assert decide(row(), inc=settled, busy={7}) == Defer(NOW)
    # Cancelled before failed: a page nobody needs wants no contact method.
    assert decide(row(), inc=settled, recipient=None) == CANCEL
    # Failed before held back: a message that never leaves is not counted against the rate limit.
    unverified = replace(ALICE_SMS, verified=False)
    assert isinstance(decide(row(), recipient=unverified, sent_times=FULL), Fail)
    assert isinstance(decide(row(), sent_times=FULL), Hold)
    # Left alone before anything else.
    assert decide(row(status="sent"), inc=settled, busy={7}, recipient=None) == SKIP


# --- applying verdicts and starting a send ---------------------------------------------------------------------


def test_verdicts_are_written_onto_the_row() -> None:
    kept = row()
    pipeline.apply(kept, Skip())
    assert kept == row()
    deferred = row()
    pipeline.apply(deferred, Defer(NOW + timedelta(seconds=1)))
    assert (deferred.lease_owner, deferred.lease_until, deferred.next_attempt_at) == (
        None,
        None,
        NOW + timedelta(seconds=1),
    )
    cancelled = row()
    pipeline.apply(cancelled, Cancel())
    assert (cancelled.status, cancelled.next_attempt_at, cancelled.lease_until) == ("cancelled", None, None)
    failed = row()
    pipeline.apply(failed, Fail("contact method not verified", "note"))
    assert (failed.status, failed.last_error, failed.next_attempt_at) == ("failed", "contact method not verified", None)
    held = row()
    pipeline.apply(held, Hold(NOW + timedelta(minutes=2), NOW))
    assert (held.held_since, held.next_attempt_at, held.lease_until, held.status) == (
        NOW,
        NOW + timedelta(minutes=2),
        None,
        "pending",
    )


def test_a_page_let_through_after_a_hold_carries_what_was_held_as_a_bundle() -> None:
    page = row(held_since=NOW - timedelta(minutes=5))
    assert pipeline.gathers_held(page)
    assert not pipeline.gathers_held(row())
    assert not pipeline.gathers_held(row(status="ambiguous", held_since=NOW))
    others = [row(id=12, held_since=NOW), row(id=13, held_since=NOW)]
    pipeline.start_sending(page, others)
    assert (page.status, page.attempts, page.held_since, page.payload) == ("sending", 1, None, {"bundled": [12, 13]})
    assert [(o.status, o.next_attempt_at, o.held_since, o.provider_ref) for o in others] == [
        ("bundled", None, None, "bundled-into:11")
    ] * 2
    assert pipeline.message_text(page, ALICE_SMS, [43, 44, 43]) == "2 more incidents: #43, #44"


def test_what_a_message_says_beside_the_incident() -> None:
    assert pipeline.message_text(row(payload={"text": "ignored"}), ALICE_SMS, None) == ""
    handoff = row(kind="handoff", incident_id=None, payload={"text": "You are now on call for Ops."})
    assert pipeline.message_text(handoff, ALICE_SMS, None) == "You are now on call for Ops."
    assert pipeline.message_text(row(kind="test"), ALICE_SMS, None) == "Test notification from Tocsin to Alice by sms."


def test_the_message_built_for_a_row() -> None:
    view = incident_view(incident(), "checkout", "http://tocsin.test")
    assert view.url == "http://tocsin.test/incidents/42"
    page = message_for(row(), ALICE_SMS, incident=view, text="", ack_url="http://a")
    assert (page.notification_id, page.message_id, page.contact_type, page.address, page.update_ref) == (
        11,
        "msg_11",
        "sms",
        "+15551230000",
        None,
    )
    update = message_for(
        row(kind="status", payload={"ref": "D0:1.0"}), replace(ALICE_SMS, type="slack"), incident=view, text="x"
    )
    assert update.update_ref == "D0:1.0"
    code = message_for(row(kind="verify", incident_id=None), replace(ALICE_SMS, type="voice"), incident=None, text="1")
    assert code.contact_type == "sms"  # codes go by text message, also to a number that is called
