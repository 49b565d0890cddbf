"""What the audit trail watches: every table is either configuration (audited, secrets masked) or weighed and left
out; the tables written on every event, send or sign-in leave no entry, on both databases."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from tests.conftest import ApiHarness
from tests.factories import make_service
from tocsin import registry
from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.audit import hook
from tocsin.audit import service as audit
from tocsin.audit.catalog import AUDITED, NOT_AUDITED, SECRETS, mask
from tocsin.audit.repository import AuditFilter
from tocsin.db.base import Base
from tocsin.events.models import IncidentEvent
from tocsin.incidents.models import Incident
from tocsin.mailbox import service as mailbox
from tocsin.webhooks.models import WebhookDelivery


def test_every_table_is_either_audited_or_left_out_on_purpose() -> None:
    tables = set(registry.metadata.tables)
    assert set(AUDITED) & NOT_AUDITED == set()
    unweighed = tables - set(AUDITED) - NOT_AUDITED
    assert not unweighed, f"tables neither audited nor listed in NOT_AUDITED (tocsin/audit/catalog.py): {unweighed}"
    assert (set(AUDITED) | NOT_AUDITED) - tables == set(), "the catalog names tables that no longer exist"
    assert set(SECRETS) <= set(AUDITED)


def test_the_hook_skips_every_table_left_out_with_one_cached_look_up() -> None:
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        spec = hook._spec(cls)
        assert (spec is not None) == (cls.__tablename__ in AUDITED), cls
        assert cls in hook._specs  # answered once per class, then a dictionary look-up


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://hooks.chat.test/services/T000/B000/secret-path", "https://hooks.chat.test/***"),
        ("http://user:password@127.0.0.1:8080/hook?token=abc", "http://127.0.0.1:8080/***"),
        ("not a url", "***"),
        ("https://[::1/broken", "***"),
    ],
)
def test_a_url_is_masked_down_to_where_it_goes(url: str, masked: str) -> None:
    assert mask(url, "origin") == masked


def test_events_pages_deliveries_and_mail_leave_no_entry(api: ApiHarness) -> None:
    db = api.runtime.db
    with db.unit_of_work() as s:
        _, integration = make_service(s, api.clock.now())
        key = integration.key
    subscribed = api.post("/api/v1/webhook-subscriptions", json={"name": "all", "url": "https://hooks.test/x"})
    assert subscribed.status_code == 201, subscribed.text
    with db.reader() as s:
        (newest,), _ = audit.list_entries(s, AuditFilter(), limit=1)
        checked_before, _ = audit.verify_chain(s)

    # An incident with its alert, events, escalation and pages; webhook deliveries fanned out; a mail kept.
    event = NormalizedEvent(action="trigger", dedup_key="disk", summary="disk full", severity="critical")
    with db.unit_of_work() as s:
        ingest_batch(s, [Submission(integration_key=key, events=[event])], now=api.clock.now())
    api.runtime.build_engine(owner="catalog-test").run_until_idle()
    message = EmailMessage()
    message["Subject"] = "disk full"
    message.set_content("checkout-api: disk full")
    with db.unit_of_work() as s:
        mailbox.keep(
            s,
            raw=message.as_bytes(),
            sender="tocsin@example.com",
            recipients=["ops@example.com"],
            now=api.clock.now(),
            source="tocsin",
        )

    with db.reader() as s:
        assert s.scalars(select(Incident)).all(), "the trigger opened no incident"
        assert s.scalars(select(IncidentEvent)).all(), "no incident event was written"
        assert s.scalars(select(WebhookDelivery)).all(), "no webhook delivery was fanned out"
    with db.reader() as s:
        (latest,), _ = audit.list_entries(s, AuditFilter(), limit=1)
        checked_after, broken = audit.verify_chain(s)
    assert latest.id == newest.id, f"{latest.action} recorded for work that is not configuration"
    assert (checked_after, broken) == (checked_before, None)
